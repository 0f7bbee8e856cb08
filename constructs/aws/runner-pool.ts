import { Construct } from "constructs";
import { EksNodeGroup } from "@cdktf/provider-aws/lib/eks-node-group";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { LaunchTemplate } from "@cdktf/provider-aws/lib/launch-template";
import { Token } from "cdktf";
import { HipaaConfigError } from "../../src/errors";
import { assertPoolEnvironment, Environment, RunnerPurpose, validatePurposeResources } from "../../src/model";
import { Cfr, recordControl } from "../../src/compliance";
import { AwsAccountContext } from "./account-context";
import { AutoScalingServiceRole } from "./autoscaling-service-role";
import { ClusterDeployAccess, DeployTarget } from "./cluster-deploy-access";
import { IEvidenceBucket } from "./evidence-bucket";
import { PolicyDocument } from "./iam-policy";
import { kmsAdministrationStatement, KMS_DELETION_WINDOW_DAYS } from "./kms-policy";
import { irsaTrust } from "./role-trust";
import { IRunnerCluster } from "./runner-cluster";
import { ScopedRole } from "./scoped-role";
import { SigningKey } from "./signing-key";

/** Bottlerocket AMI types EKS managed node groups accept. */
export enum RunnerAmiType {
  BOTTLEROCKET_X86_64 = "BOTTLEROCKET_x86_64",
  BOTTLEROCKET_ARM_64 = "BOTTLEROCKET_ARM_64",
}

export interface RunnerPoolProps {
  readonly cluster: IRunnerCluster;
  readonly environment: Environment;
  readonly purpose: RunnerPurpose;
  /** Private subnets the nodes run in. */
  readonly privateSubnetIds: readonly string[];
  /** For BUILD pools: the environment's signing key, granted kms:Sign. */
  readonly signingKey?: SigningKey;
  /** For BUILD pools: ECR repository ARNs the pool may push to. */
  readonly ecrRepositoryArns?: readonly string[];
  /** For EVIDENCE pools: the environment's evidence bucket, granted put-only. */
  readonly evidenceBucket?: IEvidenceBucket;
  /** For DEPLOY pools: the environment's workload cluster. */
  readonly deployTarget?: DeployTarget;
  /**
   * Kubernetes namespace of the runner pods.
   * @default `ci-ENV-PURPOSE`
   */
  readonly namespace?: string;
  /**
   * Kubernetes service account of the runner pods.
   * @default "runner"
   */
  readonly serviceAccount?: string;
  /** @default ["m6i.large"] */
  readonly instanceTypes?: readonly string[];
  /** @default RunnerAmiType.BOTTLEROCKET_X86_64 */
  readonly amiType?: RunnerAmiType;
  /** @default { min: 1, desired: 1, max: 3 } */
  readonly scaling?: { readonly min: number; readonly desired: number; readonly max: number };
  /**
   * Key for the nodes' EBS volumes.
   * @default - a new rotating key the EC2 Auto Scaling service-linked role may use
   */
  readonly volumeKey?: KmsKey;
  /**
   * The account's EC2 Auto Scaling service-linked role, created or looked up once per account
   * (`AutoScalingServiceRole.create` / `.lookUp`). Required unless `volumeKey` is given: the
   * volume key's policy names the role, and KMS refuses a policy naming a role that does not
   * exist yet.
   * @default - none; required when no volumeKey is given
   */
  readonly autoScalingRole?: AutoScalingServiceRole;
  /**
   * IMDS hop limit. Only 1 is accepted: with 2 or more, any pod can read the node role's
   * credentials through IMDS and IRSA scoping no longer holds.
   * @default 1
   */
  readonly metadataHopLimit?: number;
  /**
   * Refused: SSH access to runner nodes bypasses every audited path. Present only so a request
   * for it fails loudly instead of being ignored.
   * @default - none
   */
  readonly sshKeyName?: string;
  /** @default "20" GiB data volume */
  readonly dataVolumeGiB?: number;
  /**
   * Security groups of the pool's own (`RunnerPoolSecurityGroup`) for the launch template. EKS then
   * no longer attaches the cluster's shared group to the nodes.
   * @default - none: EKS attaches the cluster security group
   */
  readonly securityGroupIds?: readonly string[];
}

