/**
 * The baseline the library is measured against: the same Terraform resources as the reference
 * app (examples/reference) at the same shape, declared directly with the provider classes, with
 * every policy a plain `JSON.stringify` of the statements a careful engineer would write by hand.
 * `bench/run.ts` checks the claim on every run: it compares both outputs resource type by
 * resource type and prints any difference.
 *
 * The archive stack (the evidence archive account): the break-glass role's lookup (its unique id
 * pins every custody denial, a second statement beside the ARN one); per environment an evidence
 * bucket (key with break-glass-only custody, alias, bucket, public-access block, ownership,
 * versioning, Object Lock, encryption, EventBridge notifications, access logging, lifecycle, and a
 * bucket policy with the deny statements, each writer's put-only statements, the evidence runner's
 * <repository>/<environment>/ statements and the auditor's read), its access-log bucket, the
 * auditor role (trusted through its account, pinned by ARN) and its policy; the CloudTrail bucket
 * (locked, without a Bucket Key, with its own key, alias and access-log bucket) that every
 * account's trail writes to, each environment's auditors reading their own account's logs only;
 * the archive's own trail (naming the key ARN); the security alerts: key (custody, EventBridge and
 * CloudWatch-alarm publishing), topic, topic policy, eight rules on the archive's own events and
 * one on the environments' forwarded events with their targets, the bus policy admitting each
 * environment's forwarder role, per environment a heartbeat rule and a missing-heartbeat alarm,
 * and the security team's https subscription.
 *
 * Per environment stack: S3 backend with a lock file, the provider with default tags, the
 * account/partition/region data sources, the workload-cluster, workload node role and subnet
 * lookups; the signing key and alias; the GitHub OIDC provider; per repository a deploy role
 * (exact-ref trust), its DescribeCluster policy, an EKS access entry and a namespace-scoped
 * policy association, an evidence writer role with its prefix-confined policy on the archive
 * bucket, and an ECR repository (key, alias, repository, lifecycle and repository policies);
 * the runner cluster (secrets key, log group, cluster role, cluster, IRSA provider and issuer
 * local, platform-admin access entries), the Auto Scaling service-linked role, and three runner
 * pools (volume key naming the service-linked role, node role and attachments, launch template,
 * node group, IRSA pod role and its policy; the deploy pool's access entry); the lookups of the
 * account's break-glass role (custodian of the signing and alert keys) and of the archive's trail
 * key by alias; the account's trail into the archive (naming the key ARN); its security alerts
 * (key, topic, policy, eight rules and targets: key, bucket, trail, alert-rule and alert-topic
 * tampering, break-glass assumed by STS or console switch, guarded roles changed) and the same
 * eight forwarded to the archive's bus by rules and targets of their own, with a heartbeat rule
 * and target, the forwarder role and its policy. (Both run in us-east-1, where IAM and global
 * STS events arrive: neither copies the global-service rules to another region.)
 * The GitHub stack: the compliance repository with its access level, CODEOWNERS, three rulesets
 * and the release environment with its default-branch policy; a claim template and two rulesets
 * per repository; an environment and a deployment policy per repository and environment; a
 * runner group per environment pinned to the approved release.
 *
 * What it does not include: no HIPAA gate and no control map (nothing judges the output), no
 * construct-time validation of any input, no `hipaa_environment`/`hipaa_substrate` locals that
 * mark the stacks for the gate, no deploy-gate bundle files (policy/ next to each stack), no
 * outputs, no postconditions on the lookups (the break-glass role's path, the subnet count), and
 * resource names are fixed strings rather than derived from construct paths (so no hashed
 * suffixes). Those are what the library adds; the ratio the bench prints is their price.
 */
import { App, Fn, S3Backend, TerraformLocal, TerraformStack, Token } from "cdktf";
import { Cloudtrail, CloudtrailAdvancedEventSelector } from "@cdktf/provider-aws/lib/cloudtrail";
import { CloudwatchEventBusPolicy } from "@cdktf/provider-aws/lib/cloudwatch-event-bus-policy";
import { CloudwatchEventRule } from "@cdktf/provider-aws/lib/cloudwatch-event-rule";
import { CloudwatchEventTarget } from "@cdktf/provider-aws/lib/cloudwatch-event-target";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { DataAwsEksCluster } from "@cdktf/provider-aws/lib/data-aws-eks-cluster";
import { DataAwsIamRole } from "@cdktf/provider-aws/lib/data-aws-iam-role";
import { DataAwsKmsKey } from "@cdktf/provider-aws/lib/data-aws-kms-key";
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition";
import { DataAwsRegion } from "@cdktf/provider-aws/lib/data-aws-region";
import { DataAwsSubnets } from "@cdktf/provider-aws/lib/data-aws-subnets";
import { EcrLifecyclePolicy } from "@cdktf/provider-aws/lib/ecr-lifecycle-policy";
import { EcrRepository } from "@cdktf/provider-aws/lib/ecr-repository";
import { EcrRepositoryPolicy } from "@cdktf/provider-aws/lib/ecr-repository-policy";
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
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { SnsTopicPolicy } from "@cdktf/provider-aws/lib/sns-topic-policy";
import { SnsTopicSubscription } from "@cdktf/provider-aws/lib/sns-topic-subscription";
import { ActionsRepositoryAccessLevel } from "@cdktf/provider-github/lib/actions-repository-access-level";
import { ActionsRepositoryOidcSubjectClaimCustomizationTemplate } from "@cdktf/provider-github/lib/actions-repository-oidc-subject-claim-customization-template";
import { ActionsRunnerGroup } from "@cdktf/provider-github/lib/actions-runner-group";
import { GithubProvider } from "@cdktf/provider-github/lib/provider";
import { Repository } from "@cdktf/provider-github/lib/repository";
import { RepositoryEnvironment } from "@cdktf/provider-github/lib/repository-environment";
import { RepositoryEnvironmentDeploymentPolicy } from "@cdktf/provider-github/lib/repository-environment-deployment-policy";
import { RepositoryFile } from "@cdktf/provider-github/lib/repository-file";
import { RepositoryRuleset, RepositoryRulesetBypassActors, RepositoryRulesetRules } from "@cdktf/provider-github/lib/repository-ruleset";
import { Construct } from "constructs";
import { Environment } from "../src/model";

export interface RawRepository {
  readonly name: string;
  readonly repositoryId: number;
}

