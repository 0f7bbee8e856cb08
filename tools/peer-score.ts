/**
 * `npm run peer-score [DIR]`: runs the checker over another scanner's own pass/fail fixtures
 * (../shared/peer-cases/trivy-checks by default) and prints, per peer rule we claim as an
 * equivalent, how many expected verdicts we agree with. A case's verdict is compared per
 * subject resource where the manifest lists them, else per file (a bad file must fail, a good one
 * must not). Exits 1 below 100% on any claimed rule.
 */
import { existsSync, readdirSync, readFileSync } from "fs";
import { join, resolve } from "path";
import { ALL_RULES, evaluate, Finding, loadUnits, Rule } from "../src/compliance/checker";

interface Case {
  readonly file: string;
  readonly verdict: "pass" | "fail";
  readonly resources?: Record<string, "pass" | "fail">;
}

export interface PeerScore {
  readonly peerRule: string;
  readonly ourRules: readonly string[];
  readonly agreed: number;
  readonly total: number;
  readonly disagreements: readonly string[];
}

export async function peerScores(dir: string, rules: readonly Rule[] = ALL_RULES): Promise<PeerScore[]> {
  const scores: PeerScore[] = [];
  for (const folder of readdirSync(dir).sort()) {
    const manifest = join(dir, folder, "expected.json");
    if (!existsSync(manifest)) continue;
    const expected = JSON.parse(readFileSync(manifest, "utf8")) as { rule: string; cases: Case[] };
    const claimed = rules.filter((r) => r.equivalents.includes(`AVD-${expected.rule}`));
    if (claimed.length === 0) continue;
    let agreed = 0;
    let total = 0;
    const disagreements: string[] = [];
    for (const c of expected.cases) {
      const units = await loadUnits([join(dir, folder, c.file)]);
      const findings: Finding[] = evaluate(units, claimed);
      const failed = (address?: string) => findings.some((f) => f.verdict === "fail" && (address === undefined || f.resource === address));
      const checks: [string, "pass" | "fail", boolean][] = c.resources
        ? Object.entries(c.resources).map(([address, verdict]) => [`${c.file} ${address}`, verdict, failed(address)])
        : [[c.file, c.verdict, failed()]];
      for (const [what, verdict, didFail] of checks) {
        total++;
        if ((verdict === "fail") === didFail) agreed++;
        else disagreements.push(`${what}: expected ${verdict}, got ${didFail ? "fail" : "pass"}`);
      }
    }
    scores.push({ peerRule: `AVD-${expected.rule}`, ourRules: claimed.map((r) => r.id), agreed, total, disagreements });
  }
  return scores;
}

/** `../shared/peer-cases/trivy-checks` from a clone beside `shared/`, or from a worktree one level deeper. */
export function defaultPeerDir(): string {
  const candidates = [join(__dirname, "..", "..", "shared", "peer-cases", "trivy-checks"), join(__dirname, "..", "..", "..", "shared", "peer-cases", "trivy-checks")];
  return candidates.find((c) => existsSync(c)) ?? candidates[0];
}

async function main(): Promise<void> {
  const dir = resolve(process.argv[2] ?? defaultPeerDir());
  const scores = await peerScores(dir);
  let agreed = 0;
  let total = 0;
  for (const s of scores) {
    agreed += s.agreed;
    total += s.total;
    console.log(`${s.peerRule.padEnd(14)} ${s.ourRules.join(",").padEnd(44)} ${String(s.agreed).padStart(3)}/${String(s.total).padEnd(3)} ${((100 * s.agreed) / s.total).toFixed(0)}%`);
    for (const d of s.disagreements) console.log(`    ${d}`);
  }
  console.log(`total: ${agreed}/${total} verdicts agree (${((100 * agreed) / Math.max(total, 1)).toFixed(1)}%) over ${scores.length} claimed peer rules`);
  if (scores.some((s) => s.agreed !== s.total)) process.exitCode = 1;
}

if (require.main === module) void main();
