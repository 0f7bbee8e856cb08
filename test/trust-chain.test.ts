/**
 * Issue 12: only reviewed code, from one protected ref, in one environment, reaches a cloud
 * credential, and that credential reaches only its own application's resources.
 */
import { Testing } from "cdktf";
import { buildReferenceApp, REFERENCE_REPOSITORIES } from "../examples/reference/main";
import { ALL_RULES, evaluate, unitFromJson } from "../src/compliance";
import { refusal, resourcesOf, statements, synthAll } from "./support/synth";

describe("least privilege per application (AWS)", () => {
  const stacks = synthAll(buildReferenceApp(Testing.app()));
  const production = stacks.get("clinical-production")!;

  test("each repository's deploy role reaches only its own namespace; the deploy pool the union of the environment's", () => {
    const roles = resourcesOf(production, "aws_iam_role");
    const associations = Object.values(resourcesOf(production, "aws_eks_access_policy_association")).filter((a) => a.access_scope.type === "namespace");
    const byRole = new Map<string, string[]>();
    for (const a of associations) {
      const roleId = /aws_iam_role\.([^.]+)\.arn/.exec(a.principal_arn)![1];
      byRole.set(roles[roleId].name, a.access_scope.namespaces);
    }
    const deployers = REFERENCE_REPOSITORIES.filter((r) => r.deploysTo.includes("production"));
    for (const repo of deployers) {
      const [roleName] = [...byRole.keys()].filter((n) => n.includes(repo.name) && !n.includes("evidence"));
      expect(roleName).toBeDefined();
      expect(byRole.get(roleName)).toEqual([repo.name]);
    }
    const pool = [...byRole.entries()].find(([n]) => n === "hipaa-production-deploy-runner")!;
    expect(pool[1].sort()).toEqual(deployers.map((r) => r.name).sort());
  });

  test("each repository's evidence writer writes only under <repository>/<environment>/, new keys only", () => {
    const writers = Object.values(resourcesOf(production, "aws_iam_role_policy")).filter((p) => /EvidenceWriter/.test(p.role));
    expect(writers.length).toBe(REFERENCE_REPOSITORIES.filter((r) => r.deploysTo.includes("production")).length);
    for (const w of writers) {
      const puts = statements(w.policy).filter((s) => [s.Action].flat().includes("s3:PutObject"));
      expect(puts).toHaveLength(2);
      const repo = REFERENCE_REPOSITORIES.find((r) => w.role.includes(r.name.replace(/[^A-Za-z0-9]/g, "")) || w.policy.includes(`/${r.name}/production/*`))!;
      for (const s of puts) expect(s.Resource).toMatch(new RegExp(`/${repo.name}/production/\\*$`));
      // The reference app keeps evidence in its archive account: every write is pinned to it.
      const inArchive = { StringEquals: { "s3:ResourceAccount": "999999999999" } };
      expect(puts.map((s) => s.Condition)).toEqual([{ Null: { "s3:if-none-match": "false" }, ...inArchive }, { Bool: { "s3:ObjectCreationOperation": "false" }, ...inArchive }]);
    }
  });

  test("two repositories cannot share a namespace", () => {
    const shared = [REFERENCE_REPOSITORIES[0], { ...REFERENCE_REPOSITORIES[1], namespaces: [REFERENCE_REPOSITORIES[0].name] }];
    expect(refusal(() => buildReferenceApp(Testing.app(), undefined, shared))).toContain(`namespace "${REFERENCE_REPOSITORIES[0].name}" is also ${REFERENCE_REPOSITORIES[0].name}'s`);
  });
});

