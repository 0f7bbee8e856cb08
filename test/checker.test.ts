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

describe("apply readiness: GitHub", () => {
  const group = (workflows: string[], extra: object = {}) => ({
    resource: { github_actions_runner_group: { g: { name: "hipaa-production", visibility: "selected", restricted_to_workflows: true, selected_workflows: workflows, ...extra } } },
  });

  test("a runner group whose selected_workflows holds a wildcard fails: GitHub compares them literally, so it admits no run", () => {
    const rule = "HIPAA-GITHUB-RUNNER-GROUP-EXACT-WORKFLOWS";
    expect(verdicts(group(["org/cw/.github/workflows/deploy.yml@refs/tags/v1.4.2"]), rule)).toEqual({ "github_actions_runner_group.g": "pass" });
    expect(verdicts(group(["org/cw/.github/workflows/deploy.yml@refs/tags/v1.4.2", "org/cw/.github/workflows/build.yml@refs/tags/v*"]), rule)).toEqual({ "github_actions_runner_group.g": "fail" });
    expect(verdicts(group(["org/cw/.github/workflows/*.yml@refs/heads/main"]), rule)).toEqual({ "github_actions_runner_group.g": "fail" });
    expect(judge(group(["org/cw/.github/workflows/deploy.yml@refs/tags/v*"]), rule)[0].message).toContain("contains a wildcard");
    // Not restricted to workflows: nothing to judge.
    expect(verdicts(group([], { restricted_to_workflows: false }), rule)).toEqual({});
  });

  const repoWith = (extra: object, body: object = { visibility: "private" }) => ({ resource: { github_repository: { cw: { name: "compliance-workflows", ...body } }, ...extra } });
  const access = (level: string) => ({ github_actions_repository_access_level: { a: { repository: "${github_repository.cw.name}", access_level: level } } });
  const rule = "HIPAA-GITHUB-REUSABLE-WORKFLOW-ACCESS";

  test("a private repository whose workflows a runner group admits for other repositories needs an organization access level", () => {
    const groupRef = group(["hipaa-app-org/compliance-workflows/.github/workflows/deploy.yml@refs/tags/v1.4.2"], { selected_repository_ids: [260064828] }).resource;
    expect(verdicts(repoWith({ ...groupRef, ...access("organization") }), rule)).toEqual({ "github_repository.cw": "pass" });
    expect(verdicts(repoWith({ ...groupRef }), rule)).toEqual({ "github_repository.cw": "fail" });
    expect(verdicts(repoWith({ ...groupRef, ...access("none") }), rule)).toEqual({ "github_repository.cw": "fail" });
    expect(verdicts(repoWith({ ...groupRef, ...access("user") }), rule)).toEqual({ "github_repository.cw": "fail" });
    expect(verdicts(repoWith({ ...groupRef }, { visibility: "internal" }), rule)).toEqual({ "github_repository.cw": "fail" });
    expect(judge(repoWith({ ...groupRef }), rule)[0].message).toContain("no github_actions_repository_access_level shares them");
    // Linked by literal repository name too.
    expect(verdicts(repoWith({ ...groupRef, github_actions_repository_access_level: { a: { repository: "compliance-workflows", access_level: "organization" } } }), rule)).toEqual({ "github_repository.cw": "pass" });
    // A public repository's workflows are callable anyway (another rule refuses public repositories).
    expect(verdicts(repoWith({ ...groupRef }, { visibility: "public" }), rule)).toEqual({});
  });

  test("a group that serves the repository's own jobs, or a repository nothing calls, is not judged", () => {
    const own = group(["hipaa-app-org/compliance-workflows/.github/workflows/deploy.yml@refs/tags/v1.4.2"], { selected_repository_ids: ["${github_repository.cw.repo_id}"] }).resource;
    expect(verdicts(repoWith({ ...own }), rule)).toEqual({});
    expect(verdicts(repoWith({}), rule)).toEqual({});
  });

  test("a required workflow or a committed workflow_call file also makes the repository a reusable-workflow holder", () => {
    const required = { github_organization_ruleset: { r: { rules: { required_workflows: { required_workflow: [{ repository_id: "${github_repository.cw.repo_id}", path: ".github/workflows/scan.yml", ref: "refs/tags/v1.4.2" }] } } } } };
    expect(verdicts(repoWith(required), rule)).toEqual({ "github_repository.cw": "fail" });
    expect(verdicts(repoWith({ ...required, ...access("organization") }), rule)).toEqual({ "github_repository.cw": "pass" });
    const file = (content: string) => ({ github_repository_file: { f: { repository: "${github_repository.cw.name}", file: ".github/workflows/deploy.yml", content } } });
    expect(verdicts(repoWith(file("on:\n  workflow_call:\n")), rule)).toEqual({ "github_repository.cw": "fail" });
    expect(verdicts(repoWith(file("on: push\n")), rule)).toEqual({});
  });

  test("runner groups in one stack and the repository in another are linked by name", () => {
    const github = unitFromJson("github.tf.json", repoWith({}));
    const groups = unitFromJson("groups.tf.json", group(["hipaa-app-org/compliance-workflows/.github/workflows/deploy.yml@refs/tags/v1.4.2"], { selected_repository_ids: [1] }));
    expect(evaluate([github, groups], ALL_RULES).find((f) => f.rule === rule)?.verdict).toBe("fail");
  });

  test("the reference app passes both", () => {
    const { buildReferenceApp } = require("../examples/reference/main");
    const { Testing, TerraformStack } = require("cdktf");
    const app = buildReferenceApp(Testing.app());
    const units = app.node.children.filter((c: any) => TerraformStack.isStack(c)).map((s: any) => unitFromJson(s.node.id, JSON.parse(Testing.synth(s))));
    const findings = evaluate(units, ALL_RULES).filter((f) => f.rule.startsWith("HIPAA-GITHUB-RUNNER-GROUP-EXACT") || f.rule === rule);
    expect(findings.map((f) => `${f.rule} ${f.verdict}`).sort()).toEqual(["HIPAA-GITHUB-REUSABLE-WORKFLOW-ACCESS pass", ...Array(4).fill("HIPAA-GITHUB-RUNNER-GROUP-EXACT-WORKFLOWS pass")]);
  });
});

