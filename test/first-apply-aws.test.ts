/**
 * Issue 11, AWS side: every precondition of a fresh AWS account is created, looked up or
 * refused at synth. Each test fails on the output before the fix.
 */
import { REFERENCE_GITHUB } from "./support/substrate-config";
import { Testing } from "cdktf";
import { buildReferenceApp, REFERENCE_ACCOUNTS, REFERENCE_ENVIRONMENTS, REFERENCE_REPOSITORIES } from "../examples/reference/main";
import { HipaaSubstrate, HipaaSubstrateConfig } from "../src";
import { ALL_RULES, evaluate, unitFromJson } from "../src/compliance";
import { actionsOf, refusal, resourcesOf, statements, SynthResult, synthAll } from "./support/synth";

const ADMIN = (account: string) => `arn:aws:iam::${account}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_PlatformAdmin_0123456789abcdef`;

function config(overrides: Partial<HipaaSubstrateConfig> = {}, accounts: Record<string, string> = { ...REFERENCE_ACCOUNTS }): HipaaSubstrateConfig {
  return {
    ...REFERENCE_GITHUB,
    environments: REFERENCE_ENVIRONMENTS,
    repositories: REFERENCE_REPOSITORIES,
    aws: {
      region: "us-east-1",
      accounts,
      runners: {
        privateSubnetTags: { "hipaa-substrate/tier": "private" },
        platformAdminArns: Object.fromEntries(Object.entries(accounts).map(([env, account]) => [env, [ADMIN(account)]])),
      },
    },
    ...overrides,
  };
}

const envStacks = (stacks: Map<string, SynthResult>) => REFERENCE_ENVIRONMENTS.map((e) => [e.name, stacks.get(`clinical-${e.name}`)!] as const);

