import { Construct } from "constructs";
import { GitlabOidcSubject } from "../../src/model";
import { Cfr, recordControl } from "../../src/compliance";
import { IOidcProvider } from "./oidc-provider";
import { gitlabCiTrust } from "./role-trust";
import { ScopedRole } from "./scoped-role";

export interface GitlabDeployRoleProps {
  /** The account's GitLab OIDC provider (`CiOidcProvider.gitlab`). */
  readonly oidcProvider: IOidcProvider;
  /** Project, ref type, ref and environment. */
  readonly subject: GitlabOidcSubject;
  /** @default `hipaa-ENV-gitlab-deploy-PROJECT` (truncated to 64) */
  readonly roleName?: string;
  /** @default 3600 */
  readonly maxSessionDurationSeconds?: number;
  /** @default - none */
  readonly permissionsBoundaryArn?: string;
}

/**
 * The role a GitLab CI job assumes with its ID token: `sub` pinned to
 * `project_path:GROUP/PROJECT:ref_type:TYPE:ref:REF` and `aud` to the provider's audience.
 * Production accepts only protected tags or the protected default branch.
 */
export class GitlabDeployRole extends ScopedRole {
  public readonly subject: GitlabOidcSubject;

  constructor(scope: Construct, id: string, props: GitlabDeployRoleProps) {
    const s = props.subject;
    const project = s.project.path.split("/").pop()!;
    super(scope, id, {
      environment: s.environment,
      grantName: "GitlabDeploy",
      description: `GitLab CI deploys of ${s.project.path} (${s.refType} ${s.ref}) to ${s.environment.name}`,
      trust: gitlabCiTrust(`${scope.node.path}/${id}`, props.oidcProvider.providerArn, props.oidcProvider.issuerHost, s, props.oidcProvider.audience),
      roleName: props.roleName ?? `hipaa-${s.environment.name}-gitlab-deploy-${project}`.slice(0, 64),
      maxSessionDurationSeconds: props.maxSessionDurationSeconds,
      permissionsBoundaryArn: props.permissionsBoundaryArn,
    });
    this.subject = s;
    recordControl(this, {
      section: Cfr.AUTHENTICATION,
      resources: [this.role],
      how: `Trust pins sub "${s.subject}" and aud "${props.oidcProvider.audience}".`,
    });
  }
}
