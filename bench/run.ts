/**
 * `npm run bench`: synthesizes the reference configuration (examples/reference, with the HIPAA
 * gate and control maps on) and its hand-written twin (bench/raw-equivalent.ts) at growing
 * sizes, each in a fresh process, under both ways a user runs an app:
 *
 * - `ts-node`: the README's app command (`npx ts-node --transpile-only ...`), run here as
 *   `node node_modules/ts-node/dist/bin.js --transpile-only` (npx's own start-up is the same for
 *   both sides and left out);
 * - `js`: the library compiled with `tsc -p tsconfig.build.json` (dist/, which bin/ uses), and the
 *   bench and examples with `tsc -p bench/tsconfig.json` (.bench/, the same compiler options).
 *
 * For each size it prints wall time (process start to exit, what `cdktf synth` pays), synth
 * time, CPU time (user + system of the whole process: on a busy machine the figure least moved
 * by other work), peak RSS, the library/raw ratios, and the cost per resource (synth and CPU ms
 * per 1,000 resources), with the library's per-resource cost at each size relative to the
 * smallest non-trivial size (the first with 500 resources or more).
 * Then it times the CLI gate (`node bin/cdktf-hipaa-substrate.js check`) over the largest
 * library output, and checks that the raw twin declares the same resources (by type).
 *
 * Sizes are `<environments>x<repositories>` (BENCH_SIZES, default 4x25,4x250,4x300: the last is
 * over 10,000 resources); BENCH_COMMANDS picks ts-node and/or js; BENCH_REPEAT runs each
 * measurement that many times (default 2) and keeps each metric's minimum: the machine is
 * shared, and the minimum is the least disturbed value. Nothing here is asserted: timings never
 * belong in `npm test`.
 */
import { spawnSync } from "child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "fs";
import { loadavg, tmpdir } from "os";
import { join } from "path";
import { measureCliCheck } from "./cli-check";

interface Measurement {
  mode: string;
  units: number;
  resources: number;
  synthMs: number;
  cpuMs: number;
  maxRssKb: number;
  wallMs: number;
}

const root = join(__dirname, "..");
const sizes = (process.env.BENCH_SIZES ?? "4x25,4x250,4x300").split(",");
const commands = (process.env.BENCH_COMMANDS ?? "ts-node,js").split(",") as ("ts-node" | "js")[];
const repeat = Number(process.env.BENCH_REPEAT ?? "2");

function build(): void {
  for (const project of ["tsconfig.build.json", "bench/tsconfig.json"]) {
    const tsc = spawnSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", project], { cwd: root, encoding: "utf8" });
    if (tsc.status !== 0) throw new Error(`tsc -p ${project} failed:\n${tsc.stdout}${tsc.stderr}`);
  }
}

function argv(command: "ts-node" | "js"): string[] {
  return command === "ts-node"
    ? [require.resolve("ts-node/dist/bin.js"), "--transpile-only", join(root, "bench", "synth-once.ts")]
    : [join(root, ".bench", "bench", "synth-once.js")];
}

