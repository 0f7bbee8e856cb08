import { Construct } from "constructs";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { EksAccessEntry } from "@cdktf/provider-aws/lib/eks-access-entry";
import { EksAccessPolicyAssociation } from "@cdktf/provider-aws/lib/eks-access-policy-association";
import { EksCluster } from "@cdktf/provider-aws/lib/eks-cluster";
import { IamOpenidConnectProvider } from "@cdktf/provider-aws/lib/iam-openid-connect-provider";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { Fn, TerraformLocal, Token } from "cdktf";
import { HipaaConfigError } from "../../src/errors";
import { Environment, validateEnvironments } from "../../src/model";
import { Cfr, recordControl } from "../../src/compliance";
import { AwsAccountContext } from "./account-context";
import { PolicyDocument } from "./iam-policy";
import { kmsAdministrationStatement, KMS_DELETION_WINDOW_DAYS } from "./kms-policy";
import { principalsTrust } from "./role-trust";

/** What runner pools need of an EKS cluster, whether this construct created it or not. */
export interface IRunnerCluster {
  readonly clusterName: string;
  readonly clusterArn: string;
  /** The cluster's OIDC issuer without `https://`: the prefix of IRSA condition keys. */
  readonly oidcIssuerHost: string;
  /** The IAM OIDC provider registered for the issuer, which IRSA roles trust. */
  readonly oidcProviderArn: string;
  /** The environments whose runner pools may run on this cluster. */
  readonly environments: readonly Environment[];
  /** The construct path, for error messages. */
  readonly path: string;
}

export interface ExistingRunnerClusterProps {
  readonly clusterName: string;
  readonly clusterArn: string;
  /** `https://oidc.eks.REGION.amazonaws.com/id/XXXX`. */
  readonly oidcIssuerUrl: string;
  /** ARN of the IAM OIDC provider already registered for that issuer. */
  readonly oidcProviderArn: string;
  readonly environments: readonly Environment[];
}

export interface RunnerClusterProps {
  /** The cluster name. */
  readonly clusterName: string;
  /** The environments whose runner pools may run here. */
  readonly environments: readonly Environment[];
  /** Private subnets for the control plane's network interfaces. */
  readonly privateSubnetIds: readonly string[];
  /**
   * The named platform administrators (IAM role ARNs, e.g. an SSO permission-set role) who
   * install and operate the runner controller. Required: the cluster takes access entries only
   * and grants its creator nothing, so without one nobody could ever administer it. Each gets an
   * access entry with AmazonEKSClusterAdminPolicy, recorded in the control map by name.
   */
  readonly platformAdminArns: readonly string[];
  /**
   * Who runs `terraform apply` for this stack. `eks:CreateCluster` with secrets encryption makes
   * a KMS grant as the caller, so the secrets key lets these principals `kms:CreateGrant` for
   * AWS resources only (`kms:GrantIsForAWSResource`), never encrypt or decrypt.
   * @default - the account (`:root`), i.e. whichever principal IAM allows to create grants
   */
  readonly deployerPrincipalArns?: readonly string[];
  /**
   * Kubernetes version.
   * @default - EKS's current default
   */
  readonly kubernetesVersion?: string;
  /**
   * Days the control-plane logs are kept (a CloudWatch Logs retention value).
   * @default 2192 (six years, the smallest CloudWatch value >= 2190 days; 45 CFR 164.316(b)(2)(i))
   */
  readonly logRetentionDays?: number;
}

/** Every EKS control-plane log type: the audit log alone is not enough to reconstruct access. */
export const EKS_CONTROL_PLANE_LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"];
const CLOUDWATCH_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/**
 * The issuer host as a Terraform local, so trust policies reference `${local.x}` rather than
 * embedding a `replace(..., "https://", "")` call whose quotes would make the policy text
 * unparseable as JSON for reviewers and scanners before Terraform evaluates it.
 */
function issuerHostLocal(scope: Construct, issuerUrl: string): string {
  return new TerraformLocal(scope, "IrsaIssuerHost", Fn.replace(issuerUrl, "https://", "")).asString;
}

class ExistingRunnerCluster extends Construct implements IRunnerCluster {
  public readonly clusterName: string;
  public readonly clusterArn: string;
  public readonly oidcIssuerHost: string;
  public readonly oidcProviderArn: string;
  public readonly environments: readonly Environment[];
  public readonly path: string;

