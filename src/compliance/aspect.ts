import { createHash, Hash } from "crypto";
import { closeSync, existsSync, fstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, writeFileSync, writeSync } from "fs";
import { join } from "path";
import { IConstruct } from "constructs";
import { App, Aspects, IAspect, TerraformResource, TerraformStack } from "cdktf";
import { HipaaConfigError } from "../errors";
import {
  acrossStackTypes,
  ALL_RULES,
  judge,
  JudgedFinding,
  judgeUnit,
  OUTPUT_METADATA_KEY,
  OutputMetadata,
  resourcesOfTypes,
  Rule,
  Suppression,
  TfResource,
  TfUnit,
  unitFromJson,
  unknownRulePattern,
} from "./checker";
import { ControlMap, controlMapMarkdownHeader, controlMapMarkdownLines, ControlMapOnDemand, controlMapOnDemand, GATE_SKIPPED, VerdictsOnDemand } from "./control-map";
import { terraformAddress } from "./record";
import { packageVersion } from "./version";

export interface HipaaComplianceOptions {
  /** @default ALL_RULES */
  readonly rules?: readonly Rule[];
  /**
   * Write `control-map.json` and `control-map.md` next to each synthesized stack (and a combined
   * pair at the root of the output directory).
   * @default true
   */
  readonly writeControlMap?: boolean;
}

interface ConstructSuppression {
  readonly rule: string;
  readonly reason: string;
}

/** Registered on an App by `enable`: which scopes the gate judges, with which rules. */
interface Gate {
  readonly scopes: IConstruct[];
  readonly rules: Rule[];
  writeControlMap: boolean;
  /** True while the gate's own synth runs, so the per-stack validation does not judge twice. */
  running: boolean;
}

const SUPPRESSIONS = new WeakMap<IConstruct, ConstructSuppression[]>();
const GATES = new WeakMap<App, Gate>();
const ENABLED = Symbol.for("cdktf-hipaa-substrate.HipaaComplianceEnabled");
/** Rules passed to `enable` beyond ALL_RULES, so suppressing one of them is not "unknown". */
const EXTRA_RULES = new Map<string, Rule>();
const MIN_REASON = 20;

/** The HIPAA gate refused the app: nothing was written. One line per failing (resource, rule). */
export class HipaaComplianceError extends Error {
  public readonly findings!: readonly JudgedFinding[];

  constructor(findings: readonly JudgedFinding[]) {
    super(
      `HIPAA gate: ${findings.length} failing check${findings.length === 1 ? "" : "s"}; nothing was written.\n  ${findings.map(failureLine).join("\n  ")}\n` +
        "Fix each resource, or accept a failure with HipaaCompliance.suppress(resource, rule, reason); the reason lands in the control map.",
    );
    this.name = "HipaaComplianceError";
    // Not enumerable: Node prints an uncaught error's own properties after its message, and
    // cdktf-cli echoes the app's output again when synth fails; the lines above say it all.
    Object.defineProperty(this, "findings", { value: findings, enumerable: false });
    // A finding is not a bug in the program: no stack trace, so each failure is read once.
    this.stack = `${this.name}: ${this.message}`;
  }
}

function failureLine(f: JudgedFinding): string {
  return `${f.constructPath ?? f.resource}: ${f.rule} failed (45 CFR ${f.controls.join(", ")}): ${f.message}. To accept it, HipaaCompliance.suppress(resource, "${f.rule}", "<reason>")`;
}

/**
 * The synth-time gate: every stack of the app is judged with the HIPAA rules before anything is
 * written, ours and the user's resources alike, and across stacks (a claim template in the GitHub
 * stack against the roles of the AWS stacks). A failing resource fails `cdktf synth` with its
 * construct path, the rule, the CFR sections and the fix; a suppression needs a written reason,
 * travels inside the synthesized `cdk.tf.json` (so the CLI gate gives the same verdicts) and is
 * reported in the control map, never silent.
 */