function once(command: "ts-node" | "js", mode: string, shape: string, keep: boolean): Measurement & { outdir: string } {
  const outdir = mkdtempSync(join(tmpdir(), `hipaa-bench-${mode}-`));
  const start = process.hrtime.bigint();
  const child = spawnSync(process.execPath, [...argv(command), mode, shape, outdir], { cwd: root, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  if (child.status !== 0) throw new Error(`${command} ${mode} ${shape} failed:\n${child.stderr}`);
  if (!keep) rmSync(outdir, { recursive: true, force: true });
  return { ...JSON.parse(child.stdout.trim().split("\n").pop()!), wallMs, outdir };
}

/** Each metric's minimum over BENCH_REPEAT runs: on a shared machine the least disturbed value. */
function measure(command: "ts-node" | "js", mode: string, shape: string, keep = false): Measurement & { outdir: string } {
  const runs: (Measurement & { outdir: string })[] = [];
  for (let i = 0; i < repeat; i++) {
    const m = once(command, mode, shape, keep && i === repeat - 1);
    runs.push(m);
  }
  const min = (f: (m: Measurement) => number) => Math.min(...runs.map(f));
  const last = runs[runs.length - 1];
  return { ...last, wallMs: min((m) => m.wallMs), synthMs: min((m) => m.synthMs), cpuMs: min((m) => m.cpuMs), maxRssKb: min((m) => m.maxRssKb) };
}

const pad = (s: string | number, n: number) => String(s).padStart(n);
const mb = (kb: number) => (kb / 1024).toFixed(0);
const table = (header: string[], rows: string[][]) => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => pad(c, widths[i])).join(" | ")} |`;
  return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
};

/** Resources by type in an output directory, to check the raw twin declares the same ones. */
function resourceTypes(outdir: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const stack of readdirSync(join(outdir, "stacks"))) {
    const tf = JSON.parse(readFileSync(join(outdir, "stacks", stack, "cdk.tf.json"), "utf8"));
    for (const [type, byName] of Object.entries<Record<string, unknown>>(tf.resource ?? {})) counts.set(type, (counts.get(type) ?? 0) + Object.keys(byName).length);
  }
  return counts;
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(" ");
console.log(`load average at start: ${load()} (1, 5, 15 min)`);
build();
let largestLibrary: string | undefined;
for (const command of commands) {
  const rows: string[][] = [];
  let baseline: number | undefined;
  let cpuBaseline: number | undefined;
  for (const [i, shape] of sizes.entries()) {
    const last = i === sizes.length - 1;
    const lib = measure(command, "library", shape, last || i === 0);
    const raw = measure(command, "raw", shape, i === 0);
    if (i === 0) {
      const a = resourceTypes(lib.outdir);
      const b = resourceTypes(raw.outdir);
      const differences = [...new Set([...a.keys(), ...b.keys()])].filter((t) => a.get(t) !== b.get(t)).map((t) => `${t}: library ${a.get(t) ?? 0}, raw ${b.get(t) ?? 0}`);
      console.log(`[${command}] raw twin at ${shape}: ${differences.length === 0 ? "the same resources by type" : `differs: ${differences.join("; ")}`}`);
      rmSync(raw.outdir, { recursive: true, force: true });
      if (!last) rmSync(lib.outdir, { recursive: true, force: true });
    }
    if (last) {
      if (largestLibrary) rmSync(largestLibrary, { recursive: true, force: true });
      largestLibrary = lib.outdir;
    }
    const perK = (m: Measurement) => (m.synthMs / m.resources) * 1000;
    const cpuPerK = (m: Measurement) => (m.cpuMs / m.resources) * 1000;
    // The smallest size with more than a few hundred resources is the reference for linearity.
    if (baseline === undefined && lib.resources >= 500) {
      baseline = perK(lib);
      cpuBaseline = cpuPerK(lib);
    }
    rows.push([
      `${shape} (${lib.units})`,
      `${lib.resources} / ${raw.resources}`,
      `${(lib.wallMs / 1000).toFixed(1)} / ${(lib.synthMs / 1000).toFixed(1)} / ${(lib.cpuMs / 1000).toFixed(1)} s, ${mb(lib.maxRssKb)} MiB`,
      `${(raw.wallMs / 1000).toFixed(1)} / ${(raw.synthMs / 1000).toFixed(1)} / ${(raw.cpuMs / 1000).toFixed(1)} s, ${mb(raw.maxRssKb)} MiB`,
      (lib.wallMs / raw.wallMs).toFixed(2),
      (lib.synthMs / raw.synthMs).toFixed(2),
      (lib.cpuMs / raw.cpuMs).toFixed(2),
      (lib.maxRssKb / raw.maxRssKb).toFixed(2),
      `${perK(lib).toFixed(0)} / ${perK(raw).toFixed(0)}`,
      `${cpuPerK(lib).toFixed(0)} / ${cpuPerK(raw).toFixed(0)}`,
      baseline === undefined || cpuBaseline === undefined ? "-" : `${(perK(lib) / baseline).toFixed(2)} / ${(cpuPerK(lib) / cpuBaseline).toFixed(2)}`,
    ]);
  }
  console.log(`\n[${command}] reference app (gate and control map on) vs the same resources by hand; each metric's minimum of ${repeat} runs; load average now ${load()}`);
  console.log(
    table(
      ["shape (units)", "resources lib / raw", "library wall / synth / cpu, peak", "raw wall / synth / cpu, peak", "wall x", "synth x", "cpu x", "mem x", "synth ms per 1k res lib / raw", "cpu ms per 1k res lib / raw", "lib per-res vs smallest synth / cpu"],
      rows,
    ),
  );
}

// The CLI gate over the largest synthesized output (dist/ build, as the published bin runs it).
if (largestLibrary) {
  const start = process.hrtime.bigint();
  const cli = spawnSync(process.execPath, [join(root, "bin", "cdktf-hipaa-substrate.js"), "check", join(largestLibrary, "stacks"), "--format", "json"], { cwd: root, encoding: "utf8", maxBuffer: 512 * 1024 * 1024 });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  const resources = [...resourceTypes(largestLibrary).values()].reduce((a, b) => a + b, 0);
  console.log(`\nCLI gate: node bin/cdktf-hipaa-substrate.js check over ${resources} resources (${sizes[sizes.length - 1]}): exit ${cli.status}, ${(wallMs / 1000).toFixed(1)} s wall`);
  rmSync(largestLibrary, { recursive: true, force: true });
}

// The GCP + GitLab example has no raw twin; its own cost per environment count.
const gcpRows: string[][] = [];
for (const envs of [...new Set(sizes.map((s) => s.split("x")[0]))]) {
  const gcp = measure(commands[0], "gcp", `${envs}x1`);
  gcpRows.push([`${envs} env`, String(gcp.resources), `${(gcp.wallMs / 1000).toFixed(1)} / ${(gcp.synthMs / 1000).toFixed(1)} s`, `${mb(gcp.maxRssKb)} MiB`]);
}
console.log(`\n[${commands[0]}] GCP + GitLab example (examples/gcp-gitlab)`);
console.log(table(["shape", "resources", "wall / synth", "peak"], gcpRows));

// The CLI gate over a generated 10,000-resource directory (timed here, never in jest).
const cliGenerated = measureCliCheck();
console.log(`\nCLI check over ${cliGenerated.resources} generated resources: ${cliGenerated.wallMs.toFixed(0)} ms wall`);
