import { Construct } from "constructs";
import { ArtifactRegistryRepositoryIamMember } from "@cdktf/provider-google/lib/artifact-registry-repository-iam-member";
import { ContainerNodePool } from "@cdktf/provider-google/lib/container-node-pool";
import { DataGoogleArtifactRegistryRepository } from "@cdktf/provider-google/lib/data-google-artifact-registry-repository";
import { ProjectIamMember } from "@cdktf/provider-google/lib/project-iam-member";
import { ServiceAccount } from "@cdktf/provider-google/lib/service-account";
import { ServiceAccountIamMember } from "@cdktf/provider-google/lib/service-account-iam-member";
import { HipaaConfigError } from "../../src/errors";
import { assertPoolEnvironment, assertSameEnvironment, Environment, RunnerPurpose, validatePurposeResources } from "../../src/model";
import { Cfr, recordControl } from "../../src/compliance";
import { stableSuffix } from "../../src/naming";
import { CloudKmsSigningKey } from "./cloud-kms-signing-key";
import { ArchivedGcsEvidenceBucket, GcsEvidenceBucket } from "./gcs-evidence-bucket";
import { GkeDeployAccess, IGkeDeployer, IGkeWorkloadCluster } from "./gke-deploy-access";
import { IGkeRunnerCluster } from "./gke-runner-cluster";

export interface GkeRunnerPoolProps {
  readonly cluster: IGkeRunnerCluster;
  readonly environment: Environment;
  readonly purpose: RunnerPurpose;
  /** BUILD: the environment's signing key. */
  readonly signingKey?: CloudKmsSigningKey;
  /**
   * BUILD: Artifact Registry repositories (`projects/P/locations/L/repositories/R`) to push to.
   * Each is looked up with a data source, so a missing repository fails `terraform plan`.
   */
  readonly artifactRepositories?: readonly string[];
  /**
   * EVIDENCE: the environment's evidence bucket. A bucket of the archive project is granted by
   * that project's stack (GcpEvidenceArchiveStack names `runnerServiceAccountEmail`), never here.
   */
  readonly evidenceBucket?: GcsEvidenceBucket | ArchivedGcsEvidenceBucket;
  /** DEPLOY: the environment's workload cluster (`GkeWorkloadCluster.lookup` or `.fromResource`). */
  readonly deployTarget?: IGkeWorkloadCluster;
  /**
   * DEPLOY: the workload-cluster namespaces the pool deploys to (the union of the environment's
   * applications' namespaces); the runner service account gets `edit` there and nowhere else.
   */
  readonly deployNamespaces?: readonly string[];
  /** @default `ci-ENV-PURPOSE` */
  readonly namespace?: string;
  /** @default "runner" */
  readonly kubernetesServiceAccount?: string;
  /** @default "e2-standard-4" */
  readonly machineType?: string;
  /** @default { min: 1, max: 3 } */
  readonly autoscaling?: { readonly min: number; readonly max: number };
  /** Boot disk key. @default the cluster's node disk key */
  readonly bootDiskKmsKeyId?: string;
  /**
   * Node metadata mode. Only "GKE_METADATA" is accepted: anything else exposes the node's
   * service account to pods and defeats Workload Identity.
   * @default "GKE_METADATA"
   */
  readonly workloadMetadataMode?: string;
}

export const GKE_ENVIRONMENT_KEY = "hipaa-substrate/environment";
export const GKE_PURPOSE_KEY = "hipaa-substrate/purpose";
const K8S_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** A service account id within GCP's 6-30 character limit, deterministic. */
function accountId(prefix: string, env: string, purpose: string): string {
  const full = `${prefix}-${env}-${purpose}`;
  return full.length <= 30 ? full : `${full.slice(0, 21).replace(/-+$/, "")}-${stableSuffix(full)}`;
}

/**
 * A GKE node pool of CI runners for one environment and one purpose: COS_CONTAINERD, shielded
 * (secure boot, integrity monitoring), GKE_METADATA, boot disk CMEK, auto-repair and
 * auto-upgrade, a taint and labels naming environment and purpose, and a dedicated node service
 * account with only roles/container.defaultNodeServiceAccount and roles/artifactregistry.reader.
 * Its runner pods' Kubernetes service account maps to a runner service account that holds only
 * its purpose's permissions on its own environment's resources.
 */
