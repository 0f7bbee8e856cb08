import { mkdtempSync, writeFileSync, existsSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { ALL_RULES, evaluate, loadUnits, unitFromJson } from "../src/compliance";
import { main } from "../src/cli";
import { defaultPeerDir, peerScores } from "../tools/peer-score";

function judge(doc: unknown, rule?: string) {
  const findings = evaluate([unitFromJson("main.tf.json", doc)], ALL_RULES);
  return rule ? findings.filter((f) => f.rule === rule) : findings;
}

function verdicts(doc: unknown, rule: string): Record<string, string> {
  return Object.fromEntries(judge(doc, rule).map((f) => [f.resource, f.verdict]));
}

describe("loading and linking", () => {
  test("HCL converted by hcl2json and cdktf-shaped JSON give the same verdicts", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hipaa-checker-"));
    writeFileSync(
      join(dir, "main.tf"),
      `resource "aws_s3_bucket" "b" { bucket = "evidence" }
resource "aws_s3_bucket_versioning" "v" {
  bucket = aws_s3_bucket.b.id
  versioning_configuration { status = "Enabled" }
}
resource "aws_s3_bucket_public_access_block" "p" {
  bucket = "evidence"
  block_public_acls = true
}`,
    );
    const [hcl] = await loadUnits([join(dir, "main.tf")]);
    const json = unitFromJson("main.tf.json", {
      resource: {
        aws_s3_bucket: { b: { bucket: "evidence" } },
        aws_s3_bucket_versioning: { v: { bucket: "${aws_s3_bucket.b.id}", versioning_configuration: { status: "Enabled" } } },
        aws_s3_bucket_public_access_block: { p: { bucket: "evidence", block_public_acls: true } },
      },
    });
    const strip = (fs: ReturnType<typeof evaluate>) => fs.map((f) => `${f.rule} ${f.resource} ${f.verdict}`).sort();
    expect(strip(evaluate([hcl], ALL_RULES))).toEqual(strip(evaluate([json], ALL_RULES)));
    const byRule = Object.fromEntries(evaluate([hcl], ALL_RULES).map((f) => [f.rule, f.verdict]));
    expect(byRule["HIPAA-S3-VERSIONING"]).toBe("pass"); // linked by reference
    expect(byRule["HIPAA-S3-BLOCK-PUBLIC-ACLS"]).toBe("pass"); // linked by literal bucket name
    expect(byRule["HIPAA-S3-BLOCK-PUBLIC-POLICY"]).toBe("fail");
  });

  test("references resolve only within their own unit", () => {
    const a = unitFromJson("a.tf.json", { resource: { aws_s3_bucket: { b: {} } } });
    const b = unitFromJson("b.tf.json", { resource: { aws_s3_bucket_versioning: { v: { bucket: "${aws_s3_bucket.b.id}", versioning_configuration: { status: "Enabled" } } } } });
    expect(evaluate([a, b], ALL_RULES).find((f) => f.rule === "HIPAA-S3-VERSIONING")!.verdict).toBe("fail");
  });
});

