import { IConstruct } from "constructs";
import { hipaaControls } from "./catalog";
import { ALL_RULES, resourceNames, TfUnit } from "./checker";
import { collectControlRecords } from "./record";

/** One resource's verdict under one rule, as the auditor reads it. */
export interface ControlMapVerdict {
  readonly resource: string;
  /** The resource's real name (bucket name, repository, key alias), when the configuration states it literally. */
  readonly name?: string;
  readonly constructPath?: string;
  readonly rule: string;
  readonly verdict: "pass" | "fail" | "suppressed";
  readonly message: string;
  readonly suppressionReason?: string;
}

export interface ControlMapSection {
  readonly section: string;
  readonly title: string;
  readonly auditorQuestion: string;
  readonly rules: readonly { readonly id: string; readonly title: string; readonly equivalents: readonly string[]; readonly kics: readonly { readonly id: string; readonly name: string }[] }[];
  readonly verdicts: readonly ControlMapVerdict[];
  /** Which construct implements the section, through which resources, and how. */
  readonly implementedBy: readonly { readonly construct: string; readonly resources: readonly string[]; readonly how: string }[];
  /** Weakenings accepted with a written reason at construction. */
  readonly exceptions: readonly { readonly construct: string; readonly what: string; readonly reason: string }[];
}

export interface ControlMap {
  readonly stack: string;
  /** The library version that judged the stack. */
  readonly generator?: { readonly name: string; readonly version: string };
  /** `enforced`, or `skipped` when synth ran with `skipValidation: true` and refused nothing. */
  readonly gate?: "enforced" | "skipped";
  readonly warning?: string;
  /** The synthesized file this map judged and its SHA-256, so the map can be matched to what was applied. */
  readonly input?: { readonly file: string; readonly sha256: string };
  readonly summary: { readonly pass: number; readonly fail: number; readonly suppressed: number };
  readonly sections: readonly ControlMapSection[];
}

interface FindingLike {
  readonly rule: string;
  readonly resource: string;
  readonly verdict: "pass" | "fail" | "suppressed";
  readonly controls: readonly string[];
  readonly message: string;
  readonly constructPath?: string;
  readonly suppressionReason?: string;
}

export interface ControlMapContext {
  /** The unit the findings came from, for the resources' real names. */
  readonly unit?: TfUnit;
  readonly version?: string;
  readonly gate?: "enforced" | "skipped";
  readonly input?: { readonly file: string; readonly sha256: string };
}

export const GATE_SKIPPED =
  "THE HIPAA GATE DID NOT RUN: this output was synthesized with skipValidation: true, so failing checks were not refused. It is not evidence of compliance; `cdktf-hipaa-substrate check` refuses it.";

/** The control map of one stack: for every CFR section, its question, rules, verdicts and implementers. */
export function buildControlMap(stack: IConstruct, findings: readonly FindingLike[], context: ControlMapContext = {}): ControlMap {
  const map = controlMapOnDemand(stack, findings, context);
  return { ...map, sections: map.sections.map((s) => ({ ...s, verdicts: [...s.verdicts] })) };
}

/**
 * A section's verdicts, made from the findings each time they are read: the synth gate writes a
 * large stack's map (tens of thousands of verdicts) one verdict at a time, so no verdict lives
 * longer than its own line of output.
 */
export class VerdictsOnDemand implements Iterable<ControlMapVerdict> {
  constructor(
    /** The findings of this section, in the order of all findings. */
    private readonly findings: readonly FindingLike[],
    private readonly names: ReadonlyMap<string, string>,
  ) {}

  public get length(): number {
    return this.findings.length;
  }

  public *[Symbol.iterator](): Iterator<ControlMapVerdict> {
    for (const f of this.findings) {
      yield { resource: f.resource, name: this.names.get(f.resource), constructPath: f.constructPath, rule: f.rule, verdict: f.verdict, message: f.message, suppressionReason: f.suppressionReason };
    }
  }

  /** The verdicts as `JSON.stringify` writes an array of them. */
  public toJSON(): ControlMapVerdict[] {
    return [...this];
  }
}

/** A control map whose verdicts are made on demand (see `VerdictsOnDemand`); `buildControlMap` is this, made whole. */
export interface ControlMapOnDemand extends Omit<ControlMap, "sections"> {
  readonly sections: readonly (Omit<ControlMapSection, "verdicts"> & { readonly verdicts: VerdictsOnDemand })[];
}

