import { ResourceIndex } from "./links";
import { blocks, str, strings, TfBody, TfResource } from "./terraform";

/**
 * IAM policy documents in every shape Terraform configuration writes them, as IAM JSON
 * statements:
 *
 * - a literal JSON string (cdktf `JSON.stringify`, an HCL heredoc);
 * - `jsonencode({...})`: HCL's function, which hcl2json leaves as the string
 *   `${jsonencode({Version = "2012-10-17", ...})}`, and cdktf's `Fn.jsonencode`, which renders the
 *   same with quoted keys; the object expression is parsed here, references inside it kept as
 *   `${...}` strings;
 * - a reference to `data.aws_iam_policy_document.X.json` (cdktf `DataAwsIamPolicyDocument`, or HCL),
 *   whose `statement` blocks are rendered as the provider renders them.
 *
 * Anything else (a variable, a file() call) is undefined: not judged, rather than guessed.
 */
export function policyStatements(value: unknown, index?: ResourceIndex): Record<string, any>[] | undefined {
  return statementsOf(value, index, 0);
}

function statementsOf(value: unknown, index: ResourceIndex | undefined, depth: number): Record<string, any>[] | undefined {
  if (depth > 8) return undefined;
  if (value !== null && typeof value === "object" && !Array.isArray(value)) return statementList(value);
  if (typeof value !== "string") return undefined;
  const text = value.trim();
  const document = /^\$\{\s*data\.aws_iam_policy_document\.([A-Za-z_][\w-]*)\.(?:json|minified_json)\s*\}$/.exec(text);
  if (document) {
    const data = index?.get(`data.aws_iam_policy_document.${document[1]}`);
    return data ? documentStatements(data, index, depth) : undefined;
  }
  const encoded = /^\$\{\s*jsonencode\(([\s\S]*)\)\s*\}$/.exec(text);
  if (encoded) {
    const parsed = parseHclExpression(encoded[1]);
    return parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) ? statementList(parsed) : undefined;
  }
  // Several rules read the same policy of the same resource: parse each text once per unit.
  const cache = index ? (PARSED.get(index) ?? PARSED.set(index, new Map()).get(index)!) : undefined;
  if (cache?.has(text)) return cache.get(text)?.slice();
  let statements: Record<string, any>[] | undefined;
  try {
    statements = statementList(JSON.parse(text));
  } catch {
    statements = undefined;
  }
  cache?.set(text, statements);
  return statements?.slice();
}

const PARSED = new WeakMap<ResourceIndex, Map<string, Record<string, any>[] | undefined>>();

function statementList(doc: unknown): Record<string, any>[] | undefined {
  if (doc === null || typeof doc !== "object") return undefined;
  return [(doc as Record<string, unknown>).Statement].flat().filter((s): s is Record<string, any> => s !== null && typeof s === "object");
}

/**
 * The statements `aws_iam_policy_document` renders: `effect` defaults to Allow; a `*` principal
 * type with identifier `*` renders as `"Principal": "*"`; conditions group by test, then variable.
 * `source_policy_documents` come first; `override_policy_documents` are appended (their Sid
 * replacement is not modelled: every statement is judged, which can only find more).
 */
function documentStatements(data: TfResource, index: ResourceIndex | undefined, depth: number): Record<string, any>[] | undefined {
  const out: Record<string, any>[] = [];
  for (const source of strings(data.body.source_policy_documents)) {
    const s = statementsOf(source, index, depth + 1);
    if (!s) return undefined;
    out.push(...s);
  }
  if (typeof data.body.source_json === "string") out.push(...(statementsOf(data.body.source_json, index, depth + 1) ?? []));
  for (const st of blocks(data.body.statement)) out.push(renderStatement(st));
  for (const override of strings(data.body.override_policy_documents)) out.push(...(statementsOf(override, index, depth + 1) ?? []));
  return out;
}

