import { str, TfResource, TfUnit, TfValue } from "./terraform";

/** A rule read a resource type of other stacks that no rule declares in `acrossStacks`. */
export class UndeclaredAcrossStacksRead extends Error {
  constructor(public readonly type: string, ruleId?: string) {
    super(
      `${ruleId ? `rule ${ruleId}` : "a rule"} reads ${type} across stacks without declaring it in its acrossStacks: the synth gate would not see the other stacks' ${type}. ` +
        `Fix: add "${type}" to the rule's acrossStacks`,
    );
    this.name = "UndeclaredAcrossStacksRead";
  }
}

/**
 * Companion resources: the resources that configure another one by reference
 * (`bucket = "${aws_s3_bucket.x.id}"`) or by literal name (`bucket = "my-bucket"`), indexed once
 * per unit so each rule looks them up in constant time.
 */
export class ResourceIndex {
  private readonly byAddress = new Map<string, TfResource>();
  private readonly referrers = new Map<string, TfResource[]>();
  private readonly byType = new Map<string, TfResource[]>();

  /**
   * @param everything resources of every unit being judged, by type, for the few rules that
   *   compare across stacks (a claim template in the GitHub stack, a role in an AWS stack)
   */
  constructor(
    public readonly unit: TfUnit,
    private readonly everything: ReadonlyMap<string, readonly TfResource[]> = new Map(),
    /** The types `everything` is complete for (the rules' `acrossStacks`); undefined: no check. */
    private readonly acrossTypes?: ReadonlySet<string>,
    /** Receives each type read across units, so a caller judging units one at a time knows what a verdict depended on. */
    private readonly readAcross?: Set<string>,
  ) {
    UNIT_INDEXES.set(unit, this);
    for (const r of unit.resources) {
      this.byAddress.set(r.address, r);
      const sameType = this.byType.get(r.type);
      if (sameType) sameType.push(r);
      else this.byType.set(r.type, [r]);
    }
    // Literal names a companion may use instead of a reference.
    const byLiteralName = new Map<string, string>();
    for (const r of unit.resources) {
      for (const key of ["bucket", "name"]) {
        const v = str(r.body[key]);
        if (v && !v.includes("${")) byLiteralName.set(`${r.type}:${v}`, r.address);
      }
    }
    for (const r of unit.resources) {
      const targets = new Set<string>();
      collectReferences(r.body, targets);
      for (const key of ["bucket", "repository", "crypto_key_id", "cluster"]) {
        const v = str(r.body[key]);
        if (!v || v.includes("${")) continue;
        for (const subjectType of ["aws_s3_bucket", "github_repository", "google_storage_bucket"]) {
          const address = byLiteralName.get(`${subjectType}:${v}`);
          if (address && address !== r.address) targets.add(address);
        }
      }
      for (const t of targets) {
        const list = this.referrers.get(t);
        if (list) list.push(r);
        else this.referrers.set(t, [r]);
      }
    }
  }

  /**
   * An index of `unit` for unit-local lookups (`get`, `companions`, `resolve`): the one its
   * judgement built, if any, rather than a second pass over every body.
   */
  public static of(unit: TfUnit): ResourceIndex {
    return UNIT_INDEXES.get(unit) ?? new ResourceIndex(unit);
  }

  private readonly memo = new Map<string, unknown>();

  /** A value computed once per unit (e.g. the set of log-target buckets) for rules to share. */
  public memoize<T>(key: string, compute: () => T): T {
    if (!this.memo.has(key)) this.memo.set(key, compute());
    return this.memo.get(key) as T;
  }

  public get(address: string): TfResource | undefined {
    return this.byAddress.get(address);
  }

  /** Resources of `type` in every unit being judged. */
  public ofTypeEverywhere(type: string): readonly TfResource[] {
    if (this.acrossTypes && !this.acrossTypes.has(type)) {
      throw new UndeclaredAcrossStacksRead(type);
    }
    this.readAcross?.add(type);
    return this.everything.get(type) ?? this.ofType(type);
  }

  public ofType(type: string): readonly TfResource[] {
    return this.byType.get(type) ?? [];
  }

  /** Resources of `type` that refer to `subject` (by reference or literal name). */
  public companions(subject: TfResource, type: string): TfResource[] {
    return (this.referrers.get(subject.address) ?? []).filter((r) => r.type === type);
  }

  /** The resource a reference expression points at, e.g. `${aws_kms_key.k.arn}` -> aws_kms_key.k. */
  public resolve(value: TfValue): TfResource | undefined {
    const refs = new Set<string>();
    collectReferences(value, refs);
    for (const ref of refs) {
      const r = this.byAddress.get(ref);
      if (r) return r;
    }
    return undefined;
  }
}

const UNIT_INDEXES = new WeakMap<TfUnit, ResourceIndex>();

const REFERENCE = /\b(data\.)?([a-z][a-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_-]*)/g;

/** Every `type.name` / `data.type.name` referenced inside `${...}` in a value. */
export function collectReferences(value: TfValue, into: Set<string>): void {
  if (typeof value === "string") {
    if (!value.includes("${")) return;
    for (const m of value.matchAll(REFERENCE)) {
      if (m[2] === "var" || m[2] === "local" || m[2] === "each" || m[2] === "count") continue;
      into.add(`${m[1] ?? ""}${m[2]}.${m[3]}`);
    }
  } else if (Array.isArray(value)) {
    for (const v of value) collectReferences(v, into);
  } else if (value !== null && typeof value === "object") {
    for (const v of Object.values(value)) collectReferences(v, into);
  }
}
