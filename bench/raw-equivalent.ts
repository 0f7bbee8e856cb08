/**
 * The baseline the library is measured against: the same Terraform resources as the reference
 * app (examples/reference) at the same shape, declared directly with the provider classes, with
 * every policy a plain `JSON.stringify` of the statements a careful engineer would write by hand.
 * `bench/run.ts` checks the claim on every run: it compares both outputs resource by resource
 * (type, attribute keys, policy statement count) and prints any difference.
 *
 * Per environment stack: S3 backend with a lock file, the provider with default tags, the
 * account/partition/region data sources, the workload-cluster and subnet lookups; the evidence
 * bucket (key, alias, bucket, public-access block, ownership, versioning, Object Lock,
 * encryption, EventBridge notifications, access logging, lifecycle, and a bucket policy with
 * the deny statements plus each writer's put-only statements with If-None-Match), its access-log
 * bucket; the signing key and alias; the GitHub OIDC provider; per repository a deploy role
 * (exact-ref trust), its DescribeCluster policy, an EKS access entry and a namespace-scoped
 * policy association, and an evidence writer role with its prefix-confined policy (and its
 * statements in the bucket and key policies); the auditor role; the runner cluster (secrets key,
 * log group, cluster role, cluster, IRSA provider and issuer local, platform-admin access
 * entries), the Auto Scaling service-linked role, and three runner pools (volume key naming the
 * service-linked role, node role and attachments, launch template, node group, IRSA pod role and
 * its policy; the deploy pool's access entry). The GitHub stack: the compliance repository with
 * its access level, CODEOWNERS and three rulesets, a claim template per repository, an
 * environment and a deployment policy per repository and environment, a runner group per
 * environment pinned to the approved release.
 *
 * What it does not include: no HIPAA gate and no control map (nothing judges the output), no
 * construct-time validation of any input, no `hipaa_environment`/`hipaa_substrate` locals that
 * mark the stacks for the gate, no deploy-gate bundle files (policy/ next to each stack), and
 * resource names are fixed strings rather than derived from construct paths. Those are what the
 * library adds; the ratio the bench prints is their price.
 */
import { App, Fn, S3Backend, TerraformLocal, TerraformStack, Token } from "cdktf";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { DataAwsEksCluster } from "@cdktf/provider-aws/lib/data-aws-eks-cluster";
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition";
import { DataAwsRegion } from "@cdktf/provider-aws/lib/data-aws-region";
import { DataAwsSubnets } from "@cdktf/provider-aws/lib/data-aws-subnets";
import { EksAccessEntry } from "@cdktf/provider-aws/lib/eks-access-entry";
import { EksAccessPolicyAssociation } from "@cdktf/provider-aws/lib/eks-access-policy-association";
import { EksCluster } from "@cdktf/provider-aws/lib/eks-cluster";
import { EksNodeGroup } from "@cdktf/provider-aws/lib/eks-node-group";
import { IamOpenidConnectProvider } from "@cdktf/provider-aws/lib/iam-openid-connect-provider";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment";
import { IamServiceLinkedRole } from "@cdktf/provider-aws/lib/iam-service-linked-role";
import { KmsAlias } from "@cdktf/provider-aws/lib/kms-alias";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { LaunchTemplate } from "@cdktf/provider-aws/lib/launch-template";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketLifecycleConfiguration } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { S3BucketLoggingA } from "@cdktf/provider-aws/lib/s3-bucket-logging";
import { S3BucketNotification } from "@cdktf/provider-aws/lib/s3-bucket-notification";
import { S3BucketObjectLockConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-object-lock-configuration";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { ActionsRepositoryAccessLevel } from "@cdktf/provider-github/lib/actions-repository-access-level";
import { ActionsRepositoryOidcSubjectClaimCustomizationTemplate } from "@cdktf/provider-github/lib/actions-repository-oidc-subject-claim-customization-template";
import { ActionsRunnerGroup } from "@cdktf/provider-github/lib/actions-runner-group";
import { GithubProvider } from "@cdktf/provider-github/lib/provider";
import { Repository } from "@cdktf/provider-github/lib/repository";
import { RepositoryEnvironment } from "@cdktf/provider-github/lib/repository-environment";
import { RepositoryEnvironmentDeploymentPolicy } from "@cdktf/provider-github/lib/repository-environment-deployment-policy";
import { RepositoryFile } from "@cdktf/provider-github/lib/repository-file";
import { RepositoryRuleset, RepositoryRulesetBypassActors, RepositoryRulesetRules } from "@cdktf/provider-github/lib/repository-ruleset";
import { Environment } from "../src/model";

export interface RawRepository {
  readonly name: string;
  readonly repositoryId: number;
}

const ORG = "hipaa-app-org";
const GH = "token.actions.githubusercontent.com";
const RELEASE = "v1.4.2";
const KMS_ADMIN = [
  "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:DeleteAlias", "kms:DescribeKey", "kms:DisableKey", "kms:DisableKeyRotation", "kms:EnableKey",
  "kms:EnableKeyRotation", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:GetPublicKey", "kms:ListGrants", "kms:ListKeyPolicies",
  "kms:ListKeyRotations", "kms:ListResourceTags", "kms:PutKeyPolicy", "kms:RevokeGrant", "kms:RotateKeyOnDemand", "kms:ScheduleKeyDeletion",
  "kms:TagResource", "kms:UntagResource", "kms:UpdateAlias", "kms:UpdateKeyDescription",
];
const VOLUME_USE = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey"];
const doc = (statements: object[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });

/** The account id the reference app gives an environment it does not list (examples/reference/main.ts). */
function accountFor(env: string): string {
  const known: Record<string, string> = { dev: "111111111111", staging: "222222222222", validation: "333333333333", production: "444444444444" };
  return known[env] ?? String(100000000000 + [...env].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 899999999999, 7));
}

