import { IResolvable, IResolveContext, Token } from "cdktf";
import { HipaaConfigError } from "../../src/errors";

/**
 * IAM policy statements as typed data, rendered to the JSON IAM expects.
 *
 * Policies are rendered with JSON.stringify rather than `jsonencode(...)` or an
 * `aws_iam_policy_document` data source, so the synthesized Terraform JSON carries the literal
 * policy text (with `${...}` references) that a reviewer, Checkov and our own checker can read.
 */

export type PolicyEffect = "Allow" | "Deny";

export interface PolicyPrincipals {
  readonly AWS?: readonly string[];
  readonly Service?: readonly string[];
  readonly Federated?: readonly string[];
}

/** `{ "StringEquals": { "aws:SecureTransport": "false" } }` */
export type PolicyConditions = Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;

export interface PolicyStatement {
  /** A statement id; unique in its document, so reviewers can refer to it. */
  readonly sid: string;
  readonly effect: PolicyEffect;
  /** Principals; `"*"` is only used by Deny statements. */
  readonly principals?: PolicyPrincipals | "*";
  readonly actions: readonly string[];
  readonly resources?: readonly string[];
  readonly conditions?: PolicyConditions;
}

function single<T>(values: readonly T[]): T | readonly T[] {
  return values.length === 1 ? values[0] : values;
}

function renderStatement(s: PolicyStatement): Record<string, unknown> {
  const out: Record<string, unknown> = { Sid: s.sid, Effect: s.effect };
  if (s.principals === "*") {
    out.Principal = "*";
  } else if (s.principals) {
    const p: Record<string, unknown> = {};
    for (const key of ["AWS", "Service", "Federated"] as const) {
      const values = s.principals[key];
      if (values && values.length > 0) p[key] = single(values);
    }
    out.Principal = p;
  }
  out.Action = single(s.actions);
  if (s.resources) out.Resource = single(s.resources);
  if (s.conditions) out.Condition = s.conditions;
  return out;
}

/**
 * A policy document that statements can be added to until synthesis. `toJson()` returns a
 * lazy string, so grants made after the resource is declared still reach Terraform.
 */
export class PolicyDocument {
  private readonly statements: PolicyStatement[] = [];

  constructor(private readonly path: string, statements: readonly PolicyStatement[] = []) {
    statements.forEach((s) => this.addStatement(s));
  }

  public addStatement(statement: PolicyStatement): void {
    if (this.statements.some((s) => s.sid === statement.sid)) {
      throw new HipaaConfigError({
        path: this.path,
        problem: `policy statement "${statement.sid}" is added twice`,
        fix: "grant each principal once; grants are keyed by intent and principal",
      });
    }
    if (statement.effect === "Allow" && statement.principals === "*") {
      throw new HipaaConfigError({
        path: this.path,
        problem: `statement "${statement.sid}" allows any principal ("*")`,
        cfr: "164.312(a)(1)",
        fix: "name the principal the grant is for",
      });
    }
    if (statement.effect === "Allow" && statement.actions.some((a) => a === "*" || a.endsWith(":*"))) {
      throw new HipaaConfigError({
        path: this.path,
        problem: `statement "${statement.sid}" allows every action (${statement.actions.join(", ")})`,
        cfr: "164.312(a)(1)",
        fix: "list the actions the grant needs",
      });
    }
    this.statements.push(statement);
  }

  public get statementList(): readonly PolicyStatement[] {
    return this.statements;
  }

  /** The rendered document, now. */
  public render(): string {
    // Statements are immutable and only ever appended, so the count identifies the document:
    // synthesis resolves a policy several times (prepare, gate, write) and renders it once.
    if (this.rendered?.count !== this.statements.length) {
      this.rendered = { count: this.statements.length, json: JSON.stringify(this.document()) };
    }
    return this.rendered.json;
  }

  /**
   * The rendered document, resolved at synthesis (after every grant). Not a `Lazy`: cdktf
   * captures (and under ts-node source-maps) a full stack trace for every Lazy it creates, which
   * at thousands of roles cost more than the policies themselves; the document's path says where
   * it was created just as well, should it fail to resolve.
   */
  public toJson(): string {
    return Token.asString(new RenderedPolicy(this.path, () => this.document(), () => this.render()));
  }

  private document(): { Version: string; Statement: Record<string, unknown>[] } {
    return { Version: "2012-10-17", Statement: this.statements.map(renderStatement) };
  }

  private rendered?: { readonly count: number; readonly json: string };
}

/**
 * A token resolved to a policy document's JSON at synthesis (cdktf's IResolvable contract).
 *
 * The document's values are resolved one by one and then serialized, instead of resolving the
 * serialized text: cdktf scans a string for escape sequences from each of its tokens to the end
 * of the string, so resolving one policy of n statements costs n^2 (an evidence bucket policy with
 * a thousand grants took seconds). The text is the same either way whenever every resolved value
 * reads the same inside a JSON string as outside it (no quote, backslash or control character);
 * otherwise the serialized text is resolved as before.
 */
class RenderedPolicy implements IResolvable {
  public readonly creationStack: string[];

  constructor(path: string, private readonly document: () => unknown, private readonly text: () => string) {
    this.creationStack = [`policy document ${path}`];
  }

  public resolve(context: IResolveContext): string {
    const resolved: unknown = context.resolve(this.document());
    return isVerbatimJson(resolved) ? JSON.stringify(resolved) : this.text();
  }

  public toString(): string {
    return Token.asString(this);
  }

  public toJSON(): string {
    return "<unresolved-policy>";
  }
}

/** True when every string in `value` (keys included) is written verbatim inside a JSON string. */
function isVerbatimJson(value: unknown): boolean {
  if (typeof value === "string") return !/["\\\u0000-\u001f\ud800-\udfff]/.test(value);
  if (Array.isArray(value)) return value.every(isVerbatimJson);
  if (value !== null && typeof value === "object") return Object.entries(value).every(([k, v]) => isVerbatimJson(k) && isVerbatimJson(v));
  return false;
}

/**
 * A statement id from free text: IAM Sids are alphanumeric. Tokens (unresolved ARNs) are
 * replaced by a stable counter-free placeholder so the Sid stays deterministic.
 */
export function sidFrom(...parts: string[]): string {
  return parts
    .map((p) => (Token.isUnresolved(p) ? "Ref" : p))
    .join(" ")
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w.length > 0)
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join("");
}
