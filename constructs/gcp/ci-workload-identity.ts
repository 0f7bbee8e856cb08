import { Construct } from "constructs";
import { IamWorkloadIdentityPool } from "@cdktf/provider-google/lib/iam-workload-identity-pool";
import { IamWorkloadIdentityPoolProvider } from "@cdktf/provider-google/lib/iam-workload-identity-pool-provider";
import { ServiceAccount } from "@cdktf/provider-google/lib/service-account";
import { ServiceAccountIamMember } from "@cdktf/provider-google/lib/service-account-iam-member";
import { HipaaConfigError } from "../../src/errors";
import { Environment, GithubOidcSubject, GitlabOidcSubject } from "../../src/model";
import { Cfr, recordControl } from "../../src/compliance";
import { stableSuffix } from "../../src/naming";
import { IGkeDeployer } from "./gke-deploy-access";
import { githubWifSpec, gitlabWifSpec, WifTrustSpec } from "./wif-conditions";

export interface CiWorkloadIdentityBaseProps {
  readonly projectId: string;
  /** The project number (principalSet members name the number, not the id). */
  readonly projectNumber: string;
  /** @default "github-actions" / "gitlab-ci" */
  readonly poolId?: string;
  /** @default "github" / "gitlab" */
  readonly providerId?: string;
  /**
   * Prefix of each application's deploy service account id (`PREFIX-APP-ENV`, shortened with a
   * stable hash when longer than 30 characters).
   * @default "gh" / "gl"
   */
  readonly deployServiceAccountPrefix?: string;
}

export interface GithubWorkloadIdentityProps extends CiWorkloadIdentityBaseProps {
  /** The repositories (with environment and pinned workflow) trusted; all for one environment. */
  readonly subjects: readonly GithubOidcSubject[];
}

export interface GitlabWorkloadIdentityProps extends CiWorkloadIdentityBaseProps {
  readonly subjects: readonly GitlabOidcSubject[];
  /** @default https://gitlab.com */
  readonly issuerUri?: string;
}

const POOL_ID = /^[a-z0-9-]{4,32}$/;
const SA_ID = /^[a-z]([-a-z0-9]{4,28}[a-z0-9])$/;
const SA_PREFIX = /^[a-z][-a-z0-9]{0,14}[a-z0-9]$/;

/**
 * A service account id within GCP's 6-30 characters, deterministic: `PREFIX-NAME-ENV` with the
 * repository name or the project's last path segment, or its first 21 characters and a hash of
 * the whole (path included) when longer.
 */
function deployAccountId(prefix: string, application: string, env: string): string {
  const slug = (value: string) => value.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
  const full = `${prefix}-${slug(application.split("/").pop()!)}-${env}`;
  return full.length <= 30 ? full : `${full.slice(0, 21).replace(/-+$/, "")}-${stableSuffix(`${prefix}-${slug(application)}-${env}`)}`;
}

/**
 * One application's deploy identity: a Google service account that only the application's own
 * principalSet (`attribute.repository_id/ID` or `attribute.project_id/ID`) may impersonate, so
 * one repository's pipeline never holds another's deploy rights.
 */
export class CiDeployServiceAccount extends Construct implements IGkeDeployer {
  /** The repository name (GitHub) or project path (GitLab). */
  public readonly application: string;
  public readonly serviceAccount: ServiceAccount;
  public readonly impersonation: ServiceAccountIamMember;
  public readonly member: string;
  public readonly grantName: string;
  public readonly environment: Environment;
  /** The literal email (`ID@PROJECT.iam.gserviceaccount.com`), GKE's Kubernetes username for it. */
  public readonly serviceAccountEmail: string;
  /** The one principalSet that may impersonate it. */
  public readonly principalSet: string;

  constructor(scope: Construct, id: string, props: { projectId: string; accountId: string; application: string; environment: Environment; pool: IamWorkloadIdentityPool; principalSetAttribute: string; system: string }) {
    super(scope, id);
    const env = props.environment.name;
    this.application = props.application;
    this.environment = props.environment;
    this.grantName = `CiDeploy${props.application.replace(/[^A-Za-z0-9]+/g, " ").replace(/(^| )([a-z0-9])/g, (_m, _s, c: string) => c.toUpperCase()).replace(/ /g, "")}`.slice(0, 64);
    this.serviceAccount = new ServiceAccount(this, "ServiceAccount", {
      project: props.projectId,
      accountId: props.accountId,
      displayName: `${props.application} ${env} deployer`.slice(0, 100),
      description: `Impersonated only by ${props.system} deployments of ${props.application} to ${env} through workload identity federation`,
    });
    this.serviceAccountEmail = `${props.accountId}@${props.projectId}.iam.gserviceaccount.com`;
    this.member = `serviceAccount:${this.serviceAccount.email}`;
    this.principalSet = `principalSet://iam.googleapis.com/${props.pool.name}/${props.principalSetAttribute}`;
    this.impersonation = new ServiceAccountIamMember(this, "Impersonation", {
      serviceAccountId: this.serviceAccount.name,
      role: "roles/iam.workloadIdentityUser",
      member: this.principalSet,
    });
    recordControl(this, {
      section: Cfr.ACCESS_MANAGEMENT,
      resources: [this.serviceAccount, this.impersonation],
      how: `Only ${props.principalSetAttribute} (${props.application}) may impersonate ${this.serviceAccountEmail}, the ${env} deploy service account of ${props.application} alone.`,
    });
  }
}

