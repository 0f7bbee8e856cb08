/**
 * Issue 12, GitHub part: release refs that cannot be forged. Every ref a trust or runner group
 * accepts is covered by a tag ruleset nobody bypasses (no update, no deletion), and only the
 * release automation App can create one.
 */
import { App, TerraformStack, Testing } from "cdktf";
import { GithubProvider } from "@cdktf/provider-github/lib/provider";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { CiOidcProvider, GithubDeployRole } from "../constructs/aws";
import { githubWifSpec } from "../constructs/gcp/wif-conditions";
import { ComplianceWorkflowsRepository, ComplianceWorkflowsRepositoryProps, RunnerGroup } from "../constructs/github";
import { collectControlRecords } from "../src/compliance";
import { ALL_TAGS_RULESET_INCLUDE, ApprovedRelease, fnmatchPathname, GithubOidcSubject, GithubPlan, GithubSubjectFormat, RepositoryRef, rulesetCovers, WorkflowRef } from "../src/model";
import { buildReferenceApp } from "../examples/reference/main";
import { dev, production, refusal, resourcesOf, statements, synth, SynthResult } from "./support/synth";

const repo = RepositoryRef.parse("hipaa-app-org/clinical-platform", { ownerId: 1342004, repositoryId: 260064828 });
const compliance = RepositoryRef.parse("hipaa-app-org/compliance-workflows", { ownerId: 1342004, repositoryId: 260064901 });
const GH = "token.actions.githubusercontent.com";
const APP = { type: "github-app" as const, appId: 904512, slug: "hipaa-release-bot" };
const repositoryProps: ComplianceWorkflowsRepositoryProps = { organization: "hipaa-app-org", plan: GithubPlan.ENTERPRISE, complianceTeam: { id: 5501, slug: "compliance" }, releaseAutomation: APP };

// What a StringLike `*` (or a CEL startsWith) can stand for: nothing, a version, and names with
// one or more `/`, which a ruleset `*` never matches.
const WILDCARD_SAMPLES = ["", "1", "1.4.2", "1.4.2-rc.1", "9/x", "9/x/y", "1.4.2/evil", "a/b/c/d/e"];

/** Every concrete ref an IAM StringLike pattern (`*` any run of characters, `/` included; `?` one) accepts, by sample. */
function refShapes(stringLike: string): string[] {
  let shapes = [""];
  for (const c of stringLike) {
    const options = c === "*" ? WILDCARD_SAMPLES : c === "?" ? ["1", "/"] : [c];
    shapes = shapes.flatMap((s) => options.map((o) => s + o));
  }
  return [...new Set(shapes)];
}

/** The ref part of a `job_workflow_ref` value (`OWNER/REPO/PATH@REF`). */
function refOf(jobWorkflowRef: string): string {
  return jobWorkflowRef.slice(jobWorkflowRef.indexOf("@") + 1);
}

interface TagRulesets {
  /** include patterns of the active tag ruleset that forbids update and deletion with no bypass at all. */
  readonly immutable: readonly string[];
  /** include patterns of the active tag ruleset that restricts creation, and its bypass actors. */
  readonly creation: readonly string[];
  readonly creationBypass: readonly Record<string, unknown>[];
}

function tagRulesetsOf(out: SynthResult): TagRulesets {
  const rulesets = Object.values(resourcesOf(out, "github_repository_ruleset")).filter((r) => r.target === "tag" && r.enforcement === "active" && String(r.repository).includes("github_repository."));
  const immutable = rulesets.filter((r) => r.rules.update === true && r.rules.deletion === true && r.bypass_actors === undefined);
  const creation = rulesets.filter((r) => r.rules.creation === true);
  expect(immutable).toHaveLength(1);
  expect(creation).toHaveLength(1);
  return { immutable: immutable[0].conditions.ref_name.include, creation: creation[0].conditions.ref_name.include, creationBypass: creation[0].bypass_actors ?? [] };
}

function expectCovered(rulesets: TagRulesets, ref: string): void {
  expect({ ref, immutable: rulesetCovers(rulesets.immutable, ref), creationRestricted: rulesetCovers(rulesets.creation, ref) }).toEqual({ ref, immutable: true, creationRestricted: true });
}

