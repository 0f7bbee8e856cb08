import { Construct } from "constructs";
import { BranchProtection } from "@cdktf/provider-gitlab/lib/branch-protection";
import { ProjectApprovalRule } from "@cdktf/provider-gitlab/lib/project-approval-rule";
import { ProjectJobTokenScopes } from "@cdktf/provider-gitlab/lib/project-job-token-scopes";
import { ProjectLevelMrApprovals } from "@cdktf/provider-gitlab/lib/project-level-mr-approvals";
import { TagProtection } from "@cdktf/provider-gitlab/lib/tag-protection";
import { HipaaConfigError } from "../../src/errors";
import { GitlabProjectRef, GitlabRefType } from "../../src/model";
import { Cfr, recordControl, recordException } from "../../src/compliance";
import { GitlabGroupRef, validateGroup } from "./gitlab-group";

export interface GitlabProjectProtectionsProps {
  readonly project: GitlabProjectRef;
  /** The project's numeric id (job-token allow-lists name projects by id). */
  readonly projectId: number;
  /** @default "main" */
  readonly defaultBranch?: string;
  /**
   * Release tags: protected, created only by the maintainer group. A trailing `*` is a pattern
   * (`v*`). GitLab turns `*` into `.*` (`Gitlab::RefMatcher`), so `v*` also covers `v1/x`: the
   * same set a WIF condition's `ref.startsWith('v')` and an IAM `StringLike ...:ref:v*` accept.
   * @default "v*"
   */
  readonly releaseTagPattern?: string;
  /** Who may merge to the default branch and create release tags. */
  readonly maintainerGroup: GitlabGroupRef;
  /** Whose approval a merge request to the default branch needs, besides code owners. @default maintainerGroup */
  readonly reviewerGroup?: GitlabGroupRef;
  /** Approvals a merge request to the default branch needs. @default 2 */
  readonly mergeRequestApprovals?: number;
  /** Other branches to protect the same way (e.g. a lower tier's deploy branch). @default - none */
  readonly extraProtectedBranches?: readonly string[];
  /**
   * Projects (numeric ids) whose CI job tokens may access this project, e.g. the parent pipeline
   * that triggers this project's child pipeline. The allow-list is enforced either way.
   * @default - none: only this project's own jobs
   */
  readonly jobTokenAllowList?: readonly number[];
  /**
   * Let a merge request's author approve it. Refused when `handlesPhi`; elsewhere needs
   * `authorApprovalReason`.
   * @default false
   */
  readonly allowAuthorApproval?: boolean;
  /** Why authors may approve their own merge requests (at least 20 characters); recorded. @default - none */
  readonly authorApprovalReason?: string;
  /** Whether any environment this project deploys to handles PHI. */
  readonly handlesPhi: boolean;
}

/** A ref a protection covers: a branch or a tag, exact or with a trailing `*`. */
export interface GitlabProtectedRef {
  readonly refType: GitlabRefType;
  readonly pattern: string;
}

const REF = /^[A-Za-z0-9._\/-]{1,255}\*?$/;

/**
 * The repository protections a GitLab project needs before a cloud may trust its refs (45 CFR
 * 164.312(c)(1), 164.308(a)(4)): the default branch and any extra branches accept no direct
 * push and no force push, are merged only by the maintainer group after code-owner approval and
 * `mergeRequestApprovals` approvals from the reviewer group (never the author's own, and reset
 * by a new push), release tags are created only by the maintainer group, and the CI job token
 * allow-list names the only other projects whose jobs may reach this one.
 */
export class GitlabProjectProtections extends Construct {
  public readonly project: GitlabProjectRef;
  public readonly defaultBranch: string;
  public readonly branches: readonly BranchProtection[];
  public readonly releaseTags: TagProtection;
  public readonly approvalRule: ProjectApprovalRule;
  public readonly mergeRequestApprovals: ProjectLevelMrApprovals;
  public readonly jobTokenScopes: ProjectJobTokenScopes;
  /** Every ref these protections cover. */
  public readonly protectedRefs: readonly GitlabProtectedRef[];

