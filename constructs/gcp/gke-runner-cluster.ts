import { Construct, IConstruct } from "constructs";
import { ITerraformDependable, Op } from "cdktf";
import { ContainerCluster } from "@cdktf/provider-google/lib/container-cluster";
import { DataGoogleComputeNetwork } from "@cdktf/provider-google/lib/data-google-compute-network";
import { DataGoogleComputeSubnetwork } from "@cdktf/provider-google/lib/data-google-compute-subnetwork";
import { DataGoogleContainerCluster } from "@cdktf/provider-google/lib/data-google-container-cluster";
import { KmsCryptoKey } from "@cdktf/provider-google/lib/kms-crypto-key";
import { KmsCryptoKeyIamMember } from "@cdktf/provider-google/lib/kms-crypto-key-iam-member";
import { KmsKeyRing } from "@cdktf/provider-google/lib/kms-key-ring";
import { ProjectIamMember } from "@cdktf/provider-google/lib/project-iam-member";
import { ServiceAccount } from "@cdktf/provider-google/lib/service-account";
import { HipaaConfigError } from "../../src/errors";
import { Environment, validateEnvironments } from "../../src/model";
import { Cfr, recordControl } from "../../src/compliance";
import { gkeClusterIamName, oneClusterExpression, regionOf } from "./gke-cluster-name";
import { requireServices } from "./project-services";

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
  /**
   * What creates (or proves) the Workload Identity pool: `PROJECT.svc.id.goog` exists only once a
   * cluster with Workload Identity exists, so `roles/iam.workloadIdentityUser` bindings on it
   * depend on this (the cluster resource, or the lookup of an existing cluster).
   */
  readonly workloadIdentityDependency: ITerraformDependable;
  /** The name IAM conditions see (`projects/P/zones/Z/clusters/C` or `projects/P/locations/L/clusters/C`). */
  readonly iamResourceName: string;
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
  /**
   * VPC network and subnetwork: names in the cluster's project, or `projects/P/global/networks/N`
   * and `projects/P/regions/R/subnetworks/S` (Shared VPC). Both must exist: they are looked up
   * with data sources, so a missing one fails `terraform plan`.
   */
  readonly network: string;
  readonly subnetwork: string;
  /** Secondary ranges of the subnetwork for pods and services (VPC-native); checked at plan. */
  readonly podsRangeName: string;
  readonly servicesRangeName: string;
  /**
   * The /28 of the control plane's private endpoint. Required, and distinct per cluster: two
   * clusters with the same range cannot share or peer a network (overlapping ranges in one program
   * are refused). Changing it replaces the cluster, so keep the value an existing cluster has.
   */
  readonly masterIpv4CidrBlock: string;
  /**
   * IAM members (`group:` or `user:`, or a `serviceAccount:` for a bootstrap pipeline) who
   * administer this cluster: `roles/container.admin` with an IAM condition on this one cluster.
   * Required: with a private endpoint and no other grant, nobody could install the runner
   * controller or change RBAC.
   */
  readonly platformAdminMembers: readonly string[];
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

const PLATFORM_ADMIN = /^(group|user|serviceAccount):[^\s*?]+@[^\s*?]+$/;

/** /28 control-plane ranges already taken in one program (keyed by the construct tree's root). */
const MASTER_RANGES = new WeakMap<IConstruct, { readonly range: [number, number]; readonly cidr: string; readonly path: string }[]>();

function cidrRange(cidr: string): [number, number] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (octets.some((o) => o > 255) || bits > 32) return undefined;
  const start = octets.reduce((a, o) => a * 256 + o, 0);
  const size = 2 ** (32 - bits);
  return start % size === 0 ? [start, start + size - 1] : undefined;
}

/** `name`, or the project and name of `projects/P/.../KIND/name` (a self link works too). */
function splitResourcePath(value: string, kind: string): { project?: string; name: string } {
  const m = new RegExp(`projects/([^/]+)/.*${kind}/([^/]+)$`).exec(value);
  return m ? { project: m[1], name: m[2] } : { name: value };
}

