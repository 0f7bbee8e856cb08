/**
 * `npm run --silent parity`: how many of Checkov's and KICS's rules on the resource types we judge
 * our rules claim as equivalents (issue 13's target: at least half of each). The denominators are
 * parity-denominator.json (how they were counted is in its "about"); the claims come from the rules.
 */
import { readFileSync } from "fs";
import { join } from "path";
import { ALL_RULES, Rule } from "../src/compliance/checker";

export interface Denominator {
  readonly resourceTypes: readonly string[];
  readonly checkov: { readonly version: string; readonly checks: readonly { readonly id: string; readonly name: string }[] };
  readonly kics: { readonly version: string; readonly queries: readonly { readonly id: string; readonly name: string }[] };
}

export function loadDenominator(root = join(__dirname, "..")): Denominator {
  return JSON.parse(readFileSync(join(root, "parity-denominator.json"), "utf8")) as Denominator;
}

export function parityShares(denominator: Denominator, rules: readonly Rule[] = ALL_RULES) {
  const checkov = new Set(rules.flatMap((r) => r.equivalents.filter((e) => e.startsWith("CKV"))));
  const kics = new Set(rules.flatMap((r) => (r.kics ?? []).map((q) => q.id)));
  const checkovOn = denominator.checkov.checks.filter((c) => checkov.has(c.id));
  const kicsOn = denominator.kics.queries.filter((q) => kics.has(q.id));
  return {
    checkov: { claimed: checkov.size, onOurTypes: checkovOn.length, total: denominator.checkov.checks.length, unclaimed: denominator.checkov.checks.filter((c) => !checkov.has(c.id)) },
    kics: { claimed: kics.size, onOurTypes: kicsOn.length, total: denominator.kics.queries.length, unclaimed: denominator.kics.queries.filter((q) => !kics.has(q.id)) },
  };
}

function main(): void {
  const d = loadDenominator();
  const s = parityShares(d);
  const pct = (n: number, t: number) => `${((100 * n) / t).toFixed(0)}%`;
  if (process.argv.includes("--unclaimed")) {
    for (const c of s.checkov.unclaimed) console.log(`checkov unclaimed ${c.id} ${c.name}`);
    for (const q of s.kics.unclaimed) console.log(`kics unclaimed ${q.id} ${q.name}`);
  }
  console.log(
    `parity: Checkov ${d.checkov.version} ${s.checkov.onOurTypes}/${s.checkov.total} checks on our resource types claimed (${pct(s.checkov.onOurTypes, s.checkov.total)}); ` +
      `KICS ${d.kics.version} ${s.kics.onOurTypes}/${s.kics.total} queries (${pct(s.kics.onOurTypes, s.kics.total)}; ${s.kics.claimed} claimed in all, the rest on aws_s3_bucket_public_access_block)`,
  );
}

if (require.main === module) main();