export function buildRawEquivalent(app: App, environments: readonly Environment[], repositories: readonly RawRepository[]): void {
  buildRawGithub(app, environments, repositories);
  for (const env of environments) buildRawEnvironment(app, env, repositories);
}

function buildRawEnvironment(app: App, env: Environment, repositories: readonly RawRepository[]): void {
  const e = env.name;
  const account = accountFor(e);
  const stack = new TerraformStack(app, `raw-${e}`);
  new S3Backend(stack, {
    bucket: `clinical-tfstate-${account}`, key: `raw-${e}/terraform.tfstate`, region: "us-east-1", encrypt: true,
    kmsKeyId: `arn:aws:kms:us-east-1:${account}:alias/clinical-tfstate`, allowedAccountIds: [account],
  }).addOverride("use_lockfile", true);
  new AwsProvider(stack, "aws", { region: "us-east-1", allowedAccountIds: [account], defaultTags: [{ tags: { HipaaEnvironment: e, ManagedBy: "hand-written" } }] });
  const accountId = new DataAwsCallerIdentity(stack, "caller").accountId;
  const partition = new DataAwsPartition(stack, "partition").partition;
  const region = new DataAwsRegion(stack, "region").region;
  const root = `arn:${partition}:iam::${accountId}:root`;
  const admin = { Sid: "KeyAdministrationWithoutUse", Effect: "Allow", Principal: { AWS: root }, Action: KMS_ADMIN, Resource: "*" };

  // Roles first (their ARNs go into the key and bucket policies below).
  const github = new IamOpenidConnectProvider(stack, "github_oidc", { url: `https://${GH}`, clientIdList: ["sts.amazonaws.com"] });
  const workload = new DataAwsEksCluster(stack, "workload", { name: `clinical-${e}` });
  const ghTrust = (repo: RawRepository, workflow: string) =>
    doc([{
      Sid: "GithubActionsOidc", Effect: "Allow", Principal: { Federated: github.arn }, Action: "sts:AssumeRoleWithWebIdentity",
      Condition: { StringEquals: {
        [`${GH}:aud`]: "sts.amazonaws.com",
        [`${GH}:sub`]: `repo:${ORG}/${repo.name}:environment:${e}`,
        [`${GH}:repository_id`]: String(repo.repositoryId),
        [`${GH}:environment`]: e,
        [`${GH}:job_workflow_ref`]: `${ORG}/compliance-workflows/.github/workflows/${workflow}@refs/tags/${RELEASE}`,
      } },
    }]);
  const deployWorkflow = env.isProduction ? "deploy-prod.yml" : "deploy.yml";
  const writers: { repo: RawRepository; role: IamRole }[] = [];
  for (const repo of repositories) {
    const deploy = new IamRole(stack, `deploy_${repo.name}`, {
      name: `hipaa-${e}-github-deploy-${repo.name}`.slice(0, 64), assumeRolePolicy: ghTrust(repo, deployWorkflow), maxSessionDuration: 3600,
      description: `GitHub Actions deploys of ${ORG}/${repo.name} to ${e} via ${ORG}/compliance-workflows/.github/workflows/${deployWorkflow}@refs/tags/${RELEASE}`,
      tags: { Environment: e, Purpose: "GithubDeploy" },
    });
    new IamRolePolicy(stack, `deploy_${repo.name}_policy`, {
      name: "deploy", role: deploy.id,
      policy: doc([{ Sid: "DescribeWorkloadCluster", Effect: "Allow", Action: "eks:DescribeCluster", Resource: workload.arn }]),
    });
    const entry = new EksAccessEntry(stack, `deploy_${repo.name}_entry`, { clusterName: workload.name, principalArn: deploy.arn, type: "STANDARD" });
    new EksAccessPolicyAssociation(stack, `deploy_${repo.name}_edit`, {
      clusterName: workload.name, principalArn: deploy.arn, policyArn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy",
      accessScope: { type: "namespace", namespaces: [repo.name] }, dependsOn: [entry],
    });
    const writer = new IamRole(stack, `writer_${repo.name}`, {
      name: `hipaa-${e}-evidence-writer-${repo.name}`.slice(0, 64), assumeRolePolicy: ghTrust(repo, "hipaa-build.yml"), maxSessionDuration: 3600,
      description: `Writes pipeline evidence to the ${e} evidence bucket; put-only`, tags: { Environment: e, Purpose: `EvidenceWriter${repo.name.replace(/[^A-Za-z0-9]/g, "")}` },
    });
    writers.push({ repo, role: writer });
  }
  const auditor = new IamRole(stack, "auditor", {
    name: `hipaa-${e}-evidence-auditor`, maxSessionDuration: 3600, description: `Reads the ${e} evidence bucket for audits; read-only`, tags: { Environment: e, Purpose: "EvidenceAuditor" },
    assumeRolePolicy: doc([{
      Sid: "NamedPrincipals", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${account}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_HipaaAuditor_0123456789abcdef` },
      Action: ["sts:AssumeRole", "sts:SetSourceIdentity"],
    }]),
  });

  // Runner cluster, service-linked role and pod roles (the evidence and build pods hold grants below).
  const subnets = new DataAwsSubnets(stack, "subnets", { filter: [{ name: "tag:hipaa-substrate/tier", values: ["private"] }] }).ids;
  const clusterName = `hipaa-${e}-runners`;
  const clusterRole = new IamRole(stack, "cluster_role", {
    name: `hipaa-${e}-runners-cluster`,
    assumeRolePolicy: doc([{ Sid: "EksControlPlane", Effect: "Allow", Principal: { Service: "eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"] }]),
  });
  const secretsKey = new KmsKey(stack, "cluster_key", {
    description: `EKS secrets and control-plane log encryption for ${clusterName} (45 CFR 164.312(a)(2)(iv))`, enableKeyRotation: true, deletionWindowInDays: 30, lifecycle: { preventDestroy: true },
    policy: doc([
      admin,
      {
        Sid: "ControlPlaneLogsEncryption", Effect: "Allow", Principal: { Service: `logs.${region}.amazonaws.com` }, Action: VOLUME_USE, Resource: "*",
        Condition: { ArnEquals: { "kms:EncryptionContext:aws:logs:arn": `arn:${partition}:logs:${region}:${accountId}:log-group:/aws/eks/${clusterName}/cluster` } },
      },
      { Sid: "DeployerCreatesClusterGrant", Effect: "Allow", Principal: { AWS: root }, Action: ["kms:CreateGrant", "kms:DescribeKey"], Resource: "*", Condition: { Bool: { "kms:GrantIsForAWSResource": "true" } } },
      {
        Sid: "ClusterSecretsEncryption", Effect: "Allow", Principal: { AWS: clusterRole.arn }, Action: ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant"], Resource: "*",
        Condition: { StringEquals: { "kms:ViaService": `eks.${region}.amazonaws.com` } },
      },
    ]),
  });
  const logs = new CloudwatchLogGroup(stack, "cluster_logs", { name: `/aws/eks/${clusterName}/cluster`, retentionInDays: 2192, kmsKeyId: secretsKey.arn });
  const clusterPolicy = new IamRolePolicyAttachment(stack, "cluster_policy", { role: clusterRole.name, policyArn: `arn:${partition}:iam::aws:policy/AmazonEKSClusterPolicy` });
  const cluster = new EksCluster(stack, "cluster", {
    name: clusterName, roleArn: clusterRole.arn,
    vpcConfig: { subnetIds: subnets, endpointPrivateAccess: true, endpointPublicAccess: false },
    encryptionConfig: { resources: ["secrets"], provider: { keyArn: secretsKey.arn } },
    enabledClusterLogTypes: ["api", "audit", "authenticator", "controllerManager", "scheduler"],
    accessConfig: { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: false },
    deletionProtection: true, dependsOn: [logs, clusterPolicy],
  });
  const platformAdmin = `arn:aws:iam::${account}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_PlatformAdmin_0123456789abcdef`;
  const adminEntry = new EksAccessEntry(stack, "platform_admin", { clusterName: cluster.name, principalArn: platformAdmin, type: "STANDARD" });
  new EksAccessPolicyAssociation(stack, "platform_admin_policy", {
    clusterName: cluster.name, principalArn: platformAdmin, policyArn: `arn:${partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy`,
    accessScope: { type: "cluster" }, dependsOn: [adminEntry],
  });
  const irsa = new IamOpenidConnectProvider(stack, "irsa", { url: cluster.identity.get(0).oidc.get(0).issuer, clientIdList: ["sts.amazonaws.com"] });
  const host = new TerraformLocal(stack, "irsa_host", Fn.replace(irsa.url, "https://", "")).asString;
  const autoscaling = new IamServiceLinkedRole(stack, "autoscaling", { awsServiceName: "autoscaling.amazonaws.com" }).arn;

  const pods: Record<string, IamRole> = {};
  for (const purpose of ["build", "evidence", "deploy"]) {
    const volumeKey = new KmsKey(stack, `${purpose}_volume_key`, {
      description: `EBS encryption for the ${e} ${purpose} runner nodes (45 CFR 164.312(a)(2)(iv))`, enableKeyRotation: true, deletionWindowInDays: 30,
      policy: doc([
        admin,
        { Sid: "AutoScalingUsesKeyForVolumes", Effect: "Allow", Principal: { AWS: autoscaling }, Action: VOLUME_USE, Resource: "*" },
        { Sid: "AutoScalingGrantsForVolumes", Effect: "Allow", Principal: { AWS: autoscaling }, Action: "kms:CreateGrant", Resource: "*", Condition: { Bool: { "kms:GrantIsForAWSResource": "true" } } },
      ]),
    });
    const nodeRole = new IamRole(stack, `${purpose}_node_role`, {
      name: `hipaa-${e}-${purpose}-runners-node`, description: `EKS nodes of the ${e} ${purpose} runner pool`,
      assumeRolePolicy: doc([{ Sid: "Ec2Nodes", Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }]),
    });
    const attachments = ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"].map(
      (p) => new IamRolePolicyAttachment(stack, `${purpose}_${p}`, { role: nodeRole.name, policyArn: `arn:${partition}:iam::aws:policy/${p}` }),
    );
    const tags = { Environment: e, RunnerPurpose: purpose };
    const ebs = { deleteOnTermination: "true", encrypted: "true", kmsKeyId: volumeKey.arn, volumeType: "gp3" };
    const template = new LaunchTemplate(stack, `${purpose}_template`, {
      name: `hipaa-${e}-${purpose}-runners`, description: `Hardened node template for the ${e} ${purpose} runner pool`, updateDefaultVersion: true,
      metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1, instanceMetadataTags: "disabled" },
      blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { ...ebs, volumeSize: 4 } }, { deviceName: "/dev/xvdb", ebs: { ...ebs, volumeSize: 20 } }],
      tagSpecifications: [{ resourceType: "instance", tags }, { resourceType: "volume", tags }],
    });
    new EksNodeGroup(stack, `${purpose}_nodes`, {
      clusterName: cluster.name, nodeGroupName: `${e}-${purpose}-runners`, nodeRoleArn: nodeRole.arn, subnetIds: subnets, amiType: "BOTTLEROCKET_x86_64", instanceTypes: ["m6i.large"],
      scalingConfig: { minSize: 1, desiredSize: 1, maxSize: 3 }, launchTemplate: { id: template.id, version: Token.asString(template.latestVersion) },
      taint: [{ key: "hipaa.substrate/environment", value: e, effect: "NO_SCHEDULE" }, { key: "hipaa.substrate/purpose", value: purpose, effect: "NO_SCHEDULE" }],
      labels: { "hipaa.substrate/environment": e, "hipaa.substrate/purpose": purpose }, tags, dependsOn: attachments,
    });
    pods[purpose] = new IamRole(stack, `${purpose}_pod_role`, {
      name: `hipaa-${e}-${purpose}-runner`, maxSessionDuration: 3600, description: `IRSA role of the ${e} ${purpose} runner pods (ci-${e}-${purpose}/runner)`,
      tags: { Environment: e, Purpose: `${purpose[0].toUpperCase()}${purpose.slice(1)}Runner` },
      assumeRolePolicy: doc([{
        Sid: "IrsaServiceAccount", Effect: "Allow", Principal: { Federated: irsa.arn }, Action: "sts:AssumeRoleWithWebIdentity",
        Condition: { StringEquals: { [`${host}:sub`]: `system:serviceaccount:ci-${e}-${purpose}:runner`, [`${host}:aud`]: "sts.amazonaws.com" } },
      }]),
    });
  }
  const deployEntry = new EksAccessEntry(stack, "deploy_pool_entry", { clusterName: workload.name, principalArn: pods.deploy.arn, type: "STANDARD" });
  new EksAccessPolicyAssociation(stack, "deploy_pool_edit", {
    clusterName: workload.name, principalArn: pods.deploy.arn, policyArn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy",
    accessScope: { type: "namespace", namespaces: repositories.map((r) => r.name) }, dependsOn: [deployEntry],
  });
  new IamRolePolicy(stack, "deploy_pod_policy", {
    name: "deploy", role: pods.deploy.id, policy: doc([{ Sid: "DescribeWorkloadCluster", Effect: "Allow", Action: "eks:DescribeCluster", Resource: workload.arn }]),
  });

  // The evidence bucket and its key: each writer's statements appear in the bucket policy, the
  // key policy and the writer's own policy, as the library writes them.
  const keyStatements: object[] = [admin];
  const bucketStatements: object[] = [];
  const key = new KmsKey(stack, "evidence_key", {
    description: `HIPAA evidence encryption for ${e} (45 CFR 164.312(a)(2)(iv))`, keyUsage: "ENCRYPT_DECRYPT", customerMasterKeySpec: "SYMMETRIC_DEFAULT",
    enableKeyRotation: true, deletionWindowInDays: 30, tags: { Purpose: "HIPAA evidence encryption", Environment: e }, lifecycle: { preventDestroy: true },
    policy: "", // set below, once every grant is known
  });
  new KmsAlias(stack, "evidence_alias", { name: `alias/hipaa-evidence-${e}`, targetKeyId: key.keyId });
  const bucket = new S3Bucket(stack, "evidence", {
    bucket: `raw-evidence-${e}`, objectLockEnabled: true, forceDestroy: false, lifecycle: { preventDestroy: true },
    tags: { Purpose: "HIPAA pipeline evidence", Environment: e, CFRSection: "164.312(b),164.316(b)(2)(i)", Retention: "2190d" },
  });
  const logBucket = new S3Bucket(stack, "access_logs", {
    bucket: `raw-access-logs-${e}`, forceDestroy: false, lifecycle: { preventDestroy: true },
    tags: { CFRSection: "164.308(a)(1)(ii)(D),164.312(b)", Environment: e, Purpose: "HIPAA evidence access logs" },
  });
  const baseline = (id: string, b: S3Bucket) => {
    const pab = new S3BucketPublicAccessBlock(stack, `${id}_pab`, { bucket: b.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
    new S3BucketOwnershipControls(stack, `${id}_ownership`, { bucket: b.id, rule: { objectOwnership: "BucketOwnerEnforced" } });
    const versioning = new S3BucketVersioningA(stack, `${id}_versioning`, { bucket: b.id, versioningConfiguration: { status: "Enabled" } });
    new S3BucketNotification(stack, `${id}_events`, { bucket: b.id, eventbridge: true });
    return { pab, versioning };
  };
  const evidence = baseline("evidence", bucket);
  const logBase = baseline("access_logs", logBucket);
  new S3BucketServerSideEncryptionConfigurationA(stack, "access_logs_sse", { bucket: logBucket.id, rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] });
  new S3BucketLifecycleConfiguration(stack, "access_logs_lifecycle", {
    bucket: logBucket.id, dependsOn: [logBase.versioning],
    rule: [{
      id: "access-logs-to-colder-storage-never-expire", status: "Enabled", filter: [{}], abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }],
      transition: [{ days: 90, storageClass: "STANDARD_IA" }, { days: 365, storageClass: "GLACIER_IR" }], noncurrentVersionTransition: [{ noncurrentDays: 90, storageClass: "STANDARD_IA" }],
    }],
  });
  new S3BucketPolicy(stack, "access_logs_policy", {
    bucket: logBucket.id, dependsOn: [logBase.pab],
    policy: doc([
      { Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [logBucket.arn, `${logBucket.arn}/*`], Condition: { Bool: { "aws:SecureTransport": "false" } } },
      { Sid: "DenyLogDeletion", Effect: "Deny", Principal: "*", Action: ["s3:DeleteObject", "s3:DeleteObjectVersion"], Resource: `${logBucket.arn}/*` },
      {
        Sid: "AllowS3ServerAccessLogDelivery", Effect: "Allow", Principal: { Service: "logging.s3.amazonaws.com" }, Action: "s3:PutObject", Resource: `${logBucket.arn}/*`,
        Condition: { StringEquals: { "aws:SourceAccount": accountId }, ArnEquals: { "aws:SourceArn": [bucket.arn] } },
      },
    ]),
  });
  const lock = new S3BucketObjectLockConfigurationA(stack, "evidence_lock", { bucket: bucket.id, rule: { defaultRetention: { mode: "COMPLIANCE", days: 2190 } }, dependsOn: [evidence.versioning] });
  new S3BucketServerSideEncryptionConfigurationA(stack, "evidence_sse", { bucket: bucket.id, rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: key.arn }, bucketKeyEnabled: true }] });
  new S3BucketLoggingA(stack, "evidence_logging", {
    bucket: bucket.id, targetBucket: logBucket.id, targetPrefix: `${e}/`, targetObjectKeyFormat: { partitionedPrefix: { partitionDateSource: "EventTime" } },
  });
  const tiers = [{ days: 90, storageClass: "STANDARD_IA" }, { days: 365, storageClass: "GLACIER_IR" }];
  new S3BucketLifecycleConfiguration(stack, "evidence_lifecycle", {
    bucket: bucket.id, dependsOn: [evidence.versioning],
    rule: [{
      id: "evidence-to-colder-storage-never-expire", status: "Enabled", filter: [{}], abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }],
      transition: tiers, noncurrentVersionTransition: tiers.map((t) => ({ noncurrentDays: t.days, storageClass: t.storageClass })),
    }],
  });
  const objects = `${bucket.arn}/*`;
  bucketStatements.push(
    { Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [bucket.arn, objects], Condition: { Bool: { "aws:SecureTransport": "false" } } },
    { Sid: "DenyUploadsWithOtherEncryption", Effect: "Deny", Principal: "*", Action: "s3:PutObject", Resource: objects, Condition: { StringNotEqualsIfExists: { "s3:x-amz-server-side-encryption": "aws:kms" } } },
    { Sid: "DenyUploadsWithOtherKey", Effect: "Deny", Principal: "*", Action: "s3:PutObject", Resource: objects, Condition: { StringNotEqualsIfExists: { "s3:x-amz-server-side-encryption-aws-kms-key-id": key.arn } } },
    {
      Sid: "DenyKmsUploadsWithoutKeyId", Effect: "Deny", Principal: "*", Action: "s3:PutObject", Resource: objects,
      Condition: { Null: { "s3:x-amz-server-side-encryption": "false", "s3:x-amz-server-side-encryption-aws-kms-key-id": "true" } },
    },
    {
      Sid: "DenyEvidenceDeletionAndLockChanges", Effect: "Deny", Principal: "*", Resource: [bucket.arn, objects],
      Action: ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention", "s3:PutBucketObjectLockConfiguration"],
    },
  );
  const viaS3 = { StringEquals: { "kms:ViaService": `s3.${region}.amazonaws.com`, "kms:EncryptionContext:aws:s3:arn": bucket.arn } };
  const writeStatements = (sid: string, resource: string) => [
    { Sid: sid, Effect: "Allow", Action: "s3:PutObject", Resource: resource, Condition: { Null: { "s3:if-none-match": "false" } } },
    { Sid: `${sid}Parts`, Effect: "Allow", Action: "s3:PutObject", Resource: resource, Condition: { Bool: { "s3:ObjectCreationOperation": "false" } } },
    { Sid: `${sid}Abort`, Effect: "Allow", Action: "s3:AbortMultipartUpload", Resource: resource },
  ];
  const grantWrite = (id: string, role: IamRole, name: string, prefix: string) => {
    const resource = `${bucket.arn}/${prefix}*`;
    bucketStatements.push(...writeStatements(`Write${name}`, resource).map((s) => ({ ...s, Principal: { AWS: role.arn } })));
    keyStatements.push({ Sid: `Write${name}Key`, Effect: "Allow", Principal: { AWS: role.arn }, Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: "*", Condition: viaS3 });
    new IamRolePolicy(stack, id, {
      name: "evidence-write", role: role.id,
      policy: doc([...writeStatements("WriteEvidence", resource), { Sid: "WriteEvidenceKey", Effect: "Allow", Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: key.arn, Condition: viaS3 }]),
    });
  };
  for (const { repo, role } of writers) grantWrite(`writer_${repo.name}_policy`, role, `EvidenceWriter${repo.name.replace(/[^A-Za-z0-9]/g, "")}`, `${repo.name}/${e}/`);
  const readActions = [
    "s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectRetention", "s3:GetObjectLegalHold", "s3:GetObjectAttributes", "s3:ListBucket", "s3:ListBucketVersions",
    "s3:GetBucketLocation", "s3:GetBucketObjectLockConfiguration",
  ];
  bucketStatements.push({ Sid: "ReadEvidenceAuditor", Effect: "Allow", Principal: { AWS: auditor.arn }, Action: readActions, Resource: [bucket.arn, objects] });
  keyStatements.push({ Sid: "ReadEvidenceAuditorKey", Effect: "Allow", Principal: { AWS: auditor.arn }, Action: ["kms:Decrypt", "kms:DescribeKey"], Resource: "*", Condition: viaS3 });
  new IamRolePolicy(stack, "auditor_policy", {
    name: "evidence-read", role: auditor.id,
    policy: doc([
      { Sid: "ReadEvidence", Effect: "Allow", Action: readActions, Resource: [bucket.arn, objects] },
      { Sid: "ReadEvidenceKey", Effect: "Allow", Action: ["kms:Decrypt", "kms:DescribeKey"], Resource: key.arn, Condition: viaS3 },
    ]),
  });
  grantWrite("evidence_pod_policy", pods.evidence, "EvidenceRunner", "");
  key.policy = doc(keyStatements);
  new S3BucketPolicy(stack, "evidence_policy", { bucket: bucket.id, policy: doc(bucketStatements), dependsOn: [lock, evidence.pab] });

  const signing = new KmsKey(stack, "signing_key", {
    description: `cosign signing key for ${e} (45 CFR 164.312(c)(1))`, keyUsage: "SIGN_VERIFY", customerMasterKeySpec: "ECC_NIST_P256", deletionWindowInDays: 30,
    tags: { Environment: e, Purpose: "HIPAA artifact signing" }, lifecycle: { preventDestroy: true },
    policy: doc([admin, { Sid: "SignBuildRunner", Effect: "Allow", Principal: { AWS: pods.build.arn }, Action: ["kms:Sign", "kms:GetPublicKey", "kms:DescribeKey"], Resource: "*" }]),
  });
  new KmsAlias(stack, "signing_alias", { name: `alias/hipaa-cosign-${e}`, targetKeyId: signing.keyId });
  new IamRolePolicy(stack, "build_pod_policy", {
    name: "sign", role: pods.build.id, policy: doc([{ Sid: "Sign", Effect: "Allow", Action: ["kms:Sign", "kms:GetPublicKey", "kms:DescribeKey"], Resource: signing.arn }]),
  });
}

function buildRawGithub(app: App, environments: readonly Environment[], repositories: readonly RawRepository[]): void {
  const stack = new TerraformStack(app, "raw-github");
  new GithubProvider(stack, "github", { owner: ORG });
  const compliance = new Repository(stack, "compliance", {
    name: "compliance-workflows", description: "Reusable workflows every HIPAA deploy runs; changes by compliance-team review only", visibility: "private",
    vulnerabilityAlerts: true, autoInit: true, archiveOnDestroy: true, allowMergeCommit: false, allowRebaseMerge: true, allowSquashMerge: true,
    deleteBranchOnMerge: true, hasIssues: true, hasProjects: false, hasWiki: false, lifecycle: { preventDestroy: true },
  });
  new ActionsRepositoryAccessLevel(stack, "compliance_access", { repository: compliance.name, accessLevel: "organization" });
  const codeowners = new RepositoryFile(stack, "codeowners", {
    repository: compliance.name, file: ".github/CODEOWNERS", content: `* @${ORG}/compliance\n`, commitMessage: "Compliance team owns every file",
    overwriteOnCreate: false, lifecycle: { ignoreChanges: "all" },
  });
  const ruleset = (id: string, name: string, target: string, include: string, rules: RepositoryRulesetRules, bypass?: RepositoryRulesetBypassActors[]) =>
    new RepositoryRuleset(stack, id, {
      name, repository: compliance.name, target, enforcement: "active", conditions: { refName: { include: [include], exclude: [] } }, rules, bypassActors: bypass, dependsOn: [codeowners],
    });
  ruleset("branch", "compliance-default-branch", "branch", "~DEFAULT_BRANCH", {
    deletion: true, nonFastForward: true, requiredLinearHistory: true,
    pullRequest: { requiredApprovingReviewCount: 2, requireCodeOwnerReview: true, dismissStaleReviewsOnPush: true, requireLastPushApproval: true, requiredReviewThreadResolution: true },
  });
  ruleset("tags", "compliance-release-tags-immutable", "tag", "refs/tags/v*", { update: true, deletion: true, nonFastForward: true });
  ruleset("tag_creation", "compliance-release-tags-creation", "tag", "refs/tags/v*", { creation: true }, [{ actorId: 5501, actorType: "Team", bypassMode: "always" }]);
  for (const repo of repositories) {
    new ActionsRepositoryOidcSubjectClaimCustomizationTemplate(stack, `template_${repo.name}`, { repository: repo.name, useDefault: true });
    for (const env of environments) {
      const environment = new RepositoryEnvironment(stack, `env_${repo.name}_${env.name}`, {
        repository: repo.name, environment: env.name, reviewers: [{ teams: [5502], users: [] }], preventSelfReview: true, canAdminsBypass: false, waitTimer: env.isProduction ? 10 : 0,
        deploymentBranchPolicy: { protectedBranches: false, customBranchPolicies: true },
      });
      new RepositoryEnvironmentDeploymentPolicy(stack, `policy_${repo.name}_${env.name}`, env.isProduction
        ? { repository: repo.name, environment: environment.environment, tagPattern: "v*.*.*" }
        : { repository: repo.name, environment: environment.environment, branchPattern: "main" });
    }
  }
  for (const env of environments) {
    const deploy = env.isProduction ? "deploy-prod.yml" : "deploy.yml";
    new ActionsRunnerGroup(stack, `runners_${env.name}`, {
      name: `hipaa-${env.name}`, visibility: "selected", selectedRepositoryIds: repositories.map((r) => r.repositoryId), allowsPublicRepositories: false, restrictedToWorkflows: true,
      selectedWorkflows: [deploy, "hipaa-build.yml"].map((w) => `${ORG}/compliance-workflows/.github/workflows/${w}@refs/tags/${RELEASE}`),
    });
  }
}
