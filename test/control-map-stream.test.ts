import { createHash } from "crypto";
import { mkdtempSync, readFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { App, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { EvidenceBucket } from "../constructs/aws";
import { HipaaCompliance } from "../src/compliance";
import { buildControlMap, renderControlMapMarkdown } from "../src/compliance/control-map";
import { ALL_RULES, judge, unitFromJson } from "../src/compliance/checker";
import { buildReferenceApp } from "../examples/reference/main";
import { production } from "./support/synth";

/**
 * The synth gate writes each stack's control map verdict by verdict (issue 17: a stack's map is
 * never held whole). What it writes must be byte for byte what `buildControlMap` and
 * `renderControlMapMarkdown` give for the same findings, so the auditor's file does not depend on
 * how it was written.
 */
describe("control maps written by the synth gate", () => {
  const outdir = mkdtempSync(join(tmpdir(), "hipaa-map-stream-"));
  const app = buildReferenceApp(new App({ outdir }));
  HipaaCompliance.enable(app);
  app.synth();
  const stacks = app.node.children.filter((c): c is TerraformStack => TerraformStack.isStack(c));
  const units = stacks.map((s) => unitFromJson(s.node.id, JSON.parse(readFileSync(join(outdir, "stacks", s.node.id, "cdk.tf.json"), "utf8"))));
  const findings = judge(units, ALL_RULES);

  test.each(stacks.map((s) => [s.node.id, s] as const))("%s: the same bytes as buildControlMap and renderControlMapMarkdown", (id, stack) => {
    const dir = join(outdir, "stacks", id);
    const json = readFileSync(join(dir, "control-map.json"), "utf8");
    const written = JSON.parse(json);
    const tf = readFileSync(join(dir, "cdk.tf.json"), "utf8");
    expect(written.input).toEqual({ file: `stacks/${id}/cdk.tf.json`, sha256: createHash("sha256").update(tf).digest("hex") });
    const map = buildControlMap(stack, findings.filter((f) => f.file === id), { unit: units.find((u) => u.file === id), version: written.generator.version, gate: "enforced", input: written.input });
    // A stack with verdicts in several sections, names and construct paths: the comparison is not vacuous.
    if (id === "clinical-production") {
      expect(map.summary.pass).toBeGreaterThan(100);
      expect(map.sections.filter((s) => s.verdicts.length > 0).length).toBeGreaterThan(3);
      expect(map.sections.some((s) => s.verdicts.some((v) => v.name !== undefined && v.constructPath !== undefined))).toBe(true);
    }
    expect(json).toBe(`${JSON.stringify(map, null, 2)}\n`);
    expect(readFileSync(join(dir, "control-map.md"), "utf8")).toBe(renderControlMapMarkdown([map]));
  });

  test("the combined map is every stack's map, in stack-name order", () => {
    const combined = JSON.parse(readFileSync(join(outdir, "control-map.json"), "utf8"));
    const ids = stacks.map((s) => s.node.id).sort((a, b) => a.localeCompare(b));
    expect(combined.stacks).toEqual(ids.map((id) => JSON.parse(readFileSync(join(outdir, "stacks", id, "control-map.json"), "utf8"))));
    expect(combined.summary.pass).toBe(findings.filter((f) => f.verdict === "pass").length);
  });
});

describe("a control map with a suppressed verdict and text that needs escaping", () => {
  test("is written with the same bytes as buildControlMap and renderControlMapMarkdown", () => {
    const outdir = mkdtempSync(join(tmpdir(), "hipaa-map-stream-"));
    const app = new App({ outdir });
    const stack = new TerraformStack(app, "user-production");
    new AwsProvider(stack, "aws", { region: "us-east-1" });
    new EvidenceBucket(stack, "Evidence", { environment: production });
    const raw = new KmsKey(stack, "UnrotatedKey", { description: "the user's own key", policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Sid: "Account", Effect: "Allow", Principal: { AWS: "arn:aws:iam::111122223333:root" }, Action: "kms:*", Resource: "*" }] }) });
    const reason = 'Imported "HSM" key | rotated by runbook KM-7 (Zürich ceremony), every 90 days.';
    HipaaCompliance.suppress(raw, "HIPAA-KMS-ROTATION", reason);
    HipaaCompliance.enable(app);
    app.synth();
    const dir = join(outdir, "stacks", "user-production");
    const json = readFileSync(join(dir, "control-map.json"), "utf8");
    const written = JSON.parse(json);
    const unit = unitFromJson("user-production", JSON.parse(readFileSync(join(dir, "cdk.tf.json"), "utf8")));
    const map = buildControlMap(stack, judge([unit], ALL_RULES), { unit, version: written.generator.version, gate: "enforced", input: written.input });
    expect(map.sections.flatMap((s) => s.verdicts)).toContainEqual(expect.objectContaining({ verdict: "suppressed", suppressionReason: reason }));
    expect(json).toBe(`${JSON.stringify(map, null, 2)}\n`);
    expect(readFileSync(join(dir, "control-map.md"), "utf8")).toBe(renderControlMapMarkdown([map]));
    // The combined map copies the stack's bytes (UTF-8 included) one level deeper.
    expect(JSON.parse(readFileSync(join(outdir, "control-map.json"), "utf8")).stacks).toEqual([written]);
    expect(readFileSync(join(outdir, "control-map.md"), "utf8")).toContain(`suppressed: ${reason.replace(/\|/g, "\\|")}`);
  });
});

describe("buildControlMap", () => {
  test("keeps every finding it is given, and a rule naming a section twice gives one verdict there", () => {
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), "hipaa-map-build-")) });
    const stack = new TerraformStack(app, "s");
    const f = { rule: "HIPAA-X", resource: "aws_kms_key.k", verdict: "pass" as const, controls: ["164.312(a)(2)(iv)", "164.312(a)(2)(iv)"], message: "ok" };
    const map = buildControlMap(stack, [f, f]);
    expect(map.sections.find((s) => s.section === "164.312(a)(2)(iv)")!.verdicts).toHaveLength(2);
    expect(map.summary).toEqual({ pass: 2, fail: 0, suppressed: 0 });
  });
});
