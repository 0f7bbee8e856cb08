import { Construct } from "constructs";
import { ProjectProtectedEnvironment } from "@cdktf/provider-gitlab/lib/project-protected-environment";
import { ProjectShareGroup } from "@cdktf/provider-gitlab/lib/project-share-group";
import { HipaaConfigError } from "../../src/errors";
import { Environment, GitlabProjectRef } from "../../src/model";
import { Cfr, recordControl } from "../../src/compliance";
import { GitlabGroupRef, validateGroup } from "./gitlab-group";

export interface GitlabProtectedEnvironmentProps {
  readonly project: GitlabProjectRef;
  readonly environment: Environment;
  /** The group whose members approve deployments to this environment. */
  readonly approverGroup: GitlabGroupRef;
  /**
   * Approvals a deployment needs before its job may run. At least 1; GitLab needs more members in
   * the approver group than this, because the person who triggered the pipeline cannot approve.
   * @default 2 for production, 1 otherwise
   */
  readonly requiredApprovals?: number;
  /**
   * The group whose members may run the deploy job once approved (the `when: manual` button).
   * @default the approver group
   */
  readonly deployerGroup?: GitlabGroupRef;
  /**
   * The invitations of the approver and deployer groups to the project, when the caller creates
   * them once per project (several environments of one project share one invitation).
   * @default - both groups are invited here, with the Reporter role
   */
  readonly groupInvitations?: readonly ProjectShareGroup[];
}

/**
 * A GitLab protected environment (Premium or Ultimate) that answers "which named human approved
 * this deploy?": deployments wait for `requiredApprovals` approvals from the approver group, and
 * only the deployer group may run the job. GitLab does not let the user who triggered the
 * pipeline approve its deployment unless the project turns on "Allow pipeline triggerer to
 * approve deployment" (`allow_pipeline_trigger_approve_deployment`, off by default); the deploy
 * gate refuses an approver who is the author either way.
 *
 * GitLab ignores, without an error, groups that are not invited to the project, so both groups
 * are invited with the Reporter role: enough to approve and deploy, not to push.
 */
export class GitlabProtectedEnvironment extends Construct {
  public readonly resource: ProjectProtectedEnvironment;
  public readonly requiredApprovals: number;

  constructor(scope: Construct, id: string, props: GitlabProtectedEnvironmentProps) {
    super(scope, id);
    const path = this.node.path;
    const approvers = validateGroup(path, "approverGroup", props.approverGroup);
    const deployers = validateGroup(path, "deployerGroup", props.deployerGroup ?? props.approverGroup);
    const required = props.requiredApprovals ?? (props.environment.isProduction ? 2 : 1);
    if (!Number.isInteger(required) || required < 1) {
      throw new HipaaConfigError({
        path,
        problem: `requiredApprovals ${JSON.stringify(required)} for ${props.project.path}:${props.environment.name} is below 1: with 0 a deployment needs nobody's approval`,
        cfr: Cfr.ACCESS_MANAGEMENT,
        fix: "require at least 1 approval (production defaults to 2)",
      });
    }
    this.requiredApprovals = required;
    const shares = props.groupInvitations ?? inviteGroups(this, props.project, [approvers, deployers]);
    this.resource = new ProjectProtectedEnvironment(this, "Resource", {
      project: props.project.path,
      environment: props.environment.name,
      deployAccessLevels: [{ groupId: deployers.id }],
      approvalRules: [{ groupId: approvers.id, requiredApprovals: required }],
      dependsOn: [...shares],
    });
    recordControl(this, {
      section: Cfr.ACCESS_MANAGEMENT,
      resources: [this.resource, ...shares],
      how: `Deploys of ${props.project.path} to ${props.environment.name} need ${required} approval(s) from ${approvers.path}; only ${deployers.path} may run the job.`,
    });
  }
}

/**
 * Invites groups to a project with the Reporter role (once each): GitLab lets an invited group
 * approve and run deployments, and silently ignores a group that is not invited.
 */
export function inviteGroups(scope: Construct, project: GitlabProjectRef, groups: readonly GitlabGroupRef[]): ProjectShareGroup[] {
  return [...new Map(groups.map((g) => [g.id, g])).values()].map(
    (g) => new ProjectShareGroup(scope, `Invite-${g.id}`, { project: project.path, groupId: g.id, accessLevel: "reporter" }),
  );
}