export class HipaaCompliance implements IAspect {
  /**
   * Turns the gate on for every stack under `scope` (normally the App), including stacks created
   * after this call: the App's `synth` is replaced by one that judges all stacks first.
   */
  public static enable(scope: IConstruct, options: HipaaComplianceOptions = {}): void {
    const app = appOf(scope);
    for (const rule of options.rules ?? []) if (!ALL_RULES.includes(rule)) EXTRA_RULES.set(rule.id, rule);
    let gate = GATES.get(app);
    if (!gate) {
      gate = { scopes: [], rules: [], writeControlMap: true, running: false };
      GATES.set(app, gate);
      replaceSynth(app, gate);
    }
    gate.scopes.push(scope);
    for (const rule of options.rules ?? ALL_RULES) if (!gate.rules.includes(rule)) gate.rules.push(rule);
    if (options.writeControlMap === false) gate.writeControlMap = false;
    // Stacks that exist now also judge themselves in `Testing.synth(stack, true)`, which never
    // calls App.synth; under App.synth the gate above has already judged them.
    const aspect = new HipaaCompliance(options, gate);
    for (const stack of scope.node.findAll().filter((c): c is TerraformStack => TerraformStack.isStack(c))) Aspects.of(stack).add(aspect);
  }

  /**
   * Accepts failures on one resource, with the reason an auditor reads in the control map.
   * @param resource the Terraform resource construct (e.g. `bucket.bucket`)
   * @param rules a rule id (`HIPAA-S3-CMK`), a family (`HIPAA-S3-*`), `*` for every rule, or a list
   *   of those; a name that matches no rule is refused
   */
  public static suppress(resource: IConstruct, rules: string | readonly string[], reason: string): void {
    const patterns = [rules].flat();
    const label = patterns.join(", ");
    if (!reason || reason.trim().length < MIN_REASON) {
      throw new HipaaConfigError({
        path: resource.node.path,
        problem: `suppression of ${label} has no reason (or one shorter than ${MIN_REASON} characters)`,
        fix: "say why the rule does not apply or how the risk is otherwise controlled; the reason is evidence in the control map",
      });
    }
    if (!TerraformResource.isTerraformResource(resource)) {
      throw new HipaaConfigError({ path: resource.node.path, problem: `${label} can only be suppressed on a Terraform resource`, fix: "pass the resource construct, e.g. evidenceBucket.bucket" });
    }
    if (patterns.length === 0) throw new HipaaConfigError({ path: resource.node.path, problem: "suppression names no rule", fix: 'name a rule id, a family such as "HIPAA-S3-*", or "*"' });
    const known = [...ALL_RULES, ...EXTRA_RULES.values()];
    for (const pattern of patterns) {
      const unknown = unknownRulePattern(pattern, known);
      if (unknown) throw new HipaaConfigError({ path: resource.node.path, problem: `cannot suppress: ${unknown}`, fix: "use a rule id from the control map or `cdktf-hipaa-substrate check --format json`, a family such as \"HIPAA-S3-*\", or \"*\"" });
    }
    SUPPRESSIONS.set(resource, [...(SUPPRESSIONS.get(resource) ?? []), ...patterns.map((rule) => ({ rule, reason: reason.trim() }))]);
  }

  /** Judges one stack now, alone (without writing anything, and without cross-stack context). */
  public static check(stack: TerraformStack, rules: readonly Rule[] = ALL_RULES): JudgedFinding[] {
    return judge([stackUnit(stack, stack.toTerraform(), "enforced")], rules);
  }

  private constructor(
    private readonly options: HipaaComplianceOptions,
    private readonly gate: Gate,
  ) {}

  public visit(node: IConstruct): void {
    if (!TerraformStack.isStack(node)) return;
    const marked = node as unknown as Record<symbol, boolean>;
    if (marked[ENABLED]) return;
    Object.defineProperty(node, ENABLED, { value: true });
    node.node.addValidation({ validate: () => (this.gate.running ? [] : HipaaCompliance.check(node, this.options.rules ?? ALL_RULES).filter((f) => f.verdict === "fail").map(failureLine)) });
  }
}

function appOf(scope: IConstruct): App {
  if (App.isApp(scope)) return scope;
  try {
    return App.of(scope);
  } catch {
    throw new HipaaConfigError({ path: scope.node.path || "scope", problem: "is not inside a cdktf App", fix: "call HipaaCompliance.enable(app) with the App (or a stack of it)" });
  }
}

