import { ComplianceWorkflowsRepository, ComplianceWorkflowsRepositoryProps, OidcClaimTemplate, ProtectedEnvironment, RunnerGroup } from "../constructs/github";
import { collectControlRecords } from "../src/compliance";
import { dev, githubStack, production, refAt, refusal, resourceAt, resourcesOf, synth } from "./support/synth";
import { ApprovedRelease, Environment, EnvironmentTier, GithubClaimKey, GithubOidcSubject, GithubPlan, GithubSubjectFormat, RepositoryRef, RepositoryVisibility, WorkflowRef } from "../src/model";

const repo = RepositoryRef.parse("hipaa-app-org/clinical-platform", { ownerId: 1342004, repositoryId: 260064828 });
const compliance = RepositoryRef.parse("hipaa-app-org/compliance-workflows", { ownerId: 1342004, repositoryId: 260064901 });
const staging = new Environment({ name: "staging", tier: EnvironmentTier.STAGING });
const base = { repository: repo, plan: GithubPlan.ENTERPRISE, visibility: RepositoryVisibility.PRIVATE, reviewerTeamIds: [5502] };

describe("ProtectedEnvironment", () => {
  const { stack } = githubStack();
  new ProtectedEnvironment(stack, "Production", { ...base, environment: production });
  new ProtectedEnvironment(stack, "Staging", { ...base, environment: staging, branchPatterns: ["main", "release/*"] });
  const out = synth(stack);

  test("matches the expected Terraform JSON", () => {
    expect(out.tf).toMatchSnapshot();
  });

  test("production: team reviewers, prevent_self_review, no admin bypass, 10-minute wait, tags v*.*.* only", () => {
    expect(resourceAt(out, "github_repository_environment", "Production/Environment")).toEqual({
      repository: "clinical-platform",
      environment: "production",
      reviewers: [{ teams: [5502], users: [] }],
      prevent_self_review: true,
      can_admins_bypass: false,
      wait_timer: 10,
      deployment_branch_policy: { protected_branches: false, custom_branch_policies: true },
    });
    const policies = Object.values(resourcesOf(out, "github_repository_environment_deployment_policy")).filter((p) => p.environment.includes("Production"));
    expect(policies.map((p) => [p.tag_pattern, p.branch_pattern])).toEqual([["v*.*.*", undefined]]);
  });

  test("lower tiers deploy from the listed branches", () => {
    const policies = Object.values(resourcesOf(out, "github_repository_environment_deployment_policy")).filter((p) => p.environment.includes("Staging"));
    expect(policies.map((p) => p.branch_pattern).sort()).toEqual(["main", "release/*"]);
  });

  test("refusals", () => {
    const { stack: s } = githubStack();
    const cases: [Partial<ConstructorParameters<typeof ProtectedEnvironment>[2]>, string][] = [
      [{ reviewerTeamIds: [] }, "0 reviewers given; GitHub requires 1 to 6"],
      [{ reviewerTeamIds: [1, 2, 3, 4, 5, 6, 7] }, "7 reviewers given"],
      [{ reviewerUserIds: [42] }, 'individual users are reviewers of PHI environment "production" (45 CFR 164.308(a)(3))'],
      [{ waitTimerMinutes: 50000 }, "wait timer 50000 is outside 0-43200 minutes"],
      [{ waitTimerMinutes: 0 }, 'PHI environment "production" has no wait timer'],
      [{ allowSelfReview: true, weakeningReason: "x".repeat(40) }, 'self review requested for PHI environment "production"'],
      [{ allowAdminBypass: true }, "admin bypass requested for PHI environment"],
      [{ branchPatterns: ["main"] }, "production may deploy only from tags v*.*.*"],
      [{ tagPatterns: ["*"] }, "production may deploy only from tags v*.*.*"],
      [{ plan: GithubPlan.TEAM }, "environment required reviewers and wait timer on a private repository is not available on the GitHub team plan"],
    ];
    cases.forEach(([props, message], i) => expect(refusal(() => new ProtectedEnvironment(s, `P${i}`, { ...base, environment: production, ...props }))).toContain(message));
    expect(refusal(() => new ProtectedEnvironment(s, "D1", { ...base, environment: dev, allowAdminBypass: true }))).toContain("without a reason");
    expect(refusal(() => new ProtectedEnvironment(s, "D2", { ...base, environment: dev, branchPatterns: ["*"] }))).toContain("admits every ref");
  });

  test("a public repository on the free plan may use environment protection; a reasoned weakening outside PHI is recorded", () => {
    const { stack: s } = githubStack();
    new ProtectedEnvironment(s, "Dev", { ...base, plan: GithubPlan.FREE, visibility: RepositoryVisibility.PUBLIC, environment: dev, allowAdminBypass: true, weakeningReason: "Dev deploys synthetic data; admins unblock broken pipelines." });
    expect(resourceAt(synth(s), "github_repository_environment", "Dev/Environment").can_admins_bypass).toBe(true);
    expect(collectControlRecords(s).exceptions[0]).toMatchObject({ section: "164.308(a)(4)", what: "admin bypass on hipaa-app-org/clinical-platform:dev" });
  });
});

