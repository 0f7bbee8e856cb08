import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { AccessLogBucket, AwsPrincipal, EvidenceBucket, EvidenceStorageClass, ObjectLockMode } from "../constructs/aws";
import { collectControlRecords } from "../src/compliance";
import { HipaaConfigError } from "../src/errors";
import { Environment, EnvironmentTier, RetentionPeriod } from "../src/model";
import { actionsOf, awsStack, dev, logicalIdAt, production, refAt, refusal, resourceAt, resourcesOf, statement, statements, synth } from "./support/synth";

const WRITER = "arn:aws:iam::111122223333:role/evidence-writer";
const AUDITOR = "arn:aws:iam::111122223333:role/auditor";

function evidence(props: Partial<ConstructorParameters<typeof EvidenceBucket>[2]> = {}) {
  const { stack } = awsStack();
  const bucket = new EvidenceBucket(stack, "Evidence", { environment: production, ...props });
  return { stack, bucket };
}

describe("EvidenceBucket (AWS)", () => {
  const { stack, bucket } = evidence();
  bucket.grantWrite(AwsPrincipal.fromArn(WRITER, "EvidenceWriter"));
  bucket.grantRead(AwsPrincipal.fromArn(AUDITOR, "Auditor"));
  const out = synth(stack);
  const bucketRef = refAt(out, "aws_s3_bucket", "Evidence/Bucket", "arn");
  const keyArnRef = refAt(out, "aws_kms_key", "Evidence/Key", "arn");

  test("matches the expected Terraform JSON", () => {
    expect(out.tf).toMatchSnapshot();
  });

  test("enables Object Lock on a bucket that cannot be force-destroyed and carries prevent_destroy", () => {
    expect(out.json).toHaveResourceWithProperties(S3Bucket, {
      object_lock_enabled: true,
      force_destroy: false,
      lifecycle: { prevent_destroy: true },
    });
    const b = resourceAt(out, "aws_s3_bucket", "Evidence/Bucket");
    expect(b.bucket).toMatch(/^hipaa-evidence-production-[0-9a-f]{8}$/);
  });

  test("locks objects in COMPLIANCE mode for 2190 days (six years)", () => {
    const lock = resourceAt(out, "aws_s3_bucket_object_lock_configuration", "Evidence/ObjectLock");
    expect(lock.rule).toEqual({ default_retention: { mode: "COMPLIANCE", days: 2190 } });
    expect(lock.depends_on).toEqual([expect.stringMatching(/^aws_s3_bucket_versioning\./)]);
  });

  test("versions the bucket", () => {
    expect(resourceAt(out, "aws_s3_bucket_versioning", "Evidence/Versioning").versioning_configuration).toEqual({ status: "Enabled" });
  });

  test("encrypts with a rotating customer-managed key and S3 Bucket Keys", () => {
    const sse = resourceAt(out, "aws_s3_bucket_server_side_encryption_configuration", "Evidence/Encryption");
    expect(sse.rule).toEqual([
      {
        apply_server_side_encryption_by_default: { sse_algorithm: "aws:kms", kms_master_key_id: keyArnRef },
        bucket_key_enabled: true,
      },
    ]);
    const key = resourceAt(out, "aws_kms_key", "Evidence/Key");
    expect(key).toMatchObject({
      enable_key_rotation: true,
      key_usage: "ENCRYPT_DECRYPT",
      customer_master_key_spec: "SYMMETRIC_DEFAULT",
      deletion_window_in_days: 30,
      lifecycle: { prevent_destroy: true },
    });
    for (const s of statements(key.policy)) {
      expect(s.Principal).not.toEqual("*");
      expect(JSON.stringify(s.Principal)).not.toContain('"*"');
    }
  });

  test("blocks all public access and disables ACLs", () => {
    expect(resourceAt(out, "aws_s3_bucket_public_access_block", "Evidence/PublicAccessBlock")).toMatchObject({
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
    expect(resourceAt(out, "aws_s3_bucket_ownership_controls", "Evidence/OwnershipControls").rule).toEqual({ object_ownership: "BucketOwnerEnforced" });
  });

  describe("bucket policy", () => {
    const policy = resourceAt(out, "aws_s3_bucket_policy", "Evidence/Policy");

    test("is applied after the lock, since it denies changing the lock", () => {
      expect(policy.depends_on).toContain(`aws_s3_bucket_object_lock_configuration.${logicalIdAt(out, "aws_s3_bucket_object_lock_configuration", "Evidence/ObjectLock")}`);
    });

    test("denies any request without TLS", () => {
      expect(statement(policy.policy, "DenyInsecureTransport")).toEqual({
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucketRef, `${bucketRef}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      });
    });

    test("denies uploads not encrypted with the bucket's key", () => {
      expect(statement(policy.policy, "DenyUploadsWithOtherEncryption").Condition).toEqual({
        StringNotEqualsIfExists: { "s3:x-amz-server-side-encryption": "aws:kms" },
      });
      expect(statement(policy.policy, "DenyUploadsWithOtherKey").Condition).toEqual({
        StringNotEqualsIfExists: { "s3:x-amz-server-side-encryption-aws-kms-key-id": keyArnRef },
      });
      expect(statement(policy.policy, "DenyKmsUploadsWithoutKeyId").Condition).toEqual({
        Null: { "s3:x-amz-server-side-encryption": "false", "s3:x-amz-server-side-encryption-aws-kms-key-id": "true" },
      });
    });

    test("denies deleting objects and versions, bypassing governance and changing the lock", () => {
      const deny = statement(policy.policy, "DenyEvidenceDeletionAndLockChanges");
      expect(deny.Effect).toBe("Deny");
      expect(deny.Principal).toBe("*");
      expect(actionsOf(deny).sort()).toEqual(
        ["s3:BypassGovernanceRetention", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutBucketObjectLockConfiguration"].sort(),
      );
    });

    test("never denies s3:PutBucketPolicy, so administrators can still fix the policy", () => {
      for (const s of statements(policy.policy)) {
        if (s.Effect === "Deny") expect(actionsOf(s)).not.toContain("s3:PutBucketPolicy");
      }
    });

    test("grantWrite gives put-only object rights to the named principal, new keys only (If-None-Match)", () => {
      expect(statement(policy.policy, "WriteEvidenceWriter")).toEqual({
        Sid: "WriteEvidenceWriter",
        Effect: "Allow",
        Principal: { AWS: WRITER },
        Action: "s3:PutObject",
        Resource: `${bucketRef}/*`,
        Condition: { Null: { "s3:if-none-match": "false" } },
      });
      // The parts of a multipart upload cannot carry the header; the completing call must.
      expect(statement(policy.policy, "WriteEvidenceWriterParts")).toMatchObject({ Action: "s3:PutObject", Condition: { Bool: { "s3:ObjectCreationOperation": "false" } } });
      expect(statement(policy.policy, "WriteEvidenceWriterAbort")).toMatchObject({ Action: "s3:AbortMultipartUpload", Resource: `${bucketRef}/*` });
      const writerActions = statements(policy.policy).filter((st) => st.Effect === "Allow" && JSON.stringify(st.Principal).includes(WRITER)).flatMap(actionsOf);
      expect([...new Set(writerActions)].sort()).toEqual(["s3:AbortMultipartUpload", "s3:PutObject"]);
    });

    test("grantWrite confines a writer to a prefix, and refuses a prefix that is not one", () => {
      const { stack: s } = awsStack();
      const b = new EvidenceBucket(s, "E", { environment: production });
      b.grantWrite(AwsPrincipal.fromArn(WRITER, "Repo"), { prefix: "clinical-platform/production/" });
      const out = synth(s);
      const p = Object.values(resourcesOf(out, "aws_s3_bucket_policy")).map((bp) => bp.policy as string).find((x) => x.includes("WriteRepo"))!;
      for (const sid of ["WriteRepo", "WriteRepoParts", "WriteRepoAbort"]) expect(statement(p, sid).Resource).toMatch(/\/clinical-platform\/production\/\*$/);
      for (const bad of ["clinical-platform/*", "clinical-platform", "../x/", "a//"]) {
        expect(refusal(() => b.grantWrite(AwsPrincipal.fromArn(WRITER, "Bad"), { prefix: bad }))).toContain("is not a plain key prefix ending in \"/\" (45 CFR 164.312(a)(1))");
      }
    });

    test("grantRead gives read and list rights, no write or delete", () => {
      const read = statement(policy.policy, "ReadAuditor");
      expect(read.Principal).toEqual({ AWS: AUDITOR });
      const actions = actionsOf(read);
      expect(actions).toEqual(expect.arrayContaining(["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket"]));
      expect(actions.filter((a) => /Put|Delete|Bypass/.test(a))).toEqual([]);
    });

    test("no Allow statement grants a wildcard action or principal", () => {
      for (const s of statements(policy.policy).filter((x) => x.Effect === "Allow")) {
        expect(s.Principal).not.toBe("*");
        expect(actionsOf(s).some((a) => a.includes("*"))).toBe(false);
      }
    });
  });

  test("key policy: writer may only GenerateDataKey/Decrypt through S3 for this bucket; administrators may not use the key", () => {
    const key = resourceAt(out, "aws_kms_key", "Evidence/Key");
    const admin = statement(key.policy, "KeyAdministrationWithoutUse");
    expect(actionsOf(admin).filter((a) => /Encrypt|Decrypt|GenerateDataKey|Sign|CreateGrant|ReEncrypt/.test(a))).toEqual([]);
    const write = statement(key.policy, "WriteEvidenceWriterKey");
    expect(write.Principal).toEqual({ AWS: WRITER });
    expect(actionsOf(write)).toEqual(["kms:GenerateDataKey", "kms:Decrypt"]);
    expect(write.Condition).toEqual({
      StringEquals: {
        "kms:ViaService": "s3.${data.aws_region.HipaaAwsAccountContext_Region_915C7C7D.region}.amazonaws.com",
        "kms:EncryptionContext:aws:s3:arn": bucketRef,
      },
    });
    expect(actionsOf(statement(key.policy, "ReadAuditorKey"))).toEqual(["kms:Decrypt", "kms:DescribeKey"]);
  });

  test("moves evidence to colder storage and never expires it", () => {
    const lifecycle = resourceAt(out, "aws_s3_bucket_lifecycle_configuration", "Evidence/Lifecycle");
    const [rule] = lifecycle.rule;
    expect(rule.status).toBe("Enabled");
    expect(rule.transition).toEqual([
      { days: 90, storage_class: "STANDARD_IA" },
      { days: 365, storage_class: "GLACIER_IR" },
    ]);
    expect(rule.expiration).toBeUndefined();
    expect(rule.noncurrent_version_expiration).toBeUndefined();
  });

  test("logs server access to a separate, hardened log bucket", () => {
    const logging = resourceAt(out, "aws_s3_bucket_logging", "Evidence/AccessLogging");
    expect(logging.target_bucket).toBe(refAt(out, "aws_s3_bucket", "Evidence/AccessLogs/Bucket", "id"));
    expect(logging.bucket).toBe(refAt(out, "aws_s3_bucket", "Evidence/Bucket", "id"));
    const logBucket = resourceAt(out, "aws_s3_bucket", "Evidence/AccessLogs/Bucket");
    expect(logBucket).toMatchObject({ force_destroy: false, lifecycle: { prevent_destroy: true } });
    expect(resourceAt(out, "aws_s3_bucket_public_access_block", "Evidence/AccessLogs/PublicAccessBlock")).toMatchObject({
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
    expect(resourceAt(out, "aws_s3_bucket_ownership_controls", "Evidence/AccessLogs/OwnershipControls").rule).toEqual({ object_ownership: "BucketOwnerEnforced" });
    expect(resourceAt(out, "aws_s3_bucket_versioning", "Evidence/AccessLogs/Versioning").versioning_configuration).toEqual({ status: "Enabled" });
    expect(resourceAt(out, "aws_s3_bucket_server_side_encryption_configuration", "Evidence/AccessLogs/Encryption").rule).toEqual([
      { apply_server_side_encryption_by_default: { sse_algorithm: "AES256" } },
    ]);
    const logPolicy = resourceAt(out, "aws_s3_bucket_policy", "Evidence/AccessLogs/Policy").policy;
    expect(statement(logPolicy, "DenyInsecureTransport").Effect).toBe("Deny");
    expect(actionsOf(statement(logPolicy, "DenyLogDeletion"))).toEqual(["s3:DeleteObject", "s3:DeleteObjectVersion"]);
    const delivery = statement(logPolicy, "AllowS3ServerAccessLogDelivery");
    expect(delivery.Principal).toEqual({ Service: "logging.s3.amazonaws.com" });
    expect(delivery.Condition?.ArnEquals).toEqual({ "aws:SourceArn": [bucketRef] });
  });

  test("object events of both buckets go to EventBridge; access logs move to colder storage and never expire", () => {
    expect(resourceAt(out, "aws_s3_bucket_notification", "Evidence/EventNotifications").eventbridge).toBe(true);
    expect(resourceAt(out, "aws_s3_bucket_notification", "Evidence/AccessLogs/EventNotifications").eventbridge).toBe(true);
    const [rule] = resourceAt(out, "aws_s3_bucket_lifecycle_configuration", "Evidence/AccessLogs/Lifecycle").rule;
    expect(rule.expiration).toBeUndefined();
    expect(rule.noncurrent_version_expiration).toBeUndefined();
    expect(rule.transition.map((t: any) => t.storage_class)).toEqual(["STANDARD_IA", "GLACIER_IR"]);
  });

  test("records the controls it implements for the control map", () => {
    const { implementations, exceptions } = collectControlRecords(stack);
    const sections = new Set(implementations.filter((i) => i.constructPath === "test/Evidence").map((i) => i.section));
    expect([...sections].sort()).toEqual(
      ["164.308(a)(1)(ii)(D)", "164.312(a)(1)", "164.312(a)(2)(iv)", "164.312(b)", "164.312(c)(1)", "164.312(e)(1)", "164.316(b)(2)(i)"].sort(),
    );
    const audit = implementations.find((i) => i.constructPath === "test/Evidence" && i.section === "164.312(b)")!;
    expect(audit.resources).toContain(`aws_s3_bucket_object_lock_configuration.${logicalIdAt(out, "aws_s3_bucket_object_lock_configuration", "Evidence/ObjectLock")}`);
    expect(exceptions).toEqual([]);
  });
});

describe("EvidenceBucket refusals", () => {
  test("retention under six years without a reason", () => {
    const message = refusal(() => evidence({ retention: RetentionPeriod.days(365) }));
    expect(message).toContain("test/Evidence: retention 365 days is shorter than six years");
    expect(message).toContain("(45 CFR 164.316(b)(2)(i))");
    expect(message).toContain("shortRetentionReason");
  });

  test("retention under six years with a too-short reason", () => {
    expect(refusal(() => evidence({ retention: RetentionPeriod.years(1), shortRetentionReason: "because" }))).toContain("shorter than six years");
  });

  test("retention under six years with a reason is accepted and recorded", () => {
    const { stack } = evidence({ retention: RetentionPeriod.days(400), shortRetentionReason: "Synthetic-data sandbox; evidence is also copied to the production bucket." });
    const out = synth(stack);
    expect(resourceAt(out, "aws_s3_bucket_object_lock_configuration", "Evidence/ObjectLock").rule.default_retention.days).toBe(400);
    expect(collectControlRecords(stack).exceptions).toEqual([
      {
        section: "164.316(b)(2)(i)",
        constructPath: "test/Evidence",
        what: "Object Lock retention 400 days, below 2190 days",
        reason: "Synthetic-data sandbox; evidence is also copied to the production bucket.",
      },
    ]);
  });

  test("retention above the S3 maximum", () => {
    expect(refusal(() => evidence({ retention: RetentionPeriod.years(101) }))).toContain("exceeds the S3 Object Lock maximum");
  });

  test("GOVERNANCE mode in a PHI environment, even with a reason", () => {
    const message = refusal(() => evidence({ objectLockMode: ObjectLockMode.GOVERNANCE, governanceModeReason: "we would like to be able to clean up" }));
    expect(message).toContain("test/Evidence: GOVERNANCE mode");
    expect(message).toContain('environment "production" handles PHI');
    expect(message).toContain("(45 CFR 164.312(b))");
    expect(message).toContain("use ObjectLockMode.COMPLIANCE");
  });

  test("GOVERNANCE mode in a non-PHI environment without a reason", () => {
    expect(refusal(() => evidence({ environment: dev, objectLockMode: ObjectLockMode.GOVERNANCE }))).toContain("governanceModeReason");
  });

  test("GOVERNANCE mode in a non-PHI environment with a reason is recorded", () => {
    const { stack } = evidence({ environment: dev, objectLockMode: ObjectLockMode.GOVERNANCE, governanceModeReason: "Dev evidence holds no PHI and is rebuilt weekly." });
    expect(resourceAt(synth(stack), "aws_s3_bucket_object_lock_configuration", "Evidence/ObjectLock").rule.default_retention.mode).toBe("GOVERNANCE");
    expect(collectControlRecords(stack).exceptions[0]).toMatchObject({ section: "164.312(b)", what: "Object Lock in GOVERNANCE mode" });
  });

  test("a PHI validation environment refuses GOVERNANCE too", () => {
    const validation = new Environment({ name: "validation", tier: EnvironmentTier.VALIDATION, handlesPhi: true });
    expect(refusal(() => evidence({ environment: validation, objectLockMode: ObjectLockMode.GOVERNANCE, governanceModeReason: "x".repeat(30) }))).toContain("handles PHI");
  });

  test("a passed key without rotation", () => {
    const { stack } = awsStack();
    const key = new KmsKey(stack, "Key", { enableKeyRotation: false });
    expect(refusal(() => new EvidenceBucket(stack, "Evidence", { environment: production, encryptionKey: key }))).toContain(
      "encryptionKey does not have automatic rotation enabled (45 CFR 164.312(a)(2)(iv))",
    );
  });

  test("a passed asymmetric key", () => {
    const { stack } = awsStack();
    const key = new KmsKey(stack, "Key", { keyUsage: "SIGN_VERIFY", customerMasterKeySpec: "ECC_NIST_P256" });
    expect(refusal(() => new EvidenceBucket(stack, "Evidence", { environment: production, encryptionKey: key }))).toContain("key_usage SIGN_VERIFY");
  });

  test("a passed rotating key is used, and a grant to a principal whose policy we cannot edit is refused", () => {
    const { stack } = awsStack();
    const key = new KmsKey(stack, "Key", { enableKeyRotation: true });
    const bucket = new EvidenceBucket(stack, "Evidence", { environment: production, encryptionKey: key });
    const out = synth(stack);
    expect(resourceAt(out, "aws_s3_bucket_server_side_encryption_configuration", "Evidence/Encryption").rule[0].apply_server_side_encryption_by_default.kms_master_key_id).toBe(
      refAt(out, "aws_kms_key", "Key", "arn"),
    );
    expect(bucket.encryptionKey).toBeUndefined();
    expect(refusal(() => bucket.grantWrite(AwsPrincipal.fromArn(WRITER, "Writer")))).toContain("needs KMS rights on a key this construct does not manage");
  });

  test("an invalid bucket name", () => {
    expect(refusal(() => evidence({ bucketName: "Evidence_Bucket" }))).toContain('bucket name "Evidence_Bucket" must use only a-z');
  });

  test("transitions that go warmer, too early, or out of order", () => {
    expect(refusal(() => evidence({ transitions: [{ days: 10, storageClass: EvidenceStorageClass.STANDARD_IA }] }))).toContain("before 30 days");
    expect(
      refusal(() =>
        evidence({
          transitions: [
            { days: 100, storageClass: EvidenceStorageClass.GLACIER_IR },
            { days: 200, storageClass: EvidenceStorageClass.STANDARD_IA },
          ],
        }),
      ),
    ).toContain("does not follow");
  });

  test("a wildcard or malformed principal", () => {
    expect(refusal(() => AwsPrincipal.fromArn("arn:aws:iam::111122223333:role/*", "Writer"))).toContain("contains a wildcard (45 CFR 164.312(a)(1))");
    expect(refusal(() => AwsPrincipal.fromArn("*", "Writer"))).toContain("wildcard");
    expect(refusal(() => AwsPrincipal.fromArn("arn:aws:s3:::bucket", "Writer"))).toContain("is not an IAM role, user or account-root ARN");
  });

  test("granting the same principal twice", () => {
    const { bucket } = evidence();
    bucket.grantWrite(AwsPrincipal.fromArn(WRITER, "Writer"));
    expect(refusal(() => bucket.grantWrite(AwsPrincipal.fromArn(WRITER, "Writer")))).toContain('policy statement "WriteWriter" is added twice');
  });

  test("refusals are HipaaConfigErrors", () => {
    try {
      evidence({ retention: RetentionPeriod.days(30) });
      fail("expected a refusal");
    } catch (e) {
      expect(HipaaConfigError.isHipaaConfigError(e)).toBe(true);
      expect((e as HipaaConfigError).cfr).toBe("164.316(b)(2)(i)");
    }
  });

  test("a shared access-log bucket receives logs from several evidence buckets", () => {
    const { stack } = awsStack();
    const logs = new AccessLogBucket(stack, "Logs", { environment: production });
    new EvidenceBucket(stack, "A", { environment: production, accessLogBucket: logs });
    new EvidenceBucket(stack, "B", { environment: production, accessLogBucket: logs });
    const out = synth(stack);
    const delivery = statement(resourceAt(out, "aws_s3_bucket_policy", "Logs/Policy").policy, "AllowS3ServerAccessLogDelivery");
    expect((delivery.Condition!.ArnEquals["aws:SourceArn"] as string[]).length).toBe(2);
  });
});
