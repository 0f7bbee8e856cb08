import { mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { ALL_RULES, evaluate, loadUnits, unitFromJson } from "../src/compliance";
import { cloudServiceOf } from "../src/compliance/checker/rules/baa";

const RULE = "HIPAA-BAA-SERVICE";

const stack = (handlesPhi: boolean, resources: Record<string, Record<string, unknown>>) => ({
  locals: { hipaa_substrate: { environment: handlesPhi ? "production" : "dev", tier: handlesPhi ? "production" : "development", handles_phi: handlesPhi, baa_services: ["aws:kms", "aws:s3"] } },
  resource: resources,
});

function verdicts(doc: unknown): Record<string, string> {
  return Object.fromEntries(evaluate([unitFromJson("stack", doc)], ALL_RULES).filter((f) => f.rule === RULE).map((f) => [f.resource, f.verdict]));
}

describe("HIPAA-BAA-SERVICE", () => {
  const resources = {
    aws_s3_bucket: { evidence: { bucket: "evidence" } },
    aws_kms_key: { signing: { key_usage: "SIGN_VERIFY" } },
    aws_sagemaker_notebook_instance: { notebook: { name: "explore" } },
    aws_iam_role: { deploy: { name: "deploy" } },
    github_repository: { app: { name: "app" } },
  };

  test("a PHI stack fails a resource of a service outside its registry, with the fix", () => {
    expect(verdicts(stack(true, resources))).toEqual({
      "aws_s3_bucket.evidence": "pass",
      "aws_kms_key.signing": "pass",
      "aws_sagemaker_notebook_instance.notebook": "fail",
    });
    const finding = evaluate([unitFromJson("stack", stack(true, resources))], ALL_RULES).find((f) => f.rule === RULE && f.verdict === "fail")!;
    expect(finding.message).toContain('aws:sagemaker, which the BAA registry of PHI environment "production" does not cover');
    expect(finding.message).toContain("BaaRegistry.substrateDefaults().with(");
    expect(finding.controls).toEqual(["164.308(b)(1)"]);
  });

  test("a stack without PHI, or without the substrate's marker, is not judged", () => {
    expect(verdicts(stack(false, resources))).toEqual({});
    expect(verdicts({ resource: resources })).toEqual({});
  });

  test("HCL locals (hcl2json shape) mark a PHI configuration too", async () => {
    const dir = mkdtempSync(join(tmpdir(), "baa-"));
    writeFileSync(
      join(dir, "main.tf"),
      `locals {
  hipaa_substrate = { environment = "production", handles_phi = true, baa_services = ["aws:s3"] }
}
resource "aws_s3_bucket" "b" { bucket = "evidence" }
resource "aws_dynamodb_table" "t" { name = "patients" }`,
    );
    const findings = evaluate(await loadUnits([join(dir, "main.tf")]), ALL_RULES).filter((f) => f.rule === RULE);
    expect(Object.fromEntries(findings.map((f) => [f.resource, f.verdict]))).toEqual({ "aws_s3_bucket.b": "pass", "aws_dynamodb_table.t": "fail" });
  });

  test("resource types map to the registry's service names; control planes are not judged", () => {
    expect(cloudServiceOf("aws_s3_bucket_object_lock_configuration")).toBe("aws:s3");
    expect(cloudServiceOf("aws_launch_template")).toBe("aws:ec2");
    expect(cloudServiceOf("aws_cloudwatch_log_group")).toBe("aws:logs");
    expect(cloudServiceOf("aws_db_instance")).toBe("aws:rds");
    expect(cloudServiceOf("google_kms_crypto_key_iam_member")).toBe("gcp:cloudkms");
    expect(cloudServiceOf("google_container_node_pool")).toBe("gcp:container");
    expect(cloudServiceOf("google_bigquery_dataset")).toBe("gcp:bigquery");
    expect(cloudServiceOf("aws_iam_role")).toBeNull();
    expect(cloudServiceOf("google_project_iam_audit_config")).toBeNull();
    expect(cloudServiceOf("google_service_account_iam_member")).toBeNull();
    expect(cloudServiceOf("github_repository")).toBeUndefined();
  });
});