class ExistingGkeRunnerCluster extends Construct implements IGkeRunnerCluster {
  public readonly clusterName: string;
  public readonly clusterId: string;
  public readonly location: string;
  public readonly projectId: string;
  public readonly projectNumber: string;
  public readonly workloadPool: string;
  public readonly workloadIdentityDependency: ITerraformDependable;
  public readonly iamResourceName: string;
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
    this.iamResourceName = gkeClusterIamName(this.path, props.projectId, props.location, props.clusterName);
    // The lookup fails the plan when the cluster is missing; bindings on its pool depend on it.
    this.workloadIdentityDependency = new DataGoogleContainerCluster(this, "Lookup", { project: props.projectId, location: props.location, name: props.clusterName });
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
  public readonly workloadIdentityDependency: ITerraformDependable;
  public readonly iamResourceName: string;
  public readonly nodeDiskKmsKeyId: string;
  public readonly environments: readonly Environment[];
  public readonly path: string;
  /** `roles/container.admin` bindings of the platform administrators, conditioned on this cluster. */
  public readonly platformAdminBindings: readonly ProjectIamMember[];

  constructor(scope: Construct, id: string, props: GkeRunnerClusterProps) {
    super(scope, id);
    this.path = this.node.path;
    this.environments = validateEnvironments(props.environments, `${this.path}/environments`);
    if (!/^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$/.test(props.clusterName)) {
      throw new HipaaConfigError({ path: this.path, problem: `cluster name ${JSON.stringify(props.clusterName)} is not valid`, fix: "use 1-40 lowercase letters, digits or '-', starting with a letter" });
    }
    const admins = validatePlatformAdmins(this.path, props.platformAdminMembers);
    this.iamResourceName = gkeClusterIamName(this.path, props.projectId, props.location, props.clusterName);
    const wide = (props.masterAuthorizedCidrs ?? []).find((c) => c.endsWith("/0"));
    if (wide) {
      throw new HipaaConfigError({ path: this.path, problem: `master authorized network ${wide} admits every address`, cfr: Cfr.ACCESS_CONTROL, fix: "list only the networks that administer the cluster" });
    }
    this.projectId = props.projectId;
    this.projectNumber = props.projectNumber;
    this.location = props.location;
    this.workloadPool = `${props.projectId}.svc.id.goog`;
    // Last check: it records the range as taken.
    const master = validateMasterRange(this, props.masterIpv4CidrBlock);
    const env = this.environments.map((e) => e.name).join("-");

    // The network team's VPC is referenced by name: look it up so a missing network, subnetwork
    // or secondary range fails the plan, not the cluster creation twenty minutes into the apply.
    const net = splitResourcePath(props.network, "networks");
    const subnet = splitResourcePath(props.subnetwork, "subnetworks");
    const subnetRegion = /\/regions\/([^/]+)\//.exec(props.subnetwork)?.[1] ?? regionOf(this.path, props.location);
    const network = new DataGoogleComputeNetwork(this, "Network", { project: net.project ?? props.projectId, name: net.name });
    const subnetwork = new DataGoogleComputeSubnetwork(this, "Subnetwork", { project: subnet.project ?? props.projectId, region: subnetRegion, name: subnet.name });
    const rangeNames = `data.${subnetwork.terraformResourceType}.${subnetwork.friendlyUniqueId}.secondary_ip_range[*].range_name`;

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
    // Enabling an API is what creates its service agent: IAM refuses these members before then.
    requireServices(gkeAgent, "container.googleapis.com");
    requireServices(computeAgent, "compute.googleapis.com");
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
      lifecycle: {
        // node_config configures only the transient default pool, which is removed; GKE then
        // reports the first remaining pool's config, and these fields force replacement, which
        // deletion protection would block on every later plan.
        ignoreChanges: ["node_config"],
        precondition: [
          {
            condition: Op.eq(subnetwork.network, network.selfLink),
            errorMessage: `Subnetwork ${props.subnetwork} is not in network ${props.network}.`,
          },
          ...[props.podsRangeName, props.servicesRangeName].map((range) => ({
            condition: `\${contains(${rangeNames}, "${range}")}`,
            errorMessage: `Subnetwork ${props.subnetwork} has no secondary range "${range}" (pods and services need one each).`,
          })),
        ],
      },
    });
    this.clusterName = this.cluster.name;
    this.clusterId = this.cluster.id;
    this.workloadIdentityDependency = this.cluster;

    // The cluster's administrators: explicit, named, and valid only on this cluster (the
    // condition), so nobody administers it by accident of a project-wide role, and someone can.
    this.platformAdminBindings = admins.map(
      (member) =>
        new ProjectIamMember(this, `PlatformAdmin-${member.replace(/[^A-Za-z0-9]+/g, "-")}`, {
          project: props.projectId,
          role: "roles/container.admin",
          member,
          condition: {
            title: "only-runner-cluster",
            description: `Administers only the runner cluster ${props.clusterName}`,
            expression: oneClusterExpression(this.iamResourceName),
          },
          dependsOn: [this.cluster],
        }),
    );

    recordControl(this, { section: Cfr.ACCESS_CONTROL, resources: [this.cluster], how: "Private nodes and endpoint, Workload Identity, shielded nodes; no default node service account." });
    recordControl(this, { section: Cfr.ENCRYPTION, resources: [this.cluster, secretsKey, diskKey], how: "Secrets encrypted at the application layer and node boot disks with rotating CMEKs." });
    recordControl(this, {
      section: Cfr.ACCESS_MANAGEMENT,
      resources: this.platformAdminBindings,
      how: `Named platform administrators (${admins.join(", ")}) hold roles/container.admin on ${this.iamResourceName} only.`,
    });
  }
}

