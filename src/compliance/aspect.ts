import { createHash } from "crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "fs";
import { join } from "path";
import { IConstruct } from "constructs";
import { App, Aspects, IAspect, TerraformResource, TerraformStack } from "cdktf";
import { HipaaConfigError } from "../errors";
import { ALL_RULES, judge, JudgedFinding, OUTPUT_METADATA_KEY, OutputMetadata, Rule, Suppression, TfUnit, unitFromJson, unknownRulePattern } from "./checker";
import { buildControlMap, ControlMap, GATE_SKIPPED, renderControlMapMarkdown } from "./control-map";
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
 *    directory inside the output directory, not into `stacks/`;
 * 3. judge all stacks together (cross-stack rules included) with the suppressions that will be
 *    written into the output; on any failure, delete the staging directory and throw: nothing
 *    is written;
 * 4. run the App-level validations, write the gate metadata into each `cdk.tf.json`, move the
 *    stacks into place, write the manifest, then the control maps with each file's SHA-256.
 *
 * With `skipValidation: true` step 3 does not throw; the output and the control maps say
 * `gate: skipped` loudly, and the CLI refuses such output.
 */
function replaceSynth(app: App, gate: Gate): void {
  Object.defineProperty(app, "synth", { configurable: true, writable: true, value: () => gatedSynth(app, gate) });
}

function gatedSynth(app: App, gate: Gate): void {
  const skipped = app.skipValidation === true;
  const stacks = app.node.findAll().filter((c): c is TerraformStack => TerraformStack.isStack(c));
  gate.running = true;
  const staging = mkdtempSync(join(app.outdir, ".hipaa-staging-"));
  try {
    stacks.forEach((stack) => stack.prepareStack());
    mkdirSync(join(staging, "stacks"));
    const session = { outdir: staging, skipValidation: app.skipValidation, manifest: app.manifest };
    stacks.forEach((stack) => stack.synthesizer.synthesize(session));

    const judged = stacks.filter((s) => gate.scopes.some((scope) => s === scope || s.node.path.startsWith(`${scope.node.path}/`) || scope.node.path === ""));
    const documents = new Map<TerraformStack, Record<string, unknown>>();
    for (const stack of judged) {
      const file = join(staging, app.manifest.forStack(stack).synthesizedStackPath);
      documents.set(stack, app.hclOutput ? (stack.toTerraform() as Record<string, unknown>) : JSON.parse(readFileSync(file, "utf8")));
    }
    const units = judged.map((stack) => stackUnit(stack, documents.get(stack)!, skipped ? "skipped" : "enforced"));
    const findings = judge(units, gate.rules);
    const failed = findings.filter((f) => f.verdict === "fail");
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

    const hashes = new Map<TerraformStack, string>();
    judged.forEach((stack, i) => {
      const relative = app.manifest.forStack(stack).synthesizedStackPath;
      let text: string;
      if (app.hclOutput) {
        // HCL cannot carry the metadata inside the file: it goes beside it, where the CLI looks too.
        writeFileSync(join(staging, app.manifest.forStack(stack).workingDirectory, "hipaa-gate.json"), `${JSON.stringify(units[i].metadata, null, 2)}\n`);
        text = readFileSync(join(staging, relative), "utf8");
      } else {
        text = stableStringify(withMetadata(documents.get(stack)!, units[i].metadata!));
        writeFileSync(join(staging, relative), text);
      }
      hashes.set(stack, createHash("sha256").update(text).digest("hex"));
    });

    moveInto(staging, app.outdir);
    app.manifest.writeToFile();

    if (gate.writeControlMap) {
      const maps = judged.map((stack, i) =>
        buildControlMap(stack, findings.filter((f) => f.file === units[i].file), {
          unit: units[i],
          version: packageVersion(),
          gate: skipped ? "skipped" : "enforced",
          input: { file: app.manifest.forStack(stack).synthesizedStackPath, sha256: hashes.get(stack)! },
        }),
      );
      for (const map of maps) {
        const dir = join(app.outdir, "stacks", map.stack);
        writeFileSync(join(dir, "control-map.json"), `${JSON.stringify(map, null, 2)}\n`);
        writeFileSync(join(dir, "control-map.md"), renderControlMapMarkdown([map]));
      }
      const sorted = [...maps].sort((a, b) => a.stack.localeCompare(b.stack));
      writeFileSync(join(app.outdir, "control-map.json"), `${JSON.stringify(combinedMap(sorted, skipped), null, 2)}\n`);
      writeFileSync(join(app.outdir, "control-map.md"), renderControlMapMarkdown(sorted));
    }
  } finally {
    gate.running = false;
    rmSync(staging, { recursive: true, force: true });
  }
}

function combinedMap(maps: readonly ControlMap[], skipped: boolean): Record<string, unknown> {
  const total = (k: "pass" | "fail" | "suppressed") => maps.reduce((n, m) => n + m.summary[k], 0);
  return {
    generator: { name: "cdktf-hipaa-substrate", version: packageVersion() },
    gate: skipped ? "skipped" : "enforced",
    ...(skipped ? { warning: GATE_SKIPPED } : {}),
    summary: { pass: total("pass"), fail: total("fail"), suppressed: total("suppressed") },
    stacks: maps,
  };
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