const ORG = "hipaa-app-org";
const GH = "token.actions.githubusercontent.com";
const RELEASE = "v1.4.2";
const REGION = "us-east-1";
const ARCHIVE = "999999999999";
const BREAK_GLASS = `arn:aws:iam::${ARCHIVE}:role/break-glass/evidence-custodian`;
const KMS_ADMIN = [
  "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:DeleteAlias", "kms:DescribeKey", "kms:DisableKey", "kms:DisableKeyRotation", "kms:EnableKey",
  "kms:EnableKeyRotation", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:GetPublicKey", "kms:ListGrants", "kms:ListKeyPolicies",
  "kms:ListKeyRotations", "kms:ListResourceTags", "kms:PutKeyPolicy", "kms:RevokeGrant", "kms:RotateKeyOnDemand", "kms:ScheduleKeyDeletion",
  "kms:TagResource", "kms:UntagResource", "kms:UpdateAlias", "kms:UpdateKeyDescription",
];
const VOLUME_USE = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey"];
const READ_EVIDENCE = [
  "s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectRetention", "s3:GetObjectLegalHold", "s3:GetObjectAttributes", "s3:ListBucket", "s3:ListBucketVersions",
  "s3:GetBucketLocation", "s3:GetBucketObjectLockConfiguration",
];
const ECR_PULL = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"];
const ECR_PUSH = ["ecr:CompleteLayerUpload", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart"];
const doc = (statements: object[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });
const pascal = (s: string) => s.split(/[^A-Za-z0-9]+/).map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join("");

/** The account id the reference app gives an environment it does not list (examples/reference/main.ts). */
function accountFor(env: string): string {
  const known: Record<string, string> = { dev: "111111111111", staging: "222222222222", validation: "333333333333", production: "444444444444" };
  return known[env] ?? String(100000000000 + [...env].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 899999999999, 7));
}
const evidenceBucketName = (e: string) => `raw-evidence-${e}-${ARCHIVE}`;
const trailBucketName = `raw-trail-${ARCHIVE}`;
const trailArn = (account: string, name: string) => `arn:aws:cloudtrail:${REGION}:${account}:trail/${name}`;

export function buildRawEquivalent(app: App, environments: readonly Environment[], repositories: readonly RawRepository[]): void {
  buildRawGithub(app, environments, repositories);
  buildRawArchive(app, environments, repositories);
  for (const env of environments) buildRawEnvironment(app, env, repositories);
}

/** Backend, provider and the account context every AWS stack starts with. */
function awsStack(app: App, id: string, account: string, tags: Record<string, string>) {
  const stack = new TerraformStack(app, id);
  new S3Backend(stack, {
    bucket: `clinical-tfstate-${account}`, key: `${id}/terraform.tfstate`, region: REGION, encrypt: true,
    kmsKeyId: `arn:aws:kms:${REGION}:${account}:alias/clinical-tfstate`, allowedAccountIds: [account],
  }).addOverride("use_lockfile", true);
  new AwsProvider(stack, "aws", { region: REGION, allowedAccountIds: [account], defaultTags: [{ tags: { ...tags, ManagedBy: "hand-written" } }] });
  const accountId = new DataAwsCallerIdentity(stack, "caller").accountId;
  const partition = new DataAwsPartition(stack, "partition").partition;
  const region = new DataAwsRegion(stack, "region").region;
  const root = `arn:${partition}:iam::${accountId}:root`;
  return { stack, accountId, partition, region, root };
}

/**
 * The break-glass role of a stack's account, looked up for its unique id: every custody denial
 * exempts it by ARN and, in a second statement, by `aws:userid` (a role re-created under the same
 * name has a new id).
 */
interface BreakGlass {
  readonly arn: string;
  readonly uniqueId: string;
}
function lookUpBreakGlass(stack: Construct, arn: string): BreakGlass {
  return { arn, uniqueId: new DataAwsIamRole(stack, "break_glass", { name: arn.split("/").pop()! }).uniqueId };
}
/** A Deny's conditions are ANDed: "not break-glass by ARN" and "not break-glass by id" are two statements. */
const notBreakGlass = (bg: BreakGlass): [string, Record<string, Record<string, string>>][] => [
  ["", { ArnNotEquals: { "aws:PrincipalArn": bg.arn } }],
  ["ByRoleId", { StringNotLike: { "aws:userid": `${bg.uniqueId}:*` } }],
];

/** The administration statement, and the custody denials keys that hold evidence or alerts carry. */
function custody(root: string | string[], bg: BreakGlass) {
  return [
    { Sid: "KeyAdministrationWithoutUse", Effect: "Allow", Principal: { AWS: root }, Action: KMS_ADMIN, Resource: "*" },
    ...notBreakGlass(bg).map(([suffix, condition]) => ({
      Sid: `OnlyBreakGlassDestroysDisablesOrRepoliciesKey${suffix}`, Effect: "Deny", Principal: "*",
      Action: ["kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy", "kms:DeleteImportedKeyMaterial", "kms:UpdateAlias", "kms:DeleteAlias"], Resource: "*", Condition: condition,
    })),
    ...notBreakGlass(bg).map(([suffix, condition]) => ({
      Sid: `OnlyBreakGlassGrantsKeyUseOutsideAwsServices${suffix}`, Effect: "Deny", Principal: "*", Action: ["kms:CreateGrant", "kms:RevokeGrant"], Resource: "*",
      Condition: { ...condition, Bool: { "kms:GrantIsForAWSResource": "false" } },
    })),
  ];
}

/** Bucket actions only break-glass may take. */
function bucketCustody(sid: string, bucketArn: string, actions: string[], bg: BreakGlass) {
  return notBreakGlass(bg).map(([suffix, condition]) => ({ Sid: `${sid}${suffix}`, Effect: "Deny", Principal: "*", Action: actions, Resource: bucketArn, Condition: condition }));
}

/** An account's trail into the archive's trail bucket. */
function trail(stack: Construct, name: string, evidenceObjectPrefixes: string[], trailKey: string, extra: { dependsOn?: any[] } = {}) {
  const selectors: CloudtrailAdvancedEventSelector[] = [
    { name: "Every management event, KMS included", fieldSelector: [{ field: "eventCategory", equalTo: ["Management"] }] },
    {
      name: "Reads and writes of evidence objects",
      fieldSelector: [{ field: "eventCategory", equalTo: ["Data"] }, { field: "resources.type", equalTo: ["AWS::S3::Object"] }, { field: "resources.ARN", startsWith: evidenceObjectPrefixes }],
    },
  ];
  new Cloudtrail(stack, "audit_trail", {
    name, s3BucketName: trailBucketName, kmsKeyId: trailKey, isMultiRegionTrail: true, includeGlobalServiceEvents: true, enableLogFileValidation: true, enableLogging: true,
    advancedEventSelector: selectors, ...extra,
  });
}

