import { Construct } from "constructs";
import { EksAccessEntry } from "@cdktf/provider-aws/lib/eks-access-entry";
import { EksAccessPolicyAssociation } from "@cdktf/provider-aws/lib/eks-access-policy-association";
import { Token } from "cdktf";
import { HipaaConfigError } from "../../src/errors";
import { Environment } from "../../src/model";
import { Cfr, recordControl } from "../../src/compliance";
import { ScopedRole } from "./scoped-role";

/** An environment's workload cluster, and the namespaces its pipeline deploys to. */
export interface DeployTarget {
  readonly clusterName: string;
  readonly clusterArn: string;
  /** Namespaces a deploy role may edit (AmazonEKSEditPolicy scoped to them). */
  readonly namespaces: readonly string[];
  /** The environment the cluster belongs to. */
  readonly environment: Environment;
}

const K8S_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * The "deploy to this cluster" intent: eks:DescribeCluster on that one cluster, and an EKS
 * access entry with AmazonEKSEditPolicy scoped to the target's namespaces. Refused across
 * environments.
 */
export class ClusterDeployAccess extends Construct {
  public readonly accessEntry: EksAccessEntry;
  public readonly policyAssociation: EksAccessPolicyAssociation;

  constructor(scope: Construct, id: string, role: ScopedRole, target: DeployTarget) {
    super(scope, id);
    if (target.environment.name !== role.environment.name) {
      throw new HipaaConfigError({
        path: this.node.path,
        problem: `${role.grantName} acts in environment "${role.environment.name}" and cannot deploy to the "${target.environment.name}" cluster`,
        cfr: Cfr.ACCESS_MANAGEMENT,
        fix: `deploy to "${target.environment.name}" from that environment's own role and runner pool`,
      });
    }
    if (target.namespaces.length === 0 || target.namespaces.some((n) => !K8S_NAME.test(n))) {
      throw new HipaaConfigError({
        path: this.node.path,
        problem: `deploy namespaces ${JSON.stringify(target.namespaces)} must be one or more Kubernetes names, without wildcards`,
        cfr: Cfr.ACCESS_CONTROL,
        fix: "list the namespaces the pipeline deploys to",
      });
    }
    if (!Token.isUnresolved(target.clusterArn) && !/^arn:aws[a-z-]*:eks:[a-z0-9-]+:\d{12}:cluster\/[A-Za-z0-9][A-Za-z0-9_-]*$/.test(target.clusterArn)) {
      throw new HipaaConfigError({ path: this.node.path, problem: `${JSON.stringify(target.clusterArn)} is not one EKS cluster ARN`, fix: "pass arn:aws:eks:REGION:ACCOUNT:cluster/NAME" });
    }
    role.addToPrincipalPolicy({ sid: `DescribeCluster${role.grantName}`, effect: "Allow", actions: ["eks:DescribeCluster"], resources: [target.clusterArn] });
    this.accessEntry = new EksAccessEntry(this, "Entry", { clusterName: target.clusterName, principalArn: role.roleArn, type: "STANDARD" });
    this.policyAssociation = new EksAccessPolicyAssociation(this, "Policy", {
      clusterName: target.clusterName,
      principalArn: role.roleArn,
      policyArn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy",
      accessScope: { type: "namespace", namespaces: [...target.namespaces] },
      dependsOn: [this.accessEntry],
    });
    recordControl(this, {
      section: Cfr.ACCESS_CONTROL,
      resources: [this.accessEntry, this.policyAssociation],
      how: `${role.grantName} may edit only namespaces ${target.namespaces.join(", ")} of ${target.environment.name}'s cluster.`,
    });
  }
}