describe("OidcClaimTemplate", () => {
  const workflow = new WorkflowRef({ repository: compliance, path: ".github/workflows/deploy-prod.yml", tag: "v3.2.1" });

  test("a custom subject sets include_claim_keys; classic uses the default", () => {
    const { stack } = githubStack();
    const custom = new GithubOidcSubject({ repository: repo, environment: production, format: GithubSubjectFormat.CUSTOM, workflow });
    new OidcClaimTemplate(stack, "Custom", { subjects: [custom] });
    const other = RepositoryRef.parse("hipaa-app-org/patient-portal", { ownerId: 1342004, repositoryId: 260064950 });
    new OidcClaimTemplate(stack, "Classic", { subjects: [new GithubOidcSubject({ repository: other, environment: staging, format: GithubSubjectFormat.CLASSIC })] });
    const out = synth(stack);
    expect(out.tf).toMatchSnapshot();
    expect(resourceAt(out, "github_actions_repository_oidc_subject_claim_customization_template", "Custom/Template")).toEqual({
      repository: "clinical-platform",
      use_default: false,
      include_claim_keys: ["repository_owner_id", "repository_id", "context", "job_workflow_ref"],
    });
    expect(resourceAt(out, "github_actions_repository_oidc_subject_claim_customization_template", "Classic/Template")).toEqual({ repository: "patient-portal", use_default: true });
  });

  test("refuses subjects of one repository that disagree on the template", () => {
    const { stack } = githubStack();
    const a = new GithubOidcSubject({ repository: repo, environment: staging, format: GithubSubjectFormat.CLASSIC });
    const b = new GithubOidcSubject({ repository: repo, environment: staging, format: GithubSubjectFormat.CUSTOM, claimKeys: [GithubClaimKey.REPO, GithubClaimKey.CONTEXT] });
    expect(refusal(() => new OidcClaimTemplate(stack, "T", { subjects: [a, b] }))).toContain("disagree");
    expect(refusal(() => new OidcClaimTemplate(stack, "U", { subjects: [] }))).toContain("no subject given");
  });
});

