import { Construct } from "constructs";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { Lazy } from "cdktf";
import { Environment } from "../../src/model";
import { Cfr, recordControl } from "../../src/compliance";
import { uniqueResourceName } from "../../src/naming";
import { AwsAccountContext } from "./account-context";
import { applyBucketBaseline, BucketBaseline, denyInsecureTransport, logBucketLifecycle } from "./bucket-hardening";
import { PolicyDocument } from "./iam-policy";
import { validateBucketName } from "./bucket-name";
import { bucketCustodyStatements, KeyCustody, validateBreakGlassRoleArn } from "./key-custody";

export interface AccessLogBucketProps {
  /** The environment whose buckets log here. */
  readonly environment: Environment;
  /**
   * The bucket's name.
   * @default - `hipaa-access-logs-ENV-<hash of the construct path>`
   */
  readonly bucketName?: string;
  /**
   * Custody by a named break-glass role: the policy also denies, to everyone else, deleting the
   * bucket, changing its lifecycle or versioning, and changing or deleting the policy itself, so
   * the trail of who read evidence can neither be expired nor unprotected by anyone but break-glass
   * and the account's root user (S3 always lets the root user put and delete its bucket policies:
   * an organization SCP denying root closes that; README "Organization SCP").
   * @default - none: the deletes of log objects are denied by a policy the account's administrators can edit
   */
  readonly custody?: KeyCustody;
  /**
   * The archive this bucket serves every environment of (the trail bucket's logs): tagged
   * `HipaaArchive` with it instead of one environment's `Environment`.
   * @default - tagged with `environment`
   */
  readonly archive?: string;
}

/**
 * The destination of an evidence bucket's server access logs: the record of who read or wrote
 * evidence (45 CFR 164.308(a)(1)(ii)(D), 164.312(b)).
 *
 * It is hardened like the evidence bucket (no public access, ACLs disabled, versioning,
 * TLS-only, deletes denied, `prevent_destroy`) with two differences S3 imposes on log targets:
 * default encryption is SSE-S3, the encryption S3 documents for log targets (a KMS key would
 * need the log delivery service on its policy, and a mistake there silently stops delivery), and
 * there is no Object Lock default retention, which log delivery does not support. It does not log its
 * own access: a bucket cannot usefully log to itself.
 */
export class AccessLogBucket extends Construct {
  public readonly bucket: S3Bucket;
  public readonly bucketName: string;
  public readonly bucketArn: string;
  public readonly baseline: BucketBaseline;
  public readonly policy: S3BucketPolicy;
  private readonly sourceBucketArns: string[] = [];

  constructor(scope: Construct, id: string, props: AccessLogBucketProps) {
    super(scope, id);
    const name = props.bucketName ?? uniqueResourceName(["hipaa-access-logs", props.environment.name], this.node.addr, 63);
    validateBucketName(this.node.path, name);
    const account = AwsAccountContext.of(this);

    this.bucket = new S3Bucket(this, "Bucket", {
      bucket: name,
      forceDestroy: false,
      tags: { Purpose: "HIPAA evidence access logs", ...(props.archive ? { HipaaArchive: props.archive } : { Environment: props.environment.name }), CFRSection: "164.308(a)(1)(ii)(D),164.312(b)" },
      lifecycle: { preventDestroy: true },
    });
    this.bucketName = this.bucket.bucket;
    this.bucketArn = this.bucket.arn;
    this.baseline = applyBucketBaseline(this, this.bucket);

    const encryption = new S3BucketServerSideEncryptionConfigurationA(this, "Encryption", {
      bucket: this.bucket.id,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
    });

    const lifecycle = logBucketLifecycle(this, this.bucket, "access-logs-to-colder-storage-never-expire", this.baseline);

    if (props.custody) validateBreakGlassRoleArn(this.node.path, props.custody);
    const document = new PolicyDocument(this.node.path, [
      denyInsecureTransport(this.bucketArn),
      {
        sid: "DenyLogDeletion",
        effect: "Deny",
        principals: "*",
        actions: ["s3:DeleteObject", "s3:DeleteObjectVersion"],
        resources: [`${this.bucketArn}/*`],
      },
      ...(props.custody
        ? bucketCustodyStatements(
            "OnlyBreakGlassEndsTheLogTrail",
            this.bucketArn,
            ["s3:DeleteBucket", "s3:PutLifecycleConfiguration", "s3:PutBucketVersioning", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"],
            props.custody,
          )
        : []),
    ]);
    this.policy = new S3BucketPolicy(this, "Policy", {
      bucket: this.bucket.id,
      policy: Lazy.stringValue({
        produce: () => {
          const withDelivery = new PolicyDocument(this.node.path, document.statementList);
          if (this.sourceBucketArns.length > 0) {
            withDelivery.addStatement({
              sid: "AllowS3ServerAccessLogDelivery",
              effect: "Allow",
              principals: { Service: ["logging.s3.amazonaws.com"] },
              actions: ["s3:PutObject"],
              resources: [`${this.bucketArn}/*`],
              conditions: {
                StringEquals: { "aws:SourceAccount": account.accountId },
                ArnEquals: { "aws:SourceArn": [...this.sourceBucketArns] },
              },
            });
          }
          return withDelivery.render();
        },
      }),
      // Under custody the policy freezes the lifecycle and versioning, so they must exist first.
      dependsOn: [this.baseline.publicAccessBlock, ...(props.custody ? [lifecycle, this.baseline.versioning] : [])],
    });

    recordControl(this, {
      section: Cfr.ACTIVITY_REVIEW,
      resources: [this.bucket, this.policy, lifecycle],
      how: "Server access logs of the evidence bucket are kept in a separate bucket whose objects cannot be deleted and never expire.",
    });
    recordControl(this, {
      section: Cfr.TRANSMISSION_SECURITY,
      resources: [this.policy],
      how: "The log bucket policy denies any request made without TLS.",
    });
    recordControl(this, {
      section: Cfr.ENCRYPTION,
      resources: [encryption],
      how: "Access logs are encrypted at rest with SSE-S3, the encryption S3 documents for log delivery targets.",
    });
  }

  /** Lets S3 deliver server access logs of `sourceBucketArn` (this account only). */
  public allowLogDeliveryFrom(sourceBucketArn: string): void {
    this.sourceBucketArns.push(sourceBucketArn);
  }
}
