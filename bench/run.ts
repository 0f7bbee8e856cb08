/**
 * `npm run bench`: synthesizes the reference configuration at growing sizes, each in a fresh
 * process, for the library and for the raw-provider equivalent, and prints wall time (process
 * start to exit, as a user's `cdktf synth` pays it), synth time and peak RSS.
 * A unit is one environment x repository pair; until repositories exist, one environment.
 */
import { spawnSync } from "child_process";
import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { measureCliCheck } from "./cli-check";

interface Measurement {
  mode: string;
  units: number;
  resources: number;
  synthMs: number;
  maxRssKb: number;
  wallMs: number;
}

// `<environments>x<repositories>`; units = their product.
const sizes = (process.env.BENCH_SIZES ?? "1x1,2x5,4x25").split(",");

function measure(mode: "library" | "raw" | "gcp", shape: string): Measurement {
  const outdir = mkdtempSync(join(tmpdir(), `hipaa-bench-${mode}-`));
  const start = process.hrtime.bigint();
  const child = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", join(__dirname, "synth-once.ts"), mode, shape, outdir], {
    encoding: "utf8",
    maxBuffer: 16 * 1024 * 1024,
  });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  rmSync(outdir, { recursive: true, force: true });
  if (child.status !== 0) throw new Error(`${mode} ${shape} failed:\n${child.stderr}`);
  return { ...JSON.parse(child.stdout.trim().split("\n").pop()!), wallMs };
}

const rows: string[] = [];
const pad = (s: string | number, n: number) => String(s).padStart(n);
rows.push(`${pad("units", 11)} | ${pad("resources", 9)} | ${pad("raw resources", 13)} | ${pad("library wall ms", 15)} | ${pad("synth ms", 8)} | ${pad("peak MB", 7)} | ${pad("raw wall ms", 11)} | ${pad("synth ms", 8)} | ${pad("peak MB", 7)} | ${pad("wall ratio", 10)} | ${pad("mem ratio", 9)}`);
rows.push("-".repeat(rows[0].length));
for (const shape of sizes) {
  const lib = measure("library", shape);
  const raw = measure("raw", shape);
  const units = `${lib.units} (${shape})`;
  rows.push(
    [
      pad(units, 11),
      pad(lib.resources, 9),
      pad(raw.resources, 13),
      pad(lib.wallMs.toFixed(0), 15),
      pad(lib.synthMs.toFixed(0), 8),
      pad((lib.maxRssKb / 1024).toFixed(0), 7),
      pad(raw.wallMs.toFixed(0), 11),
      pad(raw.synthMs.toFixed(0), 8),
      pad((raw.maxRssKb / 1024).toFixed(0), 7),
      pad((lib.wallMs / raw.wallMs).toFixed(2), 10),
      pad((lib.maxRssKb / raw.maxRssKb).toFixed(2), 9),
    ].join(" | "),
  );
}
console.log("AWS reference app (examples/reference) vs the same resources declared with raw provider classes");
console.log(rows.join("\n"));

// The GCP + GitLab example has no raw twin yet; its own cost per size.
const gcpRows = [`${pad("units", 11)} | ${pad("resources", 9)} | ${pad("gcp wall ms", 11)} | ${pad("synth ms", 8)} | ${pad("peak MB", 7)}`];
gcpRows.push("-".repeat(gcpRows[0].length));
for (const shape of sizes) {
  const gcp = measure("gcp", `${shape.split("x")[0]}x1`);
  const units = `${gcp.units} env`;
  gcpRows.push([pad(units, 11), pad(gcp.resources, 9), pad(gcp.wallMs.toFixed(0), 11), pad(gcp.synthMs.toFixed(0), 8), pad((gcp.maxRssKb / 1024).toFixed(0), 7)].join(" | "));
}
console.log("\nGCP + GitLab example (examples/gcp-gitlab)");
console.log(gcpRows.join("\n"));

// The CLI gate over 10,000 resources (timed here, not in jest).
const cli = measureCliCheck();
console.log(`\nCLI check over ${cli.resources} resources: ${cli.wallMs.toFixed(0)} ms wall`);