/**
 * A Workload Identity Federation pool and OIDC provider for one CI system, with an attribute
 * condition that always pins the repository (and environment, and workflow where pinned), and
 * one deploy service account per application (GitHub repository id, GitLab project id) that only
 * that application's principalSet (built from the pool's `name`, which carries the project
 * number) may impersonate.
 */
export class CiWorkloadIdentity extends Construct {
  /** GitHub Actions federation. */
  public static github(scope: Construct, id: string, props: GithubWorkloadIdentityProps): CiWorkloadIdentity {
    return new CiWorkloadIdentity(scope, id, props, githubWifSpec(`${scope.node.path}/${id}`, props.subjects), "github-actions", "github", "gh", "GitHub Actions");
  }

  /** GitLab CI federation. */
  public static gitlab(scope: Construct, id: string, props: GitlabWorkloadIdentityProps): CiWorkloadIdentity {
    return new CiWorkloadIdentity(scope, id, props, gitlabWifSpec(`${scope.node.path}/${id}`, props.subjects, props.issuerUri), "gitlab-ci", "gitlab", "gl", "GitLab CI");
  }

  public readonly pool: IamWorkloadIdentityPool;
  public readonly provider: IamWorkloadIdentityPoolProvider;
  /** One deploy identity per application, by repository name (GitHub) or project path (GitLab). */
  public readonly deployers: ReadonlyMap<string, CiDeployServiceAccount>;
  public readonly environment: Environment;
  public readonly spec: WifTrustSpec;

  private constructor(scope: Construct, id: string, props: CiWorkloadIdentityBaseProps, spec: WifTrustSpec, defaultPool: string, defaultProvider: string, defaultPrefix: string, system: string) {
    super(scope, id);
    const poolId = props.poolId ?? defaultPool;
    const providerId = props.providerId ?? defaultProvider;
    const prefix = props.deployServiceAccountPrefix ?? defaultPrefix;
    const env = spec.environment.name;
    for (const [what, value, rule, fix] of [
      ["pool id", poolId, POOL_ID, "4-32 lowercase letters, digits or '-', not starting with gcp-"],
      ["provider id", providerId, POOL_ID, "4-32 lowercase letters, digits or '-', not starting with gcp-"],
      ["service account prefix", prefix, SA_PREFIX, "2-16 lowercase letters, digits or '-', starting with a letter"],
    ] as const) {
      if (!rule.test(value) || value.startsWith("gcp-")) {
        throw new HipaaConfigError({ path: this.node.path, problem: `${what} ${JSON.stringify(value)} is not valid`, fix: `use ${fix}` });
      }
    }
    if (!/^\d+$/.test(props.projectNumber)) {
      throw new HipaaConfigError({ path: this.node.path, problem: `projectNumber ${JSON.stringify(props.projectNumber)} is not a project number`, fix: "pass the numeric project number (gcloud projects describe PROJECT --format='value(projectNumber)')" });
    }
    this.spec = spec;
    this.environment = spec.environment;
    this.pool = new IamWorkloadIdentityPool(this, "Pool", {
      project: props.projectId,
      workloadIdentityPoolId: poolId,
      displayName: `${defaultPool} ${env}`.slice(0, 32),
      description: `CI identities allowed to deploy to ${env}`,
    });
    this.provider = new IamWorkloadIdentityPoolProvider(this, "Provider", {
      project: props.projectId,
      workloadIdentityPoolId: this.pool.workloadIdentityPoolId,
      workloadIdentityPoolProviderId: providerId,
      attributeMapping: { ...spec.attributeMapping },
      attributeCondition: spec.attributeCondition,
      oidc: { issuerUri: spec.issuerUri },
    });
    const deployers = new Map<string, CiDeployServiceAccount>();
    const accountIds = new Map<string, string>();
    for (const app of spec.applications) {
      const accountId = deployAccountId(prefix, app.name, env);
      if (!SA_ID.test(accountId)) {
        throw new HipaaConfigError({ path: this.node.path, problem: `deploy service account id ${JSON.stringify(accountId)} for ${app.name} is not valid`, fix: "use a deployServiceAccountPrefix of lowercase letters, digits or '-'" });
      }
      const clash = accountIds.get(accountId);
      if (clash !== undefined) {
        throw new HipaaConfigError({ path: this.node.path, problem: `${app.name} and ${clash} would share deploy service account ${accountId}`, cfr: "164.308(a)(4)", fix: "rename one of them or pass another deployServiceAccountPrefix" });
      }
      accountIds.set(accountId, app.name);
      deployers.set(
        app.name,
        new CiDeployServiceAccount(this, `Deploy-${app.name.replace(/[^A-Za-z0-9]+/g, "-")}`, {
          projectId: props.projectId,
          accountId,
          application: app.name,
          environment: spec.environment,
          pool: this.pool,
          principalSetAttribute: app.principalSetAttribute,
          system,
        }),
      );
    }
    this.deployers = deployers;
    recordControl(this, {
      section: Cfr.AUTHENTICATION,
      resources: [this.provider],
      how: `Provider condition: ${spec.attributeCondition}`,
    });
  }
}