function renderStatement(st: TfBody): Record<string, any> {
  const s: Record<string, any> = { Effect: str(st.effect) ?? "Allow" };
  if (str(st.sid)) s.Sid = str(st.sid);
  const list = (v: unknown) => {
    const values = strings(v);
    return values.length === 1 ? values[0] : values;
  };
  if (st.actions !== undefined) s.Action = list(st.actions);
  if (st.not_actions !== undefined) s.NotAction = list(st.not_actions);
  if (st.resources !== undefined) s.Resource = list(st.resources);
  if (st.not_resources !== undefined) s.NotResource = list(st.not_resources);
  const principals = (key: string) => {
    const p: Record<string, string[]> = {};
    let everyone = false;
    for (const b of blocks(st[key])) {
      const type = str(b.type) ?? "";
      const ids = strings(b.identifiers);
      if (type === "*" && ids.includes("*")) everyone = true;
      else p[type] = [...(p[type] ?? []), ...ids];
    }
    if (everyone) return "*";
    return Object.keys(p).length > 0 ? p : undefined;
  };
  const principal = principals("principals");
  if (principal) s.Principal = principal;
  const notPrincipal = principals("not_principals");
  if (notPrincipal) s.NotPrincipal = notPrincipal;
  const condition: Record<string, Record<string, string[]>> = {};
  for (const c of blocks(st.condition)) {
    const test = str(c.test);
    const variable = str(c.variable);
    if (!test || !variable) continue;
    condition[test] ??= {};
    condition[test][variable] = [...(condition[test][variable] ?? []), ...strings(c.values)];
  }
  if (Object.keys(condition).length > 0) s.Condition = condition;
  return s;
}

/**
 * Parses an HCL expression of literals, objects and tuples (what `jsonencode` is given) into a
 * value. References, function calls, operators and `for` expressions are kept as `${...}` strings
 * (the form cdktf and hcl2json use), so a rule sees "an expression" there, never a guess.
 * Returns undefined when the text is not such an expression.
 */
export function parseHclExpression(text: string): unknown {
  const p = new HclParser(text);
  try {
    const value = p.value();
    p.space(true);
    return p.done() ? value : undefined;
  } catch {
    return undefined;
  }
}

class HclParser {
  private i = 0;

  constructor(private readonly s: string) {}

  public done(): boolean {
    return this.i >= this.s.length;
  }

  /** Skips blanks and comments; newlines too when `newlines`. */
  public space(newlines: boolean): void {
    for (;;) {
      const c = this.s[this.i];
      if (c === " " || c === "\t" || c === "\r" || (newlines && c === "\n")) this.i++;
      else if (c === "#" || (c === "/" && this.s[this.i + 1] === "/")) while (this.i < this.s.length && this.s[this.i] !== "\n") this.i++;
      else if (c === "/" && this.s[this.i + 1] === "*") {
        const end = this.s.indexOf("*/", this.i + 2);
        this.i = end < 0 ? this.s.length : end + 2;
      } else return;
    }
  }

  public value(): unknown {
    this.space(true);
    const start = this.i;
    const primary = this.primary();
    this.space(false);
    const next = this.s[this.i];
    if (this.i >= this.s.length || next === "," || next === "}" || next === "]" || next === ")" || next === "\n") return primary;
    // An operator follows (a conditional, arithmetic, a comparison): keep the whole expression.
    this.i = start;
    return `\${${this.raw()}}`;
  }