describe("HIPAA rules no public scanner has", () => {
  test("Object Lock: GOVERNANCE mode or under six years fails an evidence bucket", () => {
    const bucket = (mode: string, days: number) => ({
      resource: {
        aws_s3_bucket: { e: { object_lock_enabled: true } },
        aws_s3_bucket_object_lock_configuration: { l: { bucket: "${aws_s3_bucket.e.id}", rule: { default_retention: { mode, days } } } },
      },
    });
    expect(verdicts(bucket("COMPLIANCE", 2190), "HIPAA-S3-OBJECT-LOCK")).toEqual({ "aws_s3_bucket.e": "pass" });
    expect(verdicts(bucket("GOVERNANCE", 2190), "HIPAA-S3-OBJECT-LOCK")).toEqual({ "aws_s3_bucket.e": "fail" });
    expect(verdicts(bucket("COMPLIANCE", 365), "HIPAA-S3-OBJECT-LOCK")).toEqual({ "aws_s3_bucket.e": "fail" });
    expect(verdicts({ resource: { aws_s3_bucket: { e: { tags: { Purpose: "evidence" } } } } }, "HIPAA-S3-OBJECT-LOCK")).toEqual({ "aws_s3_bucket.e": "fail" });
  });

  test("GitHub trust: repo:org/* fails (Checkov accepts it), an exact sub with a v* workflow tag passes, a repo-wide sub fails", () => {
    const role = (conditions: object) => ({
      resource: {
        aws_iam_openid_connect_provider: { gh: { url: "https://token.actions.githubusercontent.com", client_id_list: ["sts.amazonaws.com"] } },
        aws_iam_role: {
          r: {
            assume_role_policy: JSON.stringify({
              Statement: [{ Effect: "Allow", Principal: { Federated: "${aws_iam_openid_connect_provider.gh.arn}" }, Action: "sts:AssumeRoleWithWebIdentity", Condition: conditions }],
            }),
          },
        },
      },
    });
    const aud = { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com" };
    expect(verdicts(role({ StringLike: { "token.actions.githubusercontent.com:sub": "repo:org/*" }, StringEquals: aud }), "HIPAA-IAM-GITHUB-OIDC-TRUST")).toEqual({ "aws_iam_role.r": "fail" });
    expect(
      verdicts(
        role({
          StringEquals: { ...aud, "token.actions.githubusercontent.com:sub": "repo:org/app:environment:production" },
          StringLike: { "token.actions.githubusercontent.com:job_workflow_ref": "org/cw/.github/workflows/deploy.yml@refs/tags/v*" },
        }),
        "HIPAA-IAM-GITHUB-OIDC-TRUST",
      ),
    ).toEqual({ "aws_iam_role.r": "pass" });
    expect(verdicts(role({ StringEquals: { ...aud, "token.actions.githubusercontent.com:sub": "repo:org/app:ref:refs/heads/main" } }), "HIPAA-IAM-GITHUB-OIDC-TRUST")).toEqual({ "aws_iam_role.r": "fail" });
    expect(verdicts(role({ StringEquals: { "token.actions.githubusercontent.com:sub": "repo:org/app:environment:production" } }), "HIPAA-IAM-GITHUB-OIDC-TRUST")).toEqual({ "aws_iam_role.r": "fail" });
  });

  test("IRSA trust must pin one service account and the audience", () => {
    const role = (eq: object) => ({
      resource: {
        aws_iam_role: {
          r: { assume_role_policy: JSON.stringify({ Statement: [{ Effect: "Allow", Principal: { Federated: "arn:aws:iam::1:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/X" }, Action: "sts:AssumeRoleWithWebIdentity", Condition: { StringEquals: eq } }] }) },
        },
      },
    });
    const host = "oidc.eks.us-east-1.amazonaws.com/id/X";
    expect(verdicts(role({ [`${host}:sub`]: "system:serviceaccount:ci:runner", [`${host}:aud`]: "sts.amazonaws.com" }), "HIPAA-IAM-IRSA-TRUST")).toEqual({ "aws_iam_role.r": "pass" });
    expect(verdicts(role({ [`${host}:sub`]: "system:serviceaccount:ci:runner" }), "HIPAA-IAM-IRSA-TRUST")).toEqual({ "aws_iam_role.r": "fail" });
  });

  test("EKS node groups: SSH or a hop limit above 1 fails", () => {
    const doc = (extra: object, hop: number) => ({
      resource: {
        aws_launch_template: { lt: { metadata_options: { http_tokens: "required", http_put_response_hop_limit: hop }, block_device_mappings: [{ ebs: { encrypted: "true" } }] } },
        aws_eks_node_group: { g: { launch_template: { id: "${aws_launch_template.lt.id}" }, taint: [{ key: "k", effect: "NO_SCHEDULE" }], ...extra } },
      },
    });
    expect(verdicts(doc({}, 1), "HIPAA-EKS-NODE-GROUP-HARDENED")).toEqual({ "aws_eks_node_group.g": "pass" });
    expect(verdicts(doc({}, 2), "HIPAA-EKS-NODE-GROUP-HARDENED")).toEqual({ "aws_eks_node_group.g": "fail" });
    expect(verdicts(doc({ remote_access: { ec2_ssh_key: "ops" } }, 1), "HIPAA-EKS-NODE-GROUP-HARDENED")).toEqual({ "aws_eks_node_group.g": "fail" });
  });

  test("GCS evidence retention must be locked and six years; HSM for signing keys; WIF must pin a repository", () => {
    const bucket = (locked: boolean, seconds: number) => ({ resource: { google_storage_bucket: { b: { labels: { purpose: "hipaa-evidence" }, retention_policy: { is_locked: locked, retention_period: seconds } } } } });
    expect(verdicts(bucket(true, 189216000), "HIPAA-GCS-RETENTION-LOCKED")).toEqual({ "google_storage_bucket.b": "pass" });
    expect(verdicts(bucket(false, 189216000), "HIPAA-GCS-RETENTION-LOCKED")).toEqual({ "google_storage_bucket.b": "fail" });
    expect(verdicts(bucket(true, 86400), "HIPAA-GCS-RETENTION-LOCKED")).toEqual({ "google_storage_bucket.b": "fail" });
    expect(verdicts({ resource: { google_kms_crypto_key: { k: { purpose: "ASYMMETRIC_SIGN", version_template: { algorithm: "EC_SIGN_P256_SHA256", protection_level: "SOFTWARE" } } } } }, "HIPAA-KMS-GCP-SIGNING-HSM")).toEqual({
      "google_kms_crypto_key.k": "fail",
    });
    const provider = (condition?: string) => ({ resource: { google_iam_workload_identity_pool_provider: { p: { attribute_condition: condition, oidc: { issuer_uri: "https://token.actions.githubusercontent.com" } } } } });
    expect(verdicts(provider(), "HIPAA-WIF-CONDITION")).toEqual({ "google_iam_workload_identity_pool_provider.p": "fail" });
    expect(verdicts(provider("assertion.repository_owner == 'org'"), "HIPAA-WIF-CONDITION")).toEqual({ "google_iam_workload_identity_pool_provider.p": "fail" });
    expect(verdicts(provider("assertion.repository_id == '1'"), "HIPAA-WIF-CONDITION")).toEqual({ "google_iam_workload_identity_pool_provider.p": "pass" });
  });

  test("GitHub environments: admin bypass (the provider default) or a branch policy on production fails", () => {
    const env = (extra: object, policy: object) => ({
      resource: {
        github_repository_environment: { p: { environment: "production", reviewers: [{ teams: [1] }], prevent_self_review: true, wait_timer: 10, ...extra } },
        github_repository_environment_deployment_policy: { d: { environment: "${github_repository_environment.p.environment}", ...policy } },
      },
    });
    expect(verdicts(env({ can_admins_bypass: false }, { tag_pattern: "v*.*.*" }), "HIPAA-GITHUB-ENVIRONMENT-PROTECTION")).toEqual({ "github_repository_environment.p": "pass" });
    expect(verdicts(env({}, { tag_pattern: "v*.*.*" }), "HIPAA-GITHUB-ENVIRONMENT-PROTECTION")).toEqual({ "github_repository_environment.p": "fail" });
    expect(verdicts(env({ can_admins_bypass: false }, { branch_pattern: "main" }), "HIPAA-GITHUB-ENVIRONMENT-PROTECTION")).toEqual({ "github_repository_environment.p": "fail" });
  });
});

describe("claim template / trust consistency (across stacks)", () => {
  const trust = (sub: string) =>
    unitFromJson("aws.tf.json", {
      resource: {
        aws_iam_openid_connect_provider: { gh: { url: "https://token.actions.githubusercontent.com" } },
        aws_iam_role: {
          r: {
            assume_role_policy: JSON.stringify({
              Statement: [{ Effect: "Allow", Principal: { Federated: "${aws_iam_openid_connect_provider.gh.arn}" }, Action: "sts:AssumeRoleWithWebIdentity", Condition: { StringEquals: { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com", "token.actions.githubusercontent.com:sub": sub } } }],
            }),
          },
        },
      },
    });
  const template = (body: object) => unitFromJson("github.tf.json", { resource: { github_actions_repository_oidc_subject_claim_customization_template: { t: { repository: "app", ...body } } } });
  const rule = (units: ReturnType<typeof unitFromJson>[]) => evaluate(units, ALL_RULES).find((f) => f.rule === "HIPAA-OIDC-CLAIM-TEMPLATE-CONSISTENCY")?.verdict;

  test("a default template and a repo: sub agree", () => {
    expect(rule([trust("repo:org/app:environment:production"), template({ use_default: true })])).toBe("pass");
  });

  test("a customized template and a default-shaped trusted sub disagree: the role could never be assumed", () => {
    expect(rule([trust("repo:org/app:environment:production"), template({ use_default: false, include_claim_keys: ["repository_owner_id", "repository_id", "context"] })])).toBe("fail");
  });

  test("the reference app's stacks agree", async () => {
    const { buildReferenceApp } = require("../examples/reference/main");
    const { Testing, TerraformStack } = require("cdktf");
    const app = buildReferenceApp(Testing.app());
    const units = app.node.children.filter((c: any) => TerraformStack.isStack(c)).map((s: any) => unitFromJson(s.node.id, JSON.parse(Testing.synth(s))));
    const verdicts = evaluate(units, ALL_RULES).filter((f) => f.rule === "HIPAA-OIDC-CLAIM-TEMPLATE-CONSISTENCY");
    expect(verdicts.length).toBe(12);
    expect(verdicts.every((f) => f.verdict === "pass")).toBe(true);
  });
});

describe("CLI", () => {
  const dir = mkdtempSync(join(tmpdir(), "hipaa-cli-"));
  writeFileSync(join(dir, "bad.tf.json"), JSON.stringify({ resource: { aws_kms_key: { k: { enable_key_rotation: false } } } }));
  const io = () => {
    const out: string[] = [];
    return { out, io: { out: (t: string) => out.push(t), err: (t: string) => out.push(t) } };
  };

  test("JSON output has one finding per (rule, resource) and exit 1 on a failure", async () => {
    const { out, io: sink } = io();
    expect(await main(["check", dir, "--format", "json"], sink)).toBe(1);
    const { findings } = JSON.parse(out.join(""));
    const rotation = findings.find((f: any) => f.rule === "HIPAA-KMS-ROTATION");
    expect(rotation).toEqual({
      rule: "HIPAA-KMS-ROTATION",
      equivalents: ["AVD-AWS-0065", "CKV_AWS_7"],
      resource: "aws_kms_key.k",
      file: join(dir, "bad.tf.json"),
      verdict: "fail",
      controls: ["164.312(a)(2)(iv)"],
      message: "automatic rotation is off. Fix: enable_key_rotation = true",
    });
    expect(new Set(findings.map((f: any) => `${f.rule} ${f.resource}`)).size).toBe(findings.length);
  });

  test("text output and usage errors", async () => {
    const { out, io: sink } = io();
    expect(await main(["check", dir], sink)).toBe(1);
    expect(out.join("")).toMatch(/FAIL HIPAA-KMS-ROTATION aws_kms_key\.k/);
    expect(out.join("")).toMatch(/^\d+ passed, \d+ failed, \d+ suppressed with a reason$/m);
    expect(await main(["verify", dir], io().io)).toBe(2);
    expect(await main(["check"], io().io)).toBe(2);
    expect(await main(["check", dir, "--format", "xml"], io().io)).toBe(2);
    expect(await main(["check", join(dir, "missing")], io().io)).toBe(2);
  });
});

describe("CLI input errors", () => {
  const run = async (...args: string[]) => {
    const out: string[] = [];
    const code = await main(["check", ...args], { out: (t) => out.push(t), err: (t) => out.push(t) });
    return { code, text: out.join("") };
  };

  test("no Terraform found is exit 2 with a message, not 0 passed, 0 failed", async () => {
    const empty = mkdtempSync(join(tmpdir(), "hipaa-cli-empty-"));
    writeFileSync(join(empty, "README.md"), "no terraform here");
    const { code, text } = await run(empty);
    expect(code).toBe(2);
    expect(text).toContain(`no Terraform found in ${empty}`);
    expect(text).not.toContain("passed");
  });

  test("an empty or malformed .tf.json names the file and the line", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hipaa-cli-bad-"));
    writeFileSync(join(dir, "empty.tf.json"), "");
    expect(await run(join(dir, "empty.tf.json"))).toEqual({ code: 2, text: `cdktf-hipaa-substrate: ${join(dir, "empty.tf.json")}: the file is empty (expected a Terraform JSON object)\n` });
    writeFileSync(join(dir, "broken.tf.json"), '{\n  "resource": {\n    "aws_kms_key": { "k": { },\n  }\n}\n');
    const broken = await run(join(dir, "broken.tf.json"));
    expect(broken.code).toBe(2);
    expect(broken.text).toMatch(new RegExp(`^cdktf-hipaa-substrate: ${join(dir, "broken.tf.json").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:4: invalid JSON: `));
    expect(broken.text).not.toMatch(/^\s+at /m);
  });

  test("malformed HCL names the file and the line", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hipaa-cli-hcl-"));
    writeFileSync(join(dir, "main.tf"), 'resource "aws_kms_key" "k" {\n  enable_key_rotation = true\n}\n\nresource "aws_s3_bucket" "b" {\n');
    const { code, text } = await run(dir);
    expect(code).toBe(2);
    expect(text).toBe(`cdktf-hipaa-substrate: ${join(dir, "main.tf")}:5: invalid HCL: Unclosed configuration block; There is no closing brace for this block before the end of the file. This may be caused by incorrect brace nesting elsewhere in this file.\n`);
  });

  test("each failure is printed once, without a stack trace", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hipaa-cli-once-"));
    writeFileSync(join(dir, "main.tf.json"), JSON.stringify({ resource: { aws_kms_key: { k: { enable_key_rotation: false } } } }));
    const { code, text } = await run(dir);
    expect(code).toBe(1);
    expect(text.split("HIPAA-KMS-ROTATION").length).toBe(2);
    expect(text).not.toMatch(/^\s+at /m);
  });
});

const PEER = defaultPeerDir();
const peerTest = existsSync(PEER) ? test : test.skip;

describe("peer score", () => {
  peerTest("agrees with trivy-checks' own fixtures on 100% of every claimed rule", async () => {
    const scores = await peerScores(PEER);
    expect(scores.length).toBeGreaterThanOrEqual(35);
    for (const s of scores) expect({ rule: s.peerRule, disagreements: s.disagreements }).toEqual({ rule: s.peerRule, disagreements: [] });
  });
});