/** The only policies a runner node holds; runner permissions live on the IRSA role. */
export const NODE_MANAGED_POLICIES = ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"];

/** Taint and label keys; their values name the environment and the purpose. */
export const RUNNER_ENVIRONMENT_KEY = "hipaa.substrate/environment";
export const RUNNER_PURPOSE_KEY = "hipaa.substrate/purpose";

/**
 * A managed node group of CI runners for one environment and one purpose, plus the IRSA role its
 * runner pods use. Nodes: Bottlerocket, private subnets, no SSH, IMDSv2 with hop limit 1,
 * CMK-encrypted volumes, a taint and labels naming environment and purpose, and a node role
 * holding only the worker, CNI and registry-read policies. The pod role is trusted only by the
 * pool's namespace and service account and holds only its purpose's permissions, on its own
 * environment's resources.
 */
export class RunnerPool extends Construct {
  public readonly environment: Environment;
  public readonly purpose: RunnerPurpose;
  public readonly nodeGroup: EksNodeGroup;
  public readonly launchTemplate: LaunchTemplate;
  public readonly nodeRole: IamRole;
  /** The role runner pods assume through IRSA. */
  public readonly podRole: ScopedRole;
  public readonly namespace: string;
  public readonly serviceAccount: string;

  constructor(scope: Construct, id: string, props: RunnerPoolProps) {
    super(scope, id);
    const path = this.node.path;
    this.environment = props.environment;
    this.purpose = props.purpose;
    validatePool(path, props);
    const env = props.environment.name;
    const purpose = props.purpose;
    this.namespace = props.namespace ?? `ci-${env}-${purpose}`;
    this.serviceAccount = props.serviceAccount ?? "runner";
    const account = AwsAccountContext.of(this);
    const poolName = `${env}-${purpose}-runners`;

    const nodeTrust = new PolicyDocument(`${path}/NodeRole`, [
      { sid: "Ec2Nodes", effect: "Allow", principals: { Service: ["ec2.amazonaws.com"] }, actions: ["sts:AssumeRole"] },
    ]);
    this.nodeRole = new IamRole(this, "NodeRole", {
      name: `hipaa-${poolName}-node`.slice(0, 64),
      description: `EKS nodes of the ${env} ${purpose} runner pool; no runner permissions (those are on the IRSA role)`,
      assumeRolePolicy: nodeTrust.render(),
    });
    const nodePolicies = NODE_MANAGED_POLICIES.map(
      (policy) => new IamRolePolicyAttachment(this, policy, { role: this.nodeRole.name, policyArn: `arn:${account.partition}:iam::aws:policy/${policy}` }),
    );

    const volumeKeyArn = props.volumeKey?.arn ?? this.createVolumeKey(account, props.autoScalingRole!).arn;
    const volume = (deviceName: string, size: number) => ({
      deviceName,
      ebs: { encrypted: "true", kmsKeyId: volumeKeyArn, volumeSize: size, volumeType: "gp3", deleteOnTermination: "true" },
    });
    this.launchTemplate = new LaunchTemplate(this, "LaunchTemplate", {
      name: `hipaa-${poolName}`,
      description: `Hardened node template for the ${env} ${purpose} runner pool`,
      updateDefaultVersion: true,
      vpcSecurityGroupIds: props.securityGroupIds ? [...props.securityGroupIds] : undefined,
      metadataOptions: {
        httpEndpoint: "enabled",
        httpTokens: "required",
        httpPutResponseHopLimit: 1,
        instanceMetadataTags: "disabled",
      },
      // Bottlerocket: /dev/xvda is the OS volume, /dev/xvdb the data volume (images, containers).
      blockDeviceMappings: [volume("/dev/xvda", 4), volume("/dev/xvdb", props.dataVolumeGiB ?? 20)],
      tagSpecifications: [
        { resourceType: "instance", tags: { Environment: env, RunnerPurpose: purpose } },
        { resourceType: "volume", tags: { Environment: env, RunnerPurpose: purpose } },
      ],
    });

    const scaling = props.scaling ?? { min: 1, desired: 1, max: 3 };
    this.nodeGroup = new EksNodeGroup(this, "NodeGroup", {
      clusterName: props.cluster.clusterName,
      nodeGroupName: poolName,
      nodeRoleArn: this.nodeRole.arn,
      subnetIds: [...props.privateSubnetIds],
      amiType: props.amiType ?? RunnerAmiType.BOTTLEROCKET_X86_64,
      instanceTypes: [...(props.instanceTypes ?? ["m6i.large"])],
      scalingConfig: { minSize: scaling.min, desiredSize: scaling.desired, maxSize: scaling.max },
      launchTemplate: { id: this.launchTemplate.id, version: Token.asString(this.launchTemplate.latestVersion) },
      taint: [
        { key: RUNNER_ENVIRONMENT_KEY, value: env, effect: "NO_SCHEDULE" },
        { key: RUNNER_PURPOSE_KEY, value: purpose, effect: "NO_SCHEDULE" },
      ],
      labels: { [RUNNER_ENVIRONMENT_KEY]: env, [RUNNER_PURPOSE_KEY]: purpose },
      tags: { Environment: env, RunnerPurpose: purpose },
      dependsOn: nodePolicies,
    });

    this.podRole = new ScopedRole(this, "PodRole", {
      environment: props.environment,
      grantName: `${capitalize(purpose)}Runner`,
      description: `IRSA role of the ${env} ${purpose} runner pods (${this.namespace}/${this.serviceAccount})`,
      trust: irsaTrust(path, props.cluster.oidcProviderArn, props.cluster.oidcIssuerHost, this.namespace, this.serviceAccount),
    });
    this.grantPurpose(props);

    recordControl(this, {
      section: Cfr.ACCESS_CONTROL,
      resources: [this.nodeGroup, this.launchTemplate, this.podRole.role],
      how: `Runner pool for ${env}/${purpose} only: tainted and labelled, IMDSv2 hop limit 1, no SSH; pods hold only ${purpose} rights on ${env} resources.`,
    });
    recordControl(this, {
      section: Cfr.AUTHENTICATION,
      resources: [this.podRole.role],
      how: `IRSA trust pinned to system:serviceaccount:${this.namespace}:${this.serviceAccount} with audience sts.amazonaws.com.`,
    });
    recordControl(this, {
      section: Cfr.ENCRYPTION,
      resources: [this.launchTemplate],
      how: "Node volumes encrypted with a customer-managed key.",
    });
  }

