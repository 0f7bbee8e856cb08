import { App, TerraformStack, Testing } from "cdktf";
import { buildGcpGitlabApp, COMPLIANCE_PLATFORM, COMPLIANCE_PLATFORM_ID, COMPLIANCE_TEAM, RELEASE_APPROVERS } from "../examples/gcp-gitlab/main";
import {
  AwsEnvironmentStack,
  collectControlRecords,
  Environment,
  EnvironmentTier,
  GitlabGovernanceConfig,
  GitlabGovernanceStack,
  GitlabProjectRef,
  GitlabRefType,
  HipaaConfigError,
} from "../src";
import { resourcesOf, SynthResult } from "./support/synth";

const synthStack = (stack: TerraformStack): SynthResult => {
  const json = Testing.synth(stack, true);
  return { json, tf: JSON.parse(json) };
};

const production = new Environment({ name: "production", tier: EnvironmentTier.PRODUCTION });
const dev = new Environment({ name: "dev", tier: EnvironmentTier.DEVELOPMENT });

const config = (overrides: Partial<GitlabGovernanceConfig> = {}, project: Record<string, unknown> = {}): GitlabGovernanceConfig => ({
  environments: [dev, production],
  approvals: { dev: { approverGroup: RELEASE_APPROVERS }, production: { approverGroup: RELEASE_APPROVERS } },
  projects: [{ project: COMPLIANCE_PLATFORM, projectId: COMPLIANCE_PLATFORM_ID, maintainerGroup: COMPLIANCE_TEAM, deploysTo: ["dev", "production"], ...project }],
  ...overrides,
});

function refusal(fn: () => unknown): HipaaConfigError {
  try {
    fn();
  } catch (e) {
    if (HipaaConfigError.isHipaaConfigError(e)) return e;
    throw e;
  }
  throw new Error("expected a HipaaConfigError");
}

