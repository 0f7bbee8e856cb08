import { ResourceIndex, UndeclaredAcrossStacksRead } from "./links";
import { TfResource, TfUnit } from "./terraform";

export type Severity = "critical" | "high" | "medium" | "low";
export type Verdict = "pass" | "fail";

/** What a rule decides about one resource; `undefined` means the rule does not apply. */
export interface Judgement {
  readonly verdict: Verdict;
  readonly message: string;
}

/** `resourceTypes` entry for a rule that judges every managed resource (it decides applicability itself). */
export const ANY_TYPE = "*";

/**
 * A rule is data plus a pure function (cdk-nag's shape): the id, what it checks, the CFR sections
 * it serves, the resource types it judges, the fix, and the other scanners' rules that mean the
 * same (claimed only where the semantics match, and proven against their fixtures).
 */
export interface Rule {
  readonly id: string;
  readonly title: string;
  readonly severity: Severity;
  readonly controls: readonly string[];
  readonly resourceTypes: readonly string[];
  readonly fix: string;
  readonly equivalents: readonly string[];
  /**
   * KICS queries (Checkmarx/kics, assets/queries/terraform) that mean the same, by the UUID and
   * name in their metadata.json. Claimed from the query's rego and description; KICS is not run.
   */
  readonly kics?: readonly KicsQuery[];
  /**
   * Resource types the rule reads in every unit being judged (`index.ofTypeEverywhere`), not only
   * its own. Declared so the synth gate can judge one stack at a time keeping only these
   * resources of the other stacks; reading an undeclared type across stacks throws.
   */
  readonly acrossStacks?: readonly string[];
  readonly evaluate: (resource: TfResource, index: ResourceIndex) => Judgement | undefined;
}

export interface KicsQuery {
  readonly id: string;
  readonly name: string;
}

export interface Finding {
  readonly rule: string;
  readonly equivalents: readonly string[];
  /** `type.name` */
  readonly resource: string;
  readonly file: string;
  readonly verdict: Verdict;
  readonly controls: readonly string[];
  readonly message: string;
}

export const pass = (message: string): Judgement => ({ verdict: "pass", message });
export const fail = (message: string): Judgement => ({ verdict: "fail", message });

/** The resource types any of `rules` reads across units: all a unit needs to know of the others. */
export function acrossStackTypes(rules: readonly Rule[]): Set<string> {
  return new Set(rules.flatMap((r) => r.acrossStacks ?? []));
}

/** The resources of `types` in `units`, by type: what `evaluateUnit` needs of the other units. */
export function resourcesOfTypes(units: readonly TfUnit[], types: ReadonlySet<string>): Map<string, TfResource[]> {
  const out = new Map<string, TfResource[]>();
  for (const unit of units) {
    for (const r of unit.resources) {
      if (!types.has(r.type)) continue;
      const list = out.get(r.type);
      if (list) list.push(r);
      else out.set(r.type, [r]);
    }
  }
  return out;
}

/** Judges every resource of every unit with every applicable rule: one finding per (rule, resource). */
export function evaluate(units: readonly TfUnit[], rules: readonly Rule[]): Finding[] {
  const everything = resourcesOfTypes(units, acrossStackTypes(rules));
  return units.flatMap((unit) => evaluateUnit(unit, rules, everything));
}

/**
 * Judges one unit. `everything` holds the resources of every unit being judged of the types the
 * rules read across units (`acrossStackTypes`), this unit's included; nothing else of the other
 * units is needed, so a caller may judge units one at a time.
 */
export function evaluateUnit(
  unit: TfUnit,
  rules: readonly Rule[],
  everything: ReadonlyMap<string, readonly TfResource[]>,
  /** Receives the types the rules actually read across units while judging this one. */
  readAcross?: Set<string>,
): Finding[] {
  const findings: Finding[] = [];
  evaluateUnitEach(unit, rules, everything, readAcross, (rule, resource, j) =>
    findings.push({
      rule: rule.id,
      equivalents: rule.equivalents,
      resource: resource.address,
      file: unit.file,
      verdict: j.verdict,
      controls: rule.controls,
      message: findingMessage(rule, j),
    }),
  );
  return findings;
}

/** A finding's message: a failure's ends with the rule's fix. */
export function findingMessage(rule: Rule, j: Judgement): string {
  return j.verdict === "fail" ? `${j.message}. Fix: ${rule.fix}` : j.message;
}

/**
 * `evaluateUnit`, handing each (rule, resource, judgement) to `each` as it is made instead of
 * collecting findings: the synth gate builds its own findings from them, with no intermediate
 * object per finding.
 */
export function evaluateUnitEach(
  unit: TfUnit,
  rules: readonly Rule[],
  everything: ReadonlyMap<string, readonly TfResource[]>,
  readAcross: Set<string> | undefined,
  each: (rule: Rule, resource: TfResource, judgement: Judgement) => void,
): void {
  const byType = new Map<string, Rule[]>();
  for (const rule of rules) for (const t of rule.resourceTypes) byType.set(t, [...(byType.get(t) ?? []), rule]);
  const index = new ResourceIndex(unit, everything, acrossStackTypes(rules), readAcross);
  const anyType = byType.get(ANY_TYPE) ?? [];
  const applicable = new Map<string, Rule[]>();
  for (const resource of unit.resources) {
    if (resource.mode !== "managed") continue;
    let forType = applicable.get(resource.type);
    if (!forType) applicable.set(resource.type, (forType = [...(byType.get(resource.type) ?? []), ...anyType]));
    for (const rule of forType) {
      const j = evaluateNaming(rule, resource, index);
      if (j) each(rule, resource, j);
    }
  }
}

/** Evaluates one rule, naming it when it reads another stack's resources it did not declare. */
function evaluateNaming(rule: Rule, resource: TfResource, index: ResourceIndex): Judgement | undefined {
  try {
    return rule.evaluate(resource, index);
  } catch (e) {
    if (e instanceof UndeclaredAcrossStacksRead) throw new UndeclaredAcrossStacksRead(e.type, rule.id);
    throw e;
  }
}