  constructor(scope: Construct, id: string, props: ExistingRunnerClusterProps) {
    super(scope, id);
    this.path = this.node.path;
    if (!Token.isUnresolved(props.oidcIssuerUrl) && !/^https:\/\/[^*?\s]+$/.test(props.oidcIssuerUrl)) {
      throw new HipaaConfigError({
        path: this.path,
        problem: `oidcIssuerUrl ${JSON.stringify(props.oidcIssuerUrl)} is not an https issuer URL`,
        fix: "pass the cluster's identity.oidc.issuer, e.g. https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE",
      });
    }
    this.clusterName = props.clusterName;
    this.clusterArn = props.clusterArn;
    this.oidcIssuerHost = Token.isUnresolved(props.oidcIssuerUrl) ? issuerHostLocal(this, props.oidcIssuerUrl) : props.oidcIssuerUrl.replace(/^https:\/\//, "");
    this.oidcProviderArn = props.oidcProviderArn;
    this.environments = validateEnvironments(props.environments, `${this.path}/environments`);
  }
}

/**
 * The EKS cluster CI runners run on: private API endpoint only, Kubernetes secrets encrypted
 * with a customer-managed key, every control-plane log type kept six years, access by EKS
 * access entries only (no aws-auth ConfigMap, no implicit admin for the creator), deletion
 * protection, and an IAM OIDC provider for IRSA.
 */
export class RunnerCluster extends Construct implements IRunnerCluster {
  /** A cluster created elsewhere. */
  public static fromExisting(scope: Construct, id: string, props: ExistingRunnerClusterProps): IRunnerCluster {
    return new ExistingRunnerCluster(scope, id, props);
  }

  public readonly cluster: EksCluster;
  public readonly clusterName: string;
  public readonly clusterArn: string;
  public readonly oidcIssuerHost: string;
  public readonly oidcProviderArn: string;
  public readonly environments: readonly Environment[];
  public readonly path: string;
  public readonly secretsKey: KmsKey;
  /** One access entry per named platform administrator. */
  public readonly platformAdminEntries: readonly EksAccessEntry[];

