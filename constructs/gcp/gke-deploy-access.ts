import { Construct } from "constructs";
import { ProjectIamMember } from "@cdktf/provider-google/lib/project-iam-member";
import { assertSameEnvironment, Environment } from "../../src/model";
import { Cfr, recordControl } from "../../src/compliance";
import { IGcpPrincipal } from "./principal";

/** An environment's workload cluster. */
export interface GkeDeployTarget {
  readonly projectId: string;
  readonly location: string;
  readonly clusterName: string;
  readonly environment: Environment;
}

/**
 * The "deploy to this cluster" intent on GCP: roles/container.developer bound with an IAM
 * condition on that one cluster's resource name. Refused across environments.
 */
export class GkeDeployAccess extends Construct {
  public readonly binding: ProjectIamMember;

  constructor(scope: Construct, id: string, principal: IGcpPrincipal, target: GkeDeployTarget) {
    super(scope, id);
    assertSameEnvironment(this.node.path, target.environment, principal);
    const cluster = `projects/${target.projectId}/locations/${target.location}/clusters/${target.clusterName}`;
    this.binding = new ProjectIamMember(this, "Binding", {
      project: target.projectId,
      role: "roles/container.developer",
      member: principal.member,
      condition: {
        title: `only-${target.environment.name}-cluster`,
        description: `Deploys only to the ${target.environment.name} workload cluster`,
        expression: `resource.name == "${cluster}" || resource.name.startsWith("${cluster}/")`,
      },
    });
    recordControl(this, { section: Cfr.ACCESS_CONTROL, resources: [this.binding], how: `${principal.grantName} may deploy only to ${cluster}.` });
  }
}
