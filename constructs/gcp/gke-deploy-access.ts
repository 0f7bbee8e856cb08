import { Construct } from "constructs";
import { Fn, ITerraformDependable, TerraformProvider, Token } from "cdktf";
import { DataGoogleClientConfig } from "@cdktf/provider-google/lib/data-google-client-config";
import { DataGoogleContainerCluster } from "@cdktf/provider-google/lib/data-google-container-cluster";
import { ProjectIamMember } from "@cdktf/provider-google/lib/project-iam-member";
import { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import { RoleBindingV1 } from "@cdktf/provider-kubernetes/lib/role-binding-v1";
import { HipaaConfigError } from "../../src/errors";
import { assertSameEnvironment, Environment } from "../../src/model";
import { Cfr, recordControl } from "../../src/compliance";
import { gkeClusterIamName, oneClusterExpression } from "./gke-cluster-name";
import { IGcpPrincipal } from "./principal";

/**
 * An environment's workload cluster, as a deploy grant needs it: the cluster is either created in
 * the same program or looked up with a data source, never named by a literal string alone, so a
 * cluster that does not exist fails `terraform plan` instead of granting access to nothing.
 */
export interface IGkeWorkloadCluster {
  readonly projectId: string;
  /** Region (regional cluster) or zone (zonal cluster). */
  readonly location: string;
  readonly clusterName: string;
  readonly environment: Environment;
  /** The name IAM conditions see: `projects/P/zones/Z/clusters/C` or `projects/P/locations/L/clusters/C`. */
  readonly iamResourceName: string;
  /** The cluster resource or its lookup: grants on the cluster are created after it. */
  readonly dependable: ITerraformDependable;
  /**
   * The Kubernetes provider that reaches this cluster's API: the deploy RoleBindings are created
   * through it.
   */
  readonly kubernetesProvider?: TerraformProvider;
}

export interface GkeWorkloadClusterLookupProps {
  readonly projectId: string;
  /** Region (regional cluster) or zone (zonal cluster), e.g. `us-central1` or `us-central1-a`. */
  readonly location: string;
  readonly clusterName: string;
  readonly environment: Environment;
  /**
   * Alias of the Kubernetes provider configured from the lookup (endpoint, cluster CA, and the
   * access token of the identity running Terraform). An alias, so a stack may also have a default
   * Kubernetes provider for another cluster.
   * @default "workload"
   */
  readonly kubernetesProviderAlias?: string;
}

export interface GkeWorkloadClusterFromResourceProps extends Omit<GkeWorkloadClusterLookupProps, "kubernetesProviderAlias"> {
  /** The cluster resource created in this program (the names above are its literal inputs). */
  readonly cluster: ITerraformDependable;
  /** A Kubernetes provider configured for this cluster. @default - none: deploy grants on it are refused */
  readonly kubernetesProvider?: TerraformProvider;
}

class GkeWorkloadClusterLookup extends Construct implements IGkeWorkloadCluster {
  public readonly projectId: string;
  public readonly location: string;
  public readonly clusterName: string;
  public readonly environment: Environment;
  public readonly iamResourceName: string;
  public readonly dependable: ITerraformDependable;
  public readonly kubernetesProvider: KubernetesProvider;

  constructor(scope: Construct, id: string, props: GkeWorkloadClusterLookupProps) {
    super(scope, id);
    this.projectId = props.projectId;
    this.location = props.location;
    this.clusterName = props.clusterName;
    this.environment = props.environment;
    this.iamResourceName = gkeClusterIamName(this.node.path, props.projectId, props.location, props.clusterName);
    const alias = props.kubernetesProviderAlias ?? "workload";
    if (!/^[a-z][a-z0-9_-]*$/.test(alias)) {
      throw new HipaaConfigError({ path: this.node.path, problem: `kubernetesProviderAlias ${JSON.stringify(alias)} is not a provider alias`, fix: "use lowercase letters, digits, '_' or '-', starting with a letter" });
    }
    // The provider's data source fails the plan with "projects/P/locations/L/clusters/C not found".
    const cluster = new DataGoogleContainerCluster(this, "Cluster", { project: props.projectId, location: props.location, name: props.clusterName });
    this.dependable = cluster;
    // Everything is read at plan from data sources (nothing is fetched at synth): the cluster's
    // endpoint and CA, and a short-lived token of the identity running Terraform, which needs
    // RBAC rights on the cluster to create the RoleBindings (container.admin, or bind/escalate).
    const client = new DataGoogleClientConfig(this, "ClientConfig");
    this.kubernetesProvider = new KubernetesProvider(this, "Kubernetes", {
      alias,
      host: `https://${cluster.endpoint}`,
      clusterCaCertificate: Fn.base64decode(cluster.masterAuth.get(0).clusterCaCertificate),
      token: client.accessToken,
    });
  }
}

/** Typed references to an environment's workload cluster. */
export class GkeWorkloadCluster {
  /** Looks the cluster up (`data "google_container_cluster"`): a missing cluster fails at plan. */
  public static lookup(scope: Construct, id: string, props: GkeWorkloadClusterLookupProps): IGkeWorkloadCluster {
    return new GkeWorkloadClusterLookup(scope, id, props);
  }

  /** A cluster created in this program; grants depend on the resource. */
  public static fromResource(props: GkeWorkloadClusterFromResourceProps): IGkeWorkloadCluster {
    const where = `GkeWorkloadCluster "${props.clusterName}"`;
    return {
      projectId: props.projectId,
      location: props.location,
      clusterName: props.clusterName,
      environment: props.environment,
      iamResourceName: gkeClusterIamName(where, props.projectId, props.location, props.clusterName),
      dependable: props.cluster,
      kubernetesProvider: props.kubernetesProvider,
    };
  }
}

/**
 * A principal that deploys to a GKE cluster: a Google service account, which GKE authenticates
 * under its email as the Kubernetes username (RoleBinding subject kind `User`).
 */
export interface IGkeDeployer extends IGcpPrincipal {
  /** The literal email, `ID@PROJECT.iam.gserviceaccount.com`. */
  readonly serviceAccountEmail: string;
}

export interface GkeDeployAccessOptions {
  /** The namespaces the deployer may change (ClusterRole `edit` bound in each); no other. */
  readonly namespaces: readonly string[];
  /** Name of the RoleBinding in each namespace. @default `hipaa-` + the grant name, kebab-cased */
  readonly bindingName?: string;
}

const K8S_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const GSA_EMAIL = /^[a-z][-a-z0-9]{4,28}[a-z0-9]@[a-z][-a-z0-9.:]*\.iam\.gserviceaccount\.com$/;
/**
 * Namespaces a deployer never gets: the cluster's own, and the runner pools' (`ci-ENV-PURPOSE`).
 * Workload Identity is per project (`PROJECT.svc.id.goog[NAMESPACE/KSA]`), so `edit` in a
 * namespace named like the build runners' on any cluster of the project would let a deployer
 * create the KSA `runner` there and act as the build runner, which signs with the cosign key.
 */
const RESERVED_NAMESPACE = /^(default|kube-.*|gke-.*|gmp-.*|ci-.+-(build|evidence|deploy))$/;

/** Validates deploy namespaces: Kubernetes names, no duplicates, none reserved. */
export function validateDeployNamespaces(path: string, namespaces: readonly string[]): void {
  if (namespaces.length === 0 || namespaces.some((n) => !K8S_NAME.test(n))) {
    throw new HipaaConfigError({
      path,
      problem: `deploy namespaces ${JSON.stringify(namespaces)} must be one or more Kubernetes names, without wildcards`,
      cfr: Cfr.ACCESS_CONTROL,
      fix: "list the namespaces the application deploys to",
    });
  }
  const reserved = namespaces.find((n) => RESERVED_NAMESPACE.test(n));
  if (reserved) {
    throw new HipaaConfigError({
      path,
      problem: `deploy namespace "${reserved}" is reserved (the cluster's own namespaces, and the runner pools' ci-ENV-PURPOSE, whose Workload Identity would act as a runner service account)`,
      cfr: Cfr.ACCESS_CONTROL,
      fix: "deploy each application to namespaces of its own, named after it",
    });
  }
  if (new Set(namespaces).size !== namespaces.length) {
    throw new HipaaConfigError({ path, problem: `deploy namespaces ${JSON.stringify(namespaces)} list a namespace twice`, fix: "list each namespace once" });
  }
}

/**
 * The "deploy to this cluster" intent on GCP. IAM: roles/container.clusterViewer (get
 * credentials, nothing inside the cluster) bound with an IAM condition on that one cluster's
 * resource name, created after the cluster or its lookup. Kubernetes: a RoleBinding of the
 * ClusterRole `edit` to the service account's email in each of the given namespaces, and nowhere
 * else. `edit` reads Secrets and creates pods only there, and cannot create namespaces or
 * RoleBindings. Project-wide roles/container.developer would reach every namespace of every
 * cluster in the project (GKE authorizes a request when IAM or RBAC allows it).
 * Refused across environments.
 */
export class GkeDeployAccess extends Construct {
  public readonly binding: ProjectIamMember;
  /** The RoleBindings, by namespace. */
  public readonly roleBindings: ReadonlyMap<string, RoleBindingV1>;
  public readonly namespaces: readonly string[];

  constructor(scope: Construct, id: string, principal: IGkeDeployer, target: IGkeWorkloadCluster, options: GkeDeployAccessOptions) {
    super(scope, id);
    if (!target || !target.iamResourceName || !target.dependable) {
      throw new HipaaConfigError({
        path: this.node.path,
        problem: "the deploy target is not a cluster reference",
        fix: "pass GkeWorkloadCluster.lookup(...) for an existing cluster or GkeWorkloadCluster.fromResource(...) for one created here",
      });
    }
    assertSameEnvironment(this.node.path, target.environment, principal);
    if (!target.kubernetesProvider) {
      throw new HipaaConfigError({
        path: this.node.path,
        problem: "the deploy target has no Kubernetes provider, so the namespace-scoped RoleBindings cannot be created",
        cfr: Cfr.ACCESS_CONTROL,
        fix: "use GkeWorkloadCluster.lookup(...), which configures one, or pass kubernetesProvider to GkeWorkloadCluster.fromResource(...)",
      });
    }
    const email = principal.serviceAccountEmail;
    if (!email || Token.isUnresolved(email) || !GSA_EMAIL.test(email)) {
      throw new HipaaConfigError({
        path: this.node.path,
        problem: `${principal.grantName}'s service account email ${JSON.stringify(email)} is not a literal Google service account email`,
        fix: "pass the email literally (ID@PROJECT.iam.gserviceaccount.com): it is the Kubernetes username the RoleBindings name, and reviewers read it",
      });
    }
    validateDeployNamespaces(this.node.path, options.namespaces);
    const bindingName = options.bindingName ?? `hipaa-${principal.grantName.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase()}`;
    if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(bindingName)) {
      throw new HipaaConfigError({ path: this.node.path, problem: `RoleBinding name ${JSON.stringify(bindingName)} is not a Kubernetes name`, fix: "use lowercase letters, digits and '-'" });
    }
    this.namespaces = [...options.namespaces];
    const cluster = target.iamResourceName;
    this.binding = new ProjectIamMember(this, "Binding", {
      project: target.projectId,
      role: "roles/container.clusterViewer",
      member: principal.member,
      condition: {
        title: `only-${target.environment.name}-cluster`,
        description: `Gets credentials only for the ${target.environment.name} workload cluster`,
        expression: oneClusterExpression(cluster),
      },
      dependsOn: [target.dependable],
    });
    const roleBindings = new Map<string, RoleBindingV1>();
    for (const namespace of this.namespaces) {
      roleBindings.set(
        namespace,
        new RoleBindingV1(this, `RoleBinding-${namespace}`, {
          provider: target.kubernetesProvider,
          metadata: {
            name: bindingName,
            namespace,
            labels: { "app.kubernetes.io/managed-by": "cdktf-hipaa-substrate", "hipaa-substrate/environment": target.environment.name },
          },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" },
          // GKE authenticates a Google service account as the user named by its email.
          subject: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: email }],
          dependsOn: [target.dependable],
        }),
      );
    }
    this.roleBindings = roleBindings;
    recordControl(this, {
      section: Cfr.ACCESS_CONTROL,
      resources: [this.binding, ...roleBindings.values()],
      how: `${principal.grantName} (${email}) may change only namespaces ${this.namespaces.join(", ")} of ${cluster} (ClusterRole edit through RoleBindings there); its IAM role on the cluster, container.clusterViewer, only gets credentials.`,
    });
  }
}
