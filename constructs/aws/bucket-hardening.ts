import { Construct } from "constructs";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketLifecycleConfiguration } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { S3BucketNotification } from "@cdktf/provider-aws/lib/s3-bucket-notification";
import { PolicyStatement } from "./iam-policy";

/** The controls every bucket of the substrate carries, evidence and access-log buckets alike. */
export interface BucketBaseline {
  readonly publicAccessBlock: S3BucketPublicAccessBlock;
  readonly ownershipControls: S3BucketOwnershipControls;
  readonly versioning: S3BucketVersioningA;
  /** Every object event goes to EventBridge, where monitoring can alert on writes and reads of evidence. */
  readonly notifications: S3BucketNotification;
}

/**
 * All four public-access blocks, ACLs disabled (BucketOwnerEnforced: every object belongs to the
 * bucket owner and access is decided by policy alone), versioning, and object events to EventBridge
 * (45 CFR 164.308(a)(1)(ii)(D): activity can be monitored as it happens).
 */
export function applyBucketBaseline(scope: Construct, bucket: S3Bucket): BucketBaseline {
  const publicAccessBlock = new S3BucketPublicAccessBlock(scope, "PublicAccessBlock", {
    bucket: bucket.id,
    blockPublicAcls: true,
    blockPublicPolicy: true,
    ignorePublicAcls: true,
    restrictPublicBuckets: true,
  });
  const ownershipControls = new S3BucketOwnershipControls(scope, "OwnershipControls", {
    bucket: bucket.id,
    rule: { objectOwnership: "BucketOwnerEnforced" },
  });
  const versioning = new S3BucketVersioningA(scope, "Versioning", {
    bucket: bucket.id,
    versioningConfiguration: { status: "Enabled" },
  });
  const notifications = new S3BucketNotification(scope, "EventNotifications", { bucket: bucket.id, eventbridge: true });
  return { publicAccessBlock, ownershipControls, versioning, notifications };
}

/** Deny every request that does not arrive over TLS (45 CFR 164.312(e)(1)). */
export function denyInsecureTransport(bucketArn: string): PolicyStatement {
  return {
    sid: "DenyInsecureTransport",
    effect: "Deny",
    principals: "*",
    actions: ["s3:*"],
    resources: [bucketArn, `${bucketArn}/*`],
    conditions: { Bool: { "aws:SecureTransport": "false" } },
  };
}

/**
 * Log buckets' lifecycle: colder storage over time (90 days Standard-IA, 365 days Glacier IR),
 * incomplete uploads aborted, and never an expiration: logs are audit records too
 * (45 CFR 164.316(b)(2)(i)).
 */
export function logBucketLifecycle(scope: Construct, bucket: S3Bucket, ruleId: string, baseline: BucketBaseline): S3BucketLifecycleConfiguration {
  return new S3BucketLifecycleConfiguration(scope, "Lifecycle", {
    bucket: bucket.id,
    rule: [
      {
        id: ruleId,
        status: "Enabled",
        filter: [{}],
        transition: [
          { days: 90, storageClass: "STANDARD_IA" },
          { days: 365, storageClass: "GLACIER_IR" },
        ],
        noncurrentVersionTransition: [{ noncurrentDays: 90, storageClass: "STANDARD_IA" }],
        abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }],
      },
    ],
    dependsOn: [baseline.versioning],
  });
}
