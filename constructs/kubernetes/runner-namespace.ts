import { Construct } from "constructs";
import { ITerraformDependable, TerraformProvider } from "cdktf";
import { NamespaceV1 } from "@cdktf/provider-kubernetes/lib/namespace-v1";
import { NetworkPolicyV1, NetworkPolicyV1SpecEgress } from "@cdktf/provider-kubernetes/lib/network-policy-v1";
import { ServiceAccountV1 } from "@cdktf/provider-kubernetes/lib/service-account-v1";
import { HipaaConfigError } from "../../src/errors";
import { Environment, RunnerPurpose } from "../../src/model";
import { Cfr, recordControl } from "../../src/compliance";

/** A destination runner pods may reach on TCP 443 (a VPC endpoint subnet, the cluster API, a registry range). */
export interface RunnerEgress {
  /** The destination range. */
  readonly cidr: string;
  /** What it is, for reviewers (e.g. "VPC endpoints: ecr.api, ecr.dkr, kms, sts, s3"). */
  readonly description: string;
  /** @default [443] */
  readonly ports?: readonly number[];
}

export interface RunnerNamespaceProps {
  readonly environment: Environment;
  readonly purpose: RunnerPurpose;
  /** The namespace the pool's identity binding is pinned to (`ci-ENV-PURPOSE`). */
  readonly namespace: string;
  /** The service account the binding is pinned to (`runner`). */
  readonly serviceAccount: string;
  /** Annotations binding the service account to its cloud identity (IRSA role ARN or GCP service account). */
  readonly serviceAccountAnnotations: Readonly<Record<string, string>>;
  /** Where the purpose's pods may connect, beyond cluster DNS. Nothing else is reachable. */
  readonly egress: readonly RunnerEgress[];
  /**
   * GKE only: let pods reach the GKE metadata server (169.254.169.254:80/8080 on Dataplane V2,
   * 169.254.169.252:987/988 on Calico clusters), through which Workload Identity hands them their own service
   * account's token. With `GKE_METADATA` node pools it never serves the node's identity.
   * On EKS leave it off: IRSA needs no metadata endpoint, and the node's credentials live there.
   * @default false
   */
  readonly gkeMetadataServer?: boolean;
  readonly kubernetesProvider: TerraformProvider;
  /** What must exist before the namespace (e.g. the add-on that enforces NetworkPolicy). @default - nothing */
  readonly dependsOn?: readonly ITerraformDependable[];
}

/** The instance metadata endpoint: the node's credentials on EKS. */
export const NODE_METADATA_CIDR = "169.254.169.254/32";

function ipv4Range(cidr: string): [number, number] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (octets.some((o) => o > 255) || bits > 32) return undefined;
  const start = octets.reduce((a, o) => a * 256 + o, 0);
  const size = 2 ** (32 - bits);
  return start % size === 0 ? [start, start + size - 1] : undefined;
}

const METADATA_IP = ipv4Range(NODE_METADATA_CIDR)![0];

/**
 * A runner pool's Kubernetes side: its namespace, the service account its IRSA / Workload Identity
 * binding is pinned to, a default-deny NetworkPolicy (no ingress, no egress), and one policy that
 * opens exactly cluster DNS and the purpose's destinations on TCP 443, with the node metadata
 * endpoint cut out of every range. A build job can then reach its registry and KMS but not
 * another environment, the node's credentials or the internet at large.
 */
export class RunnerNamespace extends Construct {
  public readonly namespace: NamespaceV1;
  public readonly serviceAccount: ServiceAccountV1;
  public readonly defaultDeny: NetworkPolicyV1;
  public readonly allowEgress: NetworkPolicyV1;