  constructor(scope: Construct, id: string, props: GitlabProjectProtectionsProps) {
    super(scope, id);
    const path = this.node.path;
    const project = props.project.path;
    const maintainers = validateGroup(path, "maintainerGroup", props.maintainerGroup);
    const reviewers = validateGroup(path, "reviewerGroup", props.reviewerGroup ?? props.maintainerGroup);
    this.project = props.project;
    this.defaultBranch = props.defaultBranch ?? "main";
    const tagPattern = props.releaseTagPattern ?? "v*";
    const branchNames = [...new Set([this.defaultBranch, ...(props.extraProtectedBranches ?? [])])];
    for (const ref of [...branchNames, tagPattern]) {
      if (!REF.test(ref) || ref === "*" || ref.includes("..")) {
        throw new HipaaConfigError({ path, problem: `ref ${JSON.stringify(ref)} is not a branch or tag name (one trailing * at most, never * alone)`, cfr: Cfr.INTEGRITY, fix: "name the branch, or a tag pattern such as v*" });
      }
    }
    const approvals = props.mergeRequestApprovals ?? 2;
    if (!Number.isInteger(approvals) || approvals < 1) {
      throw new HipaaConfigError({ path, problem: `mergeRequestApprovals ${JSON.stringify(approvals)} is below 1: merges to ${this.defaultBranch} would need no review`, cfr: Cfr.INTEGRITY, fix: "require at least 1 approval (the default is 2)" });
    }
    if (props.allowAuthorApproval) {
      const reason = props.authorApprovalReason?.trim() ?? "";
      if (props.handlesPhi || reason.length < 20) {
        throw new HipaaConfigError({
          path,
          problem: `merge request authors may approve their own changes to ${project}${props.handlesPhi ? ", which deploys to a PHI environment" : " without a reason"}`,
          cfr: Cfr.ACCESS_MANAGEMENT,
          fix: props.handlesPhi ? "leave allowAuthorApproval unset: a second person reviews every change that reaches PHI" : "leave allowAuthorApproval unset, or pass authorApprovalReason (at least 20 characters)",
        });
      }
      recordException(this, { section: Cfr.ACCESS_MANAGEMENT, what: `merge request authors may approve their own changes on ${project}`, reason });
    }

    const onlyMaintainers = [{ groupId: maintainers.id }];
    this.branches = branchNames.map(
      (branch) =>
        new BranchProtection(this, branch === this.defaultBranch ? "DefaultBranch" : `Branch-${branch.replace(/[^A-Za-z0-9]+/g, "-")}`, {
          project,
          branch,
          // Every change arrives through a merge request: nobody pushes, and history is never rewritten.
          pushAccessLevel: "no one",
          mergeAccessLevel: "no one",
          allowedToMerge: onlyMaintainers,
          unprotectAccessLevel: "maintainer",
          allowForcePush: false,
          codeOwnerApprovalRequired: true,
        }),
    );
    this.releaseTags = new TagProtection(this, "ReleaseTags", { project, tag: tagPattern, createAccessLevel: "no one", allowedToCreate: onlyMaintainers });
    this.approvalRule = new ProjectApprovalRule(this, "DefaultBranchApprovals", {
      project,
      name: `hipaa-${this.defaultBranch.replace(/[^A-Za-z0-9]+/g, "-")}-review`,
      approvalsRequired: approvals,
      groupIds: [reviewers.id],
      protectedBranchIds: [this.branches[0].branchProtectionId],
    });
    this.mergeRequestApprovals = new ProjectLevelMrApprovals(this, "MergeRequestApprovals", {
      project,
      mergeRequestsAuthorApproval: props.allowAuthorApproval === true,
      mergeRequestsDisableCommittersApproval: props.allowAuthorApproval !== true,
      resetApprovalsOnPush: true,
      disableOverridingApproversPerMergeRequest: true,
    });
    this.jobTokenScopes = new ProjectJobTokenScopes(this, "JobTokenAllowList", {
      project,
      enabled: true,
      targetProjectIds: [...new Set(props.jobTokenAllowList ?? [])].sort((a, b) => a - b),
    });
    this.protectedRefs = [...branchNames.map((b) => ({ refType: GitlabRefType.BRANCH, pattern: b })), { refType: GitlabRefType.TAG, pattern: tagPattern }];
    recordControl(this, {
      section: Cfr.INTEGRITY,
      resources: [...this.branches, this.releaseTags, this.approvalRule, this.mergeRequestApprovals],
      how: `${project}: ${branchNames.join(", ")} change only through merge requests with code-owner and ${approvals} reviewer approval(s), no force push; ${tagPattern} tags are created only by ${maintainers.path}.`,
    });
    recordControl(this, {
      section: Cfr.ACCESS_MANAGEMENT,
      resources: [this.jobTokenScopes, this.mergeRequestApprovals],
      how: `Only the listed projects' CI job tokens reach ${project}; authors ${props.allowAuthorApproval ? "may" : "may not"} approve their own merge requests.`,
    });
  }

  /** True when `ref` of `refType` is covered: the same exact name, or the same pattern. */
  public protects(refType: GitlabRefType, ref: string): boolean {
    return this.protectedRefs.some((p) => p.refType === refType && p.pattern === ref) || this.protectedRefs.some((p) => p.refType === refType && p.pattern.endsWith("*") && !ref.endsWith("*") && ref.startsWith(p.pattern.slice(0, -1)));
  }
}
