import { createHash } from "crypto";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, writeFileSync, writeSync } from "fs";
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
import { buildControlMap, ControlMap, controlMapMarkdownHeader, controlMapMarkdownSection, GATE_SKIPPED, renderControlMapMarkdown } from "./control-map";
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
 *    suppressions) already in its `cdk.tf.json`; keep of it only the resources the cross-stack
 *    rules read (`Rule.acrossStacks`), and let the rest of its resolved JSON go;
 * 3. judge each stack from the JSON it staged, with those resources of every stack, and stage
 *    its control map (with the staged file's SHA-256) beside it; on any failure, delete the
 *    staging directory and throw: nothing is written;
 * 4. run the App-level validations, move the stacks and control maps into place, write the
 *    manifest.
 *
 * Peak memory is the construct tree plus one stack's JSON and control map, not every stack's at
 * once; each stack is resolved once (HCL output aside).
 *
 * With `skipValidation: true` step 3 does not throw; the output and the control maps say
 * `gate: skipped` loudly, and the CLI refuses such output.
 */
function replaceSynth(app: App, gate: Gate): void {
  Object.defineProperty(app, "synth", { configurable: true, writable: true, value: () => gatedSynth(app, gate) });
}

function gatedSynth(app: App, gate: Gate): void {
  const skipped = app.skipValidation === true;
  const gateState: OutputMetadata["gate"] = skipped ? "skipped" : "enforced";
  const version = packageVersion();
  const stacks = app.node.findAll().filter((c): c is TerraformStack => TerraformStack.isStack(c));
  const judged = stacks.filter((s) => gate.scopes.some((scope) => s === scope || s.node.path.startsWith(`${scope.node.path}/`) || scope.node.path === ""));
  const judgedSet = new Set(judged);
  gate.running = true;
  const staging = mkdtempSync(join(app.outdir, ".hipaa-staging-"));
  let maps: CombinedControlMap | undefined;
  try {
    stacks.forEach((stack) => stack.prepareStack());
    mkdirSync(join(staging, "stacks"));
    const session = { outdir: staging, skipValidation: app.skipValidation, manifest: app.manifest };

    // 2. Stage every stack; of each judged one keep its metadata and the resources other
    // stacks' rules read.
    const acrossTypes = acrossStackTypes(gate.rules);
    const everything = new Map<string, TfResource[]>();
    const metadata = new Map<TerraformStack, OutputMetadata>();
    const hclDocuments = new Map<TerraformStack, Record<string, unknown>>();
    for (const stack of stacks) {
      if (!judgedSet.has(stack)) {
        stack.synthesizer.synthesize(session);
        continue;
      }
      const meta: OutputMetadata = { version, gate: gateState, suppressions: suppressionsOf(stack) };
      metadata.set(stack, meta);
      const manifest = app.manifest.forStack(stack);
      let doc: Record<string, unknown>;
      if (app.hclOutput) {
        stack.synthesizer.synthesize(session);
        // HCL cannot carry the metadata inside the file: it goes beside it, where the CLI looks too.
        writeFileSync(join(staging, manifest.workingDirectory, "hipaa-gate.json"), `${JSON.stringify(meta, null, 2)}\n`);
        doc = withMetadata(stack.toTerraform() as Record<string, unknown>, meta);
        hclDocuments.set(stack, doc);
      } else {
        const resolved = synthesizeCapturing(stack, session);
        const file = join(staging, manifest.synthesizedStackPath);
        doc = withMetadata(resolved ?? JSON.parse(readFileSync(file, "utf8")), meta);
        writeFileSync(file, stableStringify(doc));
      }
      for (const [type, resources] of resourcesOfTypes([unitFromJson(stack.node.id, pick(doc, acrossTypes))], acrossTypes)) everything.set(type, [...(everything.get(type) ?? []), ...resources]);
    }

    // 3. Judge each stack from its staged JSON, one at a time, and stage its control map; the
    // combined maps are written as the stacks are, in stack-name order.
    const failures = new Map<TerraformStack, JudgedFinding[]>();
    maps = gate.writeControlMap ? new CombinedControlMap(staging, judged.length > 0 ? [{ generator: { name: "cdktf-hipaa-substrate", version }, gate: gateState }] : []) : undefined;
    for (const stack of [...judged].sort((a, b) => a.node.id.localeCompare(b.node.id))) {
      const relative = app.manifest.forStack(stack).synthesizedStackPath;
      const text = readFileSync(join(staging, relative), "utf8");
      const unit = unitFromJson(stack.node.id, hclDocuments.get(stack) ?? JSON.parse(text));
      hclDocuments.delete(stack);
      const findings = judgeUnit(unit, gate.rules, everything);
      failures.set(stack, findings.filter((f) => f.verdict === "fail"));
      if (maps) {
        const map = buildControlMap(stack, findings, { unit, version, gate: gateState, input: { file: relative, sha256: createHash("sha256").update(text).digest("hex") } });
        maps.add(join(staging, "stacks", map.stack), map);
      }
    }
    const failed = judged.flatMap((stack) => failures.get(stack) ?? []);
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
    maps?.finish(skipped);

    // 4. Into place.
    moveInto(staging, app.outdir);
    app.manifest.writeToFile();
  } finally {
    gate.running = false;
    maps?.close();
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
 * The app's `control-map.json` and `control-map.md`, written one stack's map at a time (each map
 * is also written beside its stack): the same bytes as stringifying every map at once, without
 * holding them all. The JSON's summary precedes its stacks, so the stacks go to a scratch file
 * first.
 */
class CombinedControlMap {
  private readonly markdown: number;
  private readonly body: number;
  private open = true;
  private readonly bodyPath: string;
  private count = 0;
  private readonly summary = { pass: 0, fail: 0, suppressed: 0 };

  constructor(
    private readonly dir: string,
    header: Parameters<typeof controlMapMarkdownHeader>[0],
  ) {
    this.markdown = openSync(join(dir, "control-map.md"), "w");
    writeSync(this.markdown, controlMapMarkdownHeader(header).join("\n"));
    this.bodyPath = join(dir, ".control-map.stacks.json");
    this.body = openSync(this.bodyPath, "w");
  }

  public add(stackDir: string, map: ControlMap): void {
    const json = JSON.stringify(map, null, 2);
    writeFileSync(join(stackDir, "control-map.json"), `${json}\n`);
    writeFileSync(join(stackDir, "control-map.md"), renderControlMapMarkdown([map]));
    writeSync(this.markdown, `\n${controlMapMarkdownSection(map).join("\n")}`);
    writeSync(this.body, `${this.count === 0 ? "" : ",\n"}    ${json.replace(/\n/g, "\n    ")}`);
    this.count++;
    for (const k of ["pass", "fail", "suppressed"] as const) this.summary[k] += map.summary[k];
  }

  /** Closes the files; after a failure the staging directory with them is deleted. */
  public close(): void {
    if (!this.open) return;
    this.open = false;
    closeSync(this.markdown);
    closeSync(this.body);
  }

  public finish(skipped: boolean): void {
    writeSync(this.markdown, "\n");
    this.close();
    const head = JSON.stringify(
      { generator: { name: "cdktf-hipaa-substrate", version: packageVersion() }, gate: skipped ? "skipped" : "enforced", ...(skipped ? { warning: GATE_SKIPPED } : {}), summary: this.summary, stacks: [] },
      null,
      2,
    );
    const out = openSync(join(this.dir, "control-map.json"), "w");
    if (this.count === 0) {
      writeSync(out, `${head}\n`);
    } else {
      writeSync(out, `${head.slice(0, head.lastIndexOf("[]"))}[\n`);
      const input = openSync(this.bodyPath, "r");
      const chunk = Buffer.alloc(1 << 20);
      for (let n = readSync(input, chunk); n > 0; n = readSync(input, chunk)) writeSync(out, chunk, 0, n);
      closeSync(input);
      writeSync(out, "\n  ]\n}\n");
    }
    closeSync(out);
    rmSync(this.bodyPath);
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

/** JSON with sorted keys and two-space indent: the format cdktf writes `cdk.tf.json` in. */
function stableStringify(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v !== null && typeof v === "object") return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])]));
    return v;
  };
  return JSON.stringify(sort(value), null, 2);
}
