import { Construct } from "constructs";
import { TerraformDataSource, TerraformElement, TerraformResource } from "cdktf";
import { ActionsRepositoryAccessLevel } from "@cdktf/provider-github/lib/actions-repository-access-level";
import { Repository } from "@cdktf/provider-github/lib/repository";
import { RepositoryEnvironment } from "@cdktf/provider-github/lib/repository-environment";
import { RepositoryEnvironmentDeploymentPolicy } from "@cdktf/provider-github/lib/repository-environment-deployment-policy";
import { RepositoryFile } from "@cdktf/provider-github/lib/repository-file";
import { RepositoryRuleset } from "@cdktf/provider-github/lib/repository-ruleset";
import { HipaaConfigError } from "../../src/errors";
import {
  ALL_TAGS_RULESET_INCLUDE,
  GithubFeature,
  GithubPlan,
  planHasFeature,
  ReleaseAutomation,
  RepositoryVisibility,
  requireFeature,
  validateGithubOrganization,
  validateReleaseAutomation,
} from "../../src/model";
import { Cfr, recordControl, recordException } from "../../src/compliance";

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
  /** The team that owns the compliance workflows: reviews every change (as code owners). */
  readonly complianceTeam: GithubTeamRef;
  /**
   * The GitHub App that creates release tags: the only bypass actor of the tag-creation ruleset.
   * Required while release tags are protected (the default).
   * @default - none; refused unless `protectReleaseTags` is false
   */
  readonly releaseAutomation?: ReleaseAutomation;
  /**
   * Approvals a pull request to the default branch needs.
   * @default 2
   */
  readonly requiredApprovals?: number;
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
   * Make every tag immutable and restrict its creation to `releaseAutomation`. Without it, no
   * trust or runner group in the same app may name these workflows (a tag nobody protects can be
   * created, or deleted and re-created, on any commit by anyone with write access).
   * @default true
   */
  readonly protectReleaseTags?: boolean;
  /** Why the tags are left unprotected (at least 20 characters; reaches the control map). Required with `protectReleaseTags: false`. @default - none */
  readonly unprotectedTagsReason?: string;
}

