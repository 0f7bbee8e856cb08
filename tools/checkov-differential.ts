/**
 * `node tools/checkov-differential.ts [--checkov PATH] [--json OUT]`: proves the Checkov
 * equivalents our rules claim. Runs Checkov (only the claimed check ids) and our checker over the
 * same files - each rule's own pass/fail fixtures (test/fixtures/rules) and trivy-checks' fixtures
 * (../shared/peer-cases/trivy-checks) - and compares the verdicts per (claimed pair, resource).
 *
 * A verdict that differs, or a resource only one side judges, must be explained in
 * checkov-differences.json (rule, check, resource pattern, file pattern, reason); exit 1 on any
 * unexplained difference and on any explanation that matches nothing (a stale reason is itself a
 * finding). Prints rules claimed, verdicts compared and differences.
 */
import { spawnSync } from "child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { basename, join } from "path";
import { ALL_RULES, evaluate, loadUnits, Rule } from "../src/compliance/checker";
import { defaultPeerDir } from "./peer-score";

interface Explanation {
  readonly rule: string;
  readonly check: string;
  /** Glob over `<source>/<case path>`, e.g. `trivy-checks/aws-s3-*` or `fixtures/HIPAA-S3-ACCESS-LOGGING/*`. */
  readonly file: string;
  /** Glob over the Terraform address. */
  readonly resource: string;
  readonly reason: string;
}

export interface Comparison {
  readonly rule: string;
  readonly check: string;
  readonly file: string;
  readonly resource: string;
  readonly ours?: "pass" | "fail";
  readonly checkov?: "pass" | "fail";
}

const glob = (pattern: string) => new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);

/** Every file the differential runs over, labelled by where it came from. */
function caseFiles(root: string, peerDir: string): { label: string; path: string }[] {
  const out: { label: string; path: string }[] = [];
  const fixtures = join(root, "test", "fixtures", "rules");
  for (const rule of readdirSync(fixtures).sort()) {
    for (const verdict of ["pass", "fail"]) {
      const dir = join(fixtures, rule, verdict);
      if (!existsSync(dir)) continue;
      for (const f of readdirSync(dir).sort()) out.push({ label: `fixtures/${rule}/${verdict}/${f}`, path: join(dir, f) });
    }
  }
  if (existsSync(peerDir)) {
    for (const folder of readdirSync(peerDir).sort()) {
      const manifest = join(peerDir, folder, "expected.json");
      if (!existsSync(manifest)) continue;
      const expected = JSON.parse(readFileSync(manifest, "utf8")) as { cases: { file: string }[] };
      for (const c of expected.cases) out.push({ label: `trivy-checks/${folder}/${c.file}`, path: join(peerDir, folder, c.file) });
    }
  }
  return out;
}

interface CheckovResult {
  readonly check_id: string;
  readonly file_path: string;
  readonly resource: string;
}

