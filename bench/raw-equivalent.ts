/**
 * The baseline the library is measured against: the same Terraform resources as the reference
 * app, declared directly with the provider classes and hand-written policy strings, as a team
 * without the library would write them.
 */
import { App, Fn, TerraformLocal, TerraformStack, Token } from "cdktf";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { DataAwsSubnets } from "@cdktf/provider-aws/lib/data-aws-subnets";
import { EksAccessEntry } from "@cdktf/provider-aws/lib/eks-access-entry";
import { EksAccessPolicyAssociation } from "@cdktf/provider-aws/lib/eks-access-policy-association";
import { EksCluster } from "@cdktf/provider-aws/lib/eks-cluster";
import { EksNodeGroup } from "@cdktf/provider-aws/lib/eks-node-group";
import { IamOpenidConnectProvider } from "@cdktf/provider-aws/lib/iam-openid-connect-provider";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment";
import { LaunchTemplate } from "@cdktf/provider-aws/lib/launch-template";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition";
import { DataAwsRegion } from "@cdktf/provider-aws/lib/data-aws-region";
import { KmsAlias } from "@cdktf/provider-aws/lib/kms-alias";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketLifecycleConfiguration } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { S3BucketLoggingA } from "@cdktf/provider-aws/lib/s3-bucket-logging";
import { S3BucketObjectLockConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-object-lock-configuration";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { ActionsRepositoryAccessLevel } from "@cdktf/provider-github/lib/actions-repository-access-level";
import { GithubProvider } from "@cdktf/provider-github/lib/provider";
import { Repository } from "@cdktf/provider-github/lib/repository";
import { RepositoryFile } from "@cdktf/provider-github/lib/repository-file";
import { RepositoryRuleset } from "@cdktf/provider-github/lib/repository-ruleset";
import { RepositoryEnvironment } from "@cdktf/provider-github/lib/repository-environment";
import { RepositoryEnvironmentDeploymentPolicy } from "@cdktf/provider-github/lib/repository-environment-deployment-policy";
import { ActionsRepositoryOidcSubjectClaimCustomizationTemplate } from "@cdktf/provider-github/lib/actions-repository-oidc-subject-claim-customization-template";
import { ActionsRunnerGroup } from "@cdktf/provider-github/lib/actions-runner-group";
import { Environment } from "../src/model";

export interface RawRepository {
  readonly name: string;
  readonly repositoryId: number;
}

export function buildRawEquivalent(app: App, environments: readonly Environment[], repositories: readonly RawRepository[]): void {
  buildRawGithub(app, environments, repositories);
  for (const env of environments) {
    const stack = new TerraformStack(app, `raw-${env.name}`);
    new AwsProvider(stack, "aws", { region: "us-east-1", allowedAccountIds: ["111122223333"] });
    const account = new DataAwsCallerIdentity(stack, "caller").accountId;
    const partition = new DataAwsPartition(stack, "partition").partition;
    new DataAwsRegion(stack, "region");
    const root = `arn:${partition}:iam::${account}:root`;
    const adminPolicy = JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Sid: "Admin", Effect: "Allow", Principal: { AWS: root }, Action: ["kms:DescribeKey", "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"], Resource: "*" }],
    });
    const key = new KmsKey(stack, "evidence_key", { enableKeyRotation: true, deletionWindowInDays: 30, policy: adminPolicy, lifecycle: { preventDestroy: true } });
    new KmsAlias(stack, "evidence_alias", { name: `alias/evidence-${env.name}`, targetKeyId: key.keyId });

    const buckets: S3Bucket[] = [];
    for (const [id, lock] of [["logs", false], ["evidence", true]] as const) {
      const bucket = new S3Bucket(stack, id, { bucket: `raw-${id}-${env.name}`, objectLockEnabled: lock || undefined, forceDestroy: false, lifecycle: { preventDestroy: true } });
      new S3BucketPublicAccessBlock(stack, `${id}_pab`, { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
      new S3BucketOwnershipControls(stack, `${id}_ownership`, { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } });
      new S3BucketVersioningA(stack, `${id}_versioning`, { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } });
      new S3BucketServerSideEncryptionConfigurationA(stack, `${id}_sse`, {
        bucket: bucket.id,
        rule: [{ applyServerSideEncryptionByDefault: lock ? { sseAlgorithm: "aws:kms", kmsMasterKeyId: key.arn } : { sseAlgorithm: "AES256" }, bucketKeyEnabled: lock || undefined }],
      });
      new S3BucketPolicy(stack, `${id}_policy`, {
        bucket: bucket.id,
        policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Sid: "TLS", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [bucket.arn, `${bucket.arn}/*`], Condition: { Bool: { "aws:SecureTransport": "false" } } }],
        }),
      });
      buckets.push(bucket);
    }
    const [logs, evidence] = buckets;
    new S3BucketObjectLockConfigurationA(stack, "evidence_lock", { bucket: evidence.id, rule: { defaultRetention: { mode: "COMPLIANCE", days: 2190 } } });
    new S3BucketLoggingA(stack, "evidence_logging", { bucket: evidence.id, targetBucket: logs.id, targetPrefix: `${env.name}/` });
    new S3BucketLifecycleConfiguration(stack, "evidence_lifecycle", {
      bucket: evidence.id,
      rule: [{ id: "tiering", status: "Enabled", filter: [{}], transition: [{ days: 90, storageClass: "STANDARD_IA" }, { days: 365, storageClass: "GLACIER_IR" }] }],
    });
    const signing = new KmsKey(stack, "signing_key", { keyUsage: "SIGN_VERIFY", customerMasterKeySpec: "ECC_NIST_P256", deletionWindowInDays: 30, policy: adminPolicy, lifecycle: { preventDestroy: true } });
    new KmsAlias(stack, "signing_alias", { name: `alias/cosign-${env.name}`, targetKeyId: signing.keyId });
    buildRawIdentityAndRunners(stack, env, repositories, root, partition, evidence, key, signing);
  }
}