describe("GitHub's ruleset matching (Ruby File.fnmatch with FNM_PATHNAME)", () => {
  test("reproduces GitHub's documented examples and rulesets observed in force", () => {
    // docs.github.com, "Creating rulesets for a repository", "Using fnmatch syntax".
    expect(fnmatchPathname("qa/*", "qa/foo")).toBe(true);
    expect(fnmatchPathname("qa/*", "qa/foo/bar")).toBe(false);
    expect(fnmatchPathname("qa/**/*", "qa/foo/bar/foobar/hello-world")).toBe(true);
    expect(fnmatchPathname("qa**/**/*", "qa-x/foo/bar")).toBe(true);
    // Rulesets in force (GitHub's rules-for-a-branch answers): `refs/heads/**` is `refs/heads/*`;
    // `dependabot/**/*` covers dependabot/foo and dependabot/a/b/c but not dependabot itself.
    expect(fnmatchPathname("refs/heads/**", "refs/heads/zzz")).toBe(true);
    expect(fnmatchPathname("refs/heads/**", "refs/heads/zzz/foo")).toBe(false);
    expect(fnmatchPathname("refs/heads/dependabot/**/*", "refs/heads/dependabot/foo")).toBe(true);
    expect(fnmatchPathname("refs/heads/dependabot/**/*", "refs/heads/dependabot/a/b/c/d/e")).toBe(true);
    expect(fnmatchPathname("refs/heads/dependabot/**/*", "refs/heads/dependabot")).toBe(false);
    // `?` and classes stay inside one segment.
    expect(fnmatchPathname("refs/tags/v?", "refs/tags/v/")).toBe(false);
    expect(fnmatchPathname("refs/tags/v[0-9]*", "refs/tags/v1.4.2")).toBe(true);
    expect(fnmatchPathname("refs/tags/v[!0-9]*", "refs/tags/v1.4.2")).toBe(false);
  });

  test("the gap issue 12 found: refs/tags/v* misses v9/x, which a StringLike @refs/tags/v* accepts", () => {
    expect(refShapes("refs/tags/v*")).toContain("refs/tags/v9/x");
    expect(rulesetCovers(["refs/tags/v*"], "refs/tags/v9/x")).toBe(false);
    // And `refs/tags/**` is no fix: under FNM_PATHNAME it is `refs/tags/*`.
    expect(rulesetCovers(["refs/tags/**"], "refs/tags/v9/x")).toBe(false);
    expect(rulesetCovers([ALL_TAGS_RULESET_INCLUDE], "refs/tags/v9/x")).toBe(true);
  });
});