const ALL_MANAGEMENT_EVENTS = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS";
const ARCHIVE_BUS = `arn:aws:events:${REGION}:${ARCHIVE}:event-bus/default`;
const forwarderRoleName = (e: string) => `hipaa-${e}-security-event-forwarder`;
const heartbeatRuleName = (e: string) => `hipaa-${e}-archive-heartbeat`;
const heartbeatAlarmName = (e: string) => `hipaa-clinical-heartbeat-${e}`;
interface AlertPattern {
  readonly id: string;
  readonly description: string;
  readonly pattern: object;
  readonly state?: string;
}

/** The security events an account alerts on; `account` pins each rule to that account's own events (the archive's bus also carries forwarded ones). */
type SecurityEvent = "keyCustody" | "bucketProtection" | "trail" | "alertRules" | "alertTopics" | "breakGlass" | "breakGlassConsole" | "guardedRoles";
function securityEvents(bg: BreakGlass, guardedRoles: string[], account?: string): Record<SecurityEvent, AlertPattern> {
  const pin = account ? { account: [account] } : {};
  const apiCalls = (source: string, eventSource: string, eventName: string[], detail: object = {}) =>
    ({ ...pin, source: [source], "detail-type": ["AWS API Call via CloudTrail"], detail: { eventSource: [eventSource], eventName, ...detail } });
  const [, , , , breakGlassAccount, resource] = bg.arn.split(":");
  const breakGlassName = resource.split("/").pop();
  return {
    keyCustody: { id: "key_custody", description: "A KMS key's policy or alias was changed, or the key was disabled or scheduled for deletion",
      pattern: apiCalls("aws.kms", "kms.amazonaws.com", ["PutKeyPolicy", "ScheduleKeyDeletion", "DisableKey", "DisableKeyRotation", "DeleteImportedKeyMaterial", "CreateAlias", "UpdateAlias", "DeleteAlias"]) },
    bucketProtection: { id: "bucket_protection", description: "A bucket's policy, access logging, lifecycle, encryption, versioning or lock was changed",
      pattern: apiCalls("aws.s3", "s3.amazonaws.com", ["PutBucketPolicy", "DeleteBucketPolicy", "PutBucketLogging", "PutBucketLifecycle", "DeleteBucketLifecycle", "PutBucketEncryption", "DeleteBucketEncryption", "PutObjectLockConfiguration", "PutBucketVersioning"]) },
    trail: { id: "trail_changed", description: "A CloudTrail trail was stopped, deleted or narrowed", pattern: apiCalls("aws.cloudtrail", "cloudtrail.amazonaws.com", ["StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors"]) },
    alertRules: { id: "alert_rules", description: "An EventBridge rule or target (an alert's or a forwarder's) was changed, disabled or deleted",
      pattern: apiCalls("aws.events", "events.amazonaws.com", ["DeleteRule", "DisableRule", "RemoveTargets", "PutRule", "PutTargets", "PutPermission", "RemovePermission"]) },
    alertTopics: { id: "alert_topics", description: "An alert topic, its policy or a subscription was changed or deleted", pattern: apiCalls("aws.sns", "sns.amazonaws.com", ["DeleteTopic", "SetTopicAttributes", "Unsubscribe", "RemovePermission"]) },
    // AssumeRole* and SwitchRole are read-only management events: a plain ENABLED rule never sees them.
    breakGlass: { id: "break_glass", description: `The break-glass role ${bg.arn} was assumed`, state: ALL_MANAGEMENT_EVENTS,
      pattern: apiCalls("aws.sts", "sts.amazonaws.com", ["AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity"], { requestParameters: { roleArn: [bg.arn] } }) },
    breakGlassConsole: { id: "break_glass_console", description: `The break-glass role ${bg.arn} was switched to in the console`, state: ALL_MANAGEMENT_EVENTS,
      pattern: { ...pin, source: ["aws.signin"], "detail-type": ["AWS Console Sign In via CloudTrail"],
        detail: { eventSource: ["signin.amazonaws.com"], eventName: ["SwitchRole"], userIdentity: { arn: [{ prefix: `arn:aws:sts::${breakGlassAccount}:assumed-role/${breakGlassName}/` }] } } } },
    guardedRoles: { id: "guarded_roles", description: `A guarded role (${guardedRoles.join(", ")}) had its trust, policies or boundary changed, or was deleted`,
      pattern: apiCalls("aws.iam", "iam.amazonaws.com", ["UpdateAssumeRolePolicy", "PutRolePolicy", "DeleteRolePolicy", "AttachRolePolicy", "DetachRolePolicy", "PutRolePermissionsBoundary", "DeleteRolePermissionsBoundary", "DeleteRole", "UpdateRole"],
        { requestParameters: { roleName: guardedRoles } }) },
  };
}

/** An account's alert topic under its own custody key; `alertOn` adds a rule and its target, `publishers` writes the topic policy. */
function alertTopic(stack: Construct, topicName: string, root: string, bg: BreakGlass, extraKeyStatements: object[] = []) {
  const key = new KmsKey(stack, "alerts_key", {
    description: `Encrypts the ${topicName} alert topic (45 CFR 164.308(a)(1)(ii)(D))`, enableKeyRotation: true, deletionWindowInDays: 30, bypassPolicyLockoutSafetyCheck: true,
    lifecycle: { preventDestroy: true },
    policy: doc([
      ...custody([root, bg.arn], bg),
      // No aws:SourceAccount here: EventBridge-to-encrypted-topic delivery does not carry it to KMS.
      { Sid: "EventBridgePublishesEncrypted", Effect: "Allow", Principal: { Service: "events.amazonaws.com" }, Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: "*" },
      ...extraKeyStatements,
    ]),
  });
  const topic = new SnsTopic(stack, "alerts", { name: topicName, kmsMasterKeyId: key.arn });
  const alertOn = (p: AlertPattern) => {
    const rule = new CloudwatchEventRule(stack, `alert_${p.id}`, { description: p.description, eventPattern: JSON.stringify(p.pattern), state: p.state });
    new CloudwatchEventTarget(stack, `alert_${p.id}_target`, { rule: rule.name, arn: topic.arn });
    return rule.arn;
  };
  const publishers = (rules: string[], alarms: string[] = []) =>
    new SnsTopicPolicy(stack, "alerts_policy", {
      arn: topic.arn,
      policy: doc([
        { Sid: "AlertRulesPublish", Effect: "Allow", Principal: { Service: "events.amazonaws.com" }, Action: "sns:Publish", Resource: topic.arn, Condition: { ArnEquals: { "aws:SourceArn": rules } } },
        ...(alarms.length > 0
          ? [{ Sid: "SilenceAlarmsPublish", Effect: "Allow", Principal: { Service: "cloudwatch.amazonaws.com" }, Action: "sns:Publish", Resource: topic.arn, Condition: { ArnEquals: { "aws:SourceArn": alarms } } }]
          : []),
      ]),
    });
  return { topic, alertOn, publishers };
}