  private createVolumeKey(account: AwsAccountContext, autoScalingRole: AutoScalingServiceRole): KmsKey {
    // A reference, never the role's literal ARN: the key must be created after the role exists.
    const autoscaling = autoScalingRole.roleArn;
    const policy = new PolicyDocument(`${this.node.path}/VolumeKey`, [
      kmsAdministrationStatement([account.accountRootArn]),
      {
        // Managed node groups launch through EC2 Auto Scaling; without this its service-linked
        // role cannot attach CMK-encrypted volumes and nodes never start.
        sid: "AutoScalingUsesKeyForVolumes",
        effect: "Allow",
        principals: { AWS: [autoscaling] },
        actions: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey"],
        resources: ["*"],
      },
      {
        sid: "AutoScalingGrantsForVolumes",
        effect: "Allow",
        principals: { AWS: [autoscaling] },
        actions: ["kms:CreateGrant"],
        resources: ["*"],
        conditions: { Bool: { "kms:GrantIsForAWSResource": "true" } },
      },
    ]);
    return new KmsKey(this, "VolumeKey", {
      description: `EBS encryption for the ${this.environment.name} ${this.purpose} runner nodes (45 CFR 164.312(a)(2)(iv))`,
      enableKeyRotation: true,
      deletionWindowInDays: KMS_DELETION_WINDOW_DAYS,
      policy: policy.render(),
    });
  }

