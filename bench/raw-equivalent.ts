/**
 * The baseline the library is measured against: the same Terraform resources as the reference
 * app, declared directly with the provider classes and hand-written policy strings, as a team
 * without the library would write them.
 */
import { App, TerraformStack } from "cdktf";
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
import { Environment } from "../src/model";

export function buildRawEquivalent(app: App, environments: readonly Environment[]): void {
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
  }
}
