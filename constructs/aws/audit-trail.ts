import { Construct } from "constructs";
import { Cloudtrail } from "@cdktf/provider-aws/lib/cloudtrail";
import { DataAwsKmsKey } from "@cdktf/provider-aws/lib/data-aws-kms-key";
import { ITerraformDependable, Token } from "cdktf";
import { HipaaConfigError } from "../../src/errors";
import { Cfr, recordControl } from "../../src/compliance";

export interface AuditTrailProps {
  /** The trail's name; with the account and home region it makes the ARN the archive's bucket policy names. */
  readonly trailName: string;
  /** The archive's trail bucket (TrailBucket), by name: another account's bucket. */
  readonly bucketName: string;
  /**
   * The archive's trail key: its key ARN, or its alias ARN (`arn:aws:kms:REGION:ARCHIVE:alias/...`)
   * when the key id lives in another stack's state. An alias ARN is resolved at plan
   * (`data.aws_kms_key`, a cross-account DescribeKey) and the trail is given the key ARN:
   * CloudTrail stores the key ARN, so an alias would plan a change on every run, and the trail
   * would silently follow the alias if it were ever re-pointed.
   */
  readonly kmsKeyArn: string;
  /** Evidence bucket ARNs whose object reads and writes are recorded as S3 data events. @default - none */
  readonly evidenceBucketArns?: readonly string[];
  /**
   * An organization trail (the stack must be applied in the organization's management account or
   * a delegated administrator): one trail logs every member account.
   * @default false - a trail of this account only
   */
  readonly organizationTrail?: boolean;
  /** What must exist first (the bucket policy, when the bucket is in the same stack). @default - none */
  readonly dependsOn?: ITerraformDependable[];
}

/**
 * A multi-region CloudTrail trail with log-file validation and global service events, encrypted
 * with the archive's key and delivered to the archive's Object-Locked trail bucket, so nobody in
 * this account can edit or delete what it recorded. Management events (reads and writes; KMS's
 * included, so every kms:Sign with a signing key is recorded) and S3 data events on the evidence
 * buckets. Stopping, deleting or narrowing it is alerted (SecurityAlerts).
 */
export class AuditTrail extends Construct {
  public readonly trail: Cloudtrail;
  /** The key ARN the trail names (resolved from the alias when an alias ARN was given). */
  public readonly kmsKeyArn: string;

  constructor(scope: Construct, id: string, props: AuditTrailProps) {
    super(scope, id);
    if (!Token.isUnresolved(props.kmsKeyArn) && !/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(alias\/[A-Za-z0-9/_-]+|key\/[0-9a-f-]+)$/.test(props.kmsKeyArn)) {
      throw new HipaaConfigError({ path: this.node.path, problem: `kmsKeyArn ${JSON.stringify(props.kmsKeyArn)} is not a KMS key or alias ARN`, cfr: Cfr.ENCRYPTION, fix: "pass the archive trail key's ARN, or its alias ARN, e.g. arn:aws:kms:us-east-1:999999999999:alias/hipaa-trail" });
    }
    this.kmsKeyArn = !Token.isUnresolved(props.kmsKeyArn) && props.kmsKeyArn.includes(":alias/") ? new DataAwsKmsKey(this, "TrailKey", { keyId: props.kmsKeyArn }).arn : props.kmsKeyArn;
    const evidence = props.evidenceBucketArns ?? [];
    this.trail = new Cloudtrail(this, "Trail", {
      name: props.trailName,
      s3BucketName: props.bucketName,
      kmsKeyId: this.kmsKeyArn,
      isMultiRegionTrail: true,
      includeGlobalServiceEvents: true,
      enableLogFileValidation: true,
      enableLogging: true,
      isOrganizationTrail: props.organizationTrail ? true : undefined,
      // CreateTrail checks the bucket policy, so the bucket policy must be in place first.
      dependsOn: props.dependsOn,
      advancedEventSelector: [
        { name: "Every management event, KMS included", fieldSelector: [{ field: "eventCategory", equalTo: ["Management"] }] },
        ...(evidence.length > 0
          ? [
              {
                name: "Reads and writes of evidence objects",
                fieldSelector: [
                  { field: "eventCategory", equalTo: ["Data"] },
                  { field: "resources.type", equalTo: ["AWS::S3::Object"] },
                  { field: "resources.ARN", startsWith: evidence.map((arn) => `${arn}/`) },
                ],
              },
            ]
          : []),
      ],
    });
    recordControl(this, {
      section: Cfr.AUDIT_CONTROLS,
      resources: [this.trail],
      how: `Multi-region CloudTrail trail ${props.trailName} (log-file validation, global events, SSE-KMS) records every management event and evidence object access, delivered to the archive account's locked bucket ${props.bucketName}.`,
    });
    recordControl(this, {
      section: Cfr.LOGIN_MONITORING,
      resources: [this.trail],
      how: "Every role assumption and every use of a signing key (kms:Sign) is recorded with the calling identity.",
    });
  }
}