describe("the reference app: every ref a trust or runner group accepts is a protected tag", () => {
  const app = buildReferenceApp(Testing.app());
  const stacks = app.node.children.filter((c): c is TerraformStack => TerraformStack.isStack(c));
  const outs = new Map(stacks.map((s) => [s.node.id, synth(s)]));
  const rulesets = tagRulesetsOf(outs.get("clinical-github")!);

  test("the tag rulesets cover every tag; only the release App bypasses creation; nobody bypasses immutability", () => {
    expect(rulesets.immutable).toEqual(["refs/tags/**/*"]);
    expect(rulesets.creation).toEqual(["refs/tags/**/*"]);
    expect(rulesets.creationBypass).toEqual([{ actor_id: 904512, actor_type: "Integration", bypass_mode: "always" }]);
    // The App's key has one home, which only the compliance repository's default branch enters.
    const github = outs.get("clinical-github")!;
    const release = Object.values(resourcesOf(github, "github_repository_environment")).filter((e) => e.environment === "release");
    expect(release).toEqual([expect.objectContaining({ repository: expect.stringMatching(/^\$\{github_repository\.ComplianceWorkflows_Repository_[0-9A-F]{8}\.name\}$/), reviewers: [{ teams: [5501], users: [] }], can_admins_bypass: false })]);
    const policies = Object.values(resourcesOf(github, "github_repository_environment_deployment_policy")).filter((p) => /ReleaseEnvironment/.test(p.environment));
    expect(policies).toEqual([expect.objectContaining({ branch_pattern: expect.stringMatching(/\.default_branch\}$/) })]);
  });

  test("each job_workflow_ref an AWS trust accepts, each ref shape its operator admits, is covered", () => {
    const accepted: { operator: string; value: string }[] = [];
    for (const out of outs.values()) {
      for (const role of Object.values(resourcesOf(out, "aws_iam_role"))) {
        for (const s of statements(role.assume_role_policy)) {
          for (const [operator, conditions] of Object.entries(s.Condition ?? {})) {
            const value = conditions[`${GH}:job_workflow_ref`];
            if (value !== undefined) for (const v of [value].flat()) accepted.push({ operator, value: v });
            const sub = conditions[`${GH}:sub`];
            for (const v of sub === undefined ? [] : [sub].flat()) {
              const embedded = /job_workflow_ref:(.*)$/.exec(v);
              if (embedded) accepted.push({ operator, value: embedded[1] });
            }
          }
        }
      }
    }
    // Every deploy and evidence trust of the reference pins the workflow (one per repository and environment, at least).
    expect(accepted.length).toBeGreaterThan(10);
    let shapes = 0;
    for (const { operator, value } of accepted) {
      expect(["StringEquals", "StringLike"]).toContain(operator);
      const refs = operator === "StringLike" ? refShapes(refOf(value)) : [refOf(value)];
      for (const ref of refs) {
        expect(ref.startsWith("refs/tags/")).toBe(true);
        expectCovered(rulesets, ref);
        shapes++;
      }
    }
    expect(shapes).toBeGreaterThanOrEqual(accepted.length);
  });

  test("each runner group's selected workflow is at a covered tag", () => {
    const groups = Object.values(resourcesOf(outs.get("clinical-github")!, "github_actions_runner_group"));
    expect(groups.length).toBeGreaterThan(0);
    for (const g of groups) {
      for (const w of g.selected_workflows) {
        expect(refOf(w)).toBe("refs/tags/v1.4.2");
        expectCovered(rulesets, refOf(w));
      }
    }
  });
});

describe("a tag-pattern trust (v*), the widest a trust may be: every shape it accepts is covered", () => {
  const { stack: gh } = githubStackWithRepository();
  const rulesets = tagRulesetsOf(synth(gh));
  const pattern = new WorkflowRef({ repository: compliance, path: ".github/workflows/deploy-prod.yml", tag: "v*" });
  const subject = new GithubOidcSubject({ repository: repo, environment: production, format: GithubSubjectFormat.CLASSIC, workflow: pattern, workflowTagsProtected: true });

  test("AWS: StringLike ...@refs/tags/v* accepts v, v1.4.2, v9/x, v9/x/y ...: each is a protected tag", () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, "aws");
    new AwsProvider(stack, "aws", { region: "us-east-1" });
    new GithubDeployRole(stack, "Deploy", { oidcProvider: CiOidcProvider.githubActions(stack, "Github"), subject });
    const role = Object.values(resourcesOf(synth(stack), "aws_iam_role"))[0];
    const value = statements(role.assume_role_policy)[0].Condition!.StringLike[`${GH}:job_workflow_ref`] as string;
    expect(refOf(value)).toBe("refs/tags/v*");
    const shapes = refShapes(refOf(value));
    expect(shapes).toEqual(expect.arrayContaining(["refs/tags/v", "refs/tags/v1.4.2", "refs/tags/v9/x", "refs/tags/v9/x/y", "refs/tags/va/b/c/d/e"]));
    for (const ref of shapes) expectCovered(rulesets, ref);
  });

  test("GCP: assertion.job_workflow_ref.startsWith(...@refs/tags/v) accepts the same shapes: each is a protected tag", () => {
    const condition = githubWifSpec("wif", [subject]).attributeCondition;
    const prefix = /assertion\.job_workflow_ref\.startsWith\('([^']*)'\)/.exec(condition)![1];
    expect(refOf(prefix)).toBe("refs/tags/v");
    for (const ref of refShapes(`${refOf(prefix)}*`)) expectCovered(rulesets, ref);
  });
});

