import { Construct } from "constructs";
import { ITerraformDependable } from "cdktf";
import { DataGoogleContainerCluster } from "@cdktf/provider-google/lib/data-google-container-cluster";
import { ProjectIamMember } from "@cdktf/provider-google/lib/project-iam-member";
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
}

export interface GkeWorkloadClusterLookupProps {
  readonly projectId: string;
  /** Region (regional cluster) or zone (zonal cluster), e.g. `us-central1` or `us-central1-a`. */
  readonly location: string;
  readonly clusterName: string;
  readonly environment: Environment;
}

export interface GkeWorkloadClusterFromResourceProps extends GkeWorkloadClusterLookupProps {
  /** The cluster resource created in this program (the names above are its literal inputs). */
  readonly cluster: ITerraformDependable;
}

class GkeWorkloadClusterLookup extends Construct implements IGkeWorkloadCluster {
  public readonly projectId: string;
  public readonly location: string;
  public readonly clusterName: string;
  public readonly environment: Environment;
  public readonly iamResourceName: string;
  public readonly dependable: ITerraformDependable;

  constructor(scope: Construct, id: string, props: GkeWorkloadClusterLookupProps) {
    super(scope, id);
    this.projectId = props.projectId;
    this.location = props.location;
    this.clusterName = props.clusterName;
    this.environment = props.environment;
    this.iamResourceName = gkeClusterIamName(this.node.path, props.projectId, props.location, props.clusterName);
    // The provider's data source fails the plan with "projects/P/locations/L/clusters/C not found".
    this.dependable = new DataGoogleContainerCluster(this, "Cluster", { project: props.projectId, location: props.location, name: props.clusterName });
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
    };
  }
}

/**
 * The "deploy to this cluster" intent on GCP: roles/container.developer bound with an IAM
 * condition on that one cluster's resource name, created after the cluster or its lookup.
 * Refused across environments.
 */
export class GkeDeployAccess extends Construct {
  public readonly binding: ProjectIamMember;

  constructor(scope: Construct, id: string, principal: IGcpPrincipal, target: IGkeWorkloadCluster) {
    super(scope, id);
    if (!target || !target.iamResourceName || !target.dependable) {
      throw new HipaaConfigError({
        path: this.node.path,
        problem: "the deploy target is not a cluster reference",
        fix: "pass GkeWorkloadCluster.lookup(...) for an existing cluster or GkeWorkloadCluster.fromResource(...) for one created here",
      });
    }
    assertSameEnvironment(this.node.path, target.environment, principal);
    const cluster = target.iamResourceName;
    this.binding = new ProjectIamMember(this, "Binding", {
      project: target.projectId,
      role: "roles/container.developer",
      member: principal.member,
      condition: {
        title: `only-${target.environment.name}-cluster`,
        description: `Deploys only to the ${target.environment.name} workload cluster`,
        expression: oneClusterExpression(cluster),
      },
      dependsOn: [target.dependable],
    });
    recordControl(this, { section: Cfr.ACCESS_CONTROL, resources: [this.binding], how: `${principal.grantName} may deploy only to ${cluster}.` });
  }
}
