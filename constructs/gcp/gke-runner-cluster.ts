import { Construct } from "constructs";
import { ContainerCluster } from "@cdktf/provider-google/lib/container-cluster";
import { KmsCryptoKey } from "@cdktf/provider-google/lib/kms-crypto-key";
import { KmsCryptoKeyIamMember } from "@cdktf/provider-google/lib/kms-crypto-key-iam-member";
import { KmsKeyRing } from "@cdktf/provider-google/lib/kms-key-ring";
import { ProjectIamMember } from "@cdktf/provider-google/lib/project-iam-member";
import { ServiceAccount } from "@cdktf/provider-google/lib/service-account";
import { HipaaConfigError } from "../../src/errors";
import { Environment, validateEnvironments } from "../../src/model";
import { Cfr, recordControl } from "../../src/compliance";

/** What GKE runner pools need of a cluster, created here or elsewhere. */
export interface IGkeRunnerCluster {
  readonly clusterName: string;
  /** `projects/P/locations/L/clusters/C`. */
  readonly clusterId: string;
  readonly location: string;
  readonly projectId: string;
  readonly projectNumber: string;
  /** `PROJECT.svc.id.goog`. */
  readonly workloadPool: string;
  /** Key for node boot disks; pools of an existing cluster must pass their own. */
  readonly nodeDiskKmsKeyId?: string;
  readonly environments: readonly Environment[];
  readonly path: string;
}

export interface GkeRunnerClusterProps {
  readonly clusterName: string;
  readonly projectId: string;
  readonly projectNumber: string;
  /** Region (regional cluster) or zone. */
  readonly location: string;
  readonly environments: readonly Environment[];
  /** VPC network and subnetwork self links or names. */
  readonly network: string;
  readonly subnetwork: string;
  /** Secondary ranges of the subnetwork for pods and services (VPC-native). */
  readonly podsRangeName: string;
  readonly servicesRangeName: string;
  /** /28 for the control plane's private endpoint. @default "172.16.0.0/28" */
  readonly masterIpv4CidrBlock?: string;
  /** Networks allowed to reach the private endpoint. @default - none beyond the VPC */
  readonly masterAuthorizedCidrs?: readonly string[];
  /** @default "REGULAR" */
  readonly releaseChannel?: "RAPID" | "REGULAR" | "STABLE";
  /**
   * The `gke-security-groups@DOMAIN` Google Group, so Kubernetes RBAC can name Google Groups
   * (membership then is the audited record of cluster access).
   * @default - RBAC names users and service accounts only
   */
  readonly rbacSecurityGroup?: string;
}

export interface ExistingGkeRunnerClusterProps {
  readonly clusterName: string;
  readonly projectId: string;
  readonly projectNumber: string;
  readonly location: string;
  readonly environments: readonly Environment[];
  /** Key for node boot disks (the Compute Engine service agent must be able to use it). */
  readonly nodeDiskKmsKeyId: string;
}

class ExistingGkeRunnerCluster extends Construct implements IGkeRunnerCluster {
  public readonly clusterName: string;
  public readonly clusterId: string;
  public readonly location: string;
  public readonly projectId: string;
  public readonly projectNumber: string;
  public readonly workloadPool: string;
  public readonly nodeDiskKmsKeyId: string;
  public readonly environments: readonly Environment[];
  public readonly path: string;

  constructor(scope: Construct, id: string, props: ExistingGkeRunnerClusterProps) {
    super(scope, id);
    this.path = this.node.path;
    this.clusterName = props.clusterName;
    this.location = props.location;
    this.projectId = props.projectId;
    this.projectNumber = props.projectNumber;
    this.clusterId = `projects/${props.projectId}/locations/${props.location}/clusters/${props.clusterName}`;
    this.workloadPool = `${props.projectId}.svc.id.goog`;
    this.nodeDiskKmsKeyId = props.nodeDiskKmsKeyId;
    this.environments = validateEnvironments(props.environments, `${this.path}/environments`);
  }
}

/**
 * The GKE cluster CI runners run on: private nodes and private endpoint, Workload Identity,
 * shielded nodes, a release channel, application-layer secrets encryption with a CMK, deletion
 * protection, and no default node pool (the transient one it is created with already uses a
 * dedicated node service account, never the Compute Engine default). It also creates the key
 * runner pools encrypt boot disks with.
 */
export class GkeRunnerCluster extends Construct implements IGkeRunnerCluster {
  public static fromExisting(scope: Construct, id: string, props: ExistingGkeRunnerClusterProps): IGkeRunnerCluster {
    return new ExistingGkeRunnerCluster(scope, id, props);
  }

  public readonly cluster: ContainerCluster;
  public readonly clusterName: string;
  public readonly clusterId: string;
  public readonly location: string;
  public readonly projectId: string;
  public readonly projectNumber: string;
  public readonly workloadPool: string;
  public readonly nodeDiskKmsKeyId: string;
  public readonly environments: readonly Environment[];
  public readonly path: string;

