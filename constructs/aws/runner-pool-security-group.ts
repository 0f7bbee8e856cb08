import { Construct } from "constructs";
import { DataAwsEc2ManagedPrefixList } from "@cdktf/provider-aws/lib/data-aws-ec2-managed-prefix-list";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { VpcSecurityGroupEgressRule } from "@cdktf/provider-aws/lib/vpc-security-group-egress-rule";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { Token } from "cdktf";
import { HipaaConfigError } from "../../src/errors";
import { Environment, RunnerPurpose } from "../../src/model";
import { Cfr, recordControl } from "../../src/compliance";
import { AwsAccountContext } from "./account-context";

/** A range a pool's nodes (and, with the VPC CNI, their pods) may reach. */
export interface RunnerPoolDestination {
  readonly cidr: string;
  readonly description: string;
  /** TCP ports. @default [443] */
  readonly ports?: readonly number[];
}

export interface RunnerPoolSecurityGroupProps {
  readonly environment: Environment;
  readonly purpose: RunnerPurpose;
  /** The VPC of the runner cluster. */
  readonly vpcId: string;
  /** The EKS cluster security group (control plane ENIs, and nodes outside this pool). */
  readonly clusterSecurityGroupId: string;
  /** Where the pool may connect beyond the cluster (VPC endpoints for ECR, S3, KMS, STS, EC2; the workload API for deploy). */
  readonly destinations: readonly RunnerPoolDestination[];
}

/**
 * A security group of one runner pool's own, instead of the cluster's shared group: the pool's
 * nodes and pods (the VPC CNI gives pods the node's groups) talk to the control plane and to each
 * other, resolve names through CoreDNS on cluster-group nodes, and reach only the listed ranges.
 * With security groups in the launch template EKS no longer attaches the cluster group to the
 * nodes, so the rules the nodes need against it are written here, in both directions.
 */
export class RunnerPoolSecurityGroup extends Construct {
  public readonly securityGroup: SecurityGroup;
  public readonly securityGroupId: string;

  constructor(scope: Construct, id: string, props: RunnerPoolSecurityGroupProps) {
    super(scope, id);
    validate(this.node.path, props);
    const env = props.environment.name;
    const purpose = props.purpose;
    this.securityGroup = new SecurityGroup(this, "SecurityGroup", {
      name: `hipaa-${env}-${purpose}-runners`,
      description: `Nodes and pods of the ${env} ${purpose} runner pool only`,
      vpcId: props.vpcId,
      tags: { Environment: env, RunnerPurpose: purpose },
    });
    const sg = this.securityGroup.id;
    const cluster = props.clusterSecurityGroupId;
    new VpcSecurityGroupIngressRule(this, "FromControlPlane", { securityGroupId: sg, referencedSecurityGroupId: cluster, ipProtocol: "tcp", fromPort: 443, toPort: 443, description: "Control plane to admission webhooks and metrics" });
    new VpcSecurityGroupIngressRule(this, "KubeletFromControlPlane", { securityGroupId: sg, referencedSecurityGroupId: cluster, ipProtocol: "tcp", fromPort: 10250, toPort: 10250, description: "Control plane to the kubelet (logs, exec)" });
    new VpcSecurityGroupIngressRule(this, "WithinPool", { securityGroupId: sg, referencedSecurityGroupId: sg, ipProtocol: "-1", description: `Within the ${env} ${purpose} pool` });
    new VpcSecurityGroupEgressRule(this, "WithinPoolOut", { securityGroupId: sg, referencedSecurityGroupId: sg, ipProtocol: "-1", description: `Within the ${env} ${purpose} pool` });
    new VpcSecurityGroupEgressRule(this, "ToControlPlane", { securityGroupId: sg, referencedSecurityGroupId: cluster, ipProtocol: "tcp", fromPort: 443, toPort: 443, description: "Kubernetes API on the cluster's private endpoint" });
    for (const protocol of ["udp", "tcp"]) {
      new VpcSecurityGroupEgressRule(this, `Dns${protocol.toUpperCase()}`, { securityGroupId: sg, referencedSecurityGroupId: cluster, ipProtocol: protocol, fromPort: 53, toPort: 53, description: `CoreDNS (${protocol}) on cluster-group nodes` });
    }
    // The other side: the cluster group admits this pool's API and DNS traffic.
    new VpcSecurityGroupIngressRule(this, "ControlPlaneFromPool", { securityGroupId: cluster, referencedSecurityGroupId: sg, ipProtocol: "tcp", fromPort: 443, toPort: 443, description: `Kubernetes API from the ${env} ${purpose} runner pool` });
    for (const protocol of ["udp", "tcp"]) {
      new VpcSecurityGroupIngressRule(this, `DnsFromPool${protocol.toUpperCase()}`, { securityGroupId: cluster, referencedSecurityGroupId: sg, ipProtocol: protocol, fromPort: 53, toPort: 53, description: `CoreDNS (${protocol}) from the ${env} ${purpose} runner pool` });
    }
    // ECR image layers, the evidence bucket and Bottlerocket's own settings come from S3 through the
    // VPC's S3 gateway endpoint, addressed by AWS's managed prefix list rather than a CIDR.
    const s3 = new DataAwsEc2ManagedPrefixList(this, "S3PrefixList", { name: `com.amazonaws.${AwsAccountContext.of(this).region}.s3` });
    new VpcSecurityGroupEgressRule(this, "ToS3Gateway", { securityGroupId: sg, prefixListId: s3.id, ipProtocol: "tcp", fromPort: 443, toPort: 443, description: "S3 through the VPC gateway endpoint" });
    const egress = props.destinations.flatMap((d, i) =>
      (d.ports ?? [443]).map((port) => new VpcSecurityGroupEgressRule(this, `To${i}-${port}`, { securityGroupId: sg, cidrIpv4: d.cidr, ipProtocol: "tcp", fromPort: port, toPort: port, description: d.description.slice(0, 255) })),
    );
    this.securityGroupId = sg;
    recordControl(this, {
      section: Cfr.ACCESS_CONTROL,
      resources: [this.securityGroup, ...egress],
      how: `The ${env} ${purpose} runner pool has its own security group: control plane, CoreDNS and ${props.destinations.map((d) => d.description).join(", ") || "nothing else"}; no other pool's or environment's traffic.`,
    });
  }
}

function validate(path: string, props: RunnerPoolSecurityGroupProps): void {
  for (const d of props.destinations) {
    if (!Token.isUnresolved(d.cidr) && (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(d.cidr) || d.cidr.endsWith("/0"))) {
      throw new HipaaConfigError({
        path,
        problem: `destination ${JSON.stringify(d.cidr)} (${d.description}) is not a bounded IPv4 range`,
        cfr: Cfr.ACCESS_CONTROL,
        fix: "name the VPC endpoint subnets (and for deploy the workload cluster's API range); reach public registries through a pull-through cache",
      });
    }
  }
}