describe("gate rules for GitLab trusts and WIF conditions", () => {
  const judge = (doc: unknown, rule: string) => evaluate([unitFromJson("main.tf.json", doc)], ALL_RULES).filter((f) => f.rule === rule);
  const verdictOf = (doc: unknown, rule: string) => judge(doc, rule).map((f) => f.verdict);
  const gitlabRole = (equals: Record<string, string>, like: Record<string, string> = {}, tags: Record<string, string> = {}) => ({
    resource: {
      aws_iam_openid_connect_provider: { gl: { url: "https://gitlab.com", client_id_list: ["sts.amazonaws.com"] } },
      aws_iam_role: {
        r: {
          tags,
          assume_role_policy: JSON.stringify({
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Principal: { Federated: "${aws_iam_openid_connect_provider.gl.arn}" }, Action: "sts:AssumeRoleWithWebIdentity", Condition: { StringEquals: equals, ...(Object.keys(like).length ? { StringLike: like } : {}) } }],
          }),
        },
      },
    },
  });
  const RULE = "HIPAA-IAM-GITLAB-OIDC-TRUST";
  const aud = { "gitlab.com:aud": "sts.amazonaws.com" };

  test("fails a wildcard project path, all refs, an unprotected pattern, and unprotected production refs", () => {
    expect(verdictOf(gitlabRole(aud, { "gitlab.com:sub": "project_path:hipaa-health/*:ref_type:tag:ref:v*" }), RULE)).toEqual(["fail"]);
    expect(verdictOf(gitlabRole({ ...aud, "gitlab.com:ref_protected": "true" }, { "gitlab.com:sub": "project_path:hipaa-health/app:ref_type:branch:ref:*" }), RULE)).toEqual(["fail"]);
    expect(verdictOf(gitlabRole(aud, { "gitlab.com:sub": "project_path:hipaa-health/app:ref_type:tag:ref:v*" }), RULE)).toEqual(["fail"]);
    expect(verdictOf(gitlabRole({ ...aud, "gitlab.com:sub": "project_path:hipaa-health/app:ref_type:branch:ref:main" }, {}, { Environment: "production" }), RULE)).toEqual(["fail"]);
    expect(verdictOf(gitlabRole({ "gitlab.com:sub": "project_path:hipaa-health/app:ref_type:branch:ref:main" }), RULE)).toEqual(["fail"]);
  });

  test("passes a pinned, protected trust; a GitLab trust is not judged as IRSA", () => {
    const ok = gitlabRole({ ...aud, "gitlab.com:ref_protected": "true", "gitlab.com:project_id": "48213107" }, { "gitlab.com:sub": "project_path:hipaa-health/app:ref_type:tag:ref:v*" }, { Environment: "production" });
    expect(verdictOf(ok, RULE)).toEqual(["pass"]);
    expect(verdictOf(ok, "HIPAA-IAM-IRSA-TRUST")).toEqual([]);
  });

  const provider = (issuer: string, condition: string) => ({
    resource: { google_iam_workload_identity_pool_provider: { p: { workload_identity_pool_id: "x", workload_identity_pool_provider_id: "y", attribute_condition: condition, oidc: { issuer_uri: issuer } } } },
  });
  const WIF = "HIPAA-WIF-CONDITION-EXACT-ID";
  const GH = "https://token.actions.githubusercontent.com";

  test("WIF: a mention is not a pin (startsWith, names, one clause of several)", () => {
    expect(verdictOf(provider(GH, "assertion.repository.startsWith('hipaa-app-org/')"), WIF)).toEqual(["fail"]);
    expect(verdictOf(provider(GH, "assertion.repository == 'hipaa-app-org/app'"), WIF)).toEqual(["fail"]);
    expect(verdictOf(provider(GH, "(assertion.repository_id == '1' && assertion.environment == 'production') || assertion.repository_owner_id == '2'"), WIF)).toEqual(["fail"]);
    expect(verdictOf(provider(GH, "(assertion.repository_id == '1' && assertion.environment == 'production') || (assertion.repository_id == '2')"), WIF)).toEqual(["pass"]);
  });

  test("WIF GitLab: project id, a ref, protection for patterns, and protected environments in production", () => {
    const GL = "https://gitlab.com";
    expect(verdictOf(provider(GL, "assertion.project_path == 'hipaa-health/app'"), WIF)).toEqual(["fail"]);
    expect(verdictOf(provider(GL, "assertion.project_id == '7'"), WIF)).toEqual(["fail"]);
    expect(verdictOf(provider(GL, "assertion.project_id == '7' && assertion.ref.startsWith('v')"), WIF)).toEqual(["fail"]);
    expect(verdictOf(provider(GL, "assertion.project_id == '7' && assertion.ref.startsWith('v') && assertion.ref_protected == 'true'"), WIF)).toEqual(["pass"]);
    const prod = { ...provider(GL, "assertion.project_id == '7' && assertion.ref.startsWith('v') && assertion.ref_protected == 'true'"), locals: { hipaa_environment: { name: "production", tier: "production", handles_phi: true } } };
    expect(verdictOf(prod, WIF)).toEqual(["fail"]);
  });

  test("the GCP example's conditions pass, in every environment", () => {
    const { buildGcpGitlabApp } = require("../examples/gcp-gitlab/main");
    const stacks = synthAll(buildGcpGitlabApp(Testing.app()));
    let judged = 0;
    for (const [, out] of stacks) {
      const findings = evaluate([unitFromJson("s", out.tf)], ALL_RULES).filter((f) => f.rule === WIF);
      judged += findings.length;
      expect(findings.map((f) => f.verdict)).toEqual(findings.map(() => "pass"));
    }
    expect(judged).toBeGreaterThanOrEqual(4);
  });
});

