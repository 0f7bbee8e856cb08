import { acrossStackTypes, evaluateUnit, Finding, resourcesOfTypes, Rule } from "./rule";
import { TfResource, TfUnit } from "./terraform";

/** A finding after suppressions: a failure with a recorded reason becomes `suppressed`. */
export interface JudgedFinding extends Omit<Finding, "verdict"> {
  readonly verdict: "pass" | "fail" | "suppressed";
  readonly constructPath?: string;
  readonly suppressionReason?: string;
}

/** True when `pattern` (an id, `FAMILY-*` or `*`) covers `ruleId`. */
export function patternCovers(pattern: string, ruleId: string): boolean {
  if (pattern === "*") return true;
  if (pattern.endsWith("-*")) return ruleId.startsWith(pattern.slice(0, -1));
  return pattern === ruleId;
}

/**
 * Why `pattern` names no rule in `rules`, or undefined when it names at least one. A misspelt id
 * must be an error: silently accepting it leaves the failure it was meant to cover unexplained,
 * or worse, hides a typo that later matches nothing after a rename.
 */
export function unknownRulePattern(pattern: string, rules: readonly Rule[]): string | undefined {
  if (pattern === "*") return undefined;
  if (!/^[A-Z0-9]+(-[A-Z0-9]+)*(-\*)?$/.test(pattern)) return `"${pattern}" is neither a rule id, a family such as "HIPAA-S3-*", nor "*"`;
  if (rules.some((r) => patternCovers(pattern, r.id))) return undefined;
  const near = rules.map((r) => r.id).filter((id) => id.split("-").slice(0, 2).join("-") === pattern.split("-").slice(0, 2).join("-"));
  return `no rule is named "${pattern}"${near.length > 0 ? ` (rules of that family: ${near.join(", ")})` : ""}`;
}

/**
 * Judges units and applies the suppressions each unit carries. The one path from Terraform to
 * verdicts, used by synth and by the CLI alike.
 */
export function judge(units: readonly TfUnit[], rules: readonly Rule[]): JudgedFinding[] {
  const everything = resourcesOfTypes(units, acrossStackTypes(rules));
  return units.flatMap((unit) => judgeUnit(unit, rules, everything));
}

/**
 * Judges one unit among others (`everything`: the other units' resources the rules read across
 * units, see `evaluateUnit`), with the suppressions the unit carries.
 */
export function judgeUnit(unit: TfUnit, rules: readonly Rule[], everything: ReadonlyMap<string, readonly TfResource[]>, readAcross?: Set<string>): JudgedFinding[] {
  const paths = new Map<string, string | undefined>();
  for (const r of unit.resources) paths.set(r.address, r.constructPath);
  return evaluateUnit(unit, rules, everything, readAcross).map((f) => {
    const judged: JudgedFinding = { ...f, constructPath: paths.get(f.resource) };
    if (f.verdict !== "fail") return judged;
    const s = unit.metadata?.suppressions.find((x) => x.resource === f.resource && patternCovers(x.rule, f.rule));
    return s ? { ...judged, verdict: "suppressed", suppressionReason: s.reason } : judged;
  });
}