describe("apply readiness: GCP Workload Identity bindings after the cluster", () => {
  const RULE = "HIPAA-GCP-WI-BINDING-ORDER";
  const cluster = { google_container_cluster: { c: { name: "runners", workload_identity_config: { workload_pool: "p.svc.id.goog" } } } };
  const binding = (extra: object, member = "serviceAccount:p.svc.id.goog[ci-prod-build/runner]") => ({
    google_service_account_iam_member: { b: { service_account_id: "${google_service_account.sa.name}", role: "roles/iam.workloadIdentityUser", member, ...extra } },
  });
  const sa = { google_service_account: { sa: { account_id: "runner" } } };
  const doc = (...parts: object[]) => ({ resource: Object.assign({}, ...parts) });

  test("fail: no cluster in the configuration, or a cluster the binding does not wait for", () => {
    expect(verdicts(doc(sa, binding({})), RULE)).toEqual({ "google_service_account_iam_member.b": "fail" });
    expect(verdicts(doc(sa, cluster, binding({})), RULE)).toEqual({ "google_service_account_iam_member.b": "fail" });
    expect(judge(doc(sa, cluster, binding({})), RULE)[0].message).toContain("IAM refuses the member on a fresh project");
  });

  test("fail: a dependency on a cluster whose pool is another project's", () => {
    const other = { google_container_cluster: { c: { workload_identity_config: { workload_pool: "other.svc.id.goog" } } } };
    expect(verdicts(doc(sa, other, binding({ depends_on: ["google_container_cluster.c"] })), RULE)).toEqual({ "google_service_account_iam_member.b": "fail" });
  });

  test("pass: depends_on the cluster (cdktf shape), through another resource, or a reference to its workload pool", () => {
    expect(verdicts(doc(sa, cluster, binding({ depends_on: ["google_container_cluster.c"] })), RULE)).toEqual({ "google_service_account_iam_member.b": "pass" });
    const saAfterCluster = { google_service_account: { sa: { account_id: "runner", depends_on: ["google_container_cluster.c"] } } };
    expect(verdicts(doc(saAfterCluster, cluster, binding({})), RULE)).toEqual({ "google_service_account_iam_member.b": "pass" });
    const byReference = binding({}, "serviceAccount:${google_container_cluster.c.workload_identity_config[0].workload_pool}[ci/runner]");
    expect(verdicts(doc(sa, cluster, byReference), RULE)).toEqual({ "google_service_account_iam_member.b": "pass" });
  });

  test("pass: depends on a data.google_container_cluster lookup of an existing cluster", () => {
    const lookup = { data: { google_container_cluster: { existing: { name: "runners", location: "us-central1" } } } };
    expect(verdicts({ ...lookup, ...doc(sa, binding({ depends_on: ["data.google_container_cluster.existing"] })) }, RULE)).toEqual({ "google_service_account_iam_member.b": "pass" });
  });

  test("principal identifiers of the PROJECT.svc.id.goog pool, granted on a bucket, are judged the same way", () => {
    const member = "principal://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/p.svc.id.goog/subject/ns/ci/sa/runner";
    const grant = (extra: object) => ({ google_storage_bucket_iam_member: { g: { bucket: "evidence", role: "roles/storage.objectCreator", member, ...extra } } });
    expect(verdicts(doc(cluster, grant({})), RULE)).toEqual({ "google_storage_bucket_iam_member.g": "fail" });
    expect(verdicts(doc(cluster, grant({ depends_on: ["google_container_cluster.c"] })), RULE)).toEqual({ "google_storage_bucket_iam_member.g": "pass" });
  });

  test("not applicable: principalSet and ordinary service-account members", () => {
    expect(verdicts(doc(sa, binding({}, "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/attribute.repository_id/2")), RULE)).toEqual({});
    expect(verdicts(doc(sa, binding({}, "serviceAccount:ci@p.iam.gserviceaccount.com")), RULE)).toEqual({});
  });

  test("HCL: depends_on = [google_container_cluster.c] passes, none fails", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hipaa-wi-"));
    const tf = (dependsOn: string) => `resource "google_container_cluster" "c" {
  name = "runners"
  workload_identity_config { workload_pool = "p.svc.id.goog" }
}
resource "google_service_account_iam_member" "b" {
  service_account_id = "projects/p/serviceAccounts/runner@p.iam.gserviceaccount.com"
  role   = "roles/iam.workloadIdentityUser"
  member = "serviceAccount:p.svc.id.goog[ci/runner]"
  ${dependsOn}
}`;
    writeFileSync(join(dir, "ok.tf"), tf("depends_on = [google_container_cluster.c]"));
    writeFileSync(join(dir, "bad.tf"), tf(""));
    const findings = evaluate(await loadUnits([join(dir, "ok.tf"), join(dir, "bad.tf")]), ALL_RULES).filter((f) => f.rule === RULE);
    expect(findings.map((f) => [f.file.endsWith("ok.tf") ? "ok" : "bad", f.verdict]).sort()).toEqual([
      ["bad", "fail"],
      ["ok", "pass"],
    ]);
  });

  test("maps to 164.312(d) in the control catalog", () => {
    const rule = ALL_RULES.find((r) => r.id === RULE)!;
    expect(rule.controls).toEqual(["164.312(d)"]);
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