export class GkeRunnerPool extends Construct implements IGkeDeployer {
  public readonly environment: Environment;
  public readonly purpose: RunnerPurpose;
  public readonly nodePool: ContainerNodePool;
  public readonly nodeServiceAccount: ServiceAccount;
  public readonly runnerServiceAccount: ServiceAccount;
  public readonly member: string;
  public readonly grantName: string;
  /** The runner service account's literal email. */
  public readonly serviceAccountEmail: string;
  public readonly namespace: string;
  public readonly kubernetesServiceAccount: string;

  /** The runner service account a pool of `env` and `purpose` in `projectId` creates. */
  public static runnerServiceAccountEmail(projectId: string, env: string, purpose: RunnerPurpose): string {
    return `${accountId("runner", env, purpose)}@${projectId}.iam.gserviceaccount.com`;
  }

  constructor(scope: Construct, id: string, props: GkeRunnerPoolProps) {
    super(scope, id);
    const path = this.node.path;
    validateGkePool(path, props);
    const env = props.environment.name;
    const purpose = props.purpose;
    const cluster = props.cluster;
    this.environment = props.environment;
    this.purpose = purpose;
    this.namespace = props.namespace ?? `ci-${env}-${purpose}`;
    this.kubernetesServiceAccount = props.kubernetesServiceAccount ?? "runner";
    this.grantName = `${purpose[0].toUpperCase()}${purpose.slice(1)}Runner`;
    const project = cluster.projectId;

    this.nodeServiceAccount = new ServiceAccount(this, "NodeServiceAccount", {
      project,
      accountId: accountId("node", env, purpose),
      displayName: `Nodes of the ${env} ${purpose} runner pool`,
    });
    const nodeRoles = ["roles/container.defaultNodeServiceAccount", "roles/artifactregistry.reader"].map(
      (role) => new ProjectIamMember(this, `Node-${role.split("/")[1]}`, { project, role, member: this.nodeServiceAccount.member }),
    );
    const bootDiskKey = props.bootDiskKmsKeyId ?? cluster.nodeDiskKmsKeyId!;
    const autoscaling = props.autoscaling ?? { min: 1, max: 3 };
    this.nodePool = new ContainerNodePool(this, "NodePool", {
      name: `${env}-${purpose}-runners`.slice(0, 40),
      project,
      location: cluster.location,
      cluster: cluster.clusterName,
      autoscaling: { minNodeCount: autoscaling.min, maxNodeCount: autoscaling.max },
      management: { autoRepair: true, autoUpgrade: true },
      nodeConfig: {
        machineType: props.machineType ?? "e2-standard-4",
        imageType: "COS_CONTAINERD",
        serviceAccount: this.nodeServiceAccount.email,
        oauthScopes: ["https://www.googleapis.com/auth/cloud-platform"],
        bootDiskKmsKey: bootDiskKey,
        shieldedInstanceConfig: { enableSecureBoot: true, enableIntegrityMonitoring: true },
        workloadMetadataConfig: { mode: "GKE_METADATA" },
        metadata: { "disable-legacy-endpoints": "true" },
        labels: { [GKE_ENVIRONMENT_KEY]: env, [GKE_PURPOSE_KEY]: purpose },
        taint: [
          { key: GKE_ENVIRONMENT_KEY, value: env, effect: "NO_SCHEDULE" },
          { key: GKE_PURPOSE_KEY, value: purpose, effect: "NO_SCHEDULE" },
        ],
      },
      dependsOn: nodeRoles,
    });

    const runnerAccountId = accountId("runner", env, purpose);
    this.serviceAccountEmail = GkeRunnerPool.runnerServiceAccountEmail(project, env, purpose);
    this.runnerServiceAccount = new ServiceAccount(this, "RunnerServiceAccount", {
      project,
      accountId: runnerAccountId,
      displayName: `Runner pods of the ${env} ${purpose} pool (${this.namespace}/${this.kubernetesServiceAccount})`,
    });
    this.member = this.runnerServiceAccount.member;
    const binding = new ServiceAccountIamMember(this, "WorkloadIdentityBinding", {
      serviceAccountId: this.runnerServiceAccount.name,
      role: "roles/iam.workloadIdentityUser",
      member: `serviceAccount:${cluster.workloadPool}[${this.namespace}/${this.kubernetesServiceAccount}]`,
      // PROJECT.svc.id.goog exists only once a cluster with Workload Identity does: on a fresh
      // project IAM refuses this member until then. The member stays a literal (reviewable, and
      // readable by the checker); the ordering is explicit.
      dependsOn: [cluster.workloadIdentityDependency],
    });
    this.grantPurpose(props);

    recordControl(this, {
      section: Cfr.ACCESS_CONTROL,
      resources: [this.nodePool, this.nodeServiceAccount],
      how: `GKE pool for ${env}/${purpose} only: tainted and labelled, GKE_METADATA, shielded, CMEK boot disks, dedicated node service account.`,
    });
    recordControl(this, {
      section: Cfr.AUTHENTICATION,
      resources: [binding],
      how: `Only ${cluster.workloadPool}[${this.namespace}/${this.kubernetesServiceAccount}] may act as the runner service account.`,
    });
  }