describe("ComplianceWorkflowsRepository", () => {
  const { stack } = githubStack();
  new ComplianceWorkflowsRepository(stack, "Compliance", {
    organization: "hipaa-app-org",
    plan: GithubPlan.ENTERPRISE,
    complianceTeam: { id: 5501, slug: "compliance" },
    releaseAutomation: { type: "github-app", appId: 904512, slug: "hipaa-release-bot" },
    workflowFiles: { ".github/workflows/deploy-prod.yml": "on: workflow_call\njobs: {}\n" },
  });
  const out = synth(stack);

  test("matches the expected Terraform JSON", () => {
    expect(out.tf).toMatchSnapshot();
  });

  test("private, vulnerability alerts, prevent_destroy", () => {
    expect(resourceAt(out, "github_repository", "Compliance/Repository")).toMatchObject({ visibility: "private", vulnerability_alerts: true, lifecycle: { prevent_destroy: true }, archive_on_destroy: true });
  });

  test("default branch: PRs with compliance-team approvals, code owners, no force push, no deletion, linear history", () => {
    const r = resourceAt(out, "github_repository_ruleset", "Compliance/DefaultBranchRuleset");
    expect(r).toMatchObject({ target: "branch", enforcement: "active", conditions: { ref_name: { include: ["~DEFAULT_BRANCH"], exclude: [] } } });
    expect(r.rules).toEqual({
      deletion: true,
      non_fast_forward: true,
      required_linear_history: true,
      pull_request: { required_approving_review_count: 2, require_code_owner_review: true, dismiss_stale_reviews_on_push: true, require_last_push_approval: true, required_review_thread_resolution: true },
    });
    expect(r.bypass_actors).toBeUndefined();
    expect(resourceAt(out, "github_repository_file", "Compliance/CodeOwners").content).toContain("* @hipaa-app-org/compliance");
  });

  test("tags, every shape: nobody may update or delete them; only the release automation App may create them, no person or team", () => {
    const immutable = resourceAt(out, "github_repository_ruleset", "Compliance/ReleaseTagRuleset");
    expect(immutable).toMatchObject({ target: "tag", enforcement: "active", conditions: { ref_name: { include: ["refs/tags/**/*"], exclude: [] } }, rules: { update: true, deletion: true, non_fast_forward: true } });
    expect(immutable.bypass_actors).toBeUndefined();
    const creation = resourceAt(out, "github_repository_ruleset", "Compliance/ReleaseTagCreationRuleset");
    expect(creation).toMatchObject({ target: "tag", enforcement: "active", conditions: { ref_name: { include: ["refs/tags/**/*"], exclude: [] } } });
    expect(creation.rules).toEqual({ creation: true });
    expect(creation.bypass_actors).toEqual([{ actor_id: 904512, actor_type: "Integration", bypass_mode: "always" }]);
  });

  test("commits the caller's workflow files before the rulesets exist", () => {
    const file = resourceAt(out, "github_repository_file", "Compliance/Workflow-github-workflows-deploy-prod-yml");
    expect(file.file).toBe(".github/workflows/deploy-prod.yml");
    expect(resourceAt(out, "github_repository_ruleset", "Compliance/DefaultBranchRuleset").depends_on).toHaveLength(2);
  });

  test("the organization's repositories may call the reusable workflows (private repositories share nothing by default)", () => {
    expect(resourceAt(out, "github_actions_repository_access_level", "Compliance/ActionsAccessLevel")).toEqual({
      repository: refAt(out, "github_repository", "Compliance/Repository", "name"),
      access_level: "organization",
    });
  });

  test("CODEOWNERS and workflow files are created once and never managed again: the default branch becomes pull-request-only", () => {
    for (const path of ["Compliance/CodeOwners", "Compliance/Workflow-github-workflows-deploy-prod-yml"]) {
      const file = resourceAt(out, "github_repository_file", path);
      // Any changed argument would be applied as a commit straight to the protected branch.
      expect(file.lifecycle).toEqual({ ignore_changes: "all" });
      // A file that already exists is never clobbered.
      expect(file.overwrite_on_create).toBe(false);
      // The repository's default branch, whatever the organization names it (the ruleset targets ~DEFAULT_BRANCH).
      expect(file.branch).toBeUndefined();
    }
    const { stack: s } = githubStack();
    new ComplianceWorkflowsRepository(s, "Trunk", { organization: "hipaa-app-org", plan: GithubPlan.ENTERPRISE, complianceTeam: { id: 5501, slug: "compliance" }, releaseAutomation: { type: "github-app" as const, appId: 904512, slug: "hipaa-release-bot" }, defaultBranch: "trunk" });
    expect(resourceAt(synth(s), "github_repository_file", "Trunk/CodeOwners").branch).toBe("trunk");
  });

  test("refusals: a plan without rulesets, zero approvals, a pattern protecting every tag, a file outside .github/workflows", () => {
    const { stack: s } = githubStack();
    const props = { organization: "hipaa-app-org", plan: GithubPlan.ENTERPRISE, complianceTeam: { id: 5501, slug: "compliance" }, releaseAutomation: { type: "github-app" as const, appId: 904512, slug: "hipaa-release-bot" } };
    expect(refusal(() => new ComplianceWorkflowsRepository(s, "A", { ...props, plan: GithubPlan.FREE }))).toContain("repository rulesets on a private repository is not available on the GitHub free plan");
    expect(refusal(() => new ComplianceWorkflowsRepository(s, "B", { ...props, requiredApprovals: 0 }))).toContain("requiredApprovals 0 is outside 1-10");
    expect(refusal(() => new ComplianceWorkflowsRepository(s, "C", { ...props, releaseTagPattern: "v*" } as ComplianceWorkflowsRepositoryProps))).toContain("C: releaseTagPattern is no longer read");
    expect(refusal(() => new ComplianceWorkflowsRepository(s, "D", { ...props, workflowFiles: { "deploy.yml": "x" } }))).toContain("is not under .github/workflows/");
    expect(refusal(() => new ComplianceWorkflowsRepository(s, "E", { ...props, organization: "hipaa_app_org" }))).toContain('E: GitHub organization "hipaa_app_org" is not a valid organization name');
  });
});