function githubStackWithRepository(props: Partial<ComplianceWorkflowsRepositoryProps> = {}): { app: App; stack: TerraformStack; repository: ComplianceWorkflowsRepository } {
  const app = Testing.app();
  const stack = new TerraformStack(app, "github");
  new GithubProvider(stack, "github", { owner: "hipaa-app-org" });
  const repository = new ComplianceWorkflowsRepository(stack, "Compliance", { ...repositoryProps, ...props });
  return { app, stack, repository };
}

describe("release tags are created only by the release automation App", () => {
  test("the control map says exactly who can create a trusted tag, and that rulesets cannot pin the tagged commit to the default branch", () => {
    const { stack } = githubStackWithRepository();
    const how = collectControlRecords(stack).implementations.map((i) => i.how).join("\n");
    expect(how).toContain("Only the GitHub App hipaa-release-bot (app id 904512, the creation ruleset's one bypass actor, Integration, always) can create a trusted tag; no person, team, repository role or organization admin can.");
    expect(how).toContain("GitHub rulesets cannot require the tagged commit to be on the default branch");
    expect(how).toContain("Repository and organization administrators can still edit or delete the rulesets");
  });

  test("the App's key has one home: environment release, which only the default branch enters, approved by the compliance team", () => {
    const { stack } = githubStackWithRepository();
    const out = synth(stack);
    const [env] = Object.values(resourcesOf(out, "github_repository_environment"));
    expect(env).toMatchObject({
      environment: "release",
      reviewers: [{ teams: [5501], users: [] }],
      prevent_self_review: true,
      can_admins_bypass: false,
      deployment_branch_policy: { protected_branches: false, custom_branch_policies: true },
    });
    const policies = Object.values(resourcesOf(out, "github_repository_environment_deployment_policy"));
    // The repository's actual default branch, whatever the organization names it; no tag policy.
    expect(policies).toEqual([expect.objectContaining({ branch_pattern: expect.stringMatching(/^\$\{github_repository\.Compliance_Repository_[0-9A-F]{8}\.default_branch\}$/) })]);
    expect(policies[0].tag_pattern).toBeUndefined();
    const { stack: trunk } = githubStackWithRepository({ defaultBranch: "trunk" });
    expect(Object.values(resourcesOf(synth(trunk), "github_repository_environment_deployment_policy"))[0].branch_pattern).toBe("trunk");
  });

  test("on the Team plan GitHub does not enforce the release environment's reviewers on a private repository: none are set, and the control map says so", () => {
    const { stack } = githubStackWithRepository({ plan: GithubPlan.TEAM });
    const [env] = Object.values(resourcesOf(synth(stack), "github_repository_environment"));
    expect(env.reviewers).toBeUndefined();
    expect(collectControlRecords(stack).exceptions).toEqual([expect.objectContaining({ section: "164.308(a)(4)", what: 'environment "release" of hipaa-app-org/compliance-workflows has no required reviewers' })]);
  });

  test("refused: no automation, a non-App actor, GitHub Actions' own app, a bad id or slug", () => {
    const { stack } = githubStackWithRepository();
    const missing = refusal(() => new ComplianceWorkflowsRepository(stack, "A", { ...repositoryProps, releaseAutomation: undefined }));
    expect(missing).toContain("github/A/releaseAutomation: no release automation is named");
    expect(missing).toContain("(45 CFR 164.312(c)(1)); create a GitHub App with contents: write on the compliance repository only");
    expect(refusal(() => new ComplianceWorkflowsRepository(stack, "B", { ...repositoryProps, releaseAutomation: { ...APP, type: "team" as "github-app" } }))).toContain('release automation type "team" is not "github-app"');
    const actions = refusal(() => new ComplianceWorkflowsRepository(stack, "C", { ...repositoryProps, releaseAutomation: { ...APP, appId: 15368 } }));
    expect(actions).toContain("github/C/releaseAutomation: release automation appId 15368 is GitHub Actions itself");
    expect(actions).toContain("(45 CFR 164.312(c)(1))");
    expect(refusal(() => new ComplianceWorkflowsRepository(stack, "D", { ...repositoryProps, releaseAutomation: { ...APP, appId: 0 } }))).toContain("appId 0 is not a positive integer");
    expect(refusal(() => new ComplianceWorkflowsRepository(stack, "E", { ...repositoryProps, releaseAutomation: { ...APP, slug: "Release Bot" } }))).toContain('slug "Release Bot" is not a GitHub App slug');
  });
});

