import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from "fs";
import { join } from "path";
import { IConstruct } from "constructs";
import { App, Aspects, IAspect, TerraformResource, TerraformStack } from "cdktf";
import { HipaaConfigError } from "../errors";
import { ALL_RULES, evaluate, Finding, Rule, unitFromJson } from "./checker";
import { buildControlMap, ControlMap, renderControlMapMarkdown } from "./control-map";
import { terraformAddress } from "./record";

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

interface Suppression {
  readonly rule: string;
  readonly reason: string;
}

const SUPPRESSIONS = new WeakMap<IConstruct, Suppression[]>();
/**
 * The JSON the gate judged, by stack, handed to cdktf's writer so each stack is resolved once:
 * cdktf validates a stack and then calls `toTerraform()` again to write it, and resolving a
 * stack is most of the cost of synthesis. Kept only for a passing stack and only until the end
 * of the current synchronous job, so a stack changed after validation is always resolved anew.
 */
const JUDGED_JSON = new WeakMap<TerraformStack, unknown>();
const ENABLED = Symbol.for("cdktf-hipaa-substrate.HipaaComplianceEnabled");
const COMBINED = new Map<string, Map<string, RenderedControlMap>>();
const MIN_REASON = 20;

/** A finding after suppressions: a failure with a recorded reason becomes `suppressed`. */
export interface JudgedFinding extends Omit<Finding, "verdict"> {
  readonly verdict: "pass" | "fail" | "suppressed";
  readonly constructPath?: string;
  readonly suppressionReason?: string;
}

/**
 * The synth-time gate: every stack under the scope is judged with the HIPAA rules after it is
 * prepared, ours and the user's resources alike. A failing resource fails `cdktf synth` with its
 * construct path, the rule, the CFR sections and the fix; a suppression needs a written reason and
 * is reported in the control map, never silent.
 */
export class HipaaCompliance implements IAspect {
  /**
   * Judges every stack under `scope` (the App, or one stack) at synthesis. cdktf invokes aspects
   * per stack, so the aspect is attached to each stack that exists now: call this after the
   * stacks are created.
   */
  public static enable(scope: IConstruct, options: HipaaComplianceOptions = {}): void {
    const aspect = new HipaaCompliance(options);
    const stacks = scope.node.findAll().filter((c): c is TerraformStack => TerraformStack.isStack(c));
    if (stacks.length === 0) {
      throw new HipaaConfigError({ path: scope.node.path || "app", problem: "there is no stack to check yet", fix: "call HipaaCompliance.enable(app) after creating the stacks" });
    }
    for (const stack of stacks) Aspects.of(stack).add(aspect);
  }

  /**
   * Accepts a failing rule on one resource, with the reason an auditor reads in the control map.
   * @param resource the Terraform resource construct (e.g. `bucket.bucket`)
   */
  public static suppress(resource: IConstruct, rule: string, reason: string): void {
    if (!reason || reason.trim().length < MIN_REASON) {
      throw new HipaaConfigError({
        path: resource.node.path,
        problem: `suppression of ${rule} has no reason (or one shorter than ${MIN_REASON} characters)`,
        fix: "say why the rule does not apply or how the risk is otherwise controlled; the reason is evidence in the control map",
      });
    }
    if (!TerraformResource.isTerraformResource(resource)) {
      throw new HipaaConfigError({ path: resource.node.path, problem: `${rule} can only be suppressed on a Terraform resource`, fix: "pass the resource construct, e.g. evidenceBucket.bucket" });
    }
    SUPPRESSIONS.set(resource, [...(SUPPRESSIONS.get(resource) ?? []), { rule, reason: reason.trim() }]);
  }

  /** Judges one stack now (without writing anything). */
  public static check(stack: TerraformStack, rules: readonly Rule[] = ALL_RULES): JudgedFinding[] {
    return judge(stack, stack.toTerraform(), rules);
  }