describe("RunnerGroup", () => {
  const release = ApprovedRelease.parse("v1.4.2");
  const workflows = [new WorkflowRef({ repository: compliance, path: ".github/workflows/deploy-prod.yml", release })];

  test("selected repositories only, no public repositories, restricted to the compliance workflows", () => {
    const { stack } = githubStack();
    new RunnerGroup(stack, "Production", { environment: production, plan: GithubPlan.ENTERPRISE, repositories: [repo], workflows });
    const out = synth(stack);
    expect(out.tf).toMatchSnapshot();
    expect(resourceAt(out, "github_actions_runner_group", "Production/Group")).toEqual({
      name: "hipaa-production",
      visibility: "selected",
      selected_repository_ids: [260064828],
      allows_public_repositories: false,
      restricted_to_workflows: true,
      selected_workflows: ["hipaa-app-org/compliance-workflows/.github/workflows/deploy-prod.yml@refs/tags/v1.4.2"],
    });
  });

  test("a tag pattern is refused: GitHub matches selected workflows exactly, so v* would admit no run", () => {
    const { stack } = githubStack();
    const pattern = [new WorkflowRef({ repository: compliance, path: ".github/workflows/deploy-prod.yml", tag: "v*" })];
    const message = refusal(() => new RunnerGroup(stack, "P", { environment: production, plan: GithubPlan.ENTERPRISE, repositories: [repo], workflows: pattern }));
    expect(message).toContain("P: selected workflow hipaa-app-org/compliance-workflows/.github/workflows/deploy-prod.yml@refs/tags/v* has a tag pattern, but GitHub matches a runner group's selected workflows exactly");
    expect(message).toContain("(45 CFR 164.312(a)(1))");
  });

  test("refusals: plan without runner groups or workflow restriction, unrestricted PHI group, repositories without ids", () => {
    const { stack } = githubStack();
    expect(refusal(() => new RunnerGroup(stack, "A", { environment: production, plan: GithubPlan.FREE, repositories: [repo], workflows }))).toContain("not available on the GitHub free plan");
    expect(refusal(() => new RunnerGroup(stack, "B", { environment: production, plan: GithubPlan.TEAM, repositories: [repo], workflows }))).toContain(
      "runner groups restricted to selected workflows is not available on the GitHub team plan",
    );
    expect(refusal(() => new RunnerGroup(stack, "C", { environment: production, plan: GithubPlan.TEAM, repositories: [repo], workflows, allowAnyWorkflow: true, unrestrictedReason: "x".repeat(30) }))).toContain(
      "PHI environment",
    );
    expect(refusal(() => new RunnerGroup(stack, "D", { environment: dev, plan: GithubPlan.ENTERPRISE, repositories: [RepositoryRef.parse("hipaa-app-org/x")], workflows }))).toContain("has no numeric id");
    new RunnerGroup(stack, "E", { environment: dev, plan: GithubPlan.TEAM, repositories: [repo], workflows, allowAnyWorkflow: true, unrestrictedReason: "Team plan: dev runners hold no production credentials." });
    expect(collectControlRecords(stack).exceptions[0].what).toBe("runner group for dev not restricted to workflows");
  });
});
