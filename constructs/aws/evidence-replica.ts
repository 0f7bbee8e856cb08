import { Construct } from "constructs";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketLifecycleConfiguration } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { S3BucketNotification } from "@cdktf/provider-aws/lib/s3-bucket-notification";
import { S3BucketObjectLockConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-object-lock-configuration";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketReplicationConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-replication-configuration";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { Cfr, recordControl } from "../../src/compliance";
import { AwsAccountContext } from "./account-context";
import { denyInsecureTransport } from "./bucket-hardening";
import { validateBucketName } from "./bucket-name";
import { EvidenceBucket } from "./evidence-bucket";
import { PolicyDocument } from "./iam-policy";
import { KeyCustody, keyCustodyStatements, validateBreakGlassRoleArn } from "./key-custody";
import { kmsAdministrationStatement, KMS_DELETION_WINDOW_DAYS } from "./kms-policy";

export interface EvidenceReplicaProps {
  /** The evidence bucket to replicate (its key must be the one EvidenceBucket created). */
  readonly source: EvidenceBucket;
  /** A provider for the replica's region, in the same account. */
  readonly replicaProvider: AwsProvider;
  /** The replica region (for the replica key's `kms:ViaService`). */
  readonly replicaRegion: string;
  readonly bucketName: string;
  readonly custody: KeyCustody;
}

/**
 * A cross-region replica of an evidence bucket, in the same (archive) account: a second bucket
 * with Object Lock in COMPLIANCE mode and the same retention (replicated versions also carry
 * their source retention), encrypted with its own key under the same break-glass custody, and a
 * replication role that can read only the source's versions and write only replicas. Delete
 * markers are not replicated: a delete in one region never propagates.
 */
export class EvidenceReplica extends Construct {
  public readonly bucket: S3Bucket;
  public readonly key: KmsKey;
  public readonly role: IamRole;
  public readonly replication: S3BucketReplicationConfigurationA;

  constructor(scope: Construct, id: string, props: EvidenceReplicaProps) {
    super(scope, id);
    const path = this.node.path;
    validateBucketName(path, props.bucketName);
    validateBreakGlassRoleArn(path, props.custody);
    const account = AwsAccountContext.of(this);
    const provider = props.replicaProvider;
    const source = props.source;
    const days = source.retention.toDays();

    this.key = new KmsKey(this, "Key", {
      provider,
      description: `HIPAA evidence replica encryption for ${source.environment.name} (45 CFR 164.312(a)(2)(iv))`,
      enableKeyRotation: true,
      deletionWindowInDays: KMS_DELETION_WINDOW_DAYS,
      policy: new PolicyDocument(`${path}/Key`, [kmsAdministrationStatement([account.accountRootArn]), ...keyCustodyStatements(props.custody)]).render(),
      // See CUSTODY_LOCKOUT_REASON (key-custody.ts).
      bypassPolicyLockoutSafetyCheck: true,
      lifecycle: { preventDestroy: true },
    });
    this.bucket = new S3Bucket(this, "Bucket", {
      provider,
      bucket: props.bucketName,
      objectLockEnabled: true,
      forceDestroy: false,
      tags: { Purpose: "HIPAA pipeline evidence replica", Environment: source.environment.name, Retention: `${days}d` },
      lifecycle: { preventDestroy: true },
    });
    const publicAccess = new S3BucketPublicAccessBlock(this, "PublicAccessBlock", { provider, bucket: this.bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
    new S3BucketOwnershipControls(this, "OwnershipControls", { provider, bucket: this.bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } });
    const versioning = new S3BucketVersioningA(this, "Versioning", { provider, bucket: this.bucket.id, versioningConfiguration: { status: "Enabled" } });
    // Object events to EventBridge, and colder storage over time, never an expiration.
    new S3BucketNotification(this, "EventNotifications", { provider, bucket: this.bucket.id, eventbridge: true });
    new S3BucketLifecycleConfiguration(this, "Lifecycle", {
      provider,
      bucket: this.bucket.id,
      rule: [
        {
          id: "replica-to-colder-storage-never-expire",
          status: "Enabled",
          filter: [{}],
          transition: [{ days: 30, storageClass: "GLACIER_IR" }],
          noncurrentVersionTransition: [{ noncurrentDays: 30, storageClass: "GLACIER_IR" }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }],
        },
      ],
      dependsOn: [versioning],
    });
    const lock = new S3BucketObjectLockConfigurationA(this, "ObjectLock", { provider, bucket: this.bucket.id, rule: { defaultRetention: { mode: "COMPLIANCE", days } }, dependsOn: [versioning] });
    new S3BucketServerSideEncryptionConfigurationA(this, "Encryption", {
      provider,
      bucket: this.bucket.id,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: this.key.arn }, bucketKeyEnabled: true }],
    });
    const policy = new S3BucketPolicy(this, "Policy", {
      provider,
      bucket: this.bucket.id,
      policy: new PolicyDocument(`${path}/Policy`, [
        denyInsecureTransport(this.bucket.arn),
        {
          sid: "DenyReplicaDeletionAndLockChanges",
          effect: "Deny",
          principals: "*",
          actions: ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention", "s3:PutBucketObjectLockConfiguration"],
          resources: [this.bucket.arn, `${this.bucket.arn}/*`],
        },
      ]).render(),
      dependsOn: [lock, publicAccess],
    });

    const trust = new PolicyDocument(`${path}/Role`, [{ sid: "S3Replicates", effect: "Allow", principals: { Service: ["s3.amazonaws.com"] }, actions: ["sts:AssumeRole"], conditions: { StringEquals: { "aws:SourceAccount": account.accountId } } }]);
    this.role = new IamRole(this, "Role", {
      name: `hipaa-${source.environment.name}-evidence-replication`.slice(0, 64),
      description: `Replicates the ${source.environment.name} evidence bucket to its locked replica; reads source versions, writes replicas, nothing else`,
      assumeRolePolicy: trust.render(),
    });
    const permissions = new PolicyDocument(`${path}/RolePolicy`, [
      { sid: "ReadReplicationConfiguration", effect: "Allow", actions: ["s3:GetReplicationConfiguration", "s3:ListBucket"], resources: [source.bucketArn] },
      {
        sid: "ReadSourceVersions",
        effect: "Allow",
        actions: ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging", "s3:GetObjectRetention", "s3:GetObjectLegalHold"],
        resources: [`${source.bucketArn}/*`],
      },
      { sid: "WriteReplicas", effect: "Allow", actions: ["s3:ReplicateObject", "s3:ReplicateTags", "s3:ObjectOwnerOverrideToBucketOwner"], resources: [`${this.bucket.arn}/*`] },
      {
        sid: "DecryptSource",
        effect: "Allow",
        actions: ["kms:Decrypt"],
        resources: [source.encryptionKeyArn],
        conditions: { StringEquals: { "kms:ViaService": `s3.${account.region}.amazonaws.com` } },
      },
      {
        sid: "EncryptReplica",
        effect: "Allow",
        actions: ["kms:Encrypt", "kms:GenerateDataKey"],
        resources: [this.key.arn],
        conditions: { StringEquals: { "kms:ViaService": `s3.${props.replicaRegion}.amazonaws.com` } },
      },
    ]);
    new IamRolePolicy(this, "RolePolicy", { role: this.role.id, name: "evidence-replication", policy: permissions.render() });

    this.replication = new S3BucketReplicationConfigurationA(this, "Replication", {
      bucket: source.bucket.id,
      role: this.role.arn,
      rule: [
        {
          id: "evidence-to-locked-replica",
          status: "Enabled",
          filter: {},
          deleteMarkerReplication: { status: "Disabled" },
          sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: "Enabled" } },
          destination: { bucket: this.bucket.arn, encryptionConfiguration: { replicaKmsKeyId: this.key.arn } },
        },
      ],
      dependsOn: [source.baseline.versioning, versioning, policy],
    });

    recordControl(this, {
      section: Cfr.INTEGRITY,
      resources: [this.bucket, lock, this.replication],
      how: `Evidence is replicated to a second bucket in ${props.replicaRegion}, Object-Locked in COMPLIANCE mode for ${days} days, under the same break-glass key custody; deletes are never replicated.`,
    });
  }
}