/** A bucket's hardening: public-access block, ownership, versioning, EventBridge notifications. */
function baseline(stack: Construct, id: string, b: S3Bucket) {
  const pab = new S3BucketPublicAccessBlock(stack, `${id}_pab`, { bucket: b.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
  new S3BucketOwnershipControls(stack, `${id}_ownership`, { bucket: b.id, rule: { objectOwnership: "BucketOwnerEnforced" } });
  const versioning = new S3BucketVersioningA(stack, `${id}_versioning`, { bucket: b.id, versioningConfiguration: { status: "Enabled" } });
  new S3BucketNotification(stack, `${id}_events`, { bucket: b.id, eventbridge: true });
  return { pab, versioning };
}

/** A never-expiring access-log bucket for `source`, with its policy. */
function accessLogBucket(stack: Construct, id: string, name: string, source: S3Bucket, accountId: string, tags: Record<string, string>, bg: BreakGlass): S3Bucket {
  const logBucket = new S3Bucket(stack, id, { bucket: name, forceDestroy: false, lifecycle: { preventDestroy: true }, tags: { CFRSection: "164.308(a)(1)(ii)(D),164.312(b)", Purpose: "HIPAA evidence access logs", ...tags } });
  const base = baseline(stack, id, logBucket);
  new S3BucketServerSideEncryptionConfigurationA(stack, `${id}_sse`, { bucket: logBucket.id, rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] });
  const lifecycle = new S3BucketLifecycleConfiguration(stack, `${id}_lifecycle`, {
    bucket: logBucket.id, dependsOn: [base.versioning],
    rule: [{
      id: "access-logs-to-colder-storage-never-expire", status: "Enabled", filter: [{}], abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }],
      transition: [{ days: 90, storageClass: "STANDARD_IA" }, { days: 365, storageClass: "GLACIER_IR" }], noncurrentVersionTransition: [{ noncurrentDays: 90, storageClass: "STANDARD_IA" }],
    }],
  });
  new S3BucketPolicy(stack, `${id}_policy`, {
    bucket: logBucket.id, dependsOn: [base.pab, lifecycle, base.versioning],
    policy: doc([
      { Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [logBucket.arn, `${logBucket.arn}/*`], Condition: { Bool: { "aws:SecureTransport": "false" } } },
      { Sid: "DenyLogDeletion", Effect: "Deny", Principal: "*", Action: ["s3:DeleteObject", "s3:DeleteObjectVersion"], Resource: `${logBucket.arn}/*` },
      ...bucketCustody("OnlyBreakGlassEndsTheLogTrail", logBucket.arn, ["s3:DeleteBucket", "s3:PutLifecycleConfiguration", "s3:PutBucketVersioning", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"], bg),
      {
        Sid: "AllowS3ServerAccessLogDelivery", Effect: "Allow", Principal: { Service: "logging.s3.amazonaws.com" }, Action: "s3:PutObject", Resource: `${logBucket.arn}/*`,
        Condition: { StringEquals: { "aws:SourceAccount": accountId }, ArnEquals: { "aws:SourceArn": [source.arn] } },
      },
    ]),
  });
  return logBucket;
}

/**
 * A locked bucket (evidence or trail) with its key's encryption, access logging and lifecycle.
 * The trail bucket goes without an S3 Bucket Key (with one, CloudTrail wants kms:Decrypt from
 * whoever creates the trail, which no trail creator has) and keeps old versions in STANDARD_IA
 * only.
 */
function lockedBucket(
  stack: Construct, id: string, name: string, keyArn: string, logPrefix: string, accountId: string, tags: Record<string, string>, logTags: Record<string, string>, lifecycleId: string,
  bg: BreakGlass, layout: { bucketKey: boolean; coldNoncurrent: boolean },
) {
  const bucket = new S3Bucket(stack, id, { bucket: name, objectLockEnabled: true, forceDestroy: false, lifecycle: { preventDestroy: true }, tags: { CFRSection: "164.312(b),164.316(b)(2)(i)", Retention: "2190d", ...tags } });
  const base = baseline(stack, id, bucket);
  const logs = accessLogBucket(stack, `${id}_logs`, `${name}-logs`, bucket, accountId, logTags, bg);
  const lock = new S3BucketObjectLockConfigurationA(stack, `${id}_lock`, { bucket: bucket.id, rule: { defaultRetention: { mode: "COMPLIANCE", days: 2190 } }, dependsOn: [base.versioning] });
  const sse = new S3BucketServerSideEncryptionConfigurationA(stack, `${id}_sse`, { bucket: bucket.id, rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: keyArn }, bucketKeyEnabled: layout.bucketKey }] });
  const logging = new S3BucketLoggingA(stack, `${id}_logging`, {
    bucket: bucket.id, targetBucket: logs.id, targetPrefix: logPrefix, targetObjectKeyFormat: { partitionedPrefix: { partitionDateSource: "EventTime" } },
  });
  const tiers = [{ days: 90, storageClass: "STANDARD_IA" }, { days: 365, storageClass: "GLACIER_IR" }];
  const lifecycle = new S3BucketLifecycleConfiguration(stack, `${id}_lifecycle`, {
    bucket: bucket.id, dependsOn: [base.versioning],
    rule: [{
      id: lifecycleId, status: "Enabled", filter: [{}], abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }],
      transition: tiers, noncurrentVersionTransition: (layout.coldNoncurrent ? tiers : tiers.slice(0, 1)).map((t) => ({ noncurrentDays: t.days, storageClass: t.storageClass })),
    }],
  });
  return { bucket, dependsOn: [lock, base.pab, logging, lifecycle, sse] };
}

