import { Construct } from "constructs";
import { UserRunner } from "@cdktf/provider-gitlab/lib/user-runner";
import { HipaaConfigError } from "../../src/errors";
import { Environment } from "../../src/model";
import { Cfr, recordControl, recordException } from "../../src/compliance";

export interface GitlabProtectedRunnerProps {
  readonly environment: Environment;
  /** The project (numeric id) whose deploy jobs the runner serves. */
  readonly projectId: number;
  /**
   * Run jobs only for protected branches and tags (`access_level = "ref_protected"`). Turning it
   * off is refused for PHI environments and needs `unprotectedReason` elsewhere.
   * @default true
   */
  readonly refProtected?: boolean;
  /** Why an unprotected ref may use this environment's runner (at least 20 characters). @default - none */
  readonly unprotectedReason?: string;
}

/** The tag a deploy job names to reach an environment's runner (seed: `tags: ["hipaa-prod-runner"]`). */
export function runnerTag(environment: Environment): string {
  return `hipaa-${environment.name}-runner`;
}

/**
 * An environment's GitLab runner registration (`gitlab_user_runner`, project type): tagged
 * `hipaa-<env>-runner`, never picking up untagged jobs, locked to its project, and running only
 * jobs of protected branches and tags, so a job from an unprotected branch can never reach the
 * runner that holds the environment's cloud identity (45 CFR 164.312(a)(1)). The runner's
 * authentication token is a computed attribute stored in this stack's Terraform state: keep that
 * state encrypted and readable only by the platform team, and hand the token to the runner
 * host through a secret store.
 */
export class GitlabProtectedRunner extends Construct {
  public readonly runner: UserRunner;
  public readonly tag: string;

  constructor(scope: Construct, id: string, props: GitlabProtectedRunnerProps) {
    super(scope, id);
    const path = this.node.path;
    const refProtected = props.refProtected ?? true;
    if (!refProtected) {
      const reason = props.unprotectedReason?.trim() ?? "";
      if (props.environment.handlesPhi || reason.length < 20) {
        throw new HipaaConfigError({
          path,
          problem: `the ${props.environment.name} runner would run jobs from unprotected branches${props.environment.handlesPhi ? " in a PHI environment" : " without a reason"}`,
          cfr: Cfr.ACCESS_CONTROL,
          fix: props.environment.handlesPhi ? "leave refProtected unset (true): only protected refs reach a PHI environment's runner" : "leave refProtected unset, or pass unprotectedReason (at least 20 characters)",
        });
      }
      recordException(this, { section: Cfr.ACCESS_CONTROL, what: `the ${props.environment.name} runner accepts jobs from unprotected refs`, reason });
    }
    this.tag = runnerTag(props.environment);
    this.runner = new UserRunner(this, "Runner", {
      runnerType: "project_type",
      projectId: props.projectId,
      tagList: [this.tag],
      untagged: false,
      locked: true,
      accessLevel: refProtected ? "ref_protected" : "not_protected",
      description: `HIPAA ${props.environment.name} deploy runner (cdktf-hipaa-substrate)`,
    });
    recordControl(this, {
      section: Cfr.ACCESS_CONTROL,
      resources: [this.runner],
      how: `Jobs tagged ${this.tag} run only on this runner, and only for protected refs of project ${props.projectId}.`,
    });
  }
}
