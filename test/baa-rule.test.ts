import { mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { TerraformStack, Testing } from "cdktf";
import { SqsQueue } from "@cdktf/provider-aws/lib/sqs-queue";
import { buildReferenceApp, REFERENCE_ENVIRONMENTS, REFERENCE_REPOSITORIES } from "../examples/reference/main";
import { BaaRegistry, GithubPlan, HipaaSubstrate } from "../src";
import { ALL_RULES, evaluate, HipaaCompliance, loadUnits, unitFromJson } from "../src/compliance";
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

describe("HIPAA-BAA-SERVICE on a HipaaSubstrate stack", () => {

  const sqsVerdicts = (stackId: string) => {
    const app = buildReferenceApp(Testing.app());
    const stack = app.node.findChild(stackId) as TerraformStack;
    new SqsQueue(stack, "PatientEvents", { name: "patient-events", kmsMasterKeyId: "alias/aws/sqs" });
    return HipaaCompliance.check(stack).filter((f) => f.rule === RULE && f.resource.startsWith("aws_sqs_queue"));
  };

  test("a queue in the production (PHI) stack fails; in dev it is not judged", () => {
    const [finding] = sqsVerdicts("clinical-production");
    expect(finding.verdict).toBe("fail");
    expect(finding.message).toContain('aws:sqs, which the BAA registry of PHI environment "production" does not cover');
    expect(sqsVerdicts("clinical-dev")).toEqual([]);
  });

  test("adding the service to the registry passes it", () => {
    const app = Testing.app();
    new HipaaSubstrate(app, "clinical", {
      organization: "hipaa-app-org", organizationId: 1342004, githubPlan: GithubPlan.ENTERPRISE, complianceRepo: "compliance-workflows", complianceRepoId: 260064901,
      complianceTeam: { id: 5501, slug: "compliance" }, approverTeamIds: [5502], approvedRelease: "v1.4.2", releaseAutomation: { type: "github-app", appId: 904512, slug: "hipaa-release-bot" }, environments: REFERENCE_ENVIRONMENTS, repositories: REFERENCE_REPOSITORIES,
      aws: { region: "us-east-1", accounts: { dev: "111111111111", staging: "222222222222", validation: "333333333333", production: "444444444444" } },
      deployGate: { baa: BaaRegistry.substrateDefaults().with({ id: "aws:sqs", name: "Amazon SQS", source: "AWS HIPAA Eligible Services Reference; our BAA" }) },
    });
    const stack = app.node.findChild("clinical-production") as TerraformStack;
    new SqsQueue(stack, "PatientEvents", { name: "patient-events" });
    const [finding] = HipaaCompliance.check(stack).filter((f) => f.rule === RULE && f.resource.startsWith("aws_sqs_queue"));
    expect(finding.verdict).toBe("pass");
  });
});
