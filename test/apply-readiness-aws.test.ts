import { mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { ALL_RULES, evaluate, loadUnits, unitFromJson } from "../src/compliance";

function verdict(doc: unknown, rule: string): string | undefined {
  const found = evaluate([unitFromJson("main.tf.json", doc)], ALL_RULES).filter((f) => f.rule === rule);
  if (found.length > 1) throw new Error(`${rule} judged ${found.length} resources`);
  return found[0]?.verdict;
}

const SLR = "arn:aws:iam::111122223333:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling";
const keyNaming = (principal: string) =>
  JSON.stringify({ Version: "2012-10-17", Statement: [{ Sid: "Asg", Effect: "Allow", Principal: { AWS: principal }, Action: "kms:CreateGrant", Resource: "*" }] });

describe("HIPAA-APPLY-KMS-SERVICE-LINKED-ROLE", () => {
  const rule = "HIPAA-APPLY-KMS-SERVICE-LINKED-ROLE";
  test("fails a key policy naming a service-linked role the stack neither creates nor looks up", () => {
    expect(verdict({ resource: { aws_kms_key: { k: { policy: keyNaming(SLR) } } } }, rule)).toBe("fail");
  });
  test("passes when the stack creates the role, looks it up, or references it", () => {
    expect(verdict({ resource: { aws_kms_key: { k: { policy: keyNaming(SLR) } }, aws_iam_service_linked_role: { r: { aws_service_name: "autoscaling.amazonaws.com" } } } }, rule)).toBe("pass");
    expect(verdict({ resource: { aws_kms_key: { k: { policy: keyNaming(SLR) } } }, data: { aws_iam_role: { r: { name: "AWSServiceRoleForAutoScaling" } } } }, rule)).toBe("pass");
    expect(verdict({ resource: { aws_kms_key: { k: { policy: keyNaming("${aws_iam_service_linked_role.r.arn}") } } } }, rule)).toBe("pass");
  });
  test("a role of another service does not satisfy it", () => {
    expect(verdict({ resource: { aws_kms_key: { k: { policy: keyNaming(SLR) } }, aws_iam_service_linked_role: { r: { aws_service_name: "elasticloadbalancing.amazonaws.com" } } } }, rule)).toBe("fail");
  });
});

const GH = "token.actions.githubusercontent.com";
const trust = (federated: string, equals: Record<string, string>) =>
  JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Federated: federated }, Action: "sts:AssumeRoleWithWebIdentity", Condition: { StringEquals: equals } }] });

describe("HIPAA-APPLY-STS-CONDITION-KEY", () => {
  const rule = "HIPAA-APPLY-STS-CONDITION-KEY";
  const ghArn = `arn:aws:iam::111122223333:oidc-provider/${GH}`;
  test("fails a GitHub trust on repository_owner_id (not an STS key), and a GitLab trust on environment", () => {
    expect(verdict({ resource: { aws_iam_role: { r: { assume_role_policy: trust(ghArn, { [`${GH}:aud`]: "sts.amazonaws.com", [`${GH}:repository_owner_id`]: "1" }) } } } }, rule)).toBe("fail");
    expect(
      verdict({ resource: { aws_iam_role: { r: { assume_role_policy: trust("arn:aws:iam::111122223333:oidc-provider/gitlab.com", { "gitlab.com:aud": "x", "gitlab.com:environment": "production" }) } } } }, rule),
    ).toBe("fail");
  });
  test("passes trusts on verified keys, resolving the provider by reference", () => {
    expect(
      verdict(
        {
          resource: {
            aws_iam_openid_connect_provider: { gh: { url: `https://${GH}` } },
            aws_iam_role: { r: { assume_role_policy: trust("${aws_iam_openid_connect_provider.gh.arn}", { [`${GH}:aud`]: "sts.amazonaws.com", [`${GH}:sub`]: "repo:o/r:environment:e", [`${GH}:repository_id`]: "1" }) } },
          },
        },
        rule,
      ),
    ).toBe("pass");
    expect(verdict({ resource: { aws_iam_role: { r: { assume_role_policy: trust("arn:aws:iam::1:oidc-provider/gitlab.com", { "gitlab.com:sub": "project_path:g/p:ref_type:tag:ref:v1", "gitlab.com:project_id": "7" }) } } } }, rule)).toBe(
      "pass",
    );
  });
  test("does not judge other federations (IRSA)", () => {
    expect(verdict({ resource: { aws_iam_role: { r: { assume_role_policy: trust("arn:aws:iam::1:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/X", { "oidc.eks.us-east-1.amazonaws.com/id/X:sub": "s" }) } } } }, rule)).toBeUndefined();
  });
});

describe("HIPAA-STATE-REMOTE-ENCRYPTED", () => {
  const rule = "HIPAA-STATE-REMOTE-ENCRYPTED";
  const phi = { hipaa_environment: { name: "production", tier: "production", handles_phi: true } };
  const s3 = (config: Record<string, unknown>) => ({ terraform: { backend: { s3: { bucket: "state", key: "k", ...config } } }, locals: phi });
  test("fails a PHI stack with local state, unencrypted or unlocked S3 state, or GCS state without CMEK", () => {
    expect(verdict({ locals: phi }, rule)).toBe("fail");
    expect(verdict({ terraform: { backend: { local: {} } }, locals: phi }, rule)).toBe("fail");
    expect(verdict(s3({ encrypt: true, use_lockfile: true }), rule)).toBe("fail");
    expect(verdict(s3({ encrypt: true, kms_key_id: "arn:aws:kms:us-east-1:1:key/k" }), rule)).toBe("fail");
    expect(verdict({ terraform: { backend: { gcs: { bucket: "state" } } }, locals: phi }, rule)).toBe("fail");
  });
  test("passes encrypted, locked remote state; ignores stacks that do not declare PHI", () => {
    expect(verdict(s3({ encrypt: true, kms_key_id: "arn:aws:kms:us-east-1:1:key/k", use_lockfile: true }), rule)).toBe("pass");
    expect(verdict({ terraform: { backend: { gcs: { bucket: "state", kms_encryption_key: "projects/p/locations/l/keyRings/r/cryptoKeys/k" } } }, locals: phi }, rule)).toBe("pass");
    expect(verdict({ locals: { hipaa_environment: { name: "dev", tier: "development", handles_phi: false } } }, rule)).toBeUndefined();
    expect(verdict({ resource: { aws_s3_bucket: { b: {} } } }, rule)).toBeUndefined();
  });
  test("reads HCL as well (hcl2json shape)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hipaa-state-"));
    writeFileSync(join(dir, "main.tf"), `terraform {\n  backend "local" {}\n}\nlocals {\n  hipaa_environment = { name = "production", tier = "production", handles_phi = true }\n}\n`);
    const units = await loadUnits([join(dir, "main.tf")]);
    expect(evaluate(units, ALL_RULES).find((f) => f.rule === rule)?.verdict).toBe("fail");
  });
});