/**
 * The repository that holds the reusable workflows every deploy must run: private, with
 * vulnerability alerts, and callable from the organization's other repositories
 * (`github_actions_repository_access_level = "organization"`: a private repository's reusable
 * workflows are otherwise not callable from anywhere else); its default branch takes changes only
 * through pull requests approved by the compliance team (code-owner review, no force push, no
 * deletion, linear history); none of its tags (`refs/tags/**` + `/*`, every shape, `v9/x` included)
 * can be updated or deleted by anyone, and only the release automation GitHub App can create one.
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
  /**
   * The environment whose secret holds the release App's private key: only the default branch
   * can enter it, so only reviewed code can mint an App token and create a tag.
   */
  public readonly releaseEnvironment?: RepositoryEnvironment;
  public readonly releaseEnvironmentPolicy?: RepositoryEnvironmentDeploymentPolicy;
  /** The tag rulesets' `ref_name.include`: every tag, under GitHub's FNM_PATHNAME matching. */
  public readonly tagRulesetInclude: readonly string[] = [ALL_TAGS_RULESET_INCLUDE];
  /** The only actor that can create a tag, when tags are protected. */
  public readonly releaseAutomation?: ReleaseAutomation;
  /** True when the release tags are immutable and their creation restricted. */
  public readonly tagsProtected: boolean;

  constructor(scope: Construct, id: string, props: ComplianceWorkflowsRepositoryProps) {
    super(scope, id);
    const path = this.node.path;
    validateGithubOrganization(path, props.organization);
    requireFeature(path, props.plan, GithubFeature.RULESETS, RepositoryVisibility.PRIVATE);
    this.name = props.name ?? "compliance-workflows";
    this.organization = props.organization;
    const approvals = props.requiredApprovals ?? 2;
    if (!Number.isInteger(approvals) || approvals < 1 || approvals > 10) {
      throw new HipaaConfigError({ path, problem: `requiredApprovals ${approvals} is outside 1-10`, cfr: Cfr.INTEGRITY, fix: "require at least one approval from the compliance team (default 2)" });
    }
    if ((props as { releaseTagPattern?: unknown }).releaseTagPattern !== undefined) {
      throw new HipaaConfigError({
        path,
        problem: "releaseTagPattern is no longer read: a pattern such as v* left tags with a '/' (v9/x) unprotected while a trust's StringLike accepted them",
        cfr: Cfr.INTEGRITY,
        fix: "remove releaseTagPattern: every tag of the compliance repository is now immutable and created only by releaseAutomation",
      });
    }
    this.tagsProtected = props.protectReleaseTags !== false;
    if (this.tagsProtected) {
      this.releaseAutomation = validateReleaseAutomation(`${path}/releaseAutomation`, props.releaseAutomation);
    } else if ((props.unprotectedTagsReason?.trim().length ?? 0) < 20) {
      throw new HipaaConfigError({
        path,
        problem: "protectReleaseTags is false without a reason: anyone with write access could create, or delete and re-create, any tag on any commit",
        cfr: Cfr.INTEGRITY,
        fix: "keep the tags protected (the default), or pass unprotectedTagsReason of at least 20 characters; no trust or runner group may then name these workflows",
      });
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
    // Every tag, not `refs/tags/v*`: rulesets match with FNM_PATHNAME, so `v*` leaves `v9/x`
    // unprotected while a trust's StringLike `v*` (whose `*` crosses `/`) accepts it, and
    // `refs/tags/**` alone is `refs/tags/*` under FNM_PATHNAME. `**/*` is every depth.
    const tags = { refName: { include: [...this.tagRulesetInclude], exclude: [] } };
    // Two rulesets, because a bypass actor bypasses every rule of its ruleset: nobody, the
    // release automation included, may move or delete a tag...
    this.tagRuleset = !this.tagsProtected ? undefined : new RepositoryRuleset(this, "ReleaseTagRuleset", {
      name: "compliance-release-tags-immutable",
      repository: this.repository.name,
      target: "tag",
      enforcement: "active",
      conditions: tags,
      rules: { update: true, deletion: true, nonFastForward: true },
      dependsOn: files,
    });
    // ...and only the release automation App may create one. No Team, RepositoryRole or
    // OrganizationAdmin bypass: one person could then tag an unreviewed commit on any branch and
    // the trusts would accept it, defeating the default branch's two-approver rule.
    this.tagCreationRuleset = !this.tagsProtected ? undefined : new RepositoryRuleset(this, "ReleaseTagCreationRuleset", {
      name: "compliance-release-tags-creation",
      repository: this.repository.name,
      target: "tag",
      enforcement: "active",
      conditions: tags,
      bypassActors: [{ actorId: this.releaseAutomation!.appId, actorType: "Integration", bypassMode: "always" }],
      rules: { creation: true },
      dependsOn: files,
    });

    // Rulesets cannot require a tag's commit to be on the default branch. What can: the App's
    // key is an environment secret, and only the default branch can enter that environment (a
    // workflow pushed on any other branch is refused the environment, and so the secret).
    // Reviewers where the plan enforces them on a private repository (Enterprise).
    const reviewed = planHasFeature(props.plan, GithubFeature.ENVIRONMENT_PROTECTION, RepositoryVisibility.PRIVATE);
    if (this.tagsProtected) {
      this.releaseEnvironment = new RepositoryEnvironment(this, "ReleaseEnvironment", {
        repository: this.repository.name,
        environment: "release",
        reviewers: reviewed ? [{ teams: [props.complianceTeam.id], users: [] }] : undefined,
        preventSelfReview: true,
        canAdminsBypass: false,
        deploymentBranchPolicy: { protectedBranches: false, customBranchPolicies: true },
      });
      this.releaseEnvironmentPolicy = new RepositoryEnvironmentDeploymentPolicy(this, "ReleaseEnvironmentDefaultBranch", {
        repository: this.repository.name,
        environment: this.releaseEnvironment.environment,
        // The repository's actual default branch, read back after creation, unless given.
        branchPattern: branch ?? this.repository.defaultBranch,
      });
      recordControl(this, {
        section: Cfr.ACCESS_MANAGEMENT,
        resources: [this.releaseEnvironment, this.releaseEnvironmentPolicy],
        how: `The release App's private key is a secret of environment "release" (stored by hand, never in Terraform), which only the default branch can enter${reviewed ? `, after approval by ${props.organization}/${props.complianceTeam.slug} (not the person who started the release), no admin bypass` : ""}: a workflow on any other branch cannot obtain an App token.`,
      });
      if (!reviewed) {
        recordException(this, {
          section: Cfr.ACCESS_MANAGEMENT,
          what: `environment "release" of ${props.organization}/${this.name} has no required reviewers`,
          reason: `GitHub enforces environment reviewers on private repositories only on Enterprise Cloud; the ${props.plan} plan is declared. Releases still run only from the reviewed default branch.`,
        });
      }
    }

    recordControl(this, {
      section: Cfr.INTEGRITY,
      resources: [this.repository, this.branchRuleset, ...(this.tagRuleset ? [this.tagRuleset, this.tagCreationRuleset!] : [])],
      how: `Workflow changes need ${approvals} approvals including code owners (${props.complianceTeam.slug})${this.tagsProtected ? `; no tag (${this.tagRulesetInclude.join(", ")}: every tag, under GitHub's FNM_PATHNAME matching) can be moved or deleted by anyone, the release automation and administrators included` : "; tags are NOT protected, and no trust or runner group may name these workflows"}.`,
    });
    const app = this.releaseAutomation;
    recordControl(this, {
      section: Cfr.ACCESS_MANAGEMENT,
      resources: [this.branchRuleset, ...(this.tagRuleset ? [this.tagRuleset, this.tagCreationRuleset!] : [])],
      how: app
        ? `Only ${props.organization}/${props.complianceTeam.slug} (code owners, ${approvals} approvals) can change the compliance workflows. Only the GitHub App ${app.slug} (app id ${app.appId}, the creation ruleset's one bypass actor, Integration, always) can create a trusted tag; no person, team, repository role or organization admin can. GitHub rulesets cannot require the tagged commit to be on the default branch: that rests on the App's private key being usable only by the release workflow on the default branch, which tags the commit it runs on. Repository and organization administrators can still edit or delete the rulesets (recorded in the organization audit log).`
        : `Only ${props.organization}/${props.complianceTeam.slug} (code owners, ${approvals} approvals) can change the compliance workflows; tags are not protected.`,
    });
    if (!this.tagsProtected) {
      recordException(this, { section: Cfr.INTEGRITY, what: `tags of ${props.organization}/${this.name} are not protected (anyone with write access can create, move or delete them)`, reason: props.unprotectedTagsReason!.trim() });
      // A trust or runner group that names these workflows at a tag would accept a tag anyone
      // with write access creates; they are found at synth, wherever in the app they were built.
      this.node.addValidation({ validate: () => this.unprotectedTrusts(path) });
    }
    recordControl(this, {
      section: Cfr.ACCESS_CONTROL,
      resources: [this.accessLevel],
      how: `The reusable workflows can be called by ${props.organization}'s own repositories only (access level "organization"), never by public repositories.`,
    });
  }

  /**
   * With unprotected tags: every resource or data source elsewhere in the app that names these
   * workflows (an AWS trust's `job_workflow_ref`, a WIF condition, a runner group's
   * `selected_workflows`, a claim-template subject), however it was built, hand-written ones
   * included.
   */
  private unprotectedTrusts(path: string): string[] {
    // GitHub names are case-insensitive; so is the search.
    const needle = `${this.organization}/${this.name}/.github/workflows/`.toLowerCase();
    const errors: string[] = [];
    for (const construct of this.node.root.node.findAll()) {
      if (!TerraformElement.isTerraformElement(construct) || construct.node.path.startsWith(`${this.node.path}/`)) continue;
      if (!(TerraformResource.isTerraformResource(construct) || TerraformDataSource.isTerraformDataSource(construct))) continue;
      const json = JSON.stringify(construct.toTerraform()).toLowerCase();
      const at = json.indexOf(needle);
      if (at < 0) continue;
      const ref = /^[^"\\]*/.exec(json.slice(at))![0];
      errors.push(
        new HipaaConfigError({
          path,
          problem: `protectReleaseTags is false, but ${construct.node.path} names ${ref}: anyone with write access to ${this.organization}/${this.name} could create that tag, or delete and re-create it, on an unreviewed commit, and it would be accepted`,
          cfr: Cfr.INTEGRITY,
          fix: "protect the release tags (protectReleaseTags: true, the default, with releaseAutomation), or stop trusting these workflows",
        }).message,
      );
    }
    return errors;
  }
}