function buildRawArchive(app: App, environments: readonly Environment[], repositories: readonly RawRepository[]): void {
  const { stack, accountId, partition, region, root } = awsStack(app, "raw-archive", ARCHIVE, { HipaaArchive: "clinical" });
  const viaS3 = (bucketArn: string) => ({ StringEquals: { "kms:ViaService": `s3.${region}.amazonaws.com`, "kms:EncryptionContext:aws:s3:arn": bucketArn } });
  const bg = lookUpBreakGlass(stack, BREAK_GLASS);
  const auditors: [string, string][] = [];
  const evidencePrefixes: string[] = [];
  for (const env of environments) {
    const e = env.name;
    const account = accountFor(e);
    const auditor = new IamRole(stack, `auditor_${e}`, {
      name: `hipaa-${e}-evidence-auditor`, maxSessionDuration: 3600, description: `Reads the ${e} evidence bucket for audits; read-only`, tags: { Environment: e, Purpose: "EvidenceAuditor" },
      // Through the auditors' account, pinned by ARN: the SSO role need not exist when this applies.
      assumeRolePolicy: doc([{
        Sid: "NamedPrincipalsByArn", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: ["sts:AssumeRole", "sts:SetSourceIdentity"],
        Condition: { ArnEquals: { "aws:PrincipalArn": [`arn:aws:iam::${account}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_HipaaAuditor_0123456789abcdef`] } },
      }]),
    });
    auditors.push([account, auditor.arn]);
    // The key policy names the bucket, and the bucket's encryption names the key: the bucket is
    // declared first and the key's policy set once both exist.
    const key = new KmsKey(stack, `evidence_key_${e}`, {
      description: `HIPAA evidence encryption for ${e} (45 CFR 164.312(a)(2)(iv))`, keyUsage: "ENCRYPT_DECRYPT", customerMasterKeySpec: "SYMMETRIC_DEFAULT",
      enableKeyRotation: true, deletionWindowInDays: 30, bypassPolicyLockoutSafetyCheck: true, tags: { Purpose: "HIPAA evidence encryption", Environment: e }, lifecycle: { preventDestroy: true },
    });
    new KmsAlias(stack, `evidence_alias_${e}`, { name: `alias/hipaa-evidence-${e}`, targetKeyId: key.keyId });
    const { bucket, dependsOn } = lockedBucket(stack, `evidence_${e}`, evidenceBucketName(e), key.arn, `${e}/`, accountId,
      { Purpose: "HIPAA pipeline evidence", Environment: e }, { Environment: e }, "evidence-to-colder-storage-never-expire", bg, { bucketKey: true, coldNoncurrent: true });
    evidencePrefixes.push(`${bucket.arn}/`);
    key.policy = doc([
      ...custody(root, bg),
      { Sid: `Account${account}EncryptsThroughS3`, Effect: "Allow", Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: "*", Condition: viaS3(bucket.arn) },
      { Sid: "ReadEvidenceAuditorKey", Effect: "Allow", Principal: { AWS: auditor.arn }, Action: ["kms:Decrypt", "kms:DescribeKey"], Resource: "*", Condition: viaS3(bucket.arn) },
    ]);
    const objects = `${bucket.arn}/*`;
    const write = (sid: string, resource: string, role: string) => {
      const who = { ArnEquals: { "aws:PrincipalArn": `arn:aws:iam::${account}:role/${role}` } };
      const principal = { AWS: `arn:aws:iam::${account}:root` };
      return [
        { Sid: sid, Effect: "Allow", Principal: principal, Action: "s3:PutObject", Resource: resource, Condition: { Null: { "s3:if-none-match": "false" }, ...who } },
        { Sid: `${sid}Parts`, Effect: "Allow", Principal: principal, Action: "s3:PutObject", Resource: resource, Condition: { Bool: { "s3:ObjectCreationOperation": "false" }, ...who } },
        { Sid: `${sid}Abort`, Effect: "Allow", Principal: principal, Action: "s3:AbortMultipartUpload", Resource: resource, Condition: who },
      ];
    };
    new S3BucketPolicy(stack, `evidence_${e}_policy`, {
      bucket: bucket.id, dependsOn,
      policy: doc([
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
        ...bucketCustody("OnlyBreakGlassChangesLoggingLifecycleOrEncryption", bucket.arn, ["s3:PutBucketLogging", "s3:PutLifecycleConfiguration", "s3:PutEncryptionConfiguration"], bg),
        ...repositories.flatMap((r) => write(`WriteEvidenceWriter${r.name.replace(/[^A-Za-z0-9]/g, "")}`, `${bucket.arn}/${r.name}/${e}/*`, `hipaa-${e}-evidence-writer-${r.name}`.slice(0, 64))),
        // The evidence runner pool uploads every repository's evidence of this environment: <repository>/<environment>/.
        ...write("WriteEvidenceRunner", `${bucket.arn}/*/${e}/*`, `hipaa-${e}-evidence-runner`),
        { Sid: "ReadEvidenceAuditor", Effect: "Allow", Principal: { AWS: auditor.arn }, Action: READ_EVIDENCE, Resource: [bucket.arn, objects] },
      ]),
    });
    new IamRolePolicy(stack, `auditor_${e}_policy`, {
      name: "evidence-read", role: auditor.id,
      policy: doc([
        { Sid: `Read${pascal(e)}Evidence`, Effect: "Allow", Action: READ_EVIDENCE, Resource: [bucket.arn, objects] },
        { Sid: `Read${pascal(e)}EvidenceKey`, Effect: "Allow", Action: ["kms:Decrypt", "kms:DescribeKey"], Resource: key.arn, Condition: viaS3(bucket.arn) },
      ]),
    });
  }

  // The trail bucket every account's trail writes to, under its own locked key.
  const trails: [string, string][] = [...environments.map((e): [string, string] => [accountFor(e.name), `hipaa-clinical-${e.name}-audit`]), [ARCHIVE, "hipaa-clinical-archive-audit"]];
  const trailArns = trails.map(([a, n]) => trailArn(a, n));
  const trailKey = new KmsKey(stack, "trail_key", {
    description: "Encrypts the CloudTrail log files of every environment account (45 CFR 164.312(b))", enableKeyRotation: true, deletionWindowInDays: 30, bypassPolicyLockoutSafetyCheck: true,
    tags: { Purpose: "HIPAA audit trail encryption" }, lifecycle: { preventDestroy: true },
    policy: doc([
      ...custody(root, bg),
      {
        Sid: "CloudTrailEncryptsLogs", Effect: "Allow", Principal: { Service: "cloudtrail.amazonaws.com" }, Action: "kms:GenerateDataKey*", Resource: "*",
        Condition: { StringEquals: { "aws:SourceArn": trailArns }, StringLike: { "kms:EncryptionContext:aws:cloudtrail:arn": trails.map(([a]) => `arn:aws:cloudtrail:*:${a}:trail/*`) } },
      },
      { Sid: "CloudTrailDescribesKey", Effect: "Allow", Principal: { Service: "cloudtrail.amazonaws.com" }, Action: "kms:DescribeKey", Resource: "*", Condition: { StringEquals: { "aws:SourceArn": trailArns } } },
      // Environment trails name the key by alias: their accounts resolve it.
      {
        Sid: "TrailAccountsResolveKeyAlias", Effect: "Allow", Principal: { AWS: environments.map((e) => `arn:${partition}:iam::${accountFor(e.name)}:root`) }, Action: "kms:DescribeKey", Resource: "*",
      },
      // Each environment's auditors decrypt their own account's trail logs only.
      ...auditors.map(([a, auditor]) => ({
        Sid: `AuditorsDecrypt${a}`, Effect: "Allow", Principal: { AWS: auditor }, Action: "kms:Decrypt", Resource: "*",
        Condition: { StringEquals: { "kms:EncryptionContext:aws:cloudtrail:arn": trails.filter(([t]) => t === a).map(([t, n]) => trailArn(t, n)) } },
      })),
    ]),
  });
  new KmsAlias(stack, "trail_alias", { name: "alias/hipaa-trail-clinical", targetKeyId: trailKey.keyId });
  const { bucket: trailBucket, dependsOn: trailDeps } = lockedBucket(stack, "trail", trailBucketName, trailKey.arn, "trail/", accountId, { Purpose: "HIPAA audit trail" }, { HipaaArchive: "clinical" },
    "trail-to-colder-storage-never-expire", bg, { bucketKey: false, coldNoncurrent: false });
  const trailPolicy = new S3BucketPolicy(stack, "trail_policy", {
    bucket: trailBucket.id, dependsOn: trailDeps,
    policy: doc([
      { Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [trailBucket.arn, `${trailBucket.arn}/*`], Condition: { Bool: { "aws:SecureTransport": "false" } } },
      {
        Sid: "DenyLogDeletionAndLockChanges", Effect: "Deny", Principal: "*", Resource: [trailBucket.arn, `${trailBucket.arn}/*`],
        Action: ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention", "s3:PutBucketObjectLockConfiguration"],
      },
      ...bucketCustody("OnlyBreakGlassChangesLoggingLifecycleOrEncryption", trailBucket.arn, ["s3:PutBucketLogging", "s3:PutLifecycleConfiguration", "s3:PutEncryptionConfiguration"], bg),
      { Sid: "AWSCloudTrailAclCheck", Effect: "Allow", Principal: { Service: "cloudtrail.amazonaws.com" }, Action: "s3:GetBucketAcl", Resource: trailBucket.arn, Condition: { StringEquals: { "aws:SourceArn": trailArns } } },
      ...trails.map(([a, n]) => ({
        Sid: `AWSCloudTrailWrite${a}`, Effect: "Allow", Principal: { Service: "cloudtrail.amazonaws.com" }, Action: "s3:PutObject", Resource: `${trailBucket.arn}/AWSLogs/${a}/*`,
        Condition: { StringEquals: { "s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": trailArn(a, n) } },
      })),
      // Each environment's auditors read their own account's trail logs only.
      ...auditors.flatMap(([a, auditor]) => [
        { Sid: `AuditorsRead${a}`, Effect: "Allow", Principal: { AWS: auditor }, Action: ["s3:GetObject", "s3:GetObjectVersion"], Resource: `${trailBucket.arn}/AWSLogs/${a}/*` },
        {
          Sid: `AuditorsList${a}`, Effect: "Allow", Principal: { AWS: auditor }, Action: ["s3:ListBucket", "s3:ListBucketVersions"], Resource: trailBucket.arn,
          Condition: { StringLike: { "s3:prefix": [`AWSLogs/${a}/*`] } },
        },
        { Sid: `AuditorsLocate${a}`, Effect: "Allow", Principal: { AWS: auditor }, Action: "s3:GetBucketLocation", Resource: trailBucket.arn },
      ]),
    ]),
  });
  // The key ARN, not the alias: CloudTrail stores the key ARN, and would follow a re-pointed alias.
  trail(stack, "hipaa-clinical-archive-audit", evidencePrefixes, trailKey.arn, { dependsOn: [trailPolicy, trailKey] });

  // The archive's alerts: its own events (rules pinned to this account), every environment's
  // forwarded events, and an alarm per environment whose heartbeat stops arriving.
  const alarmArn = (e: string) => `arn:${partition}:cloudwatch:${region}:${accountId}:alarm:${heartbeatAlarmName(e)}`;
  const { topic, alertOn, publishers } = alertTopic(stack, "hipaa-clinical-archive-alerts", root, bg, [{
    Sid: "SilenceAlarmsPublishEncrypted", Effect: "Allow", Principal: { Service: "cloudwatch.amazonaws.com" }, Action: ["kms:GenerateDataKey*", "kms:Decrypt"], Resource: "*",
    Condition: { StringEquals: { "aws:SourceAccount": accountId }, ArnLike: { "aws:SourceArn": environments.map((e) => alarmArn(e.name)) } },
  }]);
  const own = securityEvents(bg, [BREAK_GLASS.split("/").pop()!], ARCHIVE);
  const rules = [own.breakGlass, own.breakGlassConsole, own.guardedRoles, own.keyCustody, own.bucketProtection, own.trail, own.alertRules, own.alertTopics].map(alertOn);
  // Archive only: its alarms (the heartbeat alarms) and its customer-managed policies' versions.
  const ownApiCalls = (source: string[], eventSource: string, eventName: string[]) =>
    ({ account: [ARCHIVE], source, "detail-type": ["AWS API Call via CloudTrail"], detail: { eventSource: [eventSource], eventName } });
  rules.push(alertOn({ id: "alarms_changed", description: "A CloudWatch alarm was deleted, rewritten, had its actions disabled or its state set by hand",
    pattern: ownApiCalls(["aws.monitoring", "aws.cloudwatch"], "monitoring.amazonaws.com", ["DeleteAlarms", "DisableAlarmActions", "PutMetricAlarm", "SetAlarmState"]) }));
  rules.push(alertOn({ id: "managed_policies_changed", description: "A customer-managed IAM policy got a new or different default version",
    pattern: ownApiCalls(["aws.iam"], "iam.amazonaws.com", ["CreatePolicyVersion", "SetDefaultPolicyVersion"]) }));
  const busArn = `arn:${partition}:events:${region}:${accountId}:event-bus/default`;
  new CloudwatchEventBusPolicy(stack, "forwarded_events", {
    eventBusName: "default",
    policy: doc(environments.map((e) => ({
      Sid: `ForwardedFrom${accountFor(e.name)}`, Effect: "Allow", Principal: { AWS: `arn:${partition}:iam::${accountFor(e.name)}:root` }, Action: "events:PutEvents", Resource: busArn,
      Condition: { ArnEquals: { "aws:PrincipalArn": `arn:aws:iam::${accountFor(e.name)}:role/${forwarderRoleName(e.name)}` } },
    }))),
  });
  rules.push(alertOn({
    id: "environment_security_events", state: ALL_MANAGEMENT_EVENTS,
    description: "A security event forwarded from an environment account (key, bucket, trail or alert tampering, a change to its forwarder or break-glass role, or its break-glass role assumed)",
    pattern: {
      account: environments.map((e) => accountFor(e.name)), source: ["aws.kms", "aws.s3", "aws.cloudtrail", "aws.events", "aws.sns", "aws.sts", "aws.signin", "aws.iam"],
      "detail-type": ["AWS API Call via CloudTrail", "AWS Console Sign In via CloudTrail"],
    },
  }));
  const alarms = environments.map((env) => {
    const e = env.name;
    const account = accountFor(e);
    const name = heartbeatAlarmName(e);
    const heartbeat = new CloudwatchEventRule(stack, `heartbeat_${e}`, {
      name, description: `Heartbeat of ${e} (account ${account}): counted by the alarm ${name}`,
      eventPattern: JSON.stringify({ account: [account], source: ["aws.events"], "detail-type": ["Scheduled Event"], resources: [`arn:aws:events:${REGION}:${account}:rule/${heartbeatRuleName(e)}`] }),
    });
    return new CloudwatchMetricAlarm(stack, `heartbeat_${e}_missing`, {
      alarmName: name,
      alarmDescription: `No heartbeat from ${e} (account ${account}) for 15 minutes: its security events may no longer reach the archive (forwarder role, rules or bus policy changed)`,
      namespace: "AWS/Events", metricName: "MatchedEvents", dimensions: { RuleName: heartbeat.name }, statistic: "Sum", period: 300, evaluationPeriods: 3, datapointsToAlarm: 3, threshold: 1,
      comparisonOperator: "LessThanThreshold", treatMissingData: "breaching", alarmActions: [topic.arn], okActions: [topic.arn],
    }).arn;
  });
  publishers(rules, alarms);
  new SnsTopicSubscription(stack, "alerts_pager", { topicArn: topic.arn, protocol: "https", endpoint: "https://hooks.example.com/hipaa/security-alerts" });
}

