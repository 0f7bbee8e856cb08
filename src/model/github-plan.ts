import { HipaaConfigError } from "../errors";

/** The GitHub plan of the organization, which decides which governance features exist. */
export enum GithubPlan {
  FREE = "free",
  TEAM = "team",
  ENTERPRISE = "enterprise",
}

/** Repository visibility. */
export enum RepositoryVisibility {
  PUBLIC = "public",
  PRIVATE = "private",
  INTERNAL = "internal",
}

/**
 * Governance features and the plans that have them, as GitHub documents them:
 * - environment required reviewers and wait timers on private/internal repositories: Enterprise
 *   (public repositories: every plan);
 * - rulesets on private/internal repositories: Team and Enterprise;
 * - organization runner groups restricted to selected repositories: Team and Enterprise;
 * - runner groups restricted to selected workflows: Enterprise.
 */
export enum GithubFeature {
  ENVIRONMENT_PROTECTION = "environment required reviewers and wait timer",
  RULESETS = "repository rulesets",
  RUNNER_GROUPS = "runner groups limited to selected repositories",
  RUNNER_GROUP_WORKFLOW_RESTRICTION = "runner groups restricted to selected workflows",
}

/** Whether the plan offers the feature for a repository of the given visibility. */
export function planHasFeature(plan: GithubPlan, feature: GithubFeature, visibility: RepositoryVisibility = RepositoryVisibility.PRIVATE): boolean {
  const isPublic = visibility === RepositoryVisibility.PUBLIC;
  switch (feature) {
    case GithubFeature.ENVIRONMENT_PROTECTION:
      return isPublic || plan === GithubPlan.ENTERPRISE;
    case GithubFeature.RULESETS:
      return isPublic || plan !== GithubPlan.FREE;
    case GithubFeature.RUNNER_GROUPS:
      return plan !== GithubPlan.FREE;
    case GithubFeature.RUNNER_GROUP_WORKFLOW_RESTRICTION:
      return plan === GithubPlan.ENTERPRISE;
  }
}

/** Refuses a configuration that relies on a feature the plan lacks. */
export function requireFeature(path: string, plan: GithubPlan, feature: GithubFeature, visibility?: RepositoryVisibility): void {
  if (!planHasFeature(plan, feature, visibility)) {
    throw new HipaaConfigError({
      path,
      problem: `${feature} ${visibility ? `on a ${visibility} repository ` : ""}is not available on the GitHub ${plan} plan`,
      fix: `move the organization to a plan that has it (${feature === GithubFeature.RULESETS || feature === GithubFeature.RUNNER_GROUPS ? "Team or Enterprise" : "Enterprise"}), or set the plan in the configuration to the one you have and accept what it cannot enforce where the construct allows it`,
    });
  }
}
