import { mkdtempSync, readFileSync, existsSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { App, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { EvidenceBucket, SigningKey } from "../constructs/aws";
import { HipaaCompliance } from "../src/compliance";
import { buildReferenceApp } from "../examples/reference/main";
import { production, refusal } from "./support/synth";

function userApp() {
  const outdir = mkdtempSync(join(tmpdir(), "hipaa-aspect-"));
  const app = new App({ outdir });
  const stack = new TerraformStack(app, "user-production");
  new AwsProvider(stack, "aws", { region: "us-east-1" });
  new EvidenceBucket(stack, "Evidence", { environment: production });
  new SigningKey(stack, "Signing", { environment: production });
  // A raw resource of the user's own, not compliant: a symmetric key without rotation (with an
  // explicit key policy, so rotation is the only finding).
  const raw = new KmsKey(stack, "UnrotatedKey", { description: "the user's own key", policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Sid: "Account", Effect: "Allow", Principal: { AWS: "arn:aws:iam::111122223333:root" }, Action: "kms:*", Resource: "*" }] }) });
  return { app, stack, raw, outdir };
}

describe("HipaaCompliance aspect", () => {
  test("a non-compliant raw resource in a user stack fails synth with path, rule, CFR and fix", () => {
    const { app } = userApp();
    HipaaCompliance.enable(app);
    const message = refusal(() => app.synth());
    expect(message).toContain("user-production/UnrotatedKey: HIPAA-KMS-ROTATION failed (45 CFR 164.312(a)(2)(iv)): automatic rotation is off. Fix: enable_key_rotation = true");
    expect(message).toContain('HipaaCompliance.suppress(resource, "HIPAA-KMS-ROTATION", "<reason>")');
    expect(message).not.toContain("Evidence");
  });

  test("a suppression with a reason lets synth pass and appears in the control map", () => {
    const { app, raw, outdir } = userApp();
    HipaaCompliance.suppress(raw, "HIPAA-KMS-ROTATION", "Imported HSM-backed key rotated by the key ceremony runbook KM-7 every 90 days.");
    HipaaCompliance.enable(app);
    app.synth();
    const map = JSON.parse(readFileSync(join(outdir, "stacks", "user-production", "control-map.json"), "utf8"));
    expect(map.summary.fail).toBe(0);
    expect(map.summary.suppressed).toBe(1);
    const encryption = map.sections.find((s: any) => s.section === "164.312(a)(2)(iv)");
    expect(encryption.verdicts).toContainEqual(
      expect.objectContaining({ rule: "HIPAA-KMS-ROTATION", verdict: "suppressed", suppressionReason: "Imported HSM-backed key rotated by the key ceremony runbook KM-7 every 90 days." }),
    );
    const markdown = readFileSync(join(outdir, "stacks", "user-production", "control-map.md"), "utf8");
    expect(markdown).toContain("suppressed: Imported HSM-backed key rotated by the key ceremony runbook KM-7");
  });

  test("a suppression needs a reason and a resource", () => {
    const { raw, stack } = userApp();
    expect(refusal(() => HipaaCompliance.suppress(raw, "HIPAA-KMS-ROTATION", "legacy"))).toContain("has no reason");
    expect(refusal(() => HipaaCompliance.suppress(stack, "HIPAA-KMS-ROTATION", "x".repeat(40)))).toContain("can only be suppressed on a Terraform resource");
  });

  test("enabling before any stack exists is allowed: stacks added later are judged (test/gate.test.ts)", () => {
    expect(() => HipaaCompliance.enable(new App({ outdir: mkdtempSync(join(tmpdir(), "hipaa-empty-")) }))).not.toThrow();
  });

  test("the reference app synthesizes clean and writes a control map per stack and one combined", () => {
    const outdir = mkdtempSync(join(tmpdir(), "hipaa-reference-"));
    const app = buildReferenceApp(new App({ outdir }));
    HipaaCompliance.enable(app);
    app.synth();
    for (const stack of ["clinical-github", "clinical-dev", "clinical-production"]) {
      expect(existsSync(join(outdir, "stacks", stack, "control-map.md"))).toBe(true);
    }
    const combined = JSON.parse(readFileSync(join(outdir, "control-map.json"), "utf8"));
    expect(combined.stacks.map((s: any) => s.stack)).toEqual(["clinical-archive", "clinical-dev", "clinical-github", "clinical-production", "clinical-staging", "clinical-validation"]);
    for (const s of combined.stacks) expect(s.summary.fail).toBe(0);
    const prod = combined.stacks.find((s: any) => s.stack === "clinical-production");
    const audit = prod.sections.find((s: any) => s.section === "164.312(b)");
    expect(audit.auditorQuestion).toContain("Can engineers alter the audit log?");
    // Production's evidence lives in the archive account; production records its trail into it.
    expect(audit.implementedBy.map((i: any) => i.construct)).toContain("clinical-production/AuditTrail");
    const archive = combined.stacks.find((s: any) => s.stack === "clinical-archive").sections.find((s: any) => s.section === "164.312(b)");
    expect(archive.implementedBy.map((i: any) => i.construct)).toContain("clinical-archive/Evidence-production");
    expect(archive.verdicts).toContainEqual(expect.objectContaining({ rule: "HIPAA-S3-OBJECT-LOCK", verdict: "pass" }));
    // The auditor's "can engineers alter the audit log?" answer names the archive account, break-glass, the trail and the alerts.
    const answer = JSON.stringify(archive.implementedBy);
    for (const named of ["archive account 999999999999", "arn:aws:iam::999999999999:role/break-glass/evidence-custodian", "aws_cloudtrail.", "aws_cloudwatch_event_rule.", "hipaa-clinical-archive-alerts"]) expect(answer).toContain(named);
    const md = readFileSync(join(outdir, "control-map.md"), "utf8");
    expect(md).toContain("### 45 CFR 164.316(b)(2)(i) Documentation: time limit (retain six years)");
  });

  test("weakenings accepted at construction appear as exceptions", () => {
    const outdir = mkdtempSync(join(tmpdir(), "hipaa-exception-"));
    const app = new App({ outdir });
    const stack = new TerraformStack(app, "s");
    new AwsProvider(stack, "aws", { region: "us-east-1" });
    const { RetentionPeriod } = require("../src/model");
    new EvidenceBucket(stack, "Evidence", { environment: production, retention: RetentionPeriod.days(400), shortRetentionReason: "Synthetic test evidence, also copied to the long-term bucket." });
    // The checker flags the short lock too: the construct-level exception and a suppression record it.
    HipaaCompliance.suppress(stack.node.findChild("Evidence").node.findChild("Bucket") as S3Bucket, "HIPAA-S3-OBJECT-LOCK", "Synthetic test evidence, also copied to the long-term bucket.");
    HipaaCompliance.enable(app);
    app.synth();
    const map = JSON.parse(readFileSync(join(outdir, "stacks", "s", "control-map.json"), "utf8"));
    const retention = map.sections.find((s: any) => s.section === "164.316(b)(2)(i)");
    expect(retention.exceptions).toEqual([{ construct: "s/Evidence", what: "Object Lock retention 400 days, below 2190 days", reason: "Synthetic test evidence, also copied to the long-term bucket." }]);
  });
});