/** The suppressions recorded on resources of `stack`, by Terraform address. */
function suppressionsOf(stack: TerraformStack): Suppression[] {
  const out: Suppression[] = [];
  for (const c of stack.node.findAll()) {
    for (const s of SUPPRESSIONS.get(c) ?? []) out.push({ resource: terraformAddress(c), rule: s.rule, reason: s.reason, constructPath: c.node.path });
  }
  return out;
}

function stackUnit(stack: TerraformStack, tf: Record<string, unknown>, gate: OutputMetadata["gate"]): TfUnit {
  return unitFromJson(stack.node.id, withMetadata(tf, { version: packageVersion(), gate, suppressions: suppressionsOf(stack) }));
}

function withMetadata(tf: Record<string, unknown>, metadata: OutputMetadata): Record<string, unknown> {
  return { ...tf, "//": { ...((tf["//"] as object) ?? {}), [OUTPUT_METADATA_KEY]: metadata } };
}

/**
 * cdktf 0.21's App.synth writes each stack as soon as that stack's own validations pass, and
 * skips every validation under `skipValidation`. The gate replaces it on this App with the same
 * steps in an order that lets it judge the whole app first:
 *
 * 1. prepare every stack (as App.synth does), found at synth time, so stacks created after
 *    `enable` are judged too;
 * 2. synthesize each stack (aspects, the stack's validations, custom synthesis) into a staging
 *    directory inside the output directory, not into `stacks/`, with the gate metadata (the
 *    suppressions) already in its `cdk.tf.json`; judge it from that JSON with the resources
 *    the cross-stack rules read (`Rule.acrossStacks`) of every stack staged so far, stage its
 *    control map beside it, and keep of it only those resources and its verdicts: its resolved
 *    JSON goes before the next stack is resolved;
 * 3. a stack whose verdicts read a type across stacks that a later stack added resources of is
 *    judged again from its staged file, with every stack's (so verdicts never depend on the
 *    order of the stacks); on any failure, delete the staging directory and throw: nothing is
 *    written;
 * 4. run the App-level validations, write the app's combined control maps from the staged ones,
 *    move the stacks and control maps into place, write the manifest.
 *
 * Peak memory is the construct tree plus one stack's JSON and findings, not every stack's at
 * once: each stack is resolved once (HCL output aside), its keys sorted by copying only the
 * objects out of order, one object made per finding, and its control map written verdict by
 * verdict from the findings (never held whole).
 *
 * With `skipValidation: true` step 3 does not throw; the output and the control maps say
 * `gate: skipped` loudly, and the CLI refuses such output.
 */
function replaceSynth(app: App, gate: Gate): void {
  Object.defineProperty(app, "synth", { configurable: true, writable: true, value: () => gatedSynth(app, gate) });
}

/** What the gate keeps of a judged stack until the end of synth. */
interface Judged {
  readonly stack: TerraformStack;
  readonly relative: string;
  readonly metadata: OutputMetadata;
  readonly sha256: string;
  failed: JudgedFinding[];
  summary?: ControlMap["summary"];
  /** The types its verdicts read across stacks, with how many resources of each there were then. */
  readAcross: Map<string, number>;
}