/** The control map of one stack, with each section's verdicts made from `findings` when read. */
export function controlMapOnDemand(stack: IConstruct, findings: readonly FindingLike[], context: ControlMapContext = {}): ControlMapOnDemand {
  const records = collectControlRecords(stack);
  const names = context.unit ? resourceNames(context.unit) : new Map<string, string>();
  const bySection = new Map<string, FindingLike[]>();
  for (const f of findings) {
    // A rule naming a section twice still gives one verdict there (`controls.includes`).
    for (const section of new Set(f.controls)) {
      let of = bySection.get(section);
      if (!of) bySection.set(section, (of = []));
      of.push(f);
    }
  }
  const sections = hipaaControls().map((control) => ({
    section: control.section,
    title: control.title,
    auditorQuestion: control.auditorQuestion,
    rules: ALL_RULES.filter((r) => r.controls.includes(control.section)).map((r) => ({ id: r.id, title: r.title, equivalents: r.equivalents, kics: r.kics ?? [] })),
    verdicts: new VerdictsOnDemand(bySection.get(control.section) ?? [], names),
    implementedBy: records.implementations.filter((i) => i.section === control.section).map((i) => ({ construct: i.constructPath, resources: i.resources, how: i.how })),
    exceptions: records.exceptions.filter((e) => e.section === control.section).map((e) => ({ construct: e.constructPath, what: e.what, reason: e.reason })),
  }));
  const summary = { pass: 0, fail: 0, suppressed: 0 };
  for (const f of findings) if (f.verdict === "pass" || f.verdict === "fail" || f.verdict === "suppressed") summary[f.verdict]++;
  return {
    stack: stack.node.id,
    ...(context.version ? { generator: { name: "cdktf-hipaa-substrate", version: context.version } } : {}),
    ...(context.gate ? { gate: context.gate } : {}),
    ...(context.gate === "skipped" ? { warning: GATE_SKIPPED } : {}),
    ...(context.input ? { input: context.input } : {}),
    summary,
    sections,
  };
}

/** The Markdown an auditor reads. */
export function renderControlMapMarkdown(maps: readonly ControlMap[]): string {
  return `${[...controlMapMarkdownHeader(maps), ...maps.flatMap(controlMapMarkdownSection)].join("\n")}\n`;
}

/** The lines that open the Markdown of `maps` (the synth gate writes the sections one stack at a time). */
export function controlMapMarkdownHeader(maps: readonly Pick<ControlMap, "generator" | "gate">[]): string[] {
  const lines: string[] = ["# HIPAA control map", ""];
  const version = maps.find((m) => m.generator)?.generator?.version;
  if (version) lines.push(`Judged by cdktf-hipaa-substrate ${version}.`, "");
  if (maps.some((m) => m.gate === "skipped")) lines.push(`> **${GATE_SKIPPED}**`, "");
  return lines;
}

/** The Markdown lines of one stack's map. */
export function controlMapMarkdownSection(map: ControlMap): string[] {
  return [...controlMapMarkdownLines(map)];
}

/** The Markdown lines of one stack's map, one at a time (the synth gate writes them as they come). */
export function* controlMapMarkdownLines(map: ControlMap | ControlMapOnDemand): Generator<string> {
  yield `## Stack \`${map.stack}\``;
  yield "";
  if (map.input) yield* [`Input: \`${map.input.file}\`, SHA-256 \`${map.input.sha256}\`.`, ""];
  yield* [`${map.summary.pass} passed, ${map.summary.fail} failed, ${map.summary.suppressed} suppressed with a reason.`, ""];
  for (const s of map.sections) {
    yield* [`### 45 CFR ${s.section} ${s.title}`, "", `> ${s.auditorQuestion}`, ""];
    if (s.implementedBy.length > 0) {
      yield* ["Implemented by:", ""];
      for (const i of s.implementedBy) yield `- \`${i.construct}\` (${i.resources.map((r) => `\`${r}\``).join(", ")}): ${i.how}`;
      yield "";
    }
    for (const e of s.exceptions) yield `- **Accepted exception** at \`${e.construct}\`: ${e.what}. Reason: ${e.reason}`;
    if (s.exceptions.length > 0) yield "";
    if (s.verdicts.length > 0) {
      yield* ["| resource | name | rule | verdict | note |", "| --- | --- | --- | --- | --- |"];
      for (const v of s.verdicts) {
        const note = v.verdict === "suppressed" ? `suppressed: ${v.suppressionReason}` : v.message;
        yield `| \`${v.resource}\` | ${v.name ? `\`${v.name}\`` : ""} | ${v.rule} | ${v.verdict} | ${note.replace(/\|/g, "\\|")} |`;
      }
      yield "";
    } else if (s.implementedBy.length === 0) {
      yield* ["No resource in this stack addresses this section.", ""];
    }
  }
}