describe("first apply into fresh AWS accounts (reference app)", () => {
  const stacks = synthAll(buildReferenceApp(Testing.app()));

  test.each(REFERENCE_ENVIRONMENTS.map((e) => e.name))("%s: the Auto Scaling service-linked role is created, and every volume key names it by reference", (env) => {
    const out = stacks.get(`clinical-${env}`)!;
    const roles = resourcesOf(out, "aws_iam_service_linked_role");
    expect(Object.values(roles)).toEqual([{ aws_service_name: "autoscaling.amazonaws.com" }]);
    const [roleId] = Object.keys(roles);
    const volumeKeys = Object.entries(resourcesOf(out, "aws_kms_key")).filter(([id]) => id.includes("VolumeKey"));
    expect(volumeKeys).toHaveLength(3);
    for (const [, key] of volumeKeys) {
      const named = statements(key.policy).flatMap((s) => [s.Principal?.AWS].flat()).filter((p) => typeof p === "string" && /autoscaling|AutoScaling/.test(p));
      expect(named.length).toBeGreaterThan(0);
      for (const p of named) expect(p).toBe(`\${aws_iam_service_linked_role.${roleId}.arn}`);
    }
  });

  test.each(REFERENCE_ENVIRONMENTS.map((e) => e.name))("%s: the EKS secrets key lets the deployer create AWS-resource grants only", (env) => {
    const out = stacks.get(`clinical-${env}`)!;
    const [secrets] = Object.entries(resourcesOf(out, "aws_kms_key")).filter(([id]) => id.includes("SecretsKey")).map(([, k]) => k);
    const deployer = statements(secrets.policy).find((s) => s.Sid === "DeployerCreatesClusterGrant")!;
    expect(actionsOf(deployer).sort()).toEqual(["kms:CreateGrant", "kms:DescribeKey"]);
    expect(deployer.Condition).toEqual({ Bool: { "kms:GrantIsForAWSResource": "true" } });
  });

  test("no AWS trust conditions on a key STS does not evaluate (repository_owner_id dropped), and the gate agrees", () => {
    for (const [, out] of envStacks(stacks)) {
      expect(out.json).not.toContain("token.actions.githubusercontent.com:repository_owner_id");
      const findings = evaluate([unitFromJson("stack", out.tf)], ALL_RULES).filter((f) => f.rule === "HIPAA-APPLY-STS-CONDITION-KEY");
      expect(findings.length).toBeGreaterThan(0);
      expect(findings.every((f) => f.verdict === "pass")).toBe(true);
    }
  });

  test.each(REFERENCE_ENVIRONMENTS.map((e) => e.name))("%s: access entries target the workload cluster through a data source, never a literal name", (env) => {
    const out = stacks.get(`clinical-${env}`)!;
    const lookups = (out.tf.data as any).aws_eks_cluster;
    expect(Object.values(lookups)).toEqual([{ name: `clinical-${env}` }]);
    const [lookupId] = Object.keys(lookups);
    const workloadEntries = Object.values(resourcesOf(out, "aws_eks_access_entry")).filter((e) => !String(e.cluster_name).includes("aws_eks_cluster.RunnerCluster"));
    expect(workloadEntries.length).toBeGreaterThan(0);
    for (const e of workloadEntries) expect(e.cluster_name).toBe(`\${data.aws_eks_cluster.${lookupId}.name}`);
  });

  test.each(REFERENCE_ENVIRONMENTS.map((e) => e.name))("%s: the runner cluster has its named platform admin (cluster-admin policy), and nobody else at cluster scope", (env) => {
    const out = stacks.get(`clinical-${env}`)!;
    const clusterScoped = Object.values(resourcesOf(out, "aws_eks_access_policy_association")).filter((a) => a.access_scope.type === "cluster");
    expect(clusterScoped.map((a) => a.principal_arn)).toEqual([ADMIN(REFERENCE_ACCOUNTS[env])]);
    expect(clusterScoped[0].policy_arn).toMatch(/cluster-access-policy\/AmazonEKSClusterAdminPolicy$/);
    expect(clusterScoped[0].cluster_name).toMatch(/^\$\{aws_eks_cluster\.RunnerCluster_[0-9A-F]{8}\.name\}$/);
  });

  test.each(REFERENCE_ENVIRONMENTS.map((e) => e.name))("%s: remote state in S3 with a lock file and SSE-KMS, pinned to the environment's account", (env) => {
    const out = stacks.get(`clinical-${env}`)!;
    expect((out.tf as any).terraform.backend).toEqual({
      s3: {
        bucket: `clinical-tfstate-${REFERENCE_ACCOUNTS[env]}`,
        key: `clinical-${env}/terraform.tfstate`,
        region: "us-east-1",
        encrypt: true,
        kms_key_id: `arn:aws:kms:us-east-1:${REFERENCE_ACCOUNTS[env]}:alias/clinical-tfstate`,
        use_lockfile: true,
        allowed_account_ids: [REFERENCE_ACCOUNTS[env]],
      },
    });
    expect((out.tf as any).locals.hipaa_environment).toEqual({ name: env, tier: REFERENCE_ENVIRONMENTS.find((e) => e.name === env)!.tier, handles_phi: env === "production" });
    const state = evaluate([unitFromJson("stack", out.tf)], ALL_RULES).filter((f) => f.rule === "HIPAA-STATE-REMOTE-ENCRYPTED");
    expect(state.map((f) => f.verdict)).toEqual(env === "production" ? ["pass"] : []);
  });

  test("a PHI environment stack with local state fails the gate", () => {
    const out = synthAll((() => { const app = Testing.app(); new HipaaSubstrate(app, "clinical", config()); return app; })()).get("clinical-production")!;
    expect((out.tf as any).terraform.backend).toBeUndefined();
    const state = evaluate([unitFromJson("stack", out.tf)], ALL_RULES).find((f) => f.rule === "HIPAA-STATE-REMOTE-ENCRYPTED")!;
    expect(state.verdict).toBe("fail");
    expect(state.message).toContain("keeps local state");
  });
});

