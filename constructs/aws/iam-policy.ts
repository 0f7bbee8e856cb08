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

export function renderStatement(s: PolicyStatement): Record<string, unknown> {
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
 * cdktf resolves a string by scanning it for escape sequences from each of its tokens to the end
 * of the string, so one policy of n statements costs n^2 (an evidence bucket policy with a
 * thousand grants took seconds). A long document is therefore resolved value by value and then
 * serialized. The text is the same either way when every resolved value reads the same inside a
 * JSON string as outside it (no quote, backslash or control character); otherwise, and for short
 * documents, the serialized text is resolved as cdktf always did.
 */
class RenderedPolicy implements IResolvable {
  public readonly creationStack: string[];

  constructor(path: string, private readonly document: () => unknown, private readonly text: () => string) {
    this.creationStack = [`policy document ${path}`];
  }

  public resolve(context: IResolveContext): string {
    const text = this.text();
    if (text.length < LONG_POLICY) return text;
    const resolved = resolveValues(this.document(), context);
    return resolved === UNCHANGED_TEXT ? text : JSON.stringify(resolved);
  }

  public toString(): string {
    return Token.asString(this);
  }

  public toJSON(): string {
    return "<unresolved-policy>";
  }
}

/** Characters of rendered policy from which value-by-value resolution is the cheaper way. */
const LONG_POLICY = 4096;
const UNCHANGED_TEXT = Symbol("resolve the serialized text");
/** A string cdktf resolves: an encoded string token, or what might be an encoded number. */
const MAY_HOLD_TOKEN = /TfToken\[|[-|\d.+]e/;
const LIST_OR_MAP_TOKEN = /[#&]\{TfToken\[/;
/** Written unchanged inside a JSON string. */
const VERBATIM = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;

/** The document with every token resolved, or UNCHANGED_TEXT where the text route must be taken. */
function resolveValues(value: unknown, context: IResolveContext): unknown {
  if (typeof value === "string") {
    if (!MAY_HOLD_TOKEN.test(value)) return value;
    if (LIST_OR_MAP_TOKEN.test(value)) return UNCHANGED_TEXT;
    const resolved: unknown = context.resolve(value);
    return typeof resolved === "string" && VERBATIM.test(resolved) ? resolved : UNCHANGED_TEXT;
  }
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const v of value) {
      const r = resolveValues(v, context);
      if (r === UNCHANGED_TEXT) return UNCHANGED_TEXT;
      out.push(r);
    }
    return out;
  }
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const key = resolveValues(k, context);
      const r = resolveValues(v, context);
      if (key === UNCHANGED_TEXT || r === UNCHANGED_TEXT || typeof key !== "string" || key in out) return UNCHANGED_TEXT;
      out[key] = r;
    }
    return out;
  }
  return UNCHANGED_TEXT;
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
