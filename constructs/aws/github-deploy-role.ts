import { Construct } from "constructs";
import { GithubOidcSubject } from "../../src/model";
import { Cfr, recordControl } from "../../src/compliance";
import { IOidcProvider } from "./oidc-provider";
import { githubActionsTrust } from "./role-trust";
import { ScopedRole } from "./scoped-role";

export interface GithubDeployRoleProps {
  /** The account's GitHub Actions OIDC provider. */
  readonly oidcProvider: IOidcProvider;
  /** Repository, environment, subject format and pinned workflow: the one object the GitHub side is configured from too. */
  readonly subject: GithubOidcSubject;
  /** @default `hipaa-ENV-github-deploy-REPO` (truncated to 64) */
  readonly roleName?: string;
  /** @default 3600 */
  readonly maxSessionDurationSeconds?: number;
  /** @default - none */
  readonly permissionsBoundaryArn?: string;
}

/**
 * The role a GitHub Actions deployment job assumes: trusted only for one repository (by id), one
 * GitHub environment, the subject format that repository emits, and (for production,
 * mandatory) the compliance repository's reusable workflow at a tag. Permissions come only from
 * intent-level grants (`bucket.grantWrite(role)`, `key.grantSign(role)`, ...).
 *
 * The exact `sub` it trusts is `role.subject.subject`, e.g.
 * `repo:hipaa-app-org/clinical-platform:environment:production`.
 */
export class GithubDeployRole extends ScopedRole {
  public readonly subject: GithubOidcSubject;

  constructor(scope: Construct, id: string, props: GithubDeployRoleProps) {
    const s = props.subject;
    super(scope, id, {
      environment: s.environment,
      grantName: "GithubDeploy",
      description: `GitHub Actions deploys of ${s.repository.fullName} to ${s.environment.name}${s.workflow ? ` via ${s.workflow.jobWorkflowRef}` : ""}`,
      trust: githubActionsTrust(`${scope.node.path}/${id}`, props.oidcProvider.providerArn, s, props.oidcProvider.audience),
      roleName: props.roleName ?? `hipaa-${s.environment.name}-github-deploy-${s.repository.name}`.slice(0, 64),
      maxSessionDurationSeconds: props.maxSessionDurationSeconds,
      permissionsBoundaryArn: props.permissionsBoundaryArn,
    });
    this.subject = s;
    recordControl(this, {
      section: Cfr.AUTHENTICATION,
      resources: [this.role],
      how: `Trust pins sub "${s.subject}", repository_id ${s.repository.repositoryId}, environment ${s.environment.name}${s.workflow ? ` and job_workflow_ref ${s.workflow.jobWorkflowRef}` : ""}.`,
    });
    recordControl(this, {
      section: Cfr.ACCESS_MANAGEMENT,
      resources: [this.role],
      how: `Only ${s.repository.fullName}'s ${s.environment.name} deployments can obtain this role, for one hour at most.`,
    });
  }
}
