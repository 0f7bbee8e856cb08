/**
 * `node tools/checkov-gate.ts <checkov-results.json>...`: fails (exit 1) on any failed Checkov
 * check not listed in checkov-skips.json, and on any skip that no longer matches a failure (a
 * stale exception is itself a finding). Prints passed / failed / skipped counts.
 */
import { readFileSync } from "fs";
import { join } from "path";

interface Skip {
  readonly check: string;
  readonly resource: string;
  readonly reason: string;
}

interface CheckovFailure {
  readonly check_id: string;
  readonly resource: string;
  readonly file_path: string;
}

const glob = (pattern: string) => new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);

export function gate(reports: unknown[], skips: readonly Skip[]): { passed: number; failed: CheckovFailure[]; skipped: CheckovFailure[]; unused: Skip[] } {
  let passed = 0;
  const failed: CheckovFailure[] = [];
  const skipped: CheckovFailure[] = [];
  const used = new Set<Skip>();
  for (const report of reports.flat()) {
    const r = report as { summary?: { passed?: number }; results?: { failed_checks?: CheckovFailure[] } };
    passed += r.summary?.passed ?? 0;
    for (const f of r.results?.failed_checks ?? []) {
      // Checkov names terraform_json resources "resource.NAME" or "TYPE.NAME".
      const skip = skips.find((s) => s.check === f.check_id && glob(s.resource).test(f.resource));
      if (skip) {
        skipped.push(f);
        used.add(skip);
      } else {
        failed.push(f);
      }
    }
  }
  return { passed, failed, skipped, unused: skips.filter((s) => !used.has(s)) };
}

if (require.main === module) {
  const { skips } = JSON.parse(readFileSync(join(__dirname, "..", "checkov-skips.json"), "utf8")) as { skips: Skip[] };
  for (const s of skips) if (!s.reason || s.reason.length < 40) throw new Error(`skip ${s.check} ${s.resource} needs a reason an auditor accepts`);
  const reports = process.argv.slice(2).map((f) => JSON.parse(readFileSync(f, "utf8")));
  const result = gate(reports, skips);
  for (const f of result.failed) console.log(`FAILED ${f.check_id} ${f.resource} (${f.file_path})`);
  for (const s of result.unused) console.log(`STALE SKIP ${s.check} ${s.resource}: matches no failure; remove it`);
  console.log(`checkov: ${result.passed} passed, ${result.failed.length} failed, ${result.skipped.length} skipped (reasons in checkov-skips.json)`);
  if (result.failed.length > 0 || result.unused.length > 0) process.exitCode = 1;
}