  constructor(scope: Construct, id: string, props: RunnerNamespaceProps) {
    super(scope, id);
    const path = this.node.path;
    validate(path, props);
    const provider = props.kubernetesProvider;
    const labels = { "hipaa.substrate/environment": props.environment.name, "hipaa.substrate/purpose": props.purpose };
    this.namespace = new NamespaceV1(this, "Namespace", {
      provider,
      dependsOn: props.dependsOn ? [...props.dependsOn] : undefined,
      metadata: { name: props.namespace, labels: { ...labels, "pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/warn": "restricted" } },
    });
    const namespace = this.namespace.metadata.name;
    this.serviceAccount = new ServiceAccountV1(this, "ServiceAccount", {
      provider,
      metadata: { name: props.serviceAccount, namespace, labels, annotations: { ...props.serviceAccountAnnotations } },
      automountServiceAccountToken: true,
    });
    this.defaultDeny = new NetworkPolicyV1(this, "DefaultDeny", {
      provider,
      metadata: { name: "default-deny", namespace, labels },
      spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
    });
    const egress: NetworkPolicyV1SpecEgress[] = [
      {
        to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } }, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }],
        ports: [{ port: "53", protocol: "UDP" }, { port: "53", protocol: "TCP" }],
      },
      ...props.egress.map((e) => ({
        to: [{ ipBlock: { cidr: e.cidr, except: covers(e.cidr) ? [NODE_METADATA_CIDR] : undefined } }],
        ports: (e.ports ?? [443]).map((port) => ({ port: String(port), protocol: "TCP" })),
      })),
    ];
    if (props.gkeMetadataServer) {
      // Dataplane V2 reaches the GKE metadata server at 169.254.169.254:80/8080; Calico clusters at
      // 169.254.169.252:987/988. Both profiles are opened so the fence survives a dataplane change.
      egress.push(
        { to: [{ ipBlock: { cidr: NODE_METADATA_CIDR } }], ports: [{ port: "80", protocol: "TCP" }, { port: "8080", protocol: "TCP" }] },
        { to: [{ ipBlock: { cidr: "169.254.169.252/32" } }], ports: [{ port: "987", protocol: "TCP" }, { port: "988", protocol: "TCP" }] },
      );
    }
    this.allowEgress = new NetworkPolicyV1(this, "AllowEgress", {
      provider,
      metadata: { name: `${props.purpose}-egress`, namespace, labels, annotations: { "hipaa.substrate/destinations": props.egress.map((e) => `${e.cidr} (${e.description})`).join("; ") } },
      spec: { podSelector: {}, policyTypes: ["Egress"], egress },
    });
    recordControl(this, {
      section: Cfr.ACCESS_CONTROL,
      resources: [this.namespace, this.serviceAccount, this.defaultDeny, this.allowEgress],
      how: `${props.environment.name}/${props.purpose} runners: namespace ${props.namespace} denies all ingress and egress except DNS and ${props.egress.map((e) => e.description).join(", ") || "nothing"}${props.gkeMetadataServer ? ", and the GKE metadata server (Workload Identity)" : "; the node metadata endpoint is unreachable"}.`,
    });
  }
}

function covers(cidr: string): boolean {
  const r = ipv4Range(cidr);
  return r !== undefined && r[0] <= METADATA_IP && METADATA_IP <= r[1] && cidr !== NODE_METADATA_CIDR;
}

function validate(path: string, props: RunnerNamespaceProps): void {
  for (const e of props.egress) {
    if (!ipv4Range(e.cidr)) {
      throw new HipaaConfigError({ path, problem: `egress CIDR ${JSON.stringify(e.cidr)} is not an IPv4 network`, fix: "pass e.g. 10.0.32.0/24 (the VPC endpoint subnet)" });
    }
    if (e.cidr.endsWith("/0")) {
      throw new HipaaConfigError({
        path,
        problem: `egress to ${e.cidr} (${e.description}) opens the whole internet to ${props.environment.name} ${props.purpose} runners`,
        cfr: Cfr.ACCESS_CONTROL,
        fix: "name the ranges the purpose needs (VPC endpoints for the registry, KMS, STS and S3; the cluster API for deploy); reach public images through a pull-through cache",
      });
    }
    if (e.cidr === NODE_METADATA_CIDR) {
      throw new HipaaConfigError({
        path,
        problem: "egress to the node metadata endpoint was requested",
        cfr: Cfr.ACCESS_CONTROL,
        fix: "remove it: runner pods get cloud credentials through IRSA / Workload Identity, never the node's",
      });
    }
    if ((e.ports ?? [443]).some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) {
      throw new HipaaConfigError({ path, problem: `egress ports ${JSON.stringify(e.ports)} are not TCP ports`, fix: "e.g. [443]" });
    }
  }
}