  private primary(): unknown {
    const c = this.s[this.i];
    if (c === "{") return /^\{\s*for\s/.test(this.s.slice(this.i)) ? `\${${this.raw()}}` : this.object();
    if (c === "[") return /^\[\s*for\s/.test(this.s.slice(this.i)) ? `\${${this.raw()}}` : this.tuple();
    if (c === '"') return this.string();
    if (c === "<" && this.s[this.i + 1] === "<") return this.heredoc();
    if (c === "(") return `\${${this.raw()}}`;
    const number = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(this.s.slice(this.i));
    if (number) {
      this.i += number[0].length;
      return Number(number[0]);
    }
    const word = /^[A-Za-z_][\w-]*/.exec(this.s.slice(this.i));
    if (!word) throw new Error(`unexpected ${c}`);
    if (["true", "false", "null"].includes(word[0]) && !/^[\w.([-]/.test(this.s[this.i + word[0].length] ?? "")) {
      this.i += word[0].length;
      return word[0] === "null" ? null : word[0] === "true";
    }
    return `\${${this.raw()}}`;
  }

  private object(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.i++;
    for (;;) {
      this.space(true);
      if (this.s[this.i] === ",") {
        this.i++;
        continue;
      }
      if (this.s[this.i] === "}") {
        this.i++;
        return out;
      }
      const key = this.key();
      this.space(false);
      if (this.s[this.i] !== "=" && this.s[this.i] !== ":") throw new Error("expected = or :");
      this.i++;
      out[key] = this.value();
    }
  }

  private key(): string {
    if (this.s[this.i] === '"') return this.string();
    if (this.s[this.i] === "(") return `\${${this.raw()}}`;
    const word = /^[A-Za-z_][\w-]*/.exec(this.s.slice(this.i));
    if (!word) throw new Error("expected a key");
    this.i += word[0].length;
    return word[0];
  }

  private tuple(): unknown[] {
    const out: unknown[] = [];
    this.i++;
    for (;;) {
      this.space(true);
      if (this.s[this.i] === ",") {
        this.i++;
        continue;
      }
      if (this.s[this.i] === "]") {
        this.i++;
        return out;
      }
      if (this.i >= this.s.length) throw new Error("unclosed tuple");
      out.push(this.value());
    }
  }

  /** A quoted template; interpolations are kept verbatim (`${...}`). */
  private string(): string {
    let out = "";
    this.i++;
    while (this.i < this.s.length) {
      const c = this.s[this.i];
      if (c === '"') {
        this.i++;
        return out;
      }
      if (c === "\\") {
        const e = this.s[this.i + 1];
        const map: Record<string, string> = { n: "\n", t: "\t", r: "\r", '"': '"', "\\": "\\" };
        if (e === "u") {
          out += String.fromCharCode(parseInt(this.s.slice(this.i + 2, this.i + 6), 16));
          this.i += 6;
        } else {
          out += map[e] ?? e;
          this.i += 2;
        }
        continue;
      }
      if ((c === "$" || c === "%") && this.s[this.i + 1] === "{") {
        const start = this.i;
        this.i++;
        this.balanced("{", "}");
        out += this.s.slice(start, this.i);
        continue;
      }
      out += c;
      this.i++;
    }
    throw new Error("unclosed string");
  }

  private heredoc(): string {
    const m = /^<<(-?)([A-Za-z_]\w*)\r?\n/.exec(this.s.slice(this.i));
    if (!m) throw new Error("bad heredoc");
    this.i += m[0].length;
    const lines: string[] = [];
    while (this.i < this.s.length) {
      const end = this.s.indexOf("\n", this.i);
      const line = this.s.slice(this.i, end < 0 ? this.s.length : end);
      this.i = end < 0 ? this.s.length : end + 1;
      if (line.trim() === m[2]) return lines.join("\n") + "\n";
      lines.push(m[1] ? line.replace(/^\s+/, "") : line);
    }
    throw new Error("unclosed heredoc");
  }

  /** Skips one bracketed group starting at the opening bracket, honouring strings. */
  private balanced(open: string, close: string): void {
    let depth = 0;
    while (this.i < this.s.length) {
      const c = this.s[this.i];
      if (c === '"') {
        this.string();
        continue;
      }
      if (c === open) depth++;
      else if (c === close) {
        depth--;
        if (depth === 0) {
          this.i++;
          return;
        }
      }
      this.i++;
    }
    throw new Error(`unclosed ${open}`);
  }

  /** The text of an expression up to the next `,` `}` `]` `)` or newline outside brackets. */
  private raw(): string {
    const start = this.i;
    while (this.i < this.s.length) {
      const c = this.s[this.i];
      if (c === '"') {
        this.string();
        continue;
      }
      if (c === "(" || c === "[" || c === "{") {
        this.balanced(c, c === "(" ? ")" : c === "[" ? "]" : "}");
        continue;
      }
      if (c === "," || c === "}" || c === "]" || c === ")" || c === "\n") break;
      if (c === "#" || (c === "/" && (this.s[this.i + 1] === "/" || this.s[this.i + 1] === "*"))) break;
      this.i++;
    }
    return this.s.slice(start, this.i).trim();
  }
}
