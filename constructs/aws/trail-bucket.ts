import { Construct } from "constructs";
import { KmsAlias } from "@cdktf/provider-aws/lib/kms-alias";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketLoggingA } from "@cdktf/provider-aws/lib/s3-bucket-logging";
import { S3BucketObjectLockConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-object-lock-configuration";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { Lazy } from "cdktf";
import { Environment, RetentionPeriod } from "../../src/model";
import { Cfr, recordControl } from "../../src/compliance";
import { AccessLogBucket } from "./access-log-bucket";
import { AwsAccountContext } from "./account-context";
import { applyBucketBaseline, BucketBaseline, denyInsecureTransport, logBucketLifecycle } from "./bucket-hardening";
import { validateBucketName } from "./bucket-name";
import { PolicyDocument, PolicyStatement } from "./iam-policy";
import { bucketCustodyStatements, KeyCustody, keyCustodyStatements, validateBreakGlassRoleArn } from "./key-custody";
import { kmsAdministrationStatement, KMS_DELETION_WINDOW_DAYS } from "./kms-policy";

export interface TrailBucketProps {
  /** The bucket's globally unique name. */
  readonly bucketName: string;
  /** The key alias (`alias/...`) trails in other accounts name as their `kms_key_id`. */
  readonly keyAliasName: string;
  /** The break-glass role that alone may destroy the key or change the bucket's protections. */
  readonly custody: KeyCustody;
  /** @default RetentionPeriod.HIPAA_MINIMUM */
  readonly retention?: RetentionPeriod;
  /** The environment the bucket's access-log bucket is tagged with (the archive's own). */
  readonly environment: Environment;
  /** The archive (substrate id) the bucket serves: its access-log bucket is tagged with it, not with `environment`. @default - tagged with `environment` */
  readonly archive?: string;
}

/** One trail allowed to deliver: its account and its exact ARN. */
interface TrailSource {
  readonly accountId: string;
  readonly trailArn: string;
  /** The trail is in another account, which resolves the key's alias across accounts. */
  readonly crossAccount: boolean;
}

/** A principal that reads one account's trail logs (or, without `source`, every account's). */
interface TrailReader {
  readonly principalArn: string;
  readonly source?: { readonly accountId: string; readonly trailArn: string };
}

/**
 * The destination of CloudTrail trails (the archive account's and each environment account's):
 * Object Lock in COMPLIANCE mode for six years, SSE-KMS with a key under break-glass custody,
 * server access logs, TLS only, deletes and lock changes denied, and delivery allowed only to
 * the named trails, each under its own account's `AWSLogs/ACCOUNT/` prefix (the bucket policy
 * CloudTrail documents: `s3:GetBucketAcl` and `s3:PutObject` with `bucket-owner-full-control`,
 * both pinned with `aws:SourceArn` to the trail).
 */
export class TrailBucket extends Construct {
  public readonly bucket: S3Bucket;
  public readonly bucketName: string;
  public readonly bucketArn: string;
  public readonly key: KmsKey;
  public readonly keyAlias: KmsAlias;
  public readonly baseline: BucketBaseline;
  public readonly objectLockConfiguration: S3BucketObjectLockConfigurationA;
  public readonly policy: S3BucketPolicy;
  public readonly accessLogBucket: AccessLogBucket;
  private readonly sources: TrailSource[] = [];
  private readonly readers: TrailReader[] = [];
  private readonly custody: KeyCustody;

  constructor(scope: Construct, id: string, props: TrailBucketProps) {
    super(scope, id);
    const path = this.node.path;
    validateBucketName(path, props.bucketName);
    const breakGlass = validateBreakGlassRoleArn(path, props.custody);
    this.custody = props.custody;
    const retention = props.retention ?? RetentionPeriod.HIPAA_MINIMUM;
    const account = AwsAccountContext.of(this);

    this.key = new KmsKey(this, "Key", {
      description: "Encrypts the CloudTrail log files of every environment account (45 CFR 164.312(b))",
      enableKeyRotation: true,
      deletionWindowInDays: KMS_DELETION_WINDOW_DAYS,
      policy: Lazy.stringValue({ produce: () => this.keyPolicy(account).render() }),
      // See CUSTODY_LOCKOUT_REASON (key-custody.ts).
      bypassPolicyLockoutSafetyCheck: true,
      tags: { Purpose: "HIPAA audit trail encryption" },
      lifecycle: { preventDestroy: true },
    });
    this.keyAlias = new KmsAlias(this, "KeyAlias", { name: props.keyAliasName, targetKeyId: this.key.keyId });

    this.bucket = new S3Bucket(this, "Bucket", {
      bucket: props.bucketName,
      objectLockEnabled: true,
      forceDestroy: false,
      tags: { Purpose: "HIPAA audit trail", CFRSection: "164.312(b),164.316(b)(2)(i)", Retention: `${retention.toDays()}d` },
      lifecycle: { preventDestroy: true },
    });
    this.bucketName = this.bucket.bucket;
    this.bucketArn = this.bucket.arn;
    this.baseline = applyBucketBaseline(this, this.bucket);
    this.objectLockConfiguration = new S3BucketObjectLockConfigurationA(this, "ObjectLock", {
      bucket: this.bucket.id,
      rule: { defaultRetention: { mode: "COMPLIANCE", days: retention.toDays() } },
      dependsOn: [this.baseline.versioning],
    });
    const encryption = new S3BucketServerSideEncryptionConfigurationA(this, "Encryption", {
      bucket: this.bucket.id,
      // No S3 Bucket Key here: with one, CloudTrail requires kms:Decrypt for whoever creates or
      // updates a trail (CloudTrail User Guide, "Configure AWS KMS key policies for CloudTrail"),
      // which no trail creator has, so the apply would fail. CloudTrail encrypts each log file
      // with the trail key itself; this default only covers objects written without it.
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: this.key.arn }, bucketKeyEnabled: false }],
    });
    this.accessLogBucket = new AccessLogBucket(this, "AccessLogs", { environment: props.environment, bucketName: `${props.bucketName.slice(0, 58)}-logs`, custody: props.custody, archive: props.archive });
    this.accessLogBucket.allowLogDeliveryFrom(this.bucketArn);
    const logging = new S3BucketLoggingA(this, "AccessLogging", {
      bucket: this.bucket.id,
      targetBucket: this.accessLogBucket.bucket.id,
      targetPrefix: "trail/",
      targetObjectKeyFormat: { partitionedPrefix: { partitionDateSource: "EventTime" } },
    });
    const lifecycle = logBucketLifecycle(this, this.bucket, "trail-to-colder-storage-never-expire", this.baseline);
    this.policy = new S3BucketPolicy(this, "Policy", {
      bucket: this.bucket.id,
      policy: Lazy.stringValue({ produce: () => this.bucketPolicy().render() }),
      dependsOn: [this.objectLockConfiguration, this.baseline.publicAccessBlock, logging, lifecycle, encryption],
    });

    recordControl(this, {
      section: Cfr.AUDIT_CONTROLS,
      resources: [this.bucket, this.objectLockConfiguration, this.policy, this.key],
      how: `CloudTrail log files of every account land in an Object-Locked (COMPLIANCE, ${retention}) bucket of the archive account; only the named trails may deliver, and only break-glass (${breakGlass}) may change its logging, lifecycle or encryption or destroy its key.`,
    });
    recordControl(this, { section: Cfr.RETENTION, resources: [this.objectLockConfiguration, lifecycle], how: `Trail logs are locked for ${retention} and never expire by lifecycle.` });
    recordControl(this, { section: Cfr.ENCRYPTION, resources: [encryption, this.key], how: "Trail logs are encrypted with a rotating customer-managed key under break-glass custody." });
    recordControl(this, { section: Cfr.ACTIVITY_REVIEW, resources: [logging], how: "Reads of the trail bucket are themselves logged to a delete-protected access-log bucket." });
  }

  /**
   * Lets the trail `trailArn` of `accountId` deliver (and encrypt with the key). A trail of
   * another account (`crossAccount`, the default) may also DescribeKey, to resolve the key's alias.
   */
  public allowTrail(accountId: string, trailArn: string, options: { readonly crossAccount?: boolean } = {}): void {
    this.sources.push({ accountId, trailArn, crossAccount: options.crossAccount ?? true });
  }

  /**
   * Lets `principalArn` (an auditor role of the archive account) read and decrypt the logs: of
   * one account only when `source` is given (its `AWSLogs/ACCOUNT/` prefix, and only data keys
   * whose CloudTrail encryption context is that account's trail), else of every account.
   */
  public grantRead(principalArn: string, source?: { readonly accountId: string; readonly trailArn: string }): void {
    this.readers.push({ principalArn, source });
  }

  private bucketPolicy(): PolicyDocument {
    const trails = this.sources.map((s) => s.trailArn);
    const statements: PolicyStatement[] = [
      denyInsecureTransport(this.bucketArn),
      {
        sid: "DenyLogDeletionAndLockChanges",
        effect: "Deny",
        principals: "*",
        actions: ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention", "s3:PutBucketObjectLockConfiguration"],
        resources: [this.bucketArn, `${this.bucketArn}/*`],
      },
      ...bucketCustodyStatements("OnlyBreakGlassChangesLoggingLifecycleOrEncryption", this.bucketArn, ["s3:PutBucketLogging", "s3:PutLifecycleConfiguration", "s3:PutEncryptionConfiguration"], this.custody),
    ];
    if (trails.length > 0) {
      statements.push({
        sid: "AWSCloudTrailAclCheck",
        effect: "Allow",
        principals: { Service: ["cloudtrail.amazonaws.com"] },
        actions: ["s3:GetBucketAcl"],
        resources: [this.bucketArn],
        conditions: { StringEquals: { "aws:SourceArn": trails } },
      });
      for (const source of this.sources) {
        statements.push({
          sid: `AWSCloudTrailWrite${source.accountId}`,
          effect: "Allow",
          principals: { Service: ["cloudtrail.amazonaws.com"] },
          actions: ["s3:PutObject"],
          resources: [`${this.bucketArn}/AWSLogs/${source.accountId}/*`],
          conditions: { StringEquals: { "s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": source.trailArn } },
        });
      }
    }
    const everyAccount = this.readers.filter((r) => !r.source).map((r) => r.principalArn);
    if (everyAccount.length > 0) {
      statements.push({
        sid: "AuditorsReadTrail",
        effect: "Allow",
        principals: { AWS: everyAccount },
        actions: ["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucketLocation"],
        resources: [this.bucketArn, `${this.bucketArn}/*`],
      });
    }
    // An environment's auditors read that environment's account prefix only (CloudTrail writes
    // `AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/...` and digests under
    // `AWSLogs/ACCOUNT/CloudTrail-Digest/`): another environment's API calls are not theirs to read.
    for (const [accountId, readers] of this.readersByAccount()) {
      const prefix = `AWSLogs/${accountId}/`;
      statements.push(
        {
          sid: `AuditorsRead${accountId}`,
          effect: "Allow",
          principals: { AWS: readers },
          actions: ["s3:GetObject", "s3:GetObjectVersion"],
          resources: [`${this.bucketArn}/${prefix}*`],
        },
        {
          sid: `AuditorsList${accountId}`,
          effect: "Allow",
          principals: { AWS: readers },
          actions: ["s3:ListBucket", "s3:ListBucketVersions"],
          resources: [this.bucketArn],
          conditions: { StringLike: { "s3:prefix": [`${prefix}*`] } },
        },
        {
          sid: `AuditorsLocate${accountId}`,
          effect: "Allow",
          principals: { AWS: readers },
          actions: ["s3:GetBucketLocation"],
          resources: [this.bucketArn],
        },
      );
    }
    return new PolicyDocument(`${this.node.path}/Policy`, statements);
  }

  private readersByAccount(): Map<string, string[]> {
    const by = new Map<string, string[]>();
    for (const r of this.readers) if (r.source) by.set(r.source.accountId, [...(by.get(r.source.accountId) ?? []), r.principalArn]);
    return by;
  }

  private keyPolicy(account: AwsAccountContext): PolicyDocument {
    const statements: PolicyStatement[] = [kmsAdministrationStatement([account.accountRootArn]), ...keyCustodyStatements(this.custody)];
    if (this.sources.length > 0) {
      statements.push(
        {
          // CloudTrail's documented key-policy statement: encrypt only for the named trails.
          sid: "CloudTrailEncryptsLogs",
          effect: "Allow",
          principals: { Service: ["cloudtrail.amazonaws.com"] },
          actions: ["kms:GenerateDataKey*"],
          resources: ["*"],
          conditions: {
            StringEquals: { "aws:SourceArn": this.sources.map((s) => s.trailArn) },
            StringLike: { "kms:EncryptionContext:aws:cloudtrail:arn": [...new Set(this.sources.map((s) => s.trailArn.replace(/:[a-z0-9-]+:(\d{12}):trail\/.*$/, ":*:$1:trail/*")))] },
          },
        },
        {
          sid: "CloudTrailDescribesKey",
          effect: "Allow",
          principals: { Service: ["cloudtrail.amazonaws.com"] },
          actions: ["kms:DescribeKey"],
          resources: ["*"],
          conditions: { StringEquals: { "aws:SourceArn": this.sources.map((s) => s.trailArn) } },
        },
      );
    }
    // Environment accounts resolve the trail key's alias to its ARN (data.aws_kms_key in
    // AuditTrail) so their trails name the key itself: DescribeKey only, no use of the key.
    const trailAccounts = [...new Set(this.sources.filter((s) => s.crossAccount).map((s) => s.accountId))];
    if (trailAccounts.length > 0) {
      statements.push({
        sid: "TrailAccountsResolveKeyAlias",
        effect: "Allow",
        principals: { AWS: trailAccounts.map((a) => `arn:${account.partition}:iam::${a}:root`) },
        actions: ["kms:DescribeKey"],
        resources: ["*"],
      });
    }
    const everyAccount = this.readers.filter((r) => !r.source).map((r) => r.principalArn);
    if (everyAccount.length > 0) {
      statements.push({
        sid: "AuditorsDecryptTrailThroughS3",
        effect: "Allow",
        principals: { AWS: everyAccount },
        actions: ["kms:Decrypt", "kms:DescribeKey"],
        resources: ["*"],
      });
    }
    // CloudTrail's documented decrypt statement keys on kms:EncryptionContext:aws:cloudtrail:arn
    // (the same context CloudTrailEncryptsLogs requires on every data key it generates): pinning
    // it to one trail's ARN decrypts that account's log files and no other's.
    for (const [accountId, readers] of this.readersByAccount()) {
      statements.push({
        sid: `AuditorsDecrypt${accountId}`,
        effect: "Allow",
        principals: { AWS: readers },
        actions: ["kms:Decrypt"],
        resources: ["*"],
        conditions: { StringEquals: { "kms:EncryptionContext:aws:cloudtrail:arn": [...new Set(this.readers.filter((r) => r.source?.accountId === accountId).map((r) => r.source!.trailArn))] } },
      });
    }
    return new PolicyDocument(`${this.node.path}/Key`, statements);
  }
}
