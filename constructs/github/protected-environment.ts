import { Construct } from "constructs";
import { RepositoryEnvironment } from "@cdktf/provider-github/lib/repository-environment";
import { RepositoryEnvironmentDeploymentPolicy } from "@cdktf/provider-github/lib/repository-environment-deployment-policy";
import { HipaaConfigError } from "../../src/errors";
import { Environment, GithubFeature, GithubPlan, RepositoryRef, RepositoryVisibility, requireFeature } from "../../src/model";
import { Cfr, recordControl, recordException } from "../../src/compliance";
import { stableSuffix } from "../../src/naming";

/** A construct id for a ref pattern: readable, and unique even where two patterns differ only in symbols. */
function patternId(kind: string, pattern: string): string {
  return `${kind}-${pattern.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "")}-${stableSuffix(pattern, 6)}`;
}

/** The tag pattern production deploys from (seed: "Production deploys allowed only from refs/tags/v*", GitHub's `v*.*.*`). */
export const PRODUCTION_TAG_PATTERN = "v*.*.*";

export interface ProtectedEnvironmentProps {
  /** The repository that deploys. */
  readonly repository: RepositoryRef;
  readonly environment: Environment;
  /** The organization's plan and the repository's visibility decide whether GitHub enforces reviewers. */
  readonly plan: GithubPlan;
  readonly visibility: RepositoryVisibility;
  /** Numeric ids of the teams whose members approve deploys (team membership is the audited record). */
  readonly reviewerTeamIds: readonly number[];
  /** Numeric ids of individual reviewers; refused for PHI environments. @default - none */
  readonly reviewerUserIds?: readonly number[];
  /**
   * Minutes between approval and the deploy starting (0-43200).
   * @default 10 for production, 0 otherwise; PHI environments need at least 1
   */
  readonly waitTimerMinutes?: number;
  /** Branch patterns lower tiers may deploy from (refused for production). @default ["main"] for non-production */
  readonly branchPatterns?: readonly string[];
  /** Tag patterns lower tiers may deploy from. Production always uses `v*.*.*` only. @default - none */
  readonly tagPatterns?: readonly string[];
  /**
   * Let the author of a deploy approve it. Refused for PHI environments; elsewhere needs
   * `weakeningReason`.
   * @default false
   */
  readonly allowSelfReview?: boolean;
  /** Let administrators bypass the protections. Refused for PHI environments; elsewhere needs `weakeningReason`. @default false */
  readonly allowAdminBypass?: boolean;
  /** Required for allowSelfReview/allowAdminBypass; recorded in the control map. @default - none */
  readonly weakeningReason?: string;
}