  constructor(scope: Construct, id: string, props: RunnerClusterProps) {
    super(scope, id);
    this.path = this.node.path;
    this.environments = validateEnvironments(props.environments, `${this.path}/environments`);
    if (!Token.isUnresolved(props.privateSubnetIds) && props.privateSubnetIds.length < 2) {
      throw new HipaaConfigError({
        path: this.path,
        problem: `${props.privateSubnetIds.length} subnet(s) given; EKS needs private subnets in at least two availability zones`,
        fix: "pass at least two private subnet ids",
      });
    }
    const retention = props.logRetentionDays ?? 2192;
    if (!CLOUDWATCH_RETENTION_DAYS.includes(retention) || retention < 2190) {
      throw new HipaaConfigError({
        path: this.path,
        problem: `logRetentionDays ${retention} is not a CloudWatch retention of at least six years`,
        cfr: Cfr.RETENTION,
        fix: "use 2192, 2557, 2922, 3288 or 3653",
      });
    }
    const admins = props.platformAdminArns ?? [];
    if (admins.length === 0) {
      throw new HipaaConfigError({
        path: this.path,
        problem: "no platform administrator is named: the cluster uses access entries only and gives its creator no access, so nobody could install or operate the runner controller",
        cfr: Cfr.ACCESS_MANAGEMENT,
        fix: "pass platformAdminArns: the IAM role ARNs of the named platform administrators (e.g. their SSO permission-set role)",
      });
    }
    principalsTrust(`${this.path}/platformAdminArns`, admins);
    const account = AwsAccountContext.of(this);
    const deployers = props.deployerPrincipalArns ?? [account.accountRootArn];
    if (props.deployerPrincipalArns) principalsTrust(`${this.path}/deployerPrincipalArns`, props.deployerPrincipalArns);

    const keyPolicy = new PolicyDocument(`${this.path}/SecretsKey`, [
      kmsAdministrationStatement([account.accountRootArn]),
      {
        // EKS envelope-encrypts secrets through the cluster role's grants; CloudWatch Logs
        // encrypts the control-plane log group, only for that log group.
        sid: "ControlPlaneLogsEncryption",
        effect: "Allow",
        principals: { Service: [`logs.${account.region}.amazonaws.com`] },
        actions: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey"],
        resources: ["*"],
        conditions: {
          ArnEquals: {
            "kms:EncryptionContext:aws:logs:arn": `arn:${account.partition}:logs:${account.region}:${account.accountId}:log-group:/aws/eks/${props.clusterName}/cluster`,
          },
        },
      },
    ]);
    const clusterRoleTrust = new PolicyDocument(`${this.path}/ClusterRole`, [
      { sid: "EksControlPlane", effect: "Allow", principals: { Service: ["eks.amazonaws.com"] }, actions: ["sts:AssumeRole", "sts:TagSession"] },
    ]);
    const clusterRole = new IamRole(this, "ClusterRole", {
      name: `${props.clusterName}-cluster`.slice(0, 64),
      assumeRolePolicy: clusterRoleTrust.render(),
    });
    new IamRolePolicyAttachment(this, "ClusterPolicy", {
      role: clusterRole.name,
      policyArn: `arn:${account.partition}:iam::aws:policy/AmazonEKSClusterPolicy`,
    });
    keyPolicy.addStatement({
      // CreateCluster creates the cluster's grant with the caller's credentials: without this
      // statement the first apply fails. Grants for AWS resources only; no use of the key.
      sid: "DeployerCreatesClusterGrant",
      effect: "Allow",
      principals: { AWS: [...deployers] },
      actions: ["kms:CreateGrant", "kms:DescribeKey"],
      resources: ["*"],
      conditions: { Bool: { "kms:GrantIsForAWSResource": "true" } },
    });
    keyPolicy.addStatement({
      sid: "ClusterSecretsEncryption",
      effect: "Allow",
      principals: { AWS: [clusterRole.arn] },
      actions: ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant"],
      resources: ["*"],
      conditions: { StringEquals: { "kms:ViaService": `eks.${account.region}.amazonaws.com` } },
    });
    this.secretsKey = new KmsKey(this, "SecretsKey", {
      description: `EKS secrets and control-plane log encryption for ${props.clusterName} (45 CFR 164.312(a)(2)(iv))`,
      enableKeyRotation: true,
      deletionWindowInDays: KMS_DELETION_WINDOW_DAYS,
      policy: keyPolicy.toJson(),
      lifecycle: { preventDestroy: true },
    });
    const logGroup = new CloudwatchLogGroup(this, "ControlPlaneLogs", {
      name: `/aws/eks/${props.clusterName}/cluster`,
      retentionInDays: retention,
      kmsKeyId: this.secretsKey.arn,
    });

    this.cluster = new EksCluster(this, "Cluster", {
      name: props.clusterName,
      roleArn: clusterRole.arn,
      version: props.kubernetesVersion,
      vpcConfig: { subnetIds: [...props.privateSubnetIds], endpointPrivateAccess: true, endpointPublicAccess: false },
      encryptionConfig: { resources: ["secrets"], provider: { keyArn: this.secretsKey.arn } },
      enabledClusterLogTypes: EKS_CONTROL_PLANE_LOG_TYPES,
      accessConfig: { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: false },
      deletionProtection: true,
      dependsOn: [logGroup],
    });
    const oidc = new IamOpenidConnectProvider(this, "IrsaProvider", {
      url: this.cluster.identity.get(0).oidc.get(0).issuer,
      clientIdList: ["sts.amazonaws.com"],
    });
    this.platformAdminEntries = admins.map((arn, i) => {
      // Ids from the ARN's role name, never the position, so adding an admin moves no address.
      const name = adminId(arn, i);
      const entry = new EksAccessEntry(this, `PlatformAdmin-${name}`, { clusterName: this.cluster.name, principalArn: arn, type: "STANDARD" });
      new EksAccessPolicyAssociation(this, `PlatformAdminPolicy-${name}`, {
        clusterName: this.cluster.name,
        principalArn: arn,
        policyArn: `arn:${account.partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy`,
        accessScope: { type: "cluster" },
        dependsOn: [entry],
      });
      return entry;
    });
    this.clusterName = this.cluster.name;
    this.clusterArn = this.cluster.arn;
    this.oidcIssuerHost = issuerHostLocal(this, oidc.url);
    this.oidcProviderArn = oidc.arn;

    recordControl(this, {
      section: Cfr.ACCESS_CONTROL,
      resources: [this.cluster],
      how: "Runner cluster API reachable only on its private endpoint; access by EKS access entries only.",
    });
    recordControl(this, {
      section: Cfr.ACCESS_MANAGEMENT,
      resources: this.platformAdminEntries,
      how: `Runner cluster administrators, by name: ${admins.join(", ")} (AmazonEKSClusterAdminPolicy); nobody else, the creator included.`,
    });
    recordControl(this, {
      section: Cfr.ENCRYPTION,
      resources: [this.cluster, this.secretsKey],
      how: "Kubernetes secrets envelope-encrypted with a rotating customer-managed key.",
    });
    recordControl(this, {
      section: Cfr.AUDIT_CONTROLS,
      resources: [this.cluster, logGroup],
      how: "Every control-plane log type (api, audit, authenticator, controllerManager, scheduler) kept six years.",
    });
  }
}

/** A stable construct id for an administrator: the last path segment of its ARN. */
function adminId(arn: string, index: number): string {
  if (Token.isUnresolved(arn)) return `Admin${index}`;
  return arn.split("/").pop()!.replace(/[^A-Za-z0-9_-]/g, "-");
}
