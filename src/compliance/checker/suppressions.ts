import { acrossStackTypes, evaluateUnitEach, Finding, findingMessage, resourcesOfTypes, Rule } from "./rule";
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
  const findings: JudgedFinding[] = [];
  // One object per finding, made whole here (a large stack has tens of thousands of them, kept
  // until its control map is written), with the same keys in the same order as before.
  evaluateUnitEach(unit, rules, everything, readAcross, (rule, resource, j) => {
    const suppression = j.verdict === "fail" ? unit.metadata?.suppressions.find((x) => x.resource === resource.address && patternCovers(x.rule, rule.id)) : undefined;
    const judged: JudgedFinding = { rule: rule.id, equivalents: rule.equivalents, resource: resource.address, file: unit.file, verdict: suppression ? "suppressed" : j.verdict, controls: rule.controls, message: findingMessage(rule, j), constructPath: resource.constructPath };
    findings.push(suppression ? { ...judged, suppressionReason: suppression.reason } : judged);
  });
  return findings;
}