const MAX_REVIEWERS = 6;
const MAX_WAIT = 43_200;
const PATTERN = /^[A-Za-z0-9._\/*-]{1,255}$/;

/**
 * A GitHub deployment environment that answers "which named human approved this production
 * deploy?": team reviewers who are not the author (`prevent_self_review`), no admin bypass, a
 * wait timer, and a custom deployment policy (production: tags `v*.*.*` only).
 */
export class ProtectedEnvironment extends Construct {
  public readonly resource: RepositoryEnvironment;
  public readonly policies: readonly RepositoryEnvironmentDeploymentPolicy[];
  public readonly environment: Environment;
  public readonly repository: RepositoryRef;

  constructor(scope: Construct, id: string, props: ProtectedEnvironmentProps) {
    super(scope, id);
    const path = this.node.path;
    const env = props.environment;
    this.environment = env;
    this.repository = props.repository;
    requireFeature(path, props.plan, GithubFeature.ENVIRONMENT_PROTECTION, props.visibility);
    const teams = props.reviewerTeamIds;
    const users = props.reviewerUserIds ?? [];
    if (teams.length + users.length < 1 || teams.length + users.length > MAX_REVIEWERS) {
      throw new HipaaConfigError({
        path,
        problem: `${teams.length + users.length} reviewers given; GitHub requires 1 to ${MAX_REVIEWERS}`,
        cfr: Cfr.ACCESS_MANAGEMENT,
        fix: "name the approver team (one team counts as one reviewer)",
      });
    }
    if (env.handlesPhi && users.length > 0) {
      throw new HipaaConfigError({
        path,
        problem: `individual users are reviewers of PHI environment "${env.name}"`,
        cfr: Cfr.WORKFORCE_SECURITY,
        fix: "approve through a team: team membership changes are the audited record of who may approve",
      });
    }
    for (const id of [...teams, ...users]) {
      if (!Number.isSafeInteger(id) || id <= 0) {
        throw new HipaaConfigError({ path, problem: `reviewer id ${id} is not a positive integer`, fix: "pass numeric team/user ids (gh api orgs/ORG/teams/SLUG --jq .id)" });
      }
    }
    const wait = props.waitTimerMinutes ?? (env.isProduction ? 10 : 0);
    if (!Number.isInteger(wait) || wait < 0 || wait > MAX_WAIT) {
      throw new HipaaConfigError({ path, problem: `wait timer ${wait} is outside 0-${MAX_WAIT} minutes`, fix: "choose whole minutes, e.g. 10" });
    }
    if (env.handlesPhi && wait < 1) {
      throw new HipaaConfigError({
        path,
        problem: `PHI environment "${env.name}" has no wait timer`,
        cfr: Cfr.ACCESS_MANAGEMENT,
        fix: "keep a wait timer of at least 1 minute (production default 10) so a mistaken approval can be cancelled",
      });
    }
    this.validateWeakenings(props);
    const { branches, tags } = this.deploymentPatterns(props);

    this.resource = new RepositoryEnvironment(this, "Environment", {
      repository: props.repository.name,
      environment: env.name,
      reviewers: [{ teams: [...teams], users: [...users] }],
      preventSelfReview: !props.allowSelfReview,
      canAdminsBypass: props.allowAdminBypass === true,
      waitTimer: wait,
      deploymentBranchPolicy: { protectedBranches: false, customBranchPolicies: true },
    });
    this.policies = [
      ...branches.map((p) => new RepositoryEnvironmentDeploymentPolicy(this, patternId("Branch", p), { repository: props.repository.name, environment: this.resource.environment, branchPattern: p })),
      ...tags.map((p) => new RepositoryEnvironmentDeploymentPolicy(this, patternId("Tag", p), { repository: props.repository.name, environment: this.resource.environment, tagPattern: p })),
    ];
    recordControl(this, {
      section: Cfr.ACCESS_MANAGEMENT,
      resources: [this.resource, ...this.policies],
      how: `${props.repository.fullName} deploys to ${env.name} only after approval by team(s) ${teams.join(", ")} (not the author), after ${wait} min, from ${[...branches.map((b) => `branch ${b}`), ...tags.map((t) => `tag ${t}`)].join(", ")}.`,
    });
    recordControl(this, {
      section: Cfr.AUDIT_CONTROLS,
      resources: [this.resource],
      how: "Every deployment records its approver and approval time in GitHub's deployment history.",
    });
  }

  private validateWeakenings(props: ProtectedEnvironmentProps): void {
    const weakenings = [props.allowSelfReview && "self review", props.allowAdminBypass && "admin bypass"].filter(Boolean) as string[];
    if (weakenings.length === 0) return;
    if (props.environment.handlesPhi) {
      throw new HipaaConfigError({
        path: this.node.path,
        problem: `${weakenings.join(" and ")} requested for PHI environment "${props.environment.name}"`,
        cfr: Cfr.ACCESS_MANAGEMENT,
        fix: "leave allowSelfReview and allowAdminBypass unset: an approver must be someone other than the author, and admins go through the same gate",
      });
    }
    const reason = props.weakeningReason?.trim();
    if (!reason || reason.length < 20) {
      throw new HipaaConfigError({
        path: this.node.path,
        problem: `${weakenings.join(" and ")} requested without a reason`,
        cfr: Cfr.ACCESS_MANAGEMENT,
        fix: "pass weakeningReason (at least 20 characters); it is recorded in the control map",
      });
    }
    recordException(this, { section: Cfr.ACCESS_MANAGEMENT, what: `${weakenings.join(" and ")} on ${props.repository.fullName}:${props.environment.name}`, reason });
  }

  private deploymentPatterns(props: ProtectedEnvironmentProps): { branches: readonly string[]; tags: readonly string[] } {
    const path = this.node.path;
    if (props.environment.isProduction) {
      if ((props.branchPatterns?.length ?? 0) > 0 || (props.tagPatterns ?? []).some((t) => t !== PRODUCTION_TAG_PATTERN)) {
        throw new HipaaConfigError({
          path,
          problem: `production may deploy only from tags ${PRODUCTION_TAG_PATTERN}; got branches ${JSON.stringify(props.branchPatterns ?? [])} and tags ${JSON.stringify(props.tagPatterns ?? [])}`,
          cfr: Cfr.INTEGRITY,
          fix: "leave branchPatterns and tagPatterns unset for production; a release tag is a positive act with provenance",
        });
      }
      return { branches: [], tags: [PRODUCTION_TAG_PATTERN] };
    }
    const branches = props.branchPatterns ?? (props.tagPatterns ? [] : ["main"]);
    const tags = props.tagPatterns ?? [];
    if (branches.length + tags.length === 0) {
      throw new HipaaConfigError({ path, problem: "no branch or tag may deploy", fix: "list the branches or tags this environment deploys from" });
    }
    for (const p of [...branches, ...tags]) {
      if (!PATTERN.test(p) || p === "*" || p === "**") {
        throw new HipaaConfigError({ path, problem: `deployment pattern ${JSON.stringify(p)} is not a branch or tag pattern, or admits every ref`, cfr: Cfr.ACCESS_MANAGEMENT, fix: "name the branches or tags, e.g. main or v*.*.*" });
      }
    }
    return { branches, tags };
  }
}
