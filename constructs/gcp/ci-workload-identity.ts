import { Construct } from "constructs";
import { IamWorkloadIdentityPool } from "@cdktf/provider-google/lib/iam-workload-identity-pool";
import { IamWorkloadIdentityPoolProvider } from "@cdktf/provider-google/lib/iam-workload-identity-pool-provider";
import { ServiceAccount } from "@cdktf/provider-google/lib/service-account";
import { ServiceAccountIamMember } from "@cdktf/provider-google/lib/service-account-iam-member";
import { HipaaConfigError } from "../../src/errors";
import { Environment, GithubOidcSubject, GitlabOidcSubject } from "../../src/model";
import { Cfr, recordControl } from "../../src/compliance";
import { IGcpPrincipal } from "./principal";
import { githubWifSpec, gitlabWifSpec, WifTrustSpec } from "./wif-conditions";

export interface CiWorkloadIdentityBaseProps {
  readonly projectId: string;
  /** The project number (principalSet members name the number, not the id). */
  readonly projectNumber: string;
  /** @default "github-actions" / "gitlab-ci" */
  readonly poolId?: string;
  /** @default "github" / "gitlab" */
  readonly providerId?: string;
  /** @default `hipaa-deploy-ENV` */
  readonly deployServiceAccountId?: string;
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

/**
 * A Workload Identity Federation pool and OIDC provider for one CI system, with an attribute
 * condition that always pins the repository (and environment, and workflow where pinned), and
 * one deploy service account for the environment that only the matching principalSet (built
 * from the pool's `name`, which carries the project number) may impersonate.
 */
export class CiWorkloadIdentity extends Construct implements IGcpPrincipal {
  /** GitHub Actions federation. */
  public static github(scope: Construct, id: string, props: GithubWorkloadIdentityProps): CiWorkloadIdentity {
    return new CiWorkloadIdentity(scope, id, props, githubWifSpec(`${scope.node.path}/${id}`, props.subjects), "github-actions", "github");
  }

  /** GitLab CI federation. */
  public static gitlab(scope: Construct, id: string, props: GitlabWorkloadIdentityProps): CiWorkloadIdentity {
    return new CiWorkloadIdentity(scope, id, props, gitlabWifSpec(`${scope.node.path}/${id}`, props.subjects, props.issuerUri), "gitlab-ci", "gitlab");
  }

  public readonly pool: IamWorkloadIdentityPool;
  public readonly provider: IamWorkloadIdentityPoolProvider;
  public readonly deployServiceAccount: ServiceAccount;
  public readonly member: string;
  public readonly grantName = "CiDeploy";
  public readonly environment: Environment;
  public readonly spec: WifTrustSpec;

  private constructor(scope: Construct, id: string, props: CiWorkloadIdentityBaseProps, spec: WifTrustSpec, defaultPool: string, defaultProvider: string) {
    super(scope, id);
    const poolId = props.poolId ?? defaultPool;
    const providerId = props.providerId ?? defaultProvider;
    const env = spec.environment.name;
    const saId = props.deployServiceAccountId ?? `hipaa-deploy-${env}`.slice(0, 30);
    for (const [what, value, rule, fix] of [
      ["pool id", poolId, POOL_ID, "4-32 lowercase letters, digits or '-', not starting with gcp-"],
      ["provider id", providerId, POOL_ID, "4-32 lowercase letters, digits or '-', not starting with gcp-"],
      ["service account id", saId, SA_ID, "6-30 lowercase letters, digits or '-', starting with a letter"],
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
    this.deployServiceAccount = new ServiceAccount(this, "DeployServiceAccount", {
      project: props.projectId,
      accountId: saId,
      displayName: `HIPAA ${env} deployer`,
      description: `Impersonated by CI deployments to ${env} through workload identity federation`,
    });
    this.member = `serviceAccount:${this.deployServiceAccount.email}`;
    const bindings = spec.principalSetAttributes.map(
      (attribute) =>
        new ServiceAccountIamMember(this, `Impersonation-${attribute.replace(/[^A-Za-z0-9]+/g, "-")}`, {
          serviceAccountId: this.deployServiceAccount.name,
          role: "roles/iam.workloadIdentityUser",
          member: `principalSet://iam.googleapis.com/${this.pool.name}/${attribute}`,
        }),
    );
    recordControl(this, {
      section: Cfr.AUTHENTICATION,
      resources: [this.provider],
      how: `Provider condition: ${spec.attributeCondition}`,
    });
    recordControl(this, {
      section: Cfr.ACCESS_MANAGEMENT,
      resources: [this.deployServiceAccount, ...bindings],
      how: `Only ${spec.principalSetAttributes.join(", ")} may impersonate the ${env} deploy service account.`,
    });
  }
}