describe("GitlabGovernanceStack in the gcp-gitlab example", () => {
  const app = buildGcpGitlabApp(Testing.app());
  const stacks = new Map(app.node.children.filter((c): c is TerraformStack => TerraformStack.isStack(c)).map((s) => [s.node.id, synthStack(s)]));
  const gitlab = stacks.get("hipaa-gitlab")!;
  const parent = (type: string) => Object.values(resourcesOf(gitlab, type)).filter((r) => r.project === COMPLIANCE_PLATFORM.path);

  test("protected environments: group approvals (2 for production, 1 below), only the group deploys, groups invited", () => {
    const environments = parent("gitlab_project_protected_environment");
    expect(environments.map((e) => e.environment).sort()).toEqual(["dev", "production", "staging", "validation"]);
    for (const e of environments) {
      expect(e.approval_rules).toEqual([{ group_id: RELEASE_APPROVERS.id, required_approvals: e.environment === "production" ? 2 : 1 }]);
      expect(e.deploy_access_levels).toEqual([{ group_id: RELEASE_APPROVERS.id }]);
      expect(e.depends_on).toEqual([expect.stringMatching(/^gitlab_project_share_group\./)]);
    }
    // One invitation per project and group, not one per environment (a second one fails at apply).
    expect(parent("gitlab_project_share_group")).toEqual([{ project: COMPLIANCE_PLATFORM.path, group_id: RELEASE_APPROVERS.id, access_level: "reporter" }]);
  });

  test("protected default branch and release tags on every project: no push, no force push, code owners, maintainers only", () => {
    const branches = Object.values(resourcesOf(gitlab, "gitlab_branch_protection"));
    expect(branches).toHaveLength(6);
    for (const b of branches) {
      expect(b).toMatchObject({
        branch: "main",
        push_access_level: "no one",
        merge_access_level: "no one",
        allowed_to_merge: [{ group_id: COMPLIANCE_TEAM.id }],
        allow_force_push: false,
        code_owner_approval_required: true,
      });
    }
    for (const t of Object.values(resourcesOf(gitlab, "gitlab_tag_protection"))) {
      expect(t).toMatchObject({ tag: "v*", create_access_level: "no one", allowed_to_create: [{ group_id: COMPLIANCE_TEAM.id }] });
    }
  });

  test("merge-request approvals on the default branch: two reviewers, no author approval, reset on push", () => {
    const [rule] = parent("gitlab_project_approval_rule");
    expect(rule).toMatchObject({ approvals_required: 2, group_ids: [COMPLIANCE_TEAM.id] });
    expect(rule.protected_branch_ids).toEqual([expect.stringMatching(/^\$\{gitlab_branch_protection\.Protections-hipaa-health-compliance-platform_DefaultBranch_[0-9A-F]+\.branch_protection_id\}$/)]);
    expect(parent("gitlab_project_level_mr_approvals")).toEqual([
      {
        project: COMPLIANCE_PLATFORM.path,
        merge_requests_author_approval: false,
        merge_requests_disable_committers_approval: true,
        reset_approvals_on_push: true,
        disable_overriding_approvers_per_merge_request: true,
      },
    ]);
  });

  test("job token allow-list: children admit only the parent's job token", () => {
    const scopes = Object.values(resourcesOf(gitlab, "gitlab_project_job_token_scopes"));
    expect(scopes).toHaveLength(6);
    for (const s of scopes) {
      expect(s.enabled).toBe(true);
      expect(s.target_project_ids).toEqual(s.project === COMPLIANCE_PLATFORM.path ? [] : [COMPLIANCE_PLATFORM_ID]);
    }
  });

  test("one protected runner per environment: hipaa-<env>-runner, protected refs only, no untagged jobs", () => {
    const runners = Object.values(resourcesOf(gitlab, "gitlab_user_runner"));
    expect(runners.map((r) => r.tag_list).sort()).toEqual([["hipaa-dev-runner"], ["hipaa-production-runner"], ["hipaa-staging-runner"], ["hipaa-validation-runner"]]);
    for (const r of runners) expect(r).toMatchObject({ runner_type: "project_type", project_id: COMPLIANCE_PLATFORM_ID, access_level: "ref_protected", untagged: false, locked: true });
  });

  test("the refs the GCP trusts accept are exactly the refs GitLab protects", () => {
    // What each environment's WIF condition accepts, read back from the synthesized condition.
    const trusted = new Set<string>();
    for (const [id, out] of stacks) {
      if (!id.startsWith("hipaa-gcp-")) continue;
      for (const p of Object.values(resourcesOf(out, "google_iam_workload_identity_pool_provider"))) {
        const c = p.attribute_condition as string;
        const project = /assertion\.project_path == '([^']+)'/.exec(c)![1];
        const refType = /assertion\.ref_type == '([^']+)'/.exec(c)![1];
        const exact = /assertion\.ref == '([^']+)'/.exec(c);
        const prefix = /assertion\.ref\.startsWith\('([^']+)'\)/.exec(c);
        expect(c).toContain("assertion.ref_protected == 'true'");
        trusted.add(`${project} ${refType} ${exact ? exact[1] : `${prefix![1]}*`}`);
      }
    }
    // What GitLab protects in the deploying project.
    const protectedRefs = new Set([
      ...parent("gitlab_branch_protection").map((b) => `${b.project} branch ${b.branch}`),
      ...parent("gitlab_tag_protection").map((t) => `${t.project} tag ${t.tag}`),
    ]);
    expect([...trusted].sort()).toEqual([...protectedRefs].sort());
    expect([...trusted].sort()).toEqual(["hipaa-health/compliance-platform branch main", "hipaa-health/compliance-platform tag v*"]);
  });

  test("snapshot of the GitLab governance stack", () => {
    expect(gitlab.json).toMatchSnapshot();
  });
});

describe("GitlabGovernanceStack with an AWS trust", () => {
  test("the AWS GitLab deploy role trusts exactly the protected release tags", () => {
    const app = Testing.app();
    const gitlab = new GitlabGovernanceStack(app, "gitlab", config());
    const aws = new AwsEnvironmentStack(app, "aws-production", {
      environment: production,
      region: "us-east-1",
      accountId: "444444444444",
      gitlab: { deployments: gitlab.subjectsFor("production"), audience: "https://gitlab.com" },
    });
    const trust = JSON.parse(Object.values(resourcesOf(synthStack(aws), "aws_iam_role"))[0].assume_role_policy);
    const subs = trust.Statement.flatMap((s: any) => Object.values(s.Condition ?? {}).flatMap((c: any) => (c["gitlab.com:sub"] ? [c["gitlab.com:sub"]].flat() : [])));
    expect(subs).toEqual(["project_path:hipaa-health/compliance-platform:ref_type:tag:ref:v*"]);
    expect(gitlab.protections.get(COMPLIANCE_PLATFORM.path)!.protects(GitlabRefType.TAG, "v*")).toBe(true);
  });
});

