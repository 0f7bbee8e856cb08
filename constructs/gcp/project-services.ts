import { Construct, IConstruct } from "constructs";
import { Aspects, dependable, IAspect, TerraformResource } from "cdktf";
import { ProjectService } from "@cdktf/provider-google/lib/project-service";
import { HipaaConfigError } from "../../src/errors";

/**
 * The APIs each Google resource type (by prefix) calls when Terraform creates it. A resource whose
 * API is off fails with "API has not been used in project ... or it is disabled", so it must be
 * created after the `google_project_service` that turns the API on.
 */
const SERVICES_BY_TYPE: readonly (readonly [RegExp, readonly string[]])[] = [
  [/^google_kms_/, ["cloudkms.googleapis.com"]],
  [/^google_storage_/, ["storage.googleapis.com"]],
  // The STS token exchange and service-account impersonation are what CI calls through the
  // provider; the pool itself is an IAM resource.
  [/^google_iam_workload_identity_pool_provider$/, ["iam.googleapis.com", "sts.googleapis.com", "iamcredentials.googleapis.com"]],
  [/^google_iam_workload_identity_pool$/, ["iam.googleapis.com"]],
  [/^google_service_account/, ["iam.googleapis.com"]],
  [/^google_project_iam_/, ["cloudresourcemanager.googleapis.com"]],
  // GKE needs Compute Engine for nodes, and the cluster enforces Binary Authorization.
  [/^google_binary_authorization_/, ["binaryauthorization.googleapis.com"]],
  [/^google_container_analysis_/, ["containeranalysis.googleapis.com"]],
  [/^google_container_cluster$/, ["container.googleapis.com", "compute.googleapis.com", "binaryauthorization.googleapis.com"]],
  [/^google_container_/, ["container.googleapis.com", "compute.googleapis.com"]],
  [/^google_artifact_registry_/, ["artifactregistry.googleapis.com"]],
  [/^google_logging_/, ["logging.googleapis.com"]],
];

/** APIs a particular resource needs beyond its type's (see `requireServices`). */
const EXTRA_SERVICES = new WeakMap<IConstruct, readonly string[]>();

/**
 * Declares that `resource` needs `services` beyond what its type calls: a grant to a Google
 * service agent (`service-N@container-engine-robot...`) fails until the API whose enabling creates
 * that agent is on. Honoured by `GcpProjectServices.dependOnServices` when the stack enables them.
 */
export function requireServices(resource: IConstruct, ...services: string[]): void {
  EXTRA_SERVICES.set(resource, [...(EXTRA_SERVICES.get(resource) ?? []), ...services]);
}

/** The APIs a resource of `type` needs. */
export function servicesFor(type: string): readonly string[] {
  return SERVICES_BY_TYPE.find(([pattern]) => pattern.test(type))?.[1] ?? [];
}

export interface GcpProjectServicesProps {
  readonly projectId: string;
  /** The APIs to enable, e.g. `container.googleapis.com`. */
  readonly services: readonly string[];
}

const SERVICE = /^[a-z][a-z0-9-]*(\.[a-z0-9-]+)*\.googleapis\.com$/;

/**
 * Turns on the APIs a stack uses (`google_project_service`, `disable_on_destroy = false`: a
 * destroy of this stack must not switch off an API that other workloads in the project use) and,
 * through `dependOnServices`, makes every resource that calls an API depend on it, so a fresh
 * project applies in one run.
 */
export class GcpProjectServices extends Construct {
  public readonly services: ReadonlyMap<string, ProjectService>;

  constructor(scope: Construct, id: string, props: GcpProjectServicesProps) {
    super(scope, id);
    const bad = props.services.find((s) => !SERVICE.test(s));
    if (bad) {
      throw new HipaaConfigError({ path: this.node.path, problem: `${JSON.stringify(bad)} is not an API service name`, fix: "name APIs as SERVICE.googleapis.com" });
    }
    const services = new Map<string, ProjectService>();
    for (const service of [...new Set(props.services)].sort()) {
      services.set(service, new ProjectService(this, service, { project: props.projectId, service, disableOnDestroy: false }));
    }
    this.services = services;
  }

  /**
   * Adds to every Google resource under `scope` a dependency on the enabled APIs it calls. Data
   * sources get none: a data source with a dependency that has pending changes is read during
   * apply instead of plan, so a missing network or cluster would no longer fail the plan, and an
   * attribute read from it (the storage service agent a key grant names) would turn unknown and
   * replace the resources that use it. The data sources the stack reads call APIs that are on
   * wherever the thing they look up exists, or on by default (Cloud Storage).
   */
  public dependOnServices(scope: IConstruct): void {
    Aspects.of(scope).add(new ServiceDependencies(this));
  }
}

class ServiceDependencies implements IAspect {
  private readonly done = new Set<string>();

  constructor(private readonly owner: GcpProjectServices) {}

  public visit(node: IConstruct): void {
    // Not instanceof: a consumer's cdktf copy and ours must agree.
    if (!TerraformResource.isTerraformResource(node)) return;
    const element = node;
    const type = element.terraformResourceType;
    if (type === "google_project_service") return;
    const needed = [...new Set([...servicesFor(type), ...(EXTRA_SERVICES.get(node) ?? [])])]
      .map((s) => this.owner.services.get(s))
      .filter((s): s is ProjectService => s !== undefined);
    if (needed.length === 0) return;
    const current = element.dependsOn ?? [];
    const added = needed.filter((s) => !this.done.has(`${element.node.path} ${s.node.path}`));
    added.forEach((s) => this.done.add(`${element.node.path} ${s.node.path}`));
    element.dependsOn = [...current, ...added.map((s) => dependable(s))];
  }
}