const GH = "token.actions.githubusercontent.com";
const APPROVED_RELEASE = "v1.4.2";

function role(stack: TerraformStack, id: string, trust: object, statements: object[]): IamRole {
  const r = new IamRole(stack, id, { name: id, assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [trust] }), maxSessionDuration: 3600 });
  if (statements.length > 0) new IamRolePolicy(stack, `${id}_policy`, { role: r.id, policy: JSON.stringify({ Version: "2012-10-17", Statement: statements }) });
  return r;
}

function buildRawIdentityAndRunners(stack: TerraformStack, env: Environment, repositories: readonly RawRepository[], root: string, partition: string, evidence: S3Bucket, evidenceKey: KmsKey, signing: KmsKey): void {
  const github = new IamOpenidConnectProvider(stack, "github", { url: `https://${GH}`, clientIdList: ["sts.amazonaws.com"] });
  const ghTrust = (repo: string, repoId: number, workflow: string) => ({
    Effect: "Allow",
    Principal: { Federated: github.arn },
    Action: "sts:AssumeRoleWithWebIdentity",
    Condition: {
      StringEquals: {
        [`${GH}:aud`]: "sts.amazonaws.com",
        [`${GH}:sub`]: `repo:hipaa-app-org/${repo}:environment:${env.name}`,
        [`${GH}:repository_id`]: String(repoId),
        [`${GH}:job_workflow_ref`]: `hipaa-app-org/compliance-workflows/.github/workflows/${workflow}@refs/tags/${APPROVED_RELEASE}`,
      },
    },
  });
  const write = [
    { Effect: "Allow", Action: ["s3:PutObject"], Resource: `${evidence.arn}/*` },
    { Effect: "Allow", Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: evidenceKey.arn },
  ];
  for (const repo of repositories) {
    const deploy = role(stack, `deploy_${repo.name}_${env.name}`, ghTrust(repo.name, repo.repositoryId, "deploy.yml"), [
      { Effect: "Allow", Action: "eks:DescribeCluster", Resource: `arn:aws:eks:us-east-1:111122223333:cluster/clinical-${env.name}` },
    ]);
    role(stack, `evidence_writer_${repo.name}_${env.name}`, ghTrust(repo.name, repo.repositoryId, "hipaa-build.yml"), write);
    new EksAccessEntry(stack, `deploy_entry_${repo.name}`, { clusterName: `clinical-${env.name}`, principalArn: deploy.arn });
    new EksAccessPolicyAssociation(stack, `deploy_policy_${repo.name}`, {
      clusterName: `clinical-${env.name}`,
      principalArn: deploy.arn,
      policyArn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy",
      accessScope: { type: "namespace", namespaces: ["clinical-platform"] },
    });
  }
  role(stack, `auditor_${env.name}`, { Effect: "Allow", Principal: { AWS: "arn:aws:iam::111122223333:role/auditor" }, Action: "sts:AssumeRole" }, [
    { Effect: "Allow", Action: ["s3:GetObject", "s3:ListBucket"], Resource: [evidence.arn, `${evidence.arn}/*`] },
  ]);

  const subnets = new DataAwsSubnets(stack, "subnets", { filter: [{ name: "tag:hipaa-substrate/tier", values: ["private"] }] });
  const keyPolicy = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: root }, Action: ["kms:DescribeKey", "kms:PutKeyPolicy"], Resource: "*" }] });
  const secrets = new KmsKey(stack, "cluster_key", { enableKeyRotation: true, policy: keyPolicy, lifecycle: { preventDestroy: true } });
  const logs = new CloudwatchLogGroup(stack, "cluster_logs", { name: `/aws/eks/runners-${env.name}/cluster`, retentionInDays: 2192, kmsKeyId: secrets.arn });
  const clusterRole = role(stack, `cluster_${env.name}`, { Effect: "Allow", Principal: { Service: "eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"] }, []);
  new IamRolePolicyAttachment(stack, "cluster_policy", { role: clusterRole.name, policyArn: `arn:${partition}:iam::aws:policy/AmazonEKSClusterPolicy` });
  const cluster = new EksCluster(stack, "cluster", {
    name: `runners-${env.name}`,
    roleArn: clusterRole.arn,
    vpcConfig: { subnetIds: subnets.ids, endpointPrivateAccess: true, endpointPublicAccess: false },
    encryptionConfig: { resources: ["secrets"], provider: { keyArn: secrets.arn } },
    enabledClusterLogTypes: ["api", "audit", "authenticator", "controllerManager", "scheduler"],
    accessConfig: { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: false },
    deletionProtection: true,
    dependsOn: [logs],
  });
  const irsa = new IamOpenidConnectProvider(stack, "irsa", { url: cluster.identity.get(0).oidc.get(0).issuer, clientIdList: ["sts.amazonaws.com"] });
  const host = new TerraformLocal(stack, "irsa_host", Fn.replace(irsa.url, "https://", "")).asString;
  for (const purpose of ["build", "evidence", "deploy"]) {
    const volumeKey = new KmsKey(stack, `${purpose}_volume_key`, { enableKeyRotation: true, policy: keyPolicy });
    const nodeRole = role(stack, `${purpose}_node_${env.name}`, { Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }, []);
    for (const policy of ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"]) {
      new IamRolePolicyAttachment(stack, `${purpose}_${policy}`, { role: nodeRole.name, policyArn: `arn:${partition}:iam::aws:policy/${policy}` });
    }
    const ebs = { encrypted: "true", kmsKeyId: volumeKey.arn, volumeType: "gp3" };
    const template = new LaunchTemplate(stack, `${purpose}_template`, {
      metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
      blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { ...ebs, volumeSize: 4 } }, { deviceName: "/dev/xvdb", ebs: { ...ebs, volumeSize: 20 } }],
    });
    new EksNodeGroup(stack, `${purpose}_nodes`, {
      clusterName: cluster.name,
      nodeRoleArn: nodeRole.arn,
      subnetIds: subnets.ids,
      amiType: "BOTTLEROCKET_x86_64",
      scalingConfig: { minSize: 1, desiredSize: 1, maxSize: 3 },
      launchTemplate: { id: template.id, version: Token.asString(template.latestVersion) },
      taint: [{ key: "hipaa.substrate/environment", value: env.name, effect: "NO_SCHEDULE" }],
      labels: { "hipaa.substrate/environment": env.name, "hipaa.substrate/purpose": purpose },
    });
    const podPermissions =
      purpose === "build" ? [{ Effect: "Allow", Action: ["kms:Sign"], Resource: signing.arn }] : purpose === "evidence" ? write : [{ Effect: "Allow", Action: "eks:DescribeCluster", Resource: "*" }];
    role(stack, `${purpose}_pod_${env.name}`, {
      Effect: "Allow",
      Principal: { Federated: irsa.arn },
      Action: "sts:AssumeRoleWithWebIdentity",
      Condition: { StringEquals: { [`${host}:sub`]: `system:serviceaccount:ci-${env.name}-${purpose}:runner`, [`${host}:aud`]: "sts.amazonaws.com" } },
    }, podPermissions);
  }
}