describe("ScopedRole validates any trust it is handed", () => {
  const { ScopedRole } = require("../constructs/aws/scoped-role");
  const { awsStack, production } = require("./support/synth");
  const GH = "token.actions.githubusercontent.com";
  const federated = (conditions: Record<string, Record<string, string>>) => ({
    sid: "Hand",
    effect: "Allow",
    principals: { Federated: ["arn:aws:iam::444444444444:oidc-provider/token.actions.githubusercontent.com"] },
    actions: ["sts:AssumeRoleWithWebIdentity"],
    conditions,
  });
  const role = (trust: unknown) => () => new ScopedRole(awsStack().stack, "Hand", { environment: production, grantName: "Hand", description: "hand-written", trust });

  test("refuses an org-wide GitHub trust, a trust without an environment, a GitLab trust of every branch, a federated trust with no sub, and a wildcard principal", () => {
    expect(refusal(role(federated({ StringEquals: { [`${GH}:aud`]: "sts.amazonaws.com" }, StringLike: { [`${GH}:sub`]: "repo:hipaa-app-org/*" } })))).toContain("the trust is refused");
    expect(refusal(role(federated({ StringEquals: { [`${GH}:aud`]: "sts.amazonaws.com", [`${GH}:sub`]: "repo:hipaa-app-org/app:ref:refs/heads/main" } })))).toContain("pins no environment");
    expect(
      refusal(role({ ...federated({ StringEquals: { "gitlab.com:aud": "sts.amazonaws.com" }, StringLike: { "gitlab.com:sub": "project_path:hipaa-health/app:ref_type:branch:ref:*" } }), principals: { Federated: ["arn:aws:iam::1:oidc-provider/gitlab.com"] } })),
    ).toContain("trusts every branch");
    expect(refusal(role(federated({ StringEquals: { "example.com:aud": "x" } })))).toContain("must pin the token's sub and aud");
    expect(refusal(role({ sid: "Any", effect: "Allow", principals: { AWS: ["*"] }, actions: ["sts:AssumeRole"] }))).toContain("wildcard principal (45 CFR 164.312(d))");
  });

  test("accepts what the typed helpers build", () => {
    expect(() => role(federated({ StringEquals: { [`${GH}:aud`]: "sts.amazonaws.com", [`${GH}:sub`]: "repo:hipaa-app-org/app:environment:production" } }))()).not.toThrow();
  });
});

describe("application repositories: reviewed default branch, immutable tags", () => {
  const stacks = synthAll(buildReferenceApp(Testing.app()));
  const rulesets = Object.values(resourcesOf(stacks.get("clinical-github")!, "github_repository_ruleset"));

  test.each(REFERENCE_REPOSITORIES.map((r) => r.name))("%s: pull requests only on the default branch, and no tag can move", (name) => {
    const mine = rulesets.filter((r) => r.repository === name);
    expect(mine.map((r) => r.name).sort()).toEqual(["hipaa-default-branch", "hipaa-tags-immutable"]);
    const branch = mine.find((r) => r.target === "branch")!;
    expect(branch.conditions.ref_name.include).toEqual(["~DEFAULT_BRANCH"]);
    expect(branch.rules).toMatchObject({ deletion: true, non_fast_forward: true, pull_request: { required_approving_review_count: 1, require_last_push_approval: true, dismiss_stale_reviews_on_push: true } });
    const tags = mine.find((r) => r.target === "tag")!;
    expect(tags.conditions.ref_name.include).toEqual(["refs/tags/**/*"]);
    expect(tags.rules).toEqual({ update: true, deletion: true, non_fast_forward: true });
    for (const r of mine) expect(r.bypass_actors).toBeUndefined();
  });

  test("zero approvals are refused", () => {
    const { ApplicationRepositoryRulesets } = require("../constructs/github");
    const { RepositoryRef, GithubPlan } = require("../src/model");
    const { TerraformStack } = require("cdktf");
    const stack = new TerraformStack(Testing.app(), "g");
    expect(refusal(() => new ApplicationRepositoryRulesets(stack, "R", { repository: new RepositoryRef({ owner: "o", name: "r", ownerId: 1, repositoryId: 2 }), plan: GithubPlan.ENTERPRISE, requiredApprovals: 0 }))).toContain(
      "requiredApprovals 0 is not 1-10",
    );
  });
});
