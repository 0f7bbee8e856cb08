import { Construct } from "constructs";
import { RepositoryRuleset } from "@cdktf/provider-github/lib/repository-ruleset";
import { HipaaConfigError } from "../../src/errors";
import { ALL_TAGS_RULESET_INCLUDE, GithubFeature, GithubPlan, planHasFeature, RepositoryRef, RepositoryVisibility } from "../../src/model";
import { Cfr, recordControl, recordException } from "../../src/compliance";

export interface ApplicationRepositoryRulesetsProps {
  /** The application repository (it must exist; it is not created here). */
  readonly repository: RepositoryRef;
  readonly plan: GithubPlan;
  /** @default RepositoryVisibility.PRIVATE */
  readonly visibility?: RepositoryVisibility;
  /**
   * Approvals a pull request to the default branch needs.
   * @default 1
   */
  readonly requiredApprovals?: number;
}

/**
 * Rulesets on an application repository, so that what enters a deploy environment is reviewed
 * code: the default branch takes changes only through pull requests (an approval from someone
 * other than the last pusher, stale approvals dismissed, no force push, no deletion), and no tag
 * can be moved or deleted once created (`refs/tags/**` + `/*`, every depth under FNM_PATHNAME),
 * so the `v*.*.*` tag a production deploy was approved for is the commit it ran. Without these,
 * anyone with write access could push `main` or re-point a release tag to an unreviewed commit,
 * and only the environment's reviewers would stand in the way.
 */
export class ApplicationRepositoryRulesets extends Construct {
  public readonly defaultBranch: RepositoryRuleset;
  public readonly tags: RepositoryRuleset;

  constructor(scope: Construct, id: string, props: ApplicationRepositoryRulesetsProps) {
    super(scope, id);
    const approvals = props.requiredApprovals ?? 1;
    if (!Number.isInteger(approvals) || approvals < 1 || approvals > 10) {
      throw new HipaaConfigError({
        path: this.node.path,
        problem: `requiredApprovals ${approvals} is not 1-10: an unreviewed commit on the default branch could reach a deploy environment`,
        cfr: Cfr.INTEGRITY,
        fix: "require at least one approval (the default)",
      });
    }
    const repo = props.repository.name;
    this.defaultBranch = new RepositoryRuleset(this, "DefaultBranch", {
      name: "hipaa-default-branch",
      repository: repo,
      target: "branch",
      enforcement: "active",
      conditions: { refName: { include: ["~DEFAULT_BRANCH"], exclude: [] } },
      rules: {
        deletion: true,
        nonFastForward: true,
        pullRequest: {
          requiredApprovingReviewCount: approvals,
          dismissStaleReviewsOnPush: true,
          requireLastPushApproval: true,
          requiredReviewThreadResolution: true,
        },
      },
    });
    this.tags = new RepositoryRuleset(this, "ImmutableTags", {
      name: "hipaa-tags-immutable",
      repository: repo,
      target: "tag",
      enforcement: "active",
      conditions: { refName: { include: [ALL_TAGS_RULESET_INCLUDE], exclude: [] } },
      rules: { update: true, deletion: true, nonFastForward: true },
    });
    recordControl(this, {
      section: Cfr.INTEGRITY,
      resources: [this.defaultBranch, this.tags],
      how: `${props.repository.fullName}: the default branch changes only by pull request with ${approvals} approval(s) from someone other than the last pusher; tags cannot be moved or deleted. Tag creation is not restricted: the production environment's reviewers approve each run.`,
    });
    if (!planHasFeature(props.plan, GithubFeature.RULESETS, props.visibility ?? RepositoryVisibility.PRIVATE)) {
      recordException(this, {
        section: Cfr.INTEGRITY,
        what: `rulesets on ${props.repository.fullName} are not enforced on the ${props.plan} plan`,
        reason: "GitHub enforces rulesets on private repositories only on the Team and Enterprise plans; the rulesets are still declared so that they take effect on upgrade.",
      });
    }
  }
}
