import { Construct } from "constructs";
import { ActionsRepositoryAccessLevel } from "@cdktf/provider-github/lib/actions-repository-access-level";
import { Repository } from "@cdktf/provider-github/lib/repository";
import { RepositoryFile } from "@cdktf/provider-github/lib/repository-file";
import { RepositoryRuleset } from "@cdktf/provider-github/lib/repository-ruleset";
import { HipaaConfigError } from "../../src/errors";
import { GithubFeature, GithubPlan, RepositoryVisibility, requireFeature, validateGithubOrganization } from "../../src/model";
import { Cfr, recordControl } from "../../src/compliance";

/** A team, by the numeric id rulesets and environments need and the slug CODEOWNERS needs. */
export interface GithubTeamRef {
  readonly id: number;
  readonly slug: string;
}

export interface ComplianceWorkflowsRepositoryProps {
  readonly organization: string;
  /** @default "compliance-workflows" */
  readonly name?: string;
  readonly plan: GithubPlan;
  /** The team that owns the compliance workflows: reviews every change and cuts releases. */
  readonly complianceTeam: GithubTeamRef;
  /**
   * Approvals a pull request to the default branch needs.
   * @default 2
   */
  readonly requiredApprovals?: number;
  /**
   * Release tags made immutable and restricted to the compliance team (`refs/tags/<pattern>`).
   * @default "v*"
   */
  readonly releaseTagPattern?: string;
  /**
   * Reusable workflow files to commit, by path (`.github/workflows/deploy-prod.yml`), as the
   * caller provides them. Committed once, before the rulesets exist; Terraform never updates them
   * afterwards (the default branch takes changes only through reviewed pull requests, so a
   * Terraform commit would fail), and later changes go through pull requests.
   * @default - none
   */
  readonly workflowFiles?: Readonly<Record<string, string>>;
  /**
   * The branch CODEOWNERS and the workflow files are committed to: the repository's default
   * branch, which the branch ruleset protects (`~DEFAULT_BRANCH`).
   * @default - the default branch GitHub creates (the organization's default branch name), so the
   *   first apply does not depend on that setting being "main"
   */
  readonly defaultBranch?: string;
  /**
   * Make release tags immutable and restrict their creation. Without it, no cloud trust may use a
   * `v*` tag pattern for these workflows.
   * @default true
   */
  readonly protectReleaseTags?: boolean;
}

/**
 * The repository that holds the reusable workflows every deploy must run: private, with
 * vulnerability alerts, and callable from the organization's other repositories
 * (`github_actions_repository_access_level = "organization"`: a private repository's reusable
 * workflows are otherwise not callable from anywhere else); its default branch takes changes only
 * through pull requests approved by the compliance team (code-owner review, no force push, no
 * deletion, linear history); its `v*` release tags cannot be updated or deleted, and only the
 * compliance team can create them.
 *
 * CODEOWNERS and the optional workflow files are committed once, on the first apply, before the
 * rulesets exist, and never managed again: the same stack makes the default branch
 * pull-request-only, so any later Terraform commit to it would fail. They change by pull request.
 */
export class ComplianceWorkflowsRepository extends Construct {
  public readonly repository: Repository;
  /** Lets the organization's repositories call the reusable workflows. */
  public readonly accessLevel: ActionsRepositoryAccessLevel;
  public readonly name: string;
  public readonly organization: string;
  public readonly branchRuleset: RepositoryRuleset;
  public readonly tagRuleset?: RepositoryRuleset;
  public readonly tagCreationRuleset?: RepositoryRuleset;
  public readonly releaseTagPattern: string;
  /** True when the release tags are immutable and their creation restricted. */
  public readonly tagsProtected: boolean;