function buildRawEnvironment(app: App, env: Environment, repositories: readonly RawRepository[]): void {
  const e = env.name;
  const account = accountFor(e);
  const { stack, accountId, partition, region, root } = awsStack(app, `raw-${e}`, account, { HipaaEnvironment: e });
  // This account's own break-glass role (same path and name as the archive's), custodian of its signing and alert keys.
  const bg = lookUpBreakGlass(stack, `arn:aws:iam::${account}:role/break-glass/evidence-custodian`);
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

  // Evidence goes to the archive account's bucket: writers hold put-only grants on their prefix,
  // confined to the archive account, through S3 with the archive's keys.
  const bucketArn = `arn:aws:s3:::${evidenceBucketName(e)}`;
  const archiveWrite = (sid: string, resource: string) => {
    const inArchive = { StringEquals: { "s3:ResourceAccount": ARCHIVE } };
    return [
      { Sid: sid, Effect: "Allow", Action: "s3:PutObject", Resource: resource, Condition: { Null: { "s3:if-none-match": "false" }, ...inArchive } },
      { Sid: `${sid}Parts`, Effect: "Allow", Action: "s3:PutObject", Resource: resource, Condition: { Bool: { "s3:ObjectCreationOperation": "false" }, ...inArchive } },
      { Sid: `${sid}Abort`, Effect: "Allow", Action: "s3:AbortMultipartUpload", Resource: resource, Condition: inArchive },
      {
        Sid: `${sid}Key`, Effect: "Allow", Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: `arn:aws:kms:${REGION}:${ARCHIVE}:key/*`,
        Condition: { StringEquals: { "kms:ViaService": `s3.${REGION}.amazonaws.com`, "kms:EncryptionContext:aws:s3:arn": bucketArn } },
      },
    ];
  };
  const sid = `ArchiveWrite${pascal(e)}`;
  for (const { repo, role } of writers) {
    new IamRolePolicy(stack, `writer_${repo.name}_policy`, { name: "evidence-write", role: role.id, policy: doc(archiveWrite(sid, `${bucketArn}/${repo.name}/${e}/*`)) });
  }
  new IamRolePolicy(stack, "evidence_pod_policy", { name: "evidence-write", role: pods.evidence.id, policy: doc(archiveWrite(sid, `${bucketArn}/*/${e}/*`)) });

  // Per repository an image repository under its own key: only the build pool pushes, only the
  // workload nodes and the build pool pull.
  const workloadNodes = new DataAwsIamRole(stack, "workload_nodes", { name: `clinical-${e}-workload-nodes` }).arn;
  const builder = pods.build.arn;
  const images: string[] = [];
  for (const repo of repositories) {
    const name = `${e}/${repo.name}`;
    const imageKey = new KmsKey(stack, `images_${repo.name}_key`, {
      description: `ECR image encryption for ${name} in ${e} (45 CFR 164.312(a)(2)(iv))`, enableKeyRotation: true, deletionWindowInDays: 30, lifecycle: { preventDestroy: true },
      tags: { Environment: e, Purpose: "HIPAA image encryption" },
      policy: doc([
        admin,
        {
          Sid: "UseThroughEcrOnly", Effect: "Allow", Principal: { AWS: root }, Action: ["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:RetireGrant"],
          Resource: "*", Condition: { StringEquals: { "kms:ViaService": `ecr.${region}.amazonaws.com`, "kms:CallerAccount": accountId } },
        },
      ]),
    });
    new KmsAlias(stack, `images_${repo.name}_alias`, { name: `alias/hipaa-images-${e}-${e}-${repo.name}`, targetKeyId: imageKey.keyId });
    const repository = new EcrRepository(stack, `images_${repo.name}`, {
      name, imageTagMutability: "IMMUTABLE", forceDelete: false, imageScanningConfiguration: { scanOnPush: true },
      encryptionConfiguration: [{ encryptionType: "KMS", kmsKey: imageKey.arn }], tags: { Environment: e, Purpose: "HIPAA application images" },
    });
    images.push(repository.arn);
    new EcrLifecyclePolicy(stack, `images_${repo.name}_lifecycle`, {
      repository: repository.name,
      policy: JSON.stringify({ rules: [{ rulePriority: 1, description: "Expire untagged images after 14 days", selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: 14 }, action: { type: "expire" } }] }),
    });
    new EcrRepositoryPolicy(stack, `images_${repo.name}_policy`, {
      repository: repository.name,
      policy: doc([
        { Sid: "DenyPushExceptBuildPool", Effect: "Deny", Principal: "*", Action: ECR_PUSH, Condition: { StringNotEquals: { "aws:PrincipalArn": [builder] } } },
        { Sid: "DenyPullExceptWorkloadNodesAndBuildPool", Effect: "Deny", Principal: "*", Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], Condition: { StringNotEquals: { "aws:PrincipalArn": [workloadNodes, builder] } } },
        { Sid: "WorkloadNodesPull", Effect: "Allow", Principal: { AWS: workloadNodes }, Action: ECR_PULL },
        { Sid: "PushBuildRunner", Effect: "Allow", Principal: { AWS: builder }, Action: [...ECR_PULL, ...ECR_PUSH] },
      ]),
    });
  }

  const signing = new KmsKey(stack, "signing_key", {
    description: `cosign signing key for ${e} (45 CFR 164.312(c)(1))`, keyUsage: "SIGN_VERIFY", customerMasterKeySpec: "ECC_NIST_P256", deletionWindowInDays: 30, bypassPolicyLockoutSafetyCheck: true,
    tags: { Environment: e, Purpose: "HIPAA artifact signing" }, lifecycle: { preventDestroy: true },
    policy: doc([...custody([root, bg.arn], bg), { Sid: "SignBuildRunner", Effect: "Allow", Principal: { AWS: builder }, Action: ["kms:Sign", "kms:GetPublicKey", "kms:DescribeKey"], Resource: "*" }]),
  });
  new KmsAlias(stack, "signing_alias", { name: `alias/hipaa-cosign-${e}`, targetKeyId: signing.keyId });
  new IamRolePolicy(stack, "build_pod_policy", {
    name: "sign-and-push", role: pods.build.id,
    policy: doc([
      { Sid: "Sign", Effect: "Allow", Action: ["kms:Sign", "kms:GetPublicKey", "kms:DescribeKey"], Resource: signing.arn },
      { Sid: "EcrLogin", Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
      { Sid: "EcrPushToEnvironmentRepositories", Effect: "Allow", Action: [...ECR_PULL, ...ECR_PUSH].filter((a) => a !== "ecr:GetDownloadUrlForLayer"), Resource: images.length === 1 ? images[0] : images },
    ]),
  });

  // The account's trail into the archive, and its alerts.
  // The trail key lives in the archive's state: resolved from its alias at plan, the trail names the key ARN.
  const trailKey = new DataAwsKmsKey(stack, "trail_key", { keyId: `arn:aws:kms:${REGION}:${ARCHIVE}:alias/hipaa-trail-clinical` }).arn;
  trail(stack, `hipaa-clinical-${e}-audit`, [`${bucketArn}/`], trailKey);

  // The account's alerts, and the same events forwarded to the archive's bus through rules of
  // their own (disabling the local alerts does not silence the archive), with a heartbeat.
  const { alertOn, publishers } = alertTopic(stack, `hipaa-${e}-security-alerts`, root, bg);
  const events = securityEvents(bg, [forwarderRoleName(e), bg.arn.split("/").pop()!]);
  const patterns = [events.keyCustody, events.bucketProtection, events.trail, events.alertRules, events.alertTopics, events.breakGlass, events.breakGlassConsole, events.guardedRoles];
  publishers(patterns.map(alertOn));
  const forwarding = patterns.map((p) => new CloudwatchEventRule(stack, `forward_${p.id}`, { description: `Forwarded to the archive: ${p.description}`, eventPattern: JSON.stringify(p.pattern), state: p.state }));
  forwarding.push(new CloudwatchEventRule(stack, "heartbeat", {
    name: heartbeatRuleName(e), description: "Heartbeat to the archive's bus: the archive alarms when these stop arriving", scheduleExpression: "rate(5 minutes)",
  }));
  const forwarder = new IamRole(stack, "forwarder", {
    name: forwarderRoleName(e), description: "EventBridge delivers this account's security events to the archive account's bus", maxSessionDuration: 3600,
    assumeRolePolicy: doc([{
      Sid: "ForwardingRulesOnly", Effect: "Allow", Principal: { Service: "events.amazonaws.com" }, Action: "sts:AssumeRole",
      Condition: { StringEquals: { "aws:SourceAccount": accountId }, ArnEquals: { "aws:SourceArn": forwarding.map((r) => r.arn) } },
    }]),
  });
  new IamRolePolicy(stack, "forwarder_policy", {
    role: forwarder.id, name: "put-events-to-archive-bus", policy: doc([{ Sid: "PutEventsToArchiveBus", Effect: "Allow", Action: "events:PutEvents", Resource: ARCHIVE_BUS }]),
  });
  forwarding.forEach((rule, i) => new CloudwatchEventTarget(stack, `${i === patterns.length ? "heartbeat" : `forward_${patterns[i].id}`}_target`, { rule: rule.name, arn: ARCHIVE_BUS, roleArn: forwarder.arn }));
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
    repository: compliance.name, file: ".github/CODEOWNERS", content: `# Every change to the compliance workflows is reviewed by the compliance team.\n* @${ORG}/compliance\n`, commitMessage: "Compliance team owns every file",
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
  ruleset("tags", "compliance-release-tags-immutable", "tag", "refs/tags/**/*", { update: true, deletion: true, nonFastForward: true });
  ruleset("tag_creation", "compliance-release-tags-creation", "tag", "refs/tags/**/*", { creation: true }, [{ actorId: 904512, actorType: "Integration", bypassMode: "always" }]);
  // Releases are cut from the default branch only, after the compliance team's approval.
  const release = new RepositoryEnvironment(stack, "release", {
    repository: compliance.name, environment: "release", reviewers: [{ teams: [5501], users: [] }], preventSelfReview: true, canAdminsBypass: false,
    deploymentBranchPolicy: { protectedBranches: false, customBranchPolicies: true },
  });
  new RepositoryEnvironmentDeploymentPolicy(stack, "release_default_branch", { repository: compliance.name, environment: release.environment, branchPattern: compliance.defaultBranch });
  for (const repo of repositories) {
    new ActionsRepositoryOidcSubjectClaimCustomizationTemplate(stack, `template_${repo.name}`, { repository: repo.name, useDefault: true });
    new RepositoryRuleset(stack, `branch_${repo.name}`, {
      name: "hipaa-default-branch", repository: repo.name, target: "branch", enforcement: "active", conditions: { refName: { include: ["~DEFAULT_BRANCH"], exclude: [] } },
      rules: { deletion: true, nonFastForward: true, pullRequest: { requiredApprovingReviewCount: 1, dismissStaleReviewsOnPush: true, requireLastPushApproval: true, requiredReviewThreadResolution: true } },
    });
    new RepositoryRuleset(stack, `tags_${repo.name}`, {
      name: "hipaa-tags-immutable", repository: repo.name, target: "tag", enforcement: "active", conditions: { refName: { include: ["refs/tags/**/*"], exclude: [] } },
      rules: { update: true, deletion: true, nonFastForward: true },
    });
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