  private constructor(private readonly options: HipaaComplianceOptions) {}

  public visit(node: IConstruct): void {
    if (!TerraformStack.isStack(node)) return;
    const marked = node as unknown as Record<symbol, boolean>;
    if (marked[ENABLED]) return;
    Object.defineProperty(node, ENABLED, { value: true });
    reuseJudgedJson(node);
    node.node.addValidation({ validate: () => this.validateStack(node) });
  }

  private validateStack(stack: TerraformStack): string[] {
    const json = stack.toTerraform();
    const findings = judge(stack, json, this.options.rules ?? ALL_RULES);
    const failures = findings
      .filter((f) => f.verdict === "fail")
      .map((f) => `${f.constructPath ?? f.resource}: ${f.rule} failed (45 CFR ${f.controls.join(", ")}): ${f.message}. To accept it, HipaaCompliance.suppress(resource, "${f.rule}", "<reason>")`);
    if (this.options.writeControlMap !== false) writeControlMaps(stack, buildControlMap(stack, findings), failures.length > 0);
    if (failures.length === 0) {
      JUDGED_JSON.set(stack, json);
      queueMicrotask(() => JUDGED_JSON.delete(stack));
    }
    return failures;
  }
}

/** The next `toTerraform()` of `stack` returns the JSON the gate just judged, if any (see JUDGED_JSON). */
function reuseJudgedJson(stack: TerraformStack): void {
  const resolve = stack.toTerraform.bind(stack);
  Object.defineProperty(stack, "toTerraform", {
    configurable: true,
    writable: true,
    value: () => {
      const judged = JUDGED_JSON.get(stack);
      if (judged === undefined) return resolve();
      JUDGED_JSON.delete(stack);
      return judged;
    },
  });
}

/** Judges a stack's synthesized JSON and applies the recorded suppressions. */
function judge(stack: TerraformStack, json: unknown, rules: readonly Rule[]): JudgedFinding[] {
  const unit = unitFromJson(stack.node.id, json);
  const byAddress = new Map<string, IConstruct>();
  for (const c of stack.node.findAll()) if (TerraformResource.isTerraformResource(c)) byAddress.set(terraformAddress(c), c);
  return evaluate([unit], rules).map((f) => {
    const construct = byAddress.get(f.resource);
    const suppression = construct ? SUPPRESSIONS.get(construct)?.find((s) => s.rule === f.rule) : undefined;
    const judged: JudgedFinding = { ...f, constructPath: construct?.node.path };
    return f.verdict === "fail" && suppression ? { ...judged, verdict: "suppressed", suppressionReason: suppression.reason } : judged;
  });
}

/**
 * One stack's control map as written, kept for the combined files instead of the map itself:
 * the combined pair is rewritten after every stack, and re-serializing every earlier stack's
 * map each time (and keeping their objects alive) was most of the gate's memory at scale.
 */
interface RenderedControlMap {
  /** The stack's control-map.json text, indented as one element of the combined `stacks` array. */
  readonly jsonInCombined: string;
  /** The stack's section of the combined Markdown, or the map itself where the renderer does not compose (see markdownComposes). */
  readonly markdown: string | ControlMap;
}

/** Output directories whose combined control map lacks a stack judged since it was last written. */
const COMBINED_PENDING = new Set<string>();
const FLUSHES_COMBINED = Symbol.for("cdktf-hipaa-substrate.FlushesCombinedControlMap");

/**
 * Writes the stack's control map, and records it for the combined pair at the root of the
 * output directory. The combined pair is written once all stacks are judged (an App-level
 * validation, which cdktf runs after synthesizing every stack), at once when a stack fails (the
 * synthesis stops there), and otherwise at the end of the current synchronous job (a stack
 * judged outside `app.synth()`): rewriting every map after each stack was most of the gate's
 * memory at scale, and the files read the same.
 */