describe("unprotected tags next to a trust of the compliance workflows are refused", () => {
  const reason = "sandbox organization used to rehearse the first apply";

  test("the construct: protectReleaseTags false needs a reason, and reaches the control map as an exception", () => {
    const { stack } = githubStackWithRepository();
    const message = refusal(() => new ComplianceWorkflowsRepository(stack, "A", { ...repositoryProps, protectReleaseTags: false }));
    expect(message).toContain("github/A: protectReleaseTags is false without a reason");
    expect(message).toContain("(45 CFR 164.312(c)(1))");
    const { stack: s } = githubStackWithRepository({ protectReleaseTags: false, unprotectedTagsReason: reason, releaseAutomation: undefined });
    const out = synth(s);
    expect(Object.values(resourcesOf(out, "github_repository_ruleset")).map((r) => r.target)).toEqual(["branch"]);
    expect(collectControlRecords(s).exceptions).toEqual([expect.objectContaining({ section: "164.312(c)(1)", reason })]);
  });

  test("a hand-built AWS trust (declaring the tags protected) next to an unprotected compliance repository fails synth", () => {
    const { app, stack } = githubStackWithRepository({ protectReleaseTags: false, unprotectedTagsReason: reason, releaseAutomation: undefined });
    const aws = new TerraformStack(app, "aws");
    new AwsProvider(aws, "aws", { region: "us-east-1" });
    const release = ApprovedRelease.parse("v1.4.2");
    const subject = new GithubOidcSubject({
      repository: repo,
      environment: production,
      format: GithubSubjectFormat.CLASSIC,
      workflow: new WorkflowRef({ repository: compliance, path: ".github/workflows/deploy-prod.yml", release }),
      workflowTagsProtected: true,
    });
    new GithubDeployRole(aws, "Deploy", { oidcProvider: CiOidcProvider.githubActions(aws, "Github"), subject });
    const message = refusal(() => Testing.synth(stack, true));
    expect(message).toContain("github/Compliance: protectReleaseTags is false, but aws/Deploy/Role names hipaa-app-org/compliance-workflows/.github/workflows/deploy-prod.yml@refs/tags/v1.4.2");
    expect(message).toContain("could create that tag, or delete and re-create it, on an unreviewed commit");
    expect(message).toContain("(45 CFR 164.312(c)(1)); protect the release tags");
  });

  test("so does a runner group admitting the workflows, even for a lower tier", () => {
    const { stack } = githubStackWithRepository({ protectReleaseTags: false, unprotectedTagsReason: reason, releaseAutomation: undefined });
    new RunnerGroup(stack, "Dev", {
      environment: dev,
      plan: GithubPlan.ENTERPRISE,
      repositories: [repo],
      workflows: [new WorkflowRef({ repository: compliance, path: ".github/workflows/deploy.yml", release: ApprovedRelease.parse("v1.4.2") })],
    });
    expect(refusal(() => Testing.synth(stack, true))).toContain("protectReleaseTags is false, but github/Dev/Group names hipaa-app-org/compliance-workflows/.github/workflows/deploy.yml@refs/tags/v1.4.2");
  });

  test("and a raw trust written by hand, whatever the case of the names", () => {
    const { app, stack } = githubStackWithRepository({ protectReleaseTags: false, unprotectedTagsReason: reason, releaseAutomation: undefined });
    const aws = new TerraformStack(app, "aws");
    new AwsProvider(aws, "aws", { region: "us-east-1" });
    new IamRole(aws, "Raw", {
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Federated: "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com" }, Action: "sts:AssumeRoleWithWebIdentity", Condition: { StringEquals: { [`${GH}:job_workflow_ref`]: "HIPAA-App-Org/Compliance-Workflows/.github/workflows/deploy-prod.yml@refs/tags/v1.4.2" } } }],
      }),
    });
    expect(refusal(() => Testing.synth(stack, true))).toContain("protectReleaseTags is false, but aws/Raw names hipaa-app-org/compliance-workflows/.github/workflows/deploy-prod.yml@refs/tags/v1.4.2");
  });
});