describe("accounts", () => {
  test("account ids are 12 digits", () => {
    expect(refusal(() => new HipaaSubstrate(Testing.app(), "x", config({}, { ...REFERENCE_ACCOUNTS, dev: "11111111111" })))).toContain('AWS account id "11111111111" is not 12 digits');
    expect(refusal(() => new HipaaSubstrate(Testing.app(), "x", config({}, { ...REFERENCE_ACCOUNTS, dev: "arn:aws:iam::111111111111:root" })))).toContain("is not 12 digits");
  });

  test("two environments in one account are refused without a reason", () => {
    const shared = { ...REFERENCE_ACCOUNTS, staging: REFERENCE_ACCOUNTS.dev };
    expect(refusal(() => new HipaaSubstrate(Testing.app(), "x", config({}, shared)))).toContain("environments dev, staging share AWS account 111111111111");
    const base = config({}, shared);
    expect(refusal(() => new HipaaSubstrate(Testing.app(), "x", { ...base, aws: { ...base.aws!, sharedAccounts: { reason: "cost" } } }))).toContain("at least 20 characters");
  });

  test("with a reason, the account's OIDC provider and Auto Scaling role are created once and imported by the other stack", () => {
    const shared = { ...REFERENCE_ACCOUNTS, staging: REFERENCE_ACCOUNTS.dev };
    const base = config({}, shared);
    const app = Testing.app();
    new HipaaSubstrate(app, "clinical", { ...base, aws: { ...base.aws!, sharedAccounts: { reason: "pre-production sandboxes share one account until Q3 (ticket SEC-42)" } } });
    const stacks = synthAll(app);
    const dev = stacks.get("clinical-dev")!;
    const staging = stacks.get("clinical-staging")!;
    expect(Object.keys(resourcesOf(dev, "aws_iam_openid_connect_provider")).filter((id) => id.startsWith("GithubOidc"))).toHaveLength(1);
    expect(Object.keys(resourcesOf(staging, "aws_iam_openid_connect_provider")).filter((id) => id.startsWith("GithubOidc"))).toHaveLength(0);
    const trusts = Object.values(resourcesOf(staging, "aws_iam_role")).flatMap((r) => statements(r.assume_role_policy)).filter((s) => s.Sid === "GithubActionsOidc");
    expect(trusts.length).toBeGreaterThan(0);
    for (const t of trusts) expect(t.Principal).toEqual({ Federated: "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com" });
    expect(Object.keys(resourcesOf(dev, "aws_iam_service_linked_role"))).toHaveLength(1);
    expect(resourcesOf(staging, "aws_iam_service_linked_role")).toEqual({});
    expect(Object.values((staging.tf.data as any).aws_iam_role)).toEqual([{ name: "AWSServiceRoleForAutoScaling" }]);
    // Separate accounts are untouched: production still creates its own.
    expect(Object.keys(resourcesOf(stacks.get("clinical-production")!, "aws_iam_service_linked_role"))).toHaveLength(1);
  });

  test("resources that already exist in an account are looked up, not created again", () => {
    const base = config();
    const app = Testing.app();
    new HipaaSubstrate(app, "clinical", { ...base, aws: { ...base.aws!, existingInAccounts: { githubOidcProvider: [REFERENCE_ACCOUNTS.production], autoScalingServiceRole: [REFERENCE_ACCOUNTS.production] } } });
    const prod = synthAll(app).get("clinical-production")!;
    expect(Object.keys(resourcesOf(prod, "aws_iam_openid_connect_provider")).filter((id) => id.startsWith("GithubOidc"))).toHaveLength(0);
    expect(resourcesOf(prod, "aws_iam_service_linked_role")).toEqual({});
    expect(refusal(() => new HipaaSubstrate(Testing.app(), "x", { ...base, aws: { ...base.aws!, existingInAccounts: { githubOidcProvider: ["999999999999"] } } }))).toContain("is not the account of any environment");
  });

  test("runner clusters without a named platform admin are refused", () => {
    const base = config();
    const admins = { ...base.aws!.runners!.platformAdminArns, production: [] };
    expect(refusal(() => new HipaaSubstrate(Testing.app(), "x", { ...base, aws: { ...base.aws!, runners: { ...base.aws!.runners!, platformAdminArns: admins } } }))).toContain(
      'no platform administrator is named for the "production" runner cluster',
    );
  });

  test("a state backend with a malformed bucket or key is refused", () => {
    const base = config();
    const bad = (state: { bucket: string; kmsKeyArn: string }) => ({ ...base, aws: { ...base.aws!, stateBackends: { production: state } } });
    expect(refusal(() => new HipaaSubstrate(Testing.app(), "x", bad({ bucket: "State_Bucket", kmsKeyArn: "arn:aws:kms:us-east-1:444444444444:key/abc" })))).toContain("is not an S3 bucket name");
    expect(refusal(() => new HipaaSubstrate(Testing.app(), "x", bad({ bucket: "state", kmsKeyArn: "alias/tfstate" })))).toContain("is not a KMS key ARN (45 CFR 164.312(a)(2)(iv))");
  });
});

describe("workload cluster names", () => {
  test("a workload cluster name that is not one EKS cluster name is refused", () => {
    const base = config();
    const bad = { ...base, aws: { ...base.aws!, runners: { ...base.aws!.runners!, workloadClusterNames: { production: "clinical-*" } } } };
    expect(refusal(() => new HipaaSubstrate(Testing.app(), "x", bad))).toContain('"clinical-*" is not an EKS cluster name');
  });
});