describe("GitlabGovernanceStack refusals", () => {
  const build = (c: GitlabGovernanceConfig) => new GitlabGovernanceStack(new App(), "gitlab", c);

  test("fewer than one deployment approval is refused", () => {
    const e = refusal(() => build(config({ approvals: { dev: { approverGroup: RELEASE_APPROVERS }, production: { approverGroup: RELEASE_APPROVERS, requiredApprovals: 0 } } })));
    expect(e.message).toContain("requiredApprovals 0 for hipaa-health/compliance-platform:production is below 1");
    expect(e.cfr).toBe("164.308(a)(4)");
    expect(refusal(() => build(config({}, { mergeRequestApprovals: 0 }))).message).toContain("mergeRequestApprovals 0 is below 1");
  });

  test("author approval is refused on a project that deploys to a PHI environment, even with a reason", () => {
    const reason = "a two-person team reviews in pairs at the keyboard";
    const e = refusal(() => build(config({}, { allowAuthorApproval: true, authorApprovalReason: reason })));
    expect(e.message).toContain("which deploys to a PHI environment");
    // Without PHI it needs a reason, and the reason is recorded.
    expect(() => build(config({ environments: [dev], approvals: { dev: { approverGroup: RELEASE_APPROVERS } } }, { deploysTo: ["dev"], allowAuthorApproval: true }))).toThrow(/without a reason/);
    const stack = build(config({ environments: [dev], approvals: { dev: { approverGroup: RELEASE_APPROVERS } } }, { deploysTo: ["dev"], allowAuthorApproval: true, authorApprovalReason: reason }));
    expect(collectControlRecords(stack).exceptions.map((x) => x.reason)).toContain(reason);
  });

  test("trusting an unprotected ref is refused", () => {
    const e = refusal(() => build(config({}, { deployRefs: { dev: { refType: GitlabRefType.BRANCH, ref: "develop" } } })));
    expect(e.message).toContain('dev would trust branch "develop" of hipaa-health/compliance-platform, which is not protected');
    expect(e.cfr).toBe("164.312(d)");
    // Protecting it makes it trustable.
    const ok = build(config({}, { deployRefs: { dev: { refType: GitlabRefType.BRANCH, ref: "develop" } }, extraProtectedBranches: ["develop"] }));
    expect(ok.subjectsFor("dev").map((s) => s.subject)).toEqual(["project_path:hipaa-health/compliance-platform:ref_type:branch:ref:develop"]);
  });

  test("a runner that is not protected is refused for PHI, and needs a reason elsewhere", () => {
    expect(refusal(() => build(config({ unprotectedRunners: { production: "hotfix branches need the runner too" } }))).message).toContain("unprotected branches in a PHI environment");
    expect(refusal(() => build(config({ unprotectedRunners: { dev: "short" } }))).message).toContain("without a reason");
    const stack = build(config({ unprotectedRunners: { dev: "feature branches deploy to dev for review apps" } }));
    const runners = Object.values(resourcesOf(synthStack(stack), "gitlab_user_runner"));
    expect(runners.find((r) => r.tag_list[0] === "hipaa-dev-runner")!.access_level).toBe("not_protected");
    expect(runners.find((r) => r.tag_list[0] === "hipaa-production-runner")!.access_level).toBe("ref_protected");
  });

  test("unknown environments, missing approvers, bad groups and duplicate projects are refused", () => {
    expect(() => build(config({}, { deploysTo: ["qa"] }))).toThrow(/unknown environment "qa"/);
    expect(() => build(config({ approvals: { dev: { approverGroup: RELEASE_APPROVERS } } }))).toThrow(/no approvers are given for environment "production"/);
    expect(() => build(config({}, { maintainerGroup: { id: 0, path: "x" } }))).toThrow(/numeric id and a full path/);
    const twice = config();
    expect(() => build({ ...twice, projects: [...twice.projects, ...twice.projects] })).toThrow(/listed twice/);
    expect(() => build(config({}, { releaseTagPattern: "*" }))).toThrow(/never \* alone/);
    expect(() => build(config({}, { project: new GitlabProjectRef("hipaa-health/other"), projectId: -1 }))).toThrow(/not a numeric project id/);
  });
});