  private grantPurpose(props: GkeRunnerPoolProps): void {
    switch (props.purpose) {
      case RunnerPurpose.BUILD:
        props.signingKey!.grantSign(this);
        (props.artifactRepositories ?? []).forEach((repository) => {
          const [, project, , location, , name] = repository.split("/");
          // Fails the plan with "projects/P/locations/L/repositories/R not found" when missing.
          const lookup = new DataGoogleArtifactRegistryRepository(this, `Repository-${name}`, { project, location, repositoryId: name });
          new ArtifactRegistryRepositoryIamMember(this, `Push-${name}`, { project, location, repository: name, role: "roles/artifactregistry.writer", member: this.member, dependsOn: [lookup] });
        });
        break;
      case RunnerPurpose.EVIDENCE:
        if (props.evidenceBucket instanceof GcsEvidenceBucket) props.evidenceBucket.grantWrite(this);
        // The archive grants the pool; still, a pool pointed at another environment's archive
        // bucket would write its evidence where that environment's records are kept.
        else assertSameEnvironment(`${this.node.path}/evidenceBucket`, props.evidenceBucket!.environment, this);
        break;
      case RunnerPurpose.DEPLOY:
        new GkeDeployAccess(this, "DeployAccess", this, props.deployTarget!, { namespaces: props.deployNamespaces ?? [] });
        break;
    }
  }
}

function validateGkePool(path: string, props: GkeRunnerPoolProps): void {
  const env = props.environment;
  assertPoolEnvironment(path, props.cluster, env, props.deployTarget?.environment);
  if (props.workloadMetadataMode !== undefined && props.workloadMetadataMode !== "GKE_METADATA") {
    throw new HipaaConfigError({
      path,
      problem: `workload metadata mode ${props.workloadMetadataMode} lets pods use the node's service account`,
      cfr: Cfr.ACCESS_CONTROL,
      fix: "leave workloadMetadataMode unset (GKE_METADATA)",
    });
  }
  if (!props.bootDiskKmsKeyId && !props.cluster.nodeDiskKmsKeyId) {
    throw new HipaaConfigError({ path, problem: "no boot disk key: the cluster provides none", cfr: Cfr.ENCRYPTION, fix: "pass bootDiskKmsKeyId" });
  }
  for (const [what, value] of [["namespace", props.namespace], ["Kubernetes service account", props.kubernetesServiceAccount]] as const) {
    if (value !== undefined && !K8S_NAME.test(value)) {
      throw new HipaaConfigError({ path, problem: `${what} ${JSON.stringify(value)} is not a Kubernetes name`, cfr: Cfr.AUTHENTICATION, fix: `name exactly one ${what}` });
    }
  }
  validatePurposeResources(
    path,
    props.purpose,
    (["signingKey", "artifactRepositories", "evidenceBucket", "deployTarget", "deployNamespaces"] as const).filter((k) => props[k] !== undefined),
    { build: ["signingKey", "artifactRepositories"], evidence: ["evidenceBucket"], deploy: ["deployTarget", "deployNamespaces"] },
    { build: "signingKey", evidence: "evidenceBucket", deploy: "deployTarget" },
    env.name,
  );
  if (props.artifactRepositories?.some((r) => !/^projects\/[a-z][-a-z0-9]{4,28}[a-z0-9]\/locations\/[a-z0-9-]+\/repositories\/[a-z][-a-z0-9]*$/.test(r))) {
    throw new HipaaConfigError({ path, problem: `artifactRepositories ${JSON.stringify(props.artifactRepositories)} must name repositories exactly`, cfr: Cfr.ACCESS_CONTROL, fix: "pass projects/P/locations/L/repositories/R" });
  }
}