function runCheckov(checkov: string, dir: string, checks: readonly string[]): Map<string, "pass" | "fail"> {
  const verdicts = new Map<string, "pass" | "fail">();
  const child = spawnSync(checkov, ["-d", dir, "--framework", "terraform", "terraform_json", "--check", checks.join(","), "-o", "json", "--compact", "--skip-download", "--soft-fail"], {
    encoding: "utf8",
    maxBuffer: 512 * 1024 * 1024,
    env: { ...process.env, LOG_LEVEL: "ERROR" },
  });
  if (child.error) throw child.error;
  const text = child.stdout.trim();
  if (!text.startsWith("{") && !text.startsWith("[")) throw new Error(`checkov gave no JSON (exit ${child.status}):\n${child.stderr.slice(-2000)}`);
  for (const report of [JSON.parse(text)].flat() as { results?: { passed_checks?: CheckovResult[]; failed_checks?: CheckovResult[] } }[]) {
    const record = (r: CheckovResult, v: "pass" | "fail") => {
      const caseDir = r.file_path.replace(/^\//, "").split("/")[0];
      // terraform_json names resources "TYPE.NAME" like the terraform runner; keep the last two parts.
      const address = r.resource.split(".").slice(-2).join(".");
      const key = `${r.check_id}\0${caseDir}\0${address}`;
      // Two runners over the same file: a failure from either wins.
      if (verdicts.get(key) !== "fail") verdicts.set(key, v);
    };
    for (const r of report.results?.passed_checks ?? []) record(r, "pass");
    for (const r of report.results?.failed_checks ?? []) record(r, "fail");
  }
  return verdicts;
}

export async function differential(root: string, checkov: string, peerDir: string, rules: readonly Rule[] = ALL_RULES): Promise<Comparison[]> {
  const claimed = rules.filter((r) => r.equivalents.some((e) => e.startsWith("CKV")));
  const checks = [...new Set(claimed.flatMap((r) => r.equivalents.filter((e) => e.startsWith("CKV"))))].sort();
  const files = caseFiles(root, peerDir);
  const work = mkdtempSync(join(tmpdir(), "hipaa-checkov-diff-"));
  try {
    // One directory per file: Checkov merges the files of a directory into one module.
    files.forEach((f, i) => {
      mkdirSync(join(work, String(i)));
      copyFileSync(f.path, join(work, String(i), basename(f.path)));
    });
    const theirs = runCheckov(checkov, work, checks);
    const comparisons: Comparison[] = [];
    for (let i = 0; i < files.length; i++) {
      const findings = evaluate(await loadUnits([join(work, String(i), basename(files[i].path))]), claimed);
      for (const rule of claimed) {
        for (const check of rule.equivalents.filter((e) => e.startsWith("CKV"))) {
          const ours = new Map(findings.filter((f) => f.rule === rule.id).map((f) => [f.resource, f.verdict]));
          const addresses = new Set(ours.keys());
          for (const key of theirs.keys()) {
            const [c, dir, address] = key.split("\0");
            // Checkov's verdicts on resource types the rule does not judge are another matter.
            if (c === check && dir === String(i) && rule.resourceTypes.includes(address.split(".")[0])) addresses.add(address);
          }
          for (const resource of [...addresses].sort()) {
            comparisons.push({ rule: rule.id, check, file: files[i].label, resource, ours: ours.get(resource), checkov: theirs.get(`${check}\0${i}\0${resource}`) });
          }
        }
      }
    }
    return comparisons;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export function explain(comparisons: readonly Comparison[], explanations: readonly Explanation[]) {
  const used = new Set<Explanation>();
  const unexplained: Comparison[] = [];
  let differences = 0;
  for (const c of comparisons) {
    if (c.ours === c.checkov) continue;
    differences++;
    const e = explanations.find((x) => x.rule === c.rule && x.check === c.check && glob(x.file).test(c.file) && glob(x.resource).test(c.resource));
    if (e) used.add(e);
    else unexplained.push(c);
  }
  return { differences, unexplained, stale: explanations.filter((e) => !used.has(e)) };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const flag = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const root = join(__dirname, "..");
  const checkov = flag("--checkov") ?? process.env.CHECKOV ?? "checkov";
  const comparisons = await differential(root, checkov, flag("--peer-dir") ?? defaultPeerDir());
  const { explanations } = JSON.parse(readFileSync(join(root, "checkov-differences.json"), "utf8")) as { explanations: Explanation[] };
  for (const e of explanations) if (!e.reason || e.reason.length < 40) throw new Error(`explanation ${e.rule}/${e.check} ${e.file} needs a reason a reviewer accepts`);
  const out = flag("--json");
  if (out) writeFileSync(out, `${JSON.stringify(comparisons, null, 2)}\n`);
  const result = explain(comparisons, explanations);
  const claimedRules = new Set(comparisons.map((c) => c.rule));
  const pairs = new Set(comparisons.map((c) => `${c.rule} ${c.check}`));
  const both = comparisons.filter((c) => c.ours && c.checkov);
  for (const pair of [...pairs].sort()) {
    const mine = comparisons.filter((c) => `${c.rule} ${c.check}` === pair);
    const agree = mine.filter((c) => c.ours && c.ours === c.checkov).length;
    console.log(`${pair.padEnd(58)} ${String(agree).padStart(3)}/${String(mine.length).padEnd(3)} agree`);
  }
  for (const c of result.unexplained) console.log(`UNEXPLAINED ${c.rule} ${c.check} ${c.file} ${c.resource}: ours ${c.ours ?? "not judged"}, checkov ${c.checkov ?? "not judged"}`);
  for (const e of result.stale) console.log(`STALE EXPLANATION ${e.rule} ${e.check} ${e.file} ${e.resource}: matches no difference; remove it`);
  console.log(
    `checkov differential: ${claimedRules.size} rules claim ${new Set(comparisons.map((c) => c.check)).size} distinct Checkov checks (${pairs.size} pairs); ${comparisons.length} verdicts compared (${both.length} judged by both), ` +
      `${comparisons.length - result.differences} agree, ${result.differences} differ (${result.differences - result.unexplained.length} explained in checkov-differences.json, ${result.unexplained.length} unexplained)`,
  );
  if (result.unexplained.length > 0 || result.stale.length > 0) process.exitCode = 1;
}

if (require.main === module) void main();