function buildRawGithub(app: App, environments: readonly Environment[], repositories: readonly RawRepository[]): void {
  const stack = new TerraformStack(app, "raw-github");
  new GithubProvider(stack, "github", { owner: "hipaa-app-org" });
  const compliance = new Repository(stack, "compliance", { name: "compliance-workflows", visibility: "private", vulnerabilityAlerts: true, lifecycle: { preventDestroy: true } });
  new ActionsRepositoryAccessLevel(stack, "compliance_access", { repository: compliance.name, accessLevel: "organization" });
  new RepositoryFile(stack, "codeowners", { repository: compliance.name, file: ".github/CODEOWNERS", content: "* @hipaa-app-org/compliance\n", lifecycle: { ignoreChanges: "all" } });
  new RepositoryRuleset(stack, "branch", {
    name: "default-branch", repository: compliance.name, target: "branch", enforcement: "active",
    conditions: { refName: { include: ["~DEFAULT_BRANCH"], exclude: [] } },
    rules: { deletion: true, nonFastForward: true, requiredLinearHistory: true, pullRequest: { requiredApprovingReviewCount: 2, requireCodeOwnerReview: true } },
  });
  new RepositoryRuleset(stack, "tags", {
    name: "tags", repository: compliance.name, target: "tag", enforcement: "active",
    conditions: { refName: { include: ["refs/tags/v*"], exclude: [] } }, rules: { update: true, deletion: true, nonFastForward: true },
  });
  new RepositoryRuleset(stack, "tag_creation", {
    name: "tag-creation", repository: compliance.name, target: "tag", enforcement: "active",
    conditions: { refName: { include: ["refs/tags/v*"], exclude: [] } }, rules: { creation: true },
    bypassActors: [{ actorId: 5501, actorType: "Team", bypassMode: "always" }],
  });
  for (const repo of repositories) {
    new ActionsRepositoryOidcSubjectClaimCustomizationTemplate(stack, `template_${repo.name}`, { repository: repo.name, useDefault: true });
    for (const env of environments) {
      const e = new RepositoryEnvironment(stack, `env_${repo.name}_${env.name}`, {
        repository: repo.name, environment: env.name, reviewers: [{ teams: [5502] }], preventSelfReview: true, canAdminsBypass: false,
        waitTimer: env.isProduction ? 10 : 0, deploymentBranchPolicy: { protectedBranches: false, customBranchPolicies: true },
      });
      new RepositoryEnvironmentDeploymentPolicy(stack, `policy_${repo.name}_${env.name}`, env.isProduction
        ? { repository: repo.name, environment: e.environment, tagPattern: "v*.*.*" }
        : { repository: repo.name, environment: e.environment, branchPattern: "main" });
    }
  }
  for (const env of environments) {
    new ActionsRunnerGroup(stack, `runners_${env.name}`, {
      name: `hipaa-${env.name}`, visibility: "selected", selectedRepositoryIds: repositories.map((r) => r.repositoryId), allowsPublicRepositories: false,
      restrictedToWorkflows: true, selectedWorkflows: [`hipaa-app-org/compliance-workflows/.github/workflows/deploy.yml@refs/tags/${APPROVED_RELEASE}`],
    });
  }
}