function writeControlMaps(stack: TerraformStack, map: ControlMap, failed: boolean): void {
  const app = App.of(stack);
  const outdir = app.outdir;
  const stackDir = join(outdir, "stacks", stack.node.id);
  mkdirSync(stackDir, { recursive: true });
  const json = JSON.stringify(map, null, 2);
  const markdown = renderControlMapMarkdown([map]);
  writeFileSync(join(stackDir, "control-map.json"), `${json}\n`);
  writeFileSync(join(stackDir, "control-map.md"), markdown);
  const all = COMBINED.get(outdir) ?? new Map<string, RenderedControlMap>();
  const header = markdownComposes() ? renderControlMapMarkdown([]) : undefined;
  all.set(stack.node.id, {
    // JSON.stringify(..., 2) nests an element of `stacks` four spaces deeper than the top level.
    jsonInCombined: `    ${json.replace(/\n/g, "\n    ")}`,
    markdown: header !== undefined && markdown.startsWith(header) && markdown.endsWith("\n") ? markdown.slice(header.length, -1) : map,
  });
  COMBINED.set(outdir, all);
  COMBINED_PENDING.add(outdir);
  const marked = app as unknown as Record<symbol, boolean>;
  if (!marked[FLUSHES_COMBINED]) {
    Object.defineProperty(app, FLUSHES_COMBINED, { value: true });
    app.node.addValidation({ validate: () => (writeCombinedControlMap(outdir), []) });
  }
  if (failed) writeCombinedControlMap(outdir);
  else queueMicrotask(() => writeCombinedControlMap(outdir));
}

/** The combined control-map.json and control-map.md of every stack judged into `outdir`. */
function writeCombinedControlMap(outdir: string): void {
  if (!COMBINED_PENDING.delete(outdir)) return;
  const rendered = [...COMBINED.get(outdir)!.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, r]) => r);
  // Byte for byte what JSON.stringify({ stacks: maps }, null, 2) writes, without building it.
  writeInPieces(join(outdir, "control-map.json"), ['{\n  "stacks": [\n', ...rendered.flatMap((r, i) => (i === 0 ? [r.jsonInCombined] : [",\n", r.jsonInCombined])), "\n  ]\n}\n"]);
  if (rendered.every((r) => typeof r.markdown === "string")) {
    const header = renderControlMapMarkdown([]);
    writeInPieces(join(outdir, "control-map.md"), [header, ...rendered.flatMap((r, i) => (i === 0 ? [r.markdown as string] : ["\n", r.markdown as string])), "\n"]);
  } else {
    writeFileSync(join(outdir, "control-map.md"), renderControlMapMarkdown(rendered.map((r) => r.markdown as ControlMap)));
  }
}

function writeInPieces(file: string, pieces: readonly string[]): void {
  const fd = openSync(file, "w");
  try {
    for (const piece of pieces) writeSync(fd, piece);
  } finally {
    closeSync(fd);
  }
}

let composes: boolean | undefined;

/**
 * Whether the Markdown of several maps is the header followed by each map's own section, joined
 * by a newline, as renderControlMapMarkdown writes it today; checked once on two small maps so
 * that a renderer that summarizes across stacks is used as it is.
 */
function markdownComposes(): boolean {
  if (composes === undefined) {
    const sample = (stack: string): ControlMap => ({ stack, summary: { pass: 1, fail: 0, suppressed: 0 }, sections: [] });
    const header = renderControlMapMarkdown([]);
    const one = (m: ControlMap) => renderControlMapMarkdown([m]);
    const [a, b] = [one(sample("a")), one(sample("b"))];
    composes =
      a.startsWith(header) && b.startsWith(header) && a.endsWith("\n") && b.endsWith("\n") &&
      renderControlMapMarkdown([sample("a"), sample("b")]) === `${header}${a.slice(header.length, -1)}\n${b.slice(header.length, -1)}\n`;
  }
  return composes;
}