  constructor(scope: Construct, id: string, props: ComplianceWorkflowsRepositoryProps) {
    super(scope, id);
    const path = this.node.path;
    validateGithubOrganization(path, props.organization);
    requireFeature(path, props.plan, GithubFeature.RULESETS, RepositoryVisibility.PRIVATE);
    this.name = props.name ?? "compliance-workflows";
    this.organization = props.organization;
    this.releaseTagPattern = props.releaseTagPattern ?? "v*";
    const approvals = props.requiredApprovals ?? 2;
    if (!Number.isInteger(approvals) || approvals < 1 || approvals > 10) {
      throw new HipaaConfigError({ path, problem: `requiredApprovals ${approvals} is outside 1-10`, cfr: Cfr.INTEGRITY, fix: "require at least one approval from the compliance team (default 2)" });
    }
    if (!/^[A-Za-z0-9._\/-]*\*?$/.test(this.releaseTagPattern) || this.releaseTagPattern === "*") {
      throw new HipaaConfigError({ path, problem: `release tag pattern ${JSON.stringify(this.releaseTagPattern)} protects every tag or is malformed`, fix: "use a version prefix such as v*" });
    }
    if (!Number.isSafeInteger(props.complianceTeam.id) || props.complianceTeam.id <= 0 || !/^[a-z0-9][a-z0-9_-]*$/.test(props.complianceTeam.slug)) {
      throw new HipaaConfigError({ path, problem: `compliance team ${JSON.stringify(props.complianceTeam)} needs a numeric id and a slug`, fix: "gh api orgs/ORG/teams/SLUG --jq '.id, .slug'" });
    }
    const branch = props.defaultBranch;

    this.repository = new Repository(this, "Repository", {
      name: this.name,
      description: "Reusable workflows every HIPAA deploy runs; changes by compliance-team review only",
      visibility: "private",
      vulnerabilityAlerts: true,
      autoInit: true,
      hasIssues: true,
      hasWiki: false,
      hasProjects: false,
      allowMergeCommit: false,
      allowSquashMerge: true,
      allowRebaseMerge: true,
      deleteBranchOnMerge: true,
      archiveOnDestroy: true,
      lifecycle: { preventDestroy: true },
    });

    // Without this, a private repository's reusable workflows can be called only from inside it:
    // every application repository's `uses: ORG/compliance-workflows/...@vX.Y.Z` would fail.
    // "organization" and not "enterprise": only this organization's repositories deploy.
    this.accessLevel = new ActionsRepositoryAccessLevel(this, "ActionsAccessLevel", {
      repository: this.repository.name,
      accessLevel: "organization",
    });

    // Created once and never managed again: the rulesets below make the default branch
    // pull-request-only, so an update (or the replacement a changed argument would plan) commits
    // straight to a protected branch and fails on every later apply. ignore_changes = all, not
    // just content: any changed argument of github_repository_file is applied as a new commit.
    // overwrite_on_create = false: a file already in the repository is never clobbered
    // (import it instead). Later changes are pull requests reviewed by the code owners.
    const createOnce = { overwriteOnCreate: false, lifecycle: { ignoreChanges: "all" as const } };
    const files = [
      new RepositoryFile(this, "CodeOwners", {
        repository: this.repository.name,
        branch,
        file: ".github/CODEOWNERS",
        content: `# Every change to the compliance workflows is reviewed by the compliance team.\n* @${props.organization}/${props.complianceTeam.slug}\n`,
        commitMessage: "Compliance team owns every file",
        ...createOnce,
      }),
      ...Object.entries(props.workflowFiles ?? {}).map(([file, content]) => {
        if (!/^\.github\/workflows\/[A-Za-z0-9._-]+\.ya?ml$/.test(file)) {
          throw new HipaaConfigError({ path, problem: `workflow file path ${JSON.stringify(file)} is not under .github/workflows/`, fix: "name files like .github/workflows/deploy-prod.yml" });
        }
        return new RepositoryFile(this, `Workflow-${file.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "")}`, {
          repository: this.repository.name,
          branch,
          file,
          content,
          commitMessage: `Add ${file}`,
          ...createOnce,
        });
      }),
    ];

    this.branchRuleset = new RepositoryRuleset(this, "DefaultBranchRuleset", {
      name: "compliance-default-branch",
      repository: this.repository.name,
      target: "branch",
      enforcement: "active",
      conditions: { refName: { include: ["~DEFAULT_BRANCH"], exclude: [] } },
      rules: {
        deletion: true,
        nonFastForward: true,
        requiredLinearHistory: true,
        pullRequest: {
          requiredApprovingReviewCount: approvals,
          requireCodeOwnerReview: true,
          dismissStaleReviewsOnPush: true,
          requireLastPushApproval: true,
          requiredReviewThreadResolution: true,
        },
      },
      dependsOn: files,
    });
    this.tagsProtected = props.protectReleaseTags !== false;
    const tags = { refName: { include: [`refs/tags/${this.releaseTagPattern}`], exclude: [] } };
    // Two rulesets, because a bypass actor bypasses every rule of its ruleset: nobody, the
    // compliance team included, may move or delete a release tag...
    this.tagRuleset = !this.tagsProtected ? undefined : new RepositoryRuleset(this, "ReleaseTagRuleset", {
      name: "compliance-release-tags-immutable",
      repository: this.repository.name,
      target: "tag",
      enforcement: "active",
      conditions: tags,
      rules: { update: true, deletion: true, nonFastForward: true },
      dependsOn: files,
    });
    // ...and only the compliance team may create one.
    this.tagCreationRuleset = !this.tagsProtected ? undefined : new RepositoryRuleset(this, "ReleaseTagCreationRuleset", {
      name: "compliance-release-tags-creation",
      repository: this.repository.name,
      target: "tag",
      enforcement: "active",
      conditions: tags,
      bypassActors: [{ actorId: props.complianceTeam.id, actorType: "Team", bypassMode: "always" }],
      rules: { creation: true },
      dependsOn: files,
    });

    recordControl(this, {
      section: Cfr.INTEGRITY,
      resources: [this.repository, this.branchRuleset, ...(this.tagRuleset ? [this.tagRuleset, this.tagCreationRuleset!] : [])],
      how: `Workflow changes need ${approvals} approvals including code owners (${props.complianceTeam.slug})${this.tagsProtected ? `; release tags ${this.releaseTagPattern} cannot be moved or deleted` : "; release tags are NOT protected"}.`,
    });
    recordControl(this, {
      section: Cfr.ACCESS_MANAGEMENT,
      resources: [this.branchRuleset, ...(this.tagRuleset ? [this.tagRuleset, this.tagCreationRuleset!] : [])],
      how: `Only ${props.organization}/${props.complianceTeam.slug} can change or release the compliance workflows.`,
    });
    recordControl(this, {
      section: Cfr.ACCESS_CONTROL,
      resources: [this.accessLevel],
      how: `The reusable workflows can be called by ${props.organization}'s own repositories only (access level "organization"), never by public repositories.`,
    });
  }
}