function gatedSynth(app: App, gate: Gate): void {
  const skipped = app.skipValidation === true;
  const gateState: OutputMetadata["gate"] = skipped ? "skipped" : "enforced";
  const version = packageVersion();
  const stacks = app.node.findAll().filter((c): c is TerraformStack => TerraformStack.isStack(c));
  const inScope = new Set(stacks.filter((s) => gate.scopes.some((scope) => s === scope || s.node.path.startsWith(`${scope.node.path}/`) || scope.node.path === "")));
  gate.running = true;
  const staging = mkdtempSync(join(app.outdir, ".hipaa-staging-"));
  try {
    stacks.forEach((stack) => stack.prepareStack());
    mkdirSync(join(staging, "stacks"));
    const session = { outdir: staging, skipValidation: app.skipValidation, manifest: app.manifest };
    const acrossTypes = acrossStackTypes(gate.rules);
    const everything = new Map<string, TfResource[]>();
    const mapHeader = controlMapMarkdownHeader([{ generator: { name: "cdktf-hipaa-substrate", version }, gate: gateState }]).join("\n");

    /** Judges a staged stack and stages its control map; `doc` is its JSON with the gate metadata. */
    const judgeStaged = (j: Judged, doc: Record<string, unknown>) => {
      const unit = unitFromJson(j.stack.node.id, doc);
      const readAcross = new Set<string>();
      const findings = judgeUnit(unit, gate.rules, everything, readAcross);
      j.failed = findings.filter((f) => f.verdict === "fail");
      j.readAcross = new Map([...readAcross].map((t) => [t, everything.get(t)?.length ?? 0]));
      if (gate.writeControlMap) {
        const map = controlMapOnDemand(j.stack, findings, { unit, version, gate: gateState, input: { file: j.relative, sha256: j.sha256 } });
        writeControlMapFiles(join(staging, "stacks", map.stack), map, mapHeader);
        j.summary = map.summary;
      }
    };

    const judged: Judged[] = [];
    for (const stack of stacks) {
      if (!inScope.has(stack)) {
        stack.synthesizer.synthesize(session);
        continue;
      }
      const metadata: OutputMetadata = { version, gate: gateState, suppressions: suppressionsOf(stack) };
      const manifest = app.manifest.forStack(stack);
      let doc: Record<string, unknown>;
      const hash = createHash("sha256");
      if (app.hclOutput) {
        stack.synthesizer.synthesize(session);
        // HCL cannot carry the metadata inside the file: it goes beside it, where the CLI looks too.
        writeFileSync(join(staging, manifest.workingDirectory, "hipaa-gate.json"), `${JSON.stringify(metadata, null, 2)}\n`);
        doc = withMetadata(stack.toTerraform() as Record<string, unknown>, metadata);
        hash.update(readFileSync(join(staging, manifest.synthesizedStackPath)));
      } else {
        const resolved = synthesizeCapturing(stack, session);
        const file = join(staging, manifest.synthesizedStackPath);
        // Judged in the order it is written (keys sorted), as the CLI reads it.
        doc = sortKeys(withMetadata(resolved ?? JSON.parse(readFileSync(file, "utf8")), metadata)) as Record<string, unknown>;
        // `JSON.stringify(doc, null, 2)`, written and hashed 64 KiB at a time: the whole text of a
        // large stack would be one more copy of it, kept in V8's large-object space.
        const fd = openSync(file, "w");
        try {
          const out = new ChunkedWriter(fd, hash);
          writeJson(out, doc);
          out.flush();
        } finally {
          closeSync(fd);
        }
      }
      const j: Judged = { stack, relative: manifest.synthesizedStackPath, metadata, sha256: hash.digest("hex"), failed: [], readAcross: new Map() };
      for (const [type, resources] of resourcesOfTypes([unitFromJson(stack.node.id, pick(doc, acrossTypes))], acrossTypes)) everything.set(type, [...(everything.get(type) ?? []), ...resources]);
      judgeStaged(j, doc);
      judged.push(j);
    }

    // 3. Verdicts that read a type a later stack added to are judged again, with every stack's.
    for (const j of judged) {
      if (![...j.readAcross].some(([type, count]) => (everything.get(type)?.length ?? 0) !== count)) continue;
      judgeStaged(j, app.hclOutput ? withMetadata(j.stack.toTerraform() as Record<string, unknown>, j.metadata) : JSON.parse(readFileSync(join(staging, j.relative), "utf8")));
    }

    const failed = judged.flatMap((j) => j.failed);
    if (failed.length > 0 && !skipped) throw new HipaaComplianceError(failed);
    if (skipped) {
      process.stderr.write(
        `\nHIPAA GATE SKIPPED: the app runs with skipValidation: true, so synth refused nothing (${failed.length} failing check${failed.length === 1 ? "" : "s"}). ` +
          "Every control map says so, and `cdktf-hipaa-substrate check` refuses this output. Remove skipValidation to restore the gate.\n" +
          failed.map((f) => `  ${failureLine(f)}\n`).join(""),
      );
    }
    if (!skipped) {
      const errors = app.node.validate();
      if (errors.length > 0) throw new Error(`App-level validation failed with the following errors:\n  ${errors.join("\n  ")}`);
    }
    if (gate.writeControlMap) {
      const sorted = [...judged].sort((a, b) => a.stack.node.id.localeCompare(b.stack.node.id));
      writeCombinedControlMap(staging, sorted.map((j) => ({ dir: join(staging, "stacks", j.stack.node.id), summary: j.summary! })), skipped, judged.length > 0 ? mapHeader : controlMapMarkdownHeader([]).join("\n"));
    }

    // 4. Into place.
    moveInto(staging, app.outdir);
    app.manifest.writeToFile();
  } finally {
    gate.running = false;
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * Runs the stack's synthesizer and returns the JSON it resolved (undefined if it resolved none,
 * e.g. a custom synthesizer): the gate writes `cdk.tf.json` itself (with its metadata, in its
 * format), so cdktf's own writer is handed an empty document instead of stringifying the whole
 * stack for a file the gate replaces.
 */
function synthesizeCapturing(stack: TerraformStack, session: Parameters<TerraformStack["synthesizer"]["synthesize"]>[0]): Record<string, unknown> | undefined {
  const own = Object.getOwnPropertyDescriptor(stack, "toTerraform");
  const original = stack.toTerraform;
  let resolved: Record<string, unknown> | undefined;
  Object.defineProperty(stack, "toTerraform", {
    configurable: true,
    writable: true,
    value: () => {
      resolved = original.call(stack) as Record<string, unknown>;
      return {};
    },
  });
  try {
    stack.synthesizer.synthesize(session);
  } finally {
    if (own) Object.defineProperty(stack, "toTerraform", own);
    else delete (stack as { toTerraform?: unknown }).toTerraform;
  }
  return resolved;
}

/** The document with only the resources and data sources of `types` (what cross-stack rules read). */
function pick(doc: Record<string, unknown>, types: ReadonlySet<string>): Record<string, unknown> {
  const only = (section: unknown) => Object.fromEntries(Object.entries((section ?? {}) as Record<string, unknown>).filter(([type]) => types.has(type)));
  return { resource: only(doc.resource), data: only(doc.data) };
}

/**
 * Writes through a 64 KiB buffer: the control maps of a large stack run to megabytes, and one
 * string that size would live in V8's large-object space until the next full collection.
 */
class ChunkedWriter {
  private pieces: string[] = [];
  private length = 0;

  /** @param hash also receives every byte written (the SHA-256 of a file written in pieces) */
  constructor(private readonly fd: number, private readonly hash?: Hash) {}

  public write(piece: string): void {
    this.pieces.push(piece);
    this.length += piece.length;
    if (this.length >= 1 << 16) this.flush();
  }

  public flush(): void {
    if (this.length > 0) {
      const text = this.pieces.join("");
      writeSync(this.fd, text);
      this.hash?.update(text);
    }
    this.pieces = [];
    this.length = 0;
  }
}

/**
 * `JSON.stringify(value, null, 2)`, written piece by piece; a `VerdictsOnDemand` is written as the
 * array it stands for, one verdict at a time.
 */
function writeJson(out: ChunkedWriter, value: unknown, indent = "", applyToJSON = true): void {
  if (value === null || typeof value !== "object") {
    out.write(JSON.stringify(value) ?? "null");
    return;
  }
  const inner = `${indent}  `;
  const skip = (v: unknown) => v === undefined || typeof v === "function" || typeof v === "symbol";
  // Verdicts made on demand are written as the array they stand for, one verdict at a time (their
  // toJSON would make them all at once).
  if (value instanceof VerdictsOnDemand) {
    if (value.length === 0) return out.write("[]");
    let first = true;
    for (const verdict of value) {
      out.write(first ? `[\n${inner}` : `,\n${inner}`);
      first = false;
      writeJson(out, verdict, inner);
    }
    return out.write(`\n${indent}]`);
  }
  // As JSON.stringify: a value's toJSON (a Date's, say) is called once, and its result written.
  if (applyToJSON && typeof (value as { toJSON?: unknown }).toJSON === "function") return writeJson(out, (value as { toJSON: () => unknown }).toJSON(), indent, false);
  if (Array.isArray(value)) {
    if (value.length === 0) return out.write("[]");
    // An index loop, not forEach: a hole is written as null, as JSON.stringify writes it.
    for (let i = 0; i < value.length; i++) {
      out.write(i === 0 ? `[\n${inner}` : `,\n${inner}`);
      if (skip(value[i])) out.write("null");
      else writeJson(out, value[i], inner);
    }
    return out.write(`\n${indent}]`);
  }
  // A flat object (a verdict) by hand, as JSON.stringify(value, null, 2) writes it at this depth.
  const record = value as Record<string, unknown>;
  if (Object.values(record).every((v) => v === null || typeof v !== "object")) {
    let text = "{";
    for (const k of Object.keys(record)) {
      const v = record[k];
      if (skip(v)) continue;
      text += `${text.length === 1 ? "" : ","}\n${inner}${JSON.stringify(k)}: ${JSON.stringify(v)}`;
    }
    return out.write(text.length === 1 ? "{}" : `${text}\n${indent}}`);
  }
  // Small objects (a rule, a section without verdicts) go through JSON.stringify whole: fast, and small.
  if (small(value)) {
    const text = JSON.stringify(value, null, 2);
    return out.write(indent ? text.replace(/\n/g, `\n${indent}`) : text);
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => !skip(v));
  if (entries.length === 0) return out.write("{}");
  entries.forEach(([k, v], i) => {
    out.write(`${i === 0 ? "{\n" : ",\n"}${inner}${JSON.stringify(k)}: `);
    writeJson(out, v, inner);
  });
  out.write(`\n${indent}}`);
}

/** No verdicts made on demand anywhere inside, and no array or object of more than 32 entries. */
function small(value: unknown): boolean {
  if (value === null || typeof value !== "object") return true;
  if (value instanceof VerdictsOnDemand) return false;
  if (Array.isArray(value)) return value.length <= 32 && value.every(small);
  const values = Object.values(value);
  return values.length <= 32 && values.every(small);
}

/**
 * A stack's `control-map.json` and `control-map.md`: the bytes of `JSON.stringify(buildControlMap(...), null, 2)`
 * and of `renderControlMapMarkdown([map])`, written as the verdicts are made, so a stack's map is
 * never held whole.
 */
function writeControlMapFiles(dir: string, map: ControlMapOnDemand, markdownHeader: string): void {
  const json = openSync(join(dir, "control-map.json"), "w");
  try {
    const out = new ChunkedWriter(json);
    writeJson(out, map);
    out.write("\n");
    out.flush();
  } finally {
    closeSync(json);
  }
  const md = openSync(join(dir, "control-map.md"), "w");
  try {
    const out = new ChunkedWriter(md);
    out.write(markdownHeader);
    for (const line of controlMapMarkdownLines(map)) out.write(`\n${line}`);
    out.write("\n");
    out.flush();
  } finally {
    closeSync(md);
  }
}

/**
 * The app's `control-map.json` and `control-map.md`, from the staged stacks' maps (in stack-name
 * order): the same bytes as stringifying and rendering every map at once, without holding them.
 */
function writeCombinedControlMap(dir: string, stacks: readonly { dir: string; summary: ControlMap["summary"] }[], skipped: boolean, markdownHeader: string): void {
  const total = (k: "pass" | "fail" | "suppressed") => stacks.reduce((n, s) => n + s.summary[k], 0);
  const head = JSON.stringify(
    {
      generator: { name: "cdktf-hipaa-substrate", version: packageVersion() },
      gate: skipped ? "skipped" : "enforced",
      ...(skipped ? { warning: GATE_SKIPPED } : {}),
      summary: { pass: total("pass"), fail: total("fail"), suppressed: total("suppressed") },
      stacks: [],
    },
    null,
    2,
  );
  const json = openSync(join(dir, "control-map.json"), "w");
  const md = openSync(join(dir, "control-map.md"), "w");
  try {
    if (stacks.length === 0) {
      writeSync(json, `${head}\n`);
    } else {
      writeSync(json, `${head.slice(0, head.lastIndexOf("[]"))}[\n`);
      stacks.forEach((s, i) => {
        // Each stack's map, one level deeper: four more spaces after every line break.
        writeSync(json, i === 0 ? "    " : ",\n    ");
        copyBytes(join(s.dir, "control-map.json"), json, 0, 1, "    ");
      });
      writeSync(json, "\n  ]\n}\n");
    }
    writeSync(md, markdownHeader);
    // Each stack's Markdown is the same header, "\n", its section and "\n".
    for (const s of stacks) copyBytes(join(s.dir, "control-map.md"), md, Buffer.byteLength(markdownHeader), 1);
    writeSync(md, "\n");
  } finally {
    closeSync(json);
    closeSync(md);
  }
}

/** Copies a file's bytes from `skip` to `drop` before its end into `fd`, with `newline` after each line break if given. */
function copyBytes(file: string, fd: number, skip: number, drop: number, indent?: string): void {
  const input = openSync(file, "r");
  try {
    const end = fstatSync(input).size - drop;
    const chunk = Buffer.alloc(1 << 16);
    for (let position = skip; position < end; ) {
      const n = readSync(input, chunk, 0, Math.min(chunk.length, end - position), position);
      if (n <= 0) break;
      position += n;
      // latin1 maps each byte to one character and back, so UTF-8 sequences split across chunks survive.
      if (indent) writeSync(fd, chunk.toString("latin1", 0, n).replace(/\n/g, `\n${indent}`), null, "latin1");
      else writeSync(fd, chunk, 0, n);
    }
  } finally {
    closeSync(input);
  }
}

/** Moves `stacks/<id>` and any other entry of the staging directory into the output directory. */
function moveInto(staging: string, outdir: string): void {
  for (const entry of readdirSync(staging)) {
    if (entry === "stacks") {
      mkdirSync(join(outdir, "stacks"), { recursive: true });
      for (const stack of readdirSync(join(staging, "stacks"))) {
        rmSync(join(outdir, "stacks", stack), { recursive: true, force: true });
        renameSync(join(staging, "stacks", stack), join(outdir, "stacks", stack));
      }
    } else {
      if (existsSync(join(outdir, entry))) rmSync(join(outdir, entry), { recursive: true, force: true });
      renameSync(join(staging, entry), join(outdir, entry));
    }
  }
}

/** The value with every object's keys sorted (copied only where out of order): `JSON.stringify(sortKeys(v), null, 2)` is the format cdktf writes `cdk.tf.json` in. */
function sortKeys(value: unknown, applyToJSON = true): unknown {
  if (value === null || typeof value !== "object") return value;
  // A value with toJSON (a Date in a local, say) is judged as JSON.stringify writes it.
  if (applyToJSON && typeof (value as { toJSON?: unknown }).toJSON === "function") return sortKeys((value as { toJSON: () => unknown }).toJSON(), false);
  // What is already in order is returned as it is: cdktf resolves most objects with their keys
  // sorted, so copying a whole stack's JSON to sort it would be a second copy of the stack kept
  // while it is judged. Only the objects out of order (and those above them) are new.
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const sorted = sortKeys(value[i]);
      if (sorted !== value[i]) (copy ??= value.slice())[i] = sorted;
    }
    return copy ?? value;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  let inOrder = true;
  for (let i = 1; i < keys.length && inOrder; i++) inOrder = keys[i - 1] < keys[i];
  if (inOrder) {
    let copy: Record<string, unknown> | undefined;
    for (const k of keys) {
      const sorted = sortKeys(record[k]);
      if (sorted !== record[k]) put((copy ??= { ...record }), k, sorted);
    }
    return copy ?? value;
  }
  const out: Record<string, unknown> = {};
  for (const k of keys.sort()) put(out, k, sortKeys(record[k]));
  return out;
}

/** `target[key] = value`, as an own property even for "__proto__" (which JSON.parse can produce). */
function put(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}