  private grantPurpose(props: RunnerPoolProps): void {
    switch (props.purpose) {
      case RunnerPurpose.BUILD:
        props.signingKey!.grantSign(this.podRole);
        if (props.ecrRepositoryArns && props.ecrRepositoryArns.length > 0) {
          this.podRole.addToPrincipalPolicy({ sid: "EcrLogin", effect: "Allow", actions: ["ecr:GetAuthorizationToken"], resources: ["*"] });
          this.podRole.addToPrincipalPolicy({
            sid: "EcrPushToEnvironmentRepositories",
            effect: "Allow",
            actions: ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart"],
            resources: [...props.ecrRepositoryArns],
          });
        }
        break;
      case RunnerPurpose.EVIDENCE:
        // The evidence layout is <repository>/<environment>/: every repository, this environment only.
        props.evidenceBucket!.grantWrite(this.podRole, { prefix: `${props.environment.name}/`, anyRepository: true });
        break;
      case RunnerPurpose.DEPLOY:
        new ClusterDeployAccess(this, "DeployAccess", this.podRole, props.deployTarget!);
        break;
    }
  }
}

function capitalize(s: string): string {
  return s[0].toUpperCase() + s.slice(1);
}

function validatePool(path: string, props: RunnerPoolProps): void {
  const env = props.environment;
  assertPoolEnvironment(path, props.cluster, env, props.deployTarget?.environment);
  if (props.sshKeyName !== undefined) {
    throw new HipaaConfigError({
      path,
      problem: "SSH access to runner nodes was requested",
      cfr: Cfr.ACCESS_CONTROL,
      fix: "remove sshKeyName; inspect nodes through SSM or Bottlerocket's admin container, which are logged",
    });
  }
  if (!props.volumeKey && !props.autoScalingRole) {
    throw new HipaaConfigError({
      path,
      problem: "the volume key would name the EC2 Auto Scaling service-linked role, which this pool neither creates nor looks up (KMS refuses a key policy naming a role that does not exist; a fresh account has none until its first Auto Scaling group)",
      cfr: Cfr.ENCRYPTION,
      fix: "pass autoScalingRole: AutoScalingServiceRole.create(stack, \"AutoScalingRole\") once per account (or .lookUp where the role already exists), or pass your own volumeKey",
    });
  }
  if (props.metadataHopLimit !== undefined && props.metadataHopLimit !== 1) {
    throw new HipaaConfigError({
      path,
      problem: `IMDS hop limit ${props.metadataHopLimit} lets pods read the node role's credentials, which defeats IRSA scoping`,
      cfr: Cfr.ACCESS_CONTROL,
      fix: "leave metadataHopLimit unset (1); give pods AWS access through IRSA",
    });
  }
  if (props.privateSubnetIds.length === 0) {
    throw new HipaaConfigError({ path, problem: "no subnets given", fix: "pass the private subnet ids the nodes run in" });
  }
  const s = props.scaling;
  if (s && !(Number.isInteger(s.min) && Number.isInteger(s.desired) && Number.isInteger(s.max) && s.min >= 0 && s.min <= s.desired && s.desired <= s.max && s.max >= 1)) {
    throw new HipaaConfigError({ path, problem: `scaling ${JSON.stringify(s)} is not 0 <= min <= desired <= max, max >= 1`, fix: "e.g. { min: 1, desired: 1, max: 3 }" });
  }
  validatePurposeResources(
    path,
    props.purpose,
    (["signingKey", "ecrRepositoryArns", "evidenceBucket", "deployTarget"] as const).filter((k) => props[k] !== undefined),
    { build: ["signingKey", "ecrRepositoryArns"], evidence: ["evidenceBucket"], deploy: ["deployTarget"] },
    { build: "signingKey", evidence: "evidenceBucket", deploy: "deployTarget" },
    env.name,
  );
  if (props.ecrRepositoryArns?.some((a) => !Token.isUnresolved(a) && (/[*?]/.test(a) || !/^arn:aws[a-z-]*:ecr:[a-z0-9-]+:\d{12}:repository\//.test(a)))) {
    throw new HipaaConfigError({ path, problem: `ecrRepositoryArns ${JSON.stringify(props.ecrRepositoryArns)} must name repositories exactly`, cfr: Cfr.ACCESS_CONTROL, fix: "pass full ECR repository ARNs" });
  }
}