  constructor(scope: Construct, id: string, props: GkeRunnerClusterProps) {
    super(scope, id);
    this.path = this.node.path;
    this.environments = validateEnvironments(props.environments, `${this.path}/environments`);
    if (!/^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$/.test(props.clusterName)) {
      throw new HipaaConfigError({ path: this.path, problem: `cluster name ${JSON.stringify(props.clusterName)} is not valid`, fix: "use 1-40 lowercase letters, digits or '-', starting with a letter" });
    }
    const master = props.masterIpv4CidrBlock ?? "172.16.0.0/28";
    if (!/^\d+\.\d+\.\d+\.\d+\/28$/.test(master)) {
      throw new HipaaConfigError({ path: this.path, problem: `masterIpv4CidrBlock ${JSON.stringify(master)} is not a /28`, fix: "pass a private /28, e.g. 172.16.0.0/28" });
    }
    const wide = (props.masterAuthorizedCidrs ?? []).find((c) => c.endsWith("/0"));
    if (wide) {
      throw new HipaaConfigError({ path: this.path, problem: `master authorized network ${wide} admits every address`, cfr: Cfr.ACCESS_CONTROL, fix: "list only the networks that administer the cluster" });
    }
    this.projectId = props.projectId;
    this.projectNumber = props.projectNumber;
    this.location = props.location;
    this.workloadPool = `${props.projectId}.svc.id.goog`;
    const env = this.environments.map((e) => e.name).join("-");

    const ring = new KmsKeyRing(this, "KeyRing", { name: `hipaa-gke-${props.clusterName}`, location: props.location, project: props.projectId, lifecycle: { preventDestroy: true } });
    const keyFor = (name: string) =>
      new KmsCryptoKey(this, name === "secrets" ? "SecretsKey" : "NodeDiskKey", {
        name,
        keyRing: ring.id,
        purpose: "ENCRYPT_DECRYPT",
        rotationPeriod: "7776000s",
        destroyScheduledDuration: "2592000s",
        lifecycle: { preventDestroy: true },
      });
    const secretsKey = keyFor("secrets");
    const diskKey = keyFor("node-disks");
    const gkeAgent = new KmsCryptoKeyIamMember(this, "GkeAgentSecretsKey", {
      cryptoKeyId: secretsKey.id,
      role: "roles/cloudkms.cryptoKeyEncrypterDecrypter",
      member: `serviceAccount:service-${props.projectNumber}@container-engine-robot.iam.gserviceaccount.com`,
    });
    const computeAgent = new KmsCryptoKeyIamMember(this, "ComputeAgentDiskKey", {
      cryptoKeyId: diskKey.id,
      role: "roles/cloudkms.cryptoKeyEncrypterDecrypter",
      member: `serviceAccount:service-${props.projectNumber}@compute-system.iam.gserviceaccount.com`,
    });
    this.nodeDiskKmsKeyId = diskKey.id;

    // The default node pool exists briefly before removal; give it a minimal account, not the
    // Compute Engine default service account (which holds Editor).
    const bootstrapSa = new ServiceAccount(this, "BootstrapNodeServiceAccount", {
      project: props.projectId,
      accountId: `gke-bootstrap-${props.clusterName}`.slice(0, 30).replace(/-+$/, ""),
      displayName: "Transient default node pool of the runner cluster",
    });
    new ProjectIamMember(this, "BootstrapNodeRole", { project: props.projectId, role: "roles/container.defaultNodeServiceAccount", member: bootstrapSa.member });

    this.cluster = new ContainerCluster(this, "Cluster", {
      name: props.clusterName,
      project: props.projectId,
      location: props.location,
      network: props.network,
      subnetwork: props.subnetwork,
      networkingMode: "VPC_NATIVE",
      ipAllocationPolicy: { clusterSecondaryRangeName: props.podsRangeName, servicesSecondaryRangeName: props.servicesRangeName },
      privateClusterConfig: { enablePrivateNodes: true, enablePrivateEndpoint: true, masterIpv4CidrBlock: master },
      masterAuthorizedNetworksConfig: { cidrBlocks: (props.masterAuthorizedCidrs ?? []).map((cidrBlock) => ({ cidrBlock, displayName: "administration" })) },
      workloadIdentityConfig: { workloadPool: this.workloadPool },
      enableShieldedNodes: true,
      releaseChannel: { channel: props.releaseChannel ?? "REGULAR" },
      databaseEncryption: { state: "ENCRYPTED", keyName: secretsKey.id },
      // Dataplane V2 enforces Kubernetes network policies: runner namespaces can be fenced off.
      datapathProvider: "ADVANCED_DATAPATH",
      // With Dataplane V2 the Calico add-on stays off; policies are enforced by the dataplane.
      networkPolicy: { enabled: false },
      enableIntranodeVisibility: true,
      // Only images the project's Binary Authorization policy admits (e.g. signed ones) run.
      binaryAuthorization: { evaluationMode: "PROJECT_SINGLETON_POLICY_ENFORCE" },
      masterAuth: { clientCertificateConfig: { issueClientCertificate: false } },
      authenticatorGroupsConfig: props.rbacSecurityGroup ? { securityGroup: props.rbacSecurityGroup } : undefined,
      removeDefaultNodePool: true,
      initialNodeCount: 1,
      nodeConfig: {
        serviceAccount: bootstrapSa.email,
        oauthScopes: ["https://www.googleapis.com/auth/cloud-platform"],
        imageType: "COS_CONTAINERD",
        bootDiskKmsKey: diskKey.id,
        shieldedInstanceConfig: { enableSecureBoot: true, enableIntegrityMonitoring: true },
        workloadMetadataConfig: { mode: "GKE_METADATA" },
        metadata: { "disable-legacy-endpoints": "true" },
      },
      deletionProtection: true,
      resourceLabels: { environment: env, purpose: "hipaa-ci-runners" },
      dependsOn: [gkeAgent, computeAgent],
    });
    this.clusterName = this.cluster.name;
    this.clusterId = this.cluster.id;

    recordControl(this, { section: Cfr.ACCESS_CONTROL, resources: [this.cluster], how: "Private nodes and endpoint, Workload Identity, shielded nodes; no default node service account." });
    recordControl(this, { section: Cfr.ENCRYPTION, resources: [this.cluster, secretsKey, diskKey], how: "Secrets encrypted at the application layer and node boot disks with rotating CMEKs." });
  }
}