function validateMasterRange(cluster: Construct, cidr: string | undefined): string {
  const path = cluster.node.path;
  if (cidr === undefined) {
    throw new HipaaConfigError({
      path,
      problem: "masterIpv4CidrBlock is not given",
      fix: "pass a private /28 distinct from every other cluster's, e.g. 172.16.0.0/28 for one environment and 172.16.0.16/28 for the next (an existing cluster keeps the range it has: changing it replaces the cluster)",
    });
  }
  const range = cidrRange(cidr);
  if (!cidr.endsWith("/28") || !range) {
    throw new HipaaConfigError({ path, problem: `masterIpv4CidrBlock ${JSON.stringify(cidr)} is not a /28 network address`, fix: "pass a private /28 that starts on a 16-address boundary, e.g. 172.16.0.16/28" });
  }
  const root = cluster.node.root;
  const taken = MASTER_RANGES.get(root) ?? [];
  const clash = taken.find((t) => t.range[0] <= range[1] && range[0] <= t.range[1]);
  if (clash) {
    throw new HipaaConfigError({
      path,
      problem: `masterIpv4CidrBlock ${cidr} overlaps ${clash.cidr} of ${clash.path}`,
      fix: "give each cluster its own /28 (clusters whose ranges overlap cannot share, peer or later join one network)",
    });
  }
  MASTER_RANGES.set(root, [...taken, { range, cidr, path }]);
  return cidr;
}

function validatePlatformAdmins(path: string, members: readonly string[] | undefined): string[] {
  if (!members || members.length === 0) {
    throw new HipaaConfigError({
      path,
      problem: "no platform administrator is named: with a private endpoint and no other grant, nobody could install the runner controller",
      cfr: Cfr.ACCESS_MANAGEMENT,
      fix: "pass platformAdminMembers, e.g. [\"group:gke-platform-admins@example.com\"]",
    });
  }
  const bad = members.find((m) => !PLATFORM_ADMIN.test(m));
  if (bad) {
    throw new HipaaConfigError({
      path,
      problem: `platform administrator ${JSON.stringify(bad)} is not one named group, user or service account`,
      cfr: Cfr.ACCESS_MANAGEMENT,
      fix: "name administrators as group:NAME@DOMAIN, user:NAME@DOMAIN or serviceAccount:NAME@PROJECT.iam.gserviceaccount.com (no domain:, allUsers or wildcards)",
    });
  }
  if (new Set(members).size !== members.length) {
    throw new HipaaConfigError({ path, problem: "platformAdminMembers lists a member twice", fix: "list each administrator once" });
  }
  return [...members];
}
