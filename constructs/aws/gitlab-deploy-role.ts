import { Construct, IConstruct } from "constructs";
import { HipaaConfigError } from "../../src/errors";
import { GitlabOidcSubject, gitlabRefsOverlap } from "../../src/model";
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
    assertNoSharedToken(scope, `${scope.node.path}/${id}`, s);
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

/** Every GitLab subject an AWS role of the app trusts, by app (the construct tree's root). */
const TRUSTED = new WeakMap<IConstruct, GitlabOidcSubject[]>();

/**
 * STS evaluates no GitLab `environment` key, so on AWS environments are told apart only by the
 * refs their trusts accept. Two environments whose trusted refs overlap would both accept one
 * job token (a `v*` tag pipeline would open validation and production alike): refused.
 */
function assertNoSharedToken(scope: Construct, path: string, subject: GitlabOidcSubject): void {
  const root = scope.node.root;
  const trusted = TRUSTED.get(root) ?? [];
  const clash = trusted.find((other) => other.environment.name !== subject.environment.name && gitlabRefsOverlap(other, subject));
  if (clash) {
    throw new HipaaConfigError({
      path,
      problem: `the ${subject.environment.name} trust accepts ${subject.refType} ${JSON.stringify(subject.ref)} of ${subject.project.path}, which overlaps the ${clash.environment.name} trust's ${JSON.stringify(clash.ref)}: AWS STS has no GitLab environment key, so one job token would be accepted by both environments`,
      cfr: "164.308(a)(4)",
      fix: "give each environment its own protected ref namespace, e.g. production tags v*, validation tags rc-*, staging the protected branch main, dev the protected branch develop",
    });
  }
  TRUSTED.set(root, [...trusted, subject]);
}
