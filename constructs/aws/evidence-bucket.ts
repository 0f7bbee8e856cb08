import { Construct } from "constructs";
import { KmsAlias } from "@cdktf/provider-aws/lib/kms-alias";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketLifecycleConfiguration } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { S3BucketLoggingA } from "@cdktf/provider-aws/lib/s3-bucket-logging";
import { S3BucketObjectLockConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-object-lock-configuration";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { Token } from "cdktf";
import { HipaaConfigError } from "../../src/errors";
import { assertSameEnvironment, Environment, RetentionPeriod, validateEvidencePrefix } from "../../src/model";
import { Cfr, recordControl, recordException } from "../../src/compliance";
import { uniqueResourceName } from "../../src/naming";
import { AccessLogBucket } from "./access-log-bucket";
import { AwsAccountContext } from "./account-context";
import { applyBucketBaseline, BucketBaseline, denyInsecureTransport } from "./bucket-hardening";
import { validateBucketName } from "./bucket-name";
import { PolicyDocument, PolicyStatement, sidFrom } from "./iam-policy";
import { bucketCustodyStatements, KeyCustody, keyCustodyStatements, validateBreakGlassRoleArn } from "./key-custody";
import { kmsAdministrationStatement, KMS_DELETION_WINDOW_DAYS } from "./kms-policy";
import { IAwsPrincipal } from "./principal";

/** S3 Object Lock retention modes. */
export enum ObjectLockMode {
  /** Nobody, the root user included, can delete a locked version or shorten its retention. */
  COMPLIANCE = "COMPLIANCE",
  /** Principals with s3:BypassGovernanceRetention can. Refused for PHI environments. */
  GOVERNANCE = "GOVERNANCE",
}

/** Storage classes an evidence object may move to, warmest first. */
export enum EvidenceStorageClass {
  STANDARD_IA = "STANDARD_IA",
  INTELLIGENT_TIERING = "INTELLIGENT_TIERING",
  GLACIER_IR = "GLACIER_IR",
  GLACIER = "GLACIER",
  DEEP_ARCHIVE = "DEEP_ARCHIVE",
}

const STORAGE_CLASS_ORDER = Object.values(EvidenceStorageClass);

/** A lifecycle transition. There is deliberately no expiration: evidence is never deleted by lifecycle. */
export interface EvidenceTransition {
  /** Days after creation. */
  readonly days: number;
  readonly storageClass: EvidenceStorageClass;
}

export interface EvidenceBucketProps {
  /** The environment whose pipeline writes evidence here. */
  readonly environment: Environment;
  /**
   * The bucket's globally unique name.
   * @default - `hipaa-evidence-ENV-<8 hex of the construct path>`, stable across synths
   */
  readonly bucketName?: string;
  /**
   * Default Object Lock retention of every object version.
   * @default RetentionPeriod.HIPAA_MINIMUM (six years, 2190 days; 45 CFR 164.316(b)(2)(i))
   */
  readonly retention?: RetentionPeriod;
  /**
   * Required to accept a retention shorter than six years; recorded in the control map.
   * @default - none: a shorter retention is refused
   */
  readonly shortRetentionReason?: string;
  /**
   * Object Lock mode.
   * @default ObjectLockMode.COMPLIANCE
   */
  readonly objectLockMode?: ObjectLockMode;
  /**
   * Required to accept GOVERNANCE mode in an environment that does not handle PHI; recorded in
   * the control map. GOVERNANCE is refused outright where PHI is handled.
   * @default - none: GOVERNANCE mode is refused
   */
  readonly governanceModeReason?: string;
  /**
   * A customer-managed symmetric KMS key with rotation enabled, to encrypt the evidence.
   * @default - a new key with rotation on, a 30-day deletion window and `prevent_destroy`
   */
  readonly encryptionKey?: KmsKey;
  /**
   * Lifecycle transitions to colder storage. Evidence never expires by lifecycle.
   * @default 90 days STANDARD_IA, 365 days GLACIER_IR (retrievable in milliseconds for an audit)
   */
  readonly transitions?: readonly EvidenceTransition[];
  /**
   * Where server access logs go.
   * @default - a new, hardened AccessLogBucket for this evidence bucket
   */
  readonly accessLogBucket?: AccessLogBucket;
  /** Extra tags. @default - none */
  readonly tags?: Readonly<Record<string, string>>;
  /**
   * Custody by a named break-glass role: the created key's policy denies deletion, disabling,
   * re-policying and non-service grants to everyone else, and the bucket policy denies changing
   * the access logging, lifecycle or default encryption. What an archive account's buckets carry
   * (see AwsArchiveStack); in a single account without it, the account's IAM administrators can
   * schedule the key's deletion, and the control map says so.
   * @default - none: the account's administrators hold the key
   */
  readonly custody?: KeyCustody;
}

/**
 * What a CI identity needs of an evidence bucket: where it is and a put-only grant. Implemented
 * by EvidenceBucket (same account) and ArchivedEvidenceBucket (the archive account's bucket, seen
 * from an environment account).
 */
export interface IEvidenceBucket {
  readonly environment: Environment;
  readonly bucketName: string;
  readonly bucketArn: string;
  /** Put-only access for `principal`, under `options.prefix`. */
  grantWrite(principal: IAwsPrincipal, options?: EvidenceWriteOptions): void;
}

/** A writer role in another account (an environment's), granted by ARN built from its name. */
export interface CrossAccountWriter {
  /** The role's exact ARN, e.g. `arn:aws:iam::111111111111:role/hipaa-dev-evidence-runner`. */
  readonly roleArn: string;
  /** A short alphanumeric name for statement ids. */
  readonly grantName: string;
}

const MAX_LOCK_DAYS = 36_500; // S3 Object Lock accepts at most 100 years.
const MIN_REASON_LENGTH = 20;

/** Options of `EvidenceBucket.grantWrite`. */
export interface EvidenceWriteOptions {
  /**
   * The key prefix the writer is confined to, e.g. `clinical-platform/production/` (a
   * repository's evidence, per environment). It must end with `/` and hold no wildcard.
   * @default - the whole bucket
   */
  readonly prefix?: string;
  /**
   * Confine the writer to `<any repository>/<prefix>` instead of `<prefix>`: for a writer that
   * uploads every repository's evidence of one environment (the evidence runner pool), with
   * `prefix` the environment (`production/`), so it reaches `*\/production/*` keys only.
   * @default false
   */
  readonly anyRepository?: boolean;
}

/** One S3 statement of a grant; `suffix` makes its statement id unique within the grant. */
export interface S3Grant {
  readonly suffix: string;
  readonly actions: string[];
  readonly resources: string[];
  readonly conditions?: PolicyStatement["conditions"];
}

/**
 * An S3 bucket for pipeline evidence that nobody can alter: Object Lock in COMPLIANCE mode with
 * six-year default retention, versioning, SSE-KMS with a rotating customer-managed key, no
 * public access, ACLs disabled, TLS-only, deletes and lock changes denied, server access logs to
 * a separate bucket, and `prevent_destroy`. CI gets put-only rights with `grantWrite`, auditors
 * read rights with `grantRead`.
 */
export class EvidenceBucket extends Construct implements IEvidenceBucket {
  public readonly environment: Environment;
  public readonly bucket: S3Bucket;
  public readonly bucketName: string;
  public readonly bucketArn: string;
  /** The key that encrypts every object. */
  public readonly encryptionKeyArn: string;
  /** The key this construct created, when none was passed. */
  public readonly encryptionKey?: KmsKey;
  public readonly accessLogBucket: AccessLogBucket;
  public readonly retention: RetentionPeriod;
  public readonly objectLockMode: ObjectLockMode;
  public readonly objectLockConfiguration: S3BucketObjectLockConfigurationA;
  public readonly policy: S3BucketPolicy;
  public readonly baseline: BucketBaseline;

  private readonly bucketPolicy: PolicyDocument;
  private readonly keyPolicy?: PolicyDocument;
  private readonly region: string;
  private readonly custody?: KeyCustody;

  constructor(scope: Construct, id: string, props: EvidenceBucketProps) {
    super(scope, id);
    const path = this.node.path;
    this.environment = props.environment;
    this.retention = this.validateRetention(props);
    this.objectLockMode = this.validateLockMode(props);
    const transitions = validateTransitions(path, props.transitions ?? DEFAULT_TRANSITIONS);
    if (props.encryptionKey) validatePassedKey(path, props.encryptionKey);
    if (props.custody) {
      validateBreakGlassRoleArn(path, props.custody);
      this.custody = props.custody;
    }
    const name = props.bucketName ?? uniqueResourceName(["hipaa-evidence", props.environment.name], this.node.addr, 63);
    validateBucketName(path, name);

    const account = AwsAccountContext.of(this);
    this.region = account.region;
    const env = props.environment.name;

    if (props.encryptionKey) {
      this.encryptionKeyArn = props.encryptionKey.arn;
    } else {
      this.keyPolicy = new PolicyDocument(`${path}/Key`, [
        kmsAdministrationStatement([account.accountRootArn]),
        ...(this.custody ? keyCustodyStatements(this.custody) : []),
      ]);
      this.encryptionKey = new KmsKey(this, "Key", {
        description: `HIPAA evidence encryption for ${env} (45 CFR 164.312(a)(2)(iv))`,
        keyUsage: "ENCRYPT_DECRYPT",
        customerMasterKeySpec: "SYMMETRIC_DEFAULT",
        enableKeyRotation: true,
        deletionWindowInDays: KMS_DELETION_WINDOW_DAYS,
        policy: this.keyPolicy.toJson(),
        // See CUSTODY_LOCKOUT_REASON (key-custody.ts): the policy shuts the deploying role out of
        // PutKeyPolicy on purpose, so KMS's lockout safety check must be bypassed to create it.
        bypassPolicyLockoutSafetyCheck: this.custody ? true : undefined,
        tags: { Purpose: "HIPAA evidence encryption", Environment: env },
        lifecycle: { preventDestroy: true },
      });
      new KmsAlias(this, "KeyAlias", {
        name: `alias/hipaa-evidence-${env}-${this.node.addr.slice(0, 8)}`,
        targetKeyId: this.encryptionKey.keyId,
      });
      this.encryptionKeyArn = this.encryptionKey.arn;
    }

    this.bucket = new S3Bucket(this, "Bucket", {
      bucket: name,
      objectLockEnabled: true,
      forceDestroy: false,
      tags: {
        Purpose: "HIPAA pipeline evidence",
        Environment: env,
        CFRSection: "164.312(b),164.316(b)(2)(i)",
        Retention: `${this.retention.toDays()}d`,
        ...props.tags,
      },
      lifecycle: { preventDestroy: true },
    });
    this.bucketName = this.bucket.bucket;
    this.bucketArn = this.bucket.arn;
    this.baseline = applyBucketBaseline(this, this.bucket);

    this.objectLockConfiguration = new S3BucketObjectLockConfigurationA(this, "ObjectLock", {
      bucket: this.bucket.id,
      rule: { defaultRetention: { mode: this.objectLockMode, days: this.retention.toDays() } },
      dependsOn: [this.baseline.versioning],
    });

    const encryption = new S3BucketServerSideEncryptionConfigurationA(this, "Encryption", {
      bucket: this.bucket.id,
      rule: [
        {
          applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: this.encryptionKeyArn },
          bucketKeyEnabled: true,
        },
      ],
    });

    this.accessLogBucket = props.accessLogBucket ?? new AccessLogBucket(this, "AccessLogs", { environment: props.environment, custody: this.custody });
    this.accessLogBucket.allowLogDeliveryFrom(this.bucketArn);
    const logging = new S3BucketLoggingA(this, "AccessLogging", {
      bucket: this.bucket.id,
      targetBucket: this.accessLogBucket.bucket.id,
      targetPrefix: `${env}/`,
      targetObjectKeyFormat: { partitionedPrefix: { partitionDateSource: "EventTime" } },
    });

    const lifecycle = new S3BucketLifecycleConfiguration(this, "Lifecycle", {
      bucket: this.bucket.id,
      rule: [
        {
          id: "evidence-to-colder-storage-never-expire",
          status: "Enabled",
          filter: [{}],
          transition: transitions.map((t) => ({ days: t.days, storageClass: t.storageClass })),
          noncurrentVersionTransition: transitions.map((t) => ({ noncurrentDays: t.days, storageClass: t.storageClass })),
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }],
        },
      ],
      dependsOn: [this.baseline.versioning],
    });

    this.bucketPolicy = new PolicyDocument(`${path}/Policy`, evidenceDenyStatements(this.bucketArn, this.encryptionKeyArn));
    if (this.custody) {
      // Switching the access logs off, adding an expiry or changing the key would end or hide
      // the record of who touched evidence: only break-glass may.
      for (const s of bucketCustodyStatements("OnlyBreakGlassChangesLoggingLifecycleOrEncryption", this.bucketArn, ["s3:PutBucketLogging", "s3:PutLifecycleConfiguration", "s3:PutEncryptionConfiguration"], this.custody)) {
        this.bucketPolicy.addStatement(s);
      }
    }
    this.policy = new S3BucketPolicy(this, "Policy", {
      bucket: this.bucket.id,
      policy: this.bucketPolicy.toJson(),
      // The policy denies s3:PutBucketObjectLockConfiguration (and, under custody, logging,
      // lifecycle and encryption changes), so what it freezes must exist first.
      dependsOn: [this.objectLockConfiguration, this.baseline.publicAccessBlock, ...(this.custody ? [logging, lifecycle, encryption] : [])],
    });

    this.recordControls(encryption, logging, lifecycle);
  }

  /**
   * Put-only access for `principal` (the CI identity that emits evidence): s3:PutObject and
   * s3:AbortMultipartUpload on objects under `options.prefix`, plus the KMS rights S3 needs to
   * encrypt with the key (GenerateDataKey, and Decrypt for multipart uploads), only through S3
   * and only for this bucket. No read, list, delete or retention change.
   *
   * Every object-creating request must carry `If-None-Match: *` (`s3:if-none-match`), so a
   * writer can add a new key but never stack a newer version onto existing evidence: in a
   * versioned bucket that shadow version would be what a plain GET returns. The parts of a
   * multipart upload (`s3:ObjectCreationOperation` false) are allowed without the header,
   * since those calls do not accept it; the completing call does.
   */
  public grantWrite(principal: IAwsPrincipal, options: EvidenceWriteOptions = {}): void {
    const prefix = validateEvidencePrefix(this.node.path, options.prefix);
    this.grant(principal, "Write", evidenceWriteGrants(this.bucketArn, prefix, options.anyRepository), ["kms:GenerateDataKey", "kms:Decrypt"]);
  }

  /**
   * Put-only access for a role in another account (an environment's CI writer, when evidence
   * lives in an archive account): the resource side of `grantWrite`. The bucket policy names the
   * role's account with `aws:PrincipalArn` pinned to the role's exact ARN, and the key policy lets
   * that account encrypt through S3 for this bucket only. The role's own account must allow the
   * same actions (ArchivedEvidenceBucket.grantWrite): cross-account access needs both sides.
   *
   * Why the account and a condition rather than the role as Principal: S3 and KMS refuse a
   * policy whose Principal names a role that does not exist yet, and the archive is applied
   * before the environment stacks create their roles. The account always exists; the condition
   * still admits exactly one role ARN.
   */
  public grantWriteFromAccount(writer: CrossAccountWriter, options: EvidenceWriteOptions = {}): void {
    const prefix = validateEvidencePrefix(this.node.path, options.prefix);
    const parsed = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/[\w+=,.@\/-]+$/.exec(writer.roleArn);
    if (!parsed || /[*?]/.test(writer.roleArn)) {
      throw new HipaaConfigError({ path: this.node.path, problem: `writer ${JSON.stringify(writer.roleArn)} is not one exact IAM role ARN`, cfr: Cfr.ACCESS_CONTROL, fix: "pass the writer role's full ARN, e.g. arn:aws:iam::111111111111:role/hipaa-dev-evidence-runner" });
    }
    const [, partition, accountId] = parsed;
    const root = `arn:${partition}:iam::${accountId}:root`;
    const sid = sidFrom("Write", writer.grantName);
    const pin = { ArnEquals: { "aws:PrincipalArn": writer.roleArn } };
    for (const g of evidenceWriteGrants(this.bucketArn, prefix, options.anyRepository)) {
      this.bucketPolicy.addStatement({ sid: `${sid}${g.suffix}`, effect: "Allow", principals: { AWS: [root] }, actions: g.actions, resources: g.resources, conditions: { ...g.conditions, ...pin } });
    }
    if (!this.keyPolicy) {
      throw new HipaaConfigError({ path: this.node.path, problem: "a cross-account writer needs the key's policy to name its account, and this bucket's key was passed in", cfr: Cfr.ENCRYPTION, fix: "let EvidenceBucket create its key, or add the account to your key's policy and grant the writer yourself" });
    }
    const keySid = `Account${accountId}EncryptsThroughS3`;
    if (!this.keyPolicy.statementList.some((s) => s.sid === keySid)) {
      this.keyPolicy.addStatement({
        sid: keySid,
        effect: "Allow",
        principals: { AWS: [root] },
        actions: ["kms:GenerateDataKey", "kms:Decrypt"],
        resources: ["*"],
        conditions: { StringEquals: { "kms:ViaService": `s3.${this.region}.amazonaws.com`, "kms:EncryptionContext:aws:s3:arn": this.bucketArn } },
      });
    }
  }

  /**
   * Read access for `principal` (an auditor): objects, versions, their retention and legal
   * hold, the bucket's listing and lock configuration, and Decrypt through S3 for this bucket.
   */
  public grantRead(principal: IAwsPrincipal): void {
    this.grant(
      principal,
      "Read",
      [
        {
          suffix: "",
          actions: [
            "s3:GetObject",
            "s3:GetObjectVersion",
            "s3:GetObjectRetention",
            "s3:GetObjectLegalHold",
            "s3:GetObjectAttributes",
            "s3:ListBucket",
            "s3:ListBucketVersions",
            "s3:GetBucketLocation",
            "s3:GetBucketObjectLockConfiguration",
          ],
          resources: [this.bucketArn, `${this.bucketArn}/*`],
        },
      ],
      ["kms:Decrypt", "kms:DescribeKey"],
    );
  }

  private grant(principal: IAwsPrincipal, intent: string, s3Grants: readonly S3Grant[], kmsActions: string[]): void {
    assertSameEnvironment(this.node.path, this.environment, principal);
    const sid = sidFrom(intent, principal.grantName);
    const s3 = s3Grants.map((g): PolicyStatement => ({ sid: `${sid}${g.suffix}`, effect: "Allow", actions: g.actions, resources: g.resources, conditions: g.conditions }));
    const kmsConditions = {
      StringEquals: {
        "kms:ViaService": `s3.${this.region}.amazonaws.com`,
        // With S3 Bucket Keys the encryption context is the bucket ARN, not the object ARN.
        "kms:EncryptionContext:aws:s3:arn": this.bucketArn,
      },
    };
    const kms: PolicyStatement = { sid: `${sid}Key`, effect: "Allow", actions: kmsActions, conditions: kmsConditions };

    for (const statement of s3) this.bucketPolicy.addStatement({ ...statement, principals: { AWS: [principal.principalArn] } });
    if (this.keyPolicy) {
      this.keyPolicy.addStatement({ ...kms, principals: { AWS: [principal.principalArn] }, resources: ["*"] });
    } else if (!principal.addToPrincipalPolicy) {
      throw new HipaaConfigError({
        path: this.node.path,
        problem: `grant${intent}(${principal.grantName}) needs KMS rights on a key this construct does not manage, and the principal's own policy cannot be edited`,
        cfr: Cfr.ENCRYPTION,
        fix: "grant the principal the key rights in the key's own policy, or pass a principal that carries an identity policy, or let EvidenceBucket create its key",
      });
    }
    if (principal.addToPrincipalPolicy) {
      // Identity-side statement ids name the bucket, since one role may be granted on several.
      const identitySid = sidFrom(intent, this.node.path);
      s3.forEach((statement, i) => principal.addToPrincipalPolicy!({ ...statement, sid: `${identitySid}${s3Grants[i].suffix}` }));
      principal.addToPrincipalPolicy({ ...kms, sid: `${identitySid}Key`, resources: [this.encryptionKeyArn] });
    }
  }

  private validateRetention(props: EvidenceBucketProps): RetentionPeriod {
    const retention = props.retention ?? RetentionPeriod.HIPAA_MINIMUM;
    if (retention.toDays() > MAX_LOCK_DAYS) {
      throw new HipaaConfigError({
        path: this.node.path,
        problem: `retention ${retention} exceeds the S3 Object Lock maximum of ${MAX_LOCK_DAYS} days`,
        fix: "choose a retention of at most 100 years",
      });
    }
    if (retention.isShorterThan(RetentionPeriod.HIPAA_MINIMUM)) {
      const reason = props.shortRetentionReason?.trim();
      if (!reason || reason.length < MIN_REASON_LENGTH) {
        throw new HipaaConfigError({
          path: this.node.path,
          problem: `retention ${retention} is shorter than six years (2190 days)`,
          cfr: Cfr.RETENTION,
          fix: `keep the default RetentionPeriod.years(6), or pass shortRetentionReason (at least ${MIN_REASON_LENGTH} characters) explaining why this evidence need not be kept six years; the reason is recorded in the control map`,
        });
      }
      recordException(this, { section: Cfr.RETENTION, what: `Object Lock retention ${retention}, below 2190 days`, reason });
    }
    return retention;
  }

  private validateLockMode(props: EvidenceBucketProps): ObjectLockMode {
    const mode = props.objectLockMode ?? ObjectLockMode.COMPLIANCE;
    if (!Object.values(ObjectLockMode).includes(mode)) {
      throw new HipaaConfigError({
        path: this.node.path,
        problem: `objectLockMode ${JSON.stringify(mode)} is not COMPLIANCE or GOVERNANCE`,
        fix: "leave objectLockMode unset (COMPLIANCE)",
      });
    }
    if (mode === ObjectLockMode.GOVERNANCE) {
      if (props.environment.handlesPhi) {
        throw new HipaaConfigError({
          path: this.node.path,
          problem: `GOVERNANCE mode lets privileged users shorten or remove retention, and environment "${props.environment.name}" handles PHI`,
          cfr: Cfr.AUDIT_CONTROLS,
          fix: "use ObjectLockMode.COMPLIANCE (the default); nobody, root included, can then alter evidence",
        });
      }
      const reason = props.governanceModeReason?.trim();
      if (!reason || reason.length < MIN_REASON_LENGTH) {
        throw new HipaaConfigError({
          path: this.node.path,
          problem: "GOVERNANCE mode lets privileged users shorten or remove retention",
          cfr: Cfr.AUDIT_CONTROLS,
          fix: `use ObjectLockMode.COMPLIANCE (the default), or pass governanceModeReason (at least ${MIN_REASON_LENGTH} characters); the reason is recorded in the control map`,
        });
      }
      recordException(this, { section: Cfr.AUDIT_CONTROLS, what: "Object Lock in GOVERNANCE mode", reason });
    }
    return mode;
  }

  private recordControls(
    encryption: S3BucketServerSideEncryptionConfigurationA,
    logging: S3BucketLoggingA,
    lifecycle: S3BucketLifecycleConfiguration,
  ): void {
    recordControl(this, {
      section: Cfr.AUDIT_CONTROLS,
      resources: [this.bucket, this.objectLockConfiguration, this.baseline.versioning, this.policy],
      how:
        `Object Lock in ${this.objectLockMode} mode on a versioned bucket; the policy denies deleting objects or versions, bypassing governance retention and changing the lock.` +
        (this.custody
          ? ` Only break-glass (${this.custody.breakGlassRoleArn}) may change its access logging, lifecycle or encryption, or schedule deletion, disable or re-policy its key (KMS lockout safety check bypassed deliberately: the deploying role is shut out of PutKeyPolicy).`
          : " Without custody (EvidenceBucketProps.custody), this account's IAM administrators can schedule its key's deletion or re-policy it: keep evidence in an archive account (AwsArchiveStack) to take that away."),
    });
    recordControl(this, {
      section: Cfr.RETENTION,
      resources: [this.objectLockConfiguration, lifecycle],
      how: `Default retention of ${this.retention}; lifecycle only moves evidence to colder storage and never expires it.`,
    });
    recordControl(this, {
      section: Cfr.ENCRYPTION,
      resources: [encryption, ...(this.encryptionKey ? [this.encryptionKey] : []), this.policy],
      how: "SSE-KMS with a rotating customer-managed key and S3 Bucket Keys; uploads with another key or another encryption are denied.",
    });
    recordControl(this, {
      section: Cfr.TRANSMISSION_SECURITY,
      resources: [this.policy],
      how: "The bucket policy denies any request made without TLS.",
    });
    recordControl(this, {
      section: Cfr.ACCESS_CONTROL,
      resources: [this.baseline.publicAccessBlock, this.baseline.ownershipControls, this.policy],
      how: "All public access blocked, ACLs disabled; access only through grants naming one principal (write: put-only; read: auditors).",
    });
    recordControl(this, {
      section: Cfr.INTEGRITY,
      resources: [this.objectLockConfiguration, this.baseline.versioning],
      how: "Evidence versions are immutable for the retention period.",
    });
    recordControl(this, {
      section: Cfr.ACTIVITY_REVIEW,
      resources: [logging],
      how: "Server access logs of every request go to a separate, delete-protected log bucket.",
    });
  }
}

/**
 * The S3 statements of a put-only evidence grant under `prefix` (already validated): new keys
 * only (If-None-Match), multipart parts, and aborting one's own uploads.
 */
export function evidenceWriteGrants(bucketArn: string, prefix: string, anyRepository = false): S3Grant[] {
  // `*` in an S3 resource ARN also spans "/": `<bucket>/*/production/*` is any key with a
  // `/production/` segment after the first, the layout's <repository>/<environment>/.
  const objects = [anyRepository && prefix ? `${bucketArn}/*/${prefix}*` : `${bucketArn}/${prefix}*`];
  return [
    { suffix: "", actions: ["s3:PutObject"], resources: objects, conditions: { Null: { "s3:if-none-match": "false" } } },
    { suffix: "Parts", actions: ["s3:PutObject"], resources: objects, conditions: { Bool: { "s3:ObjectCreationOperation": "false" } } },
    { suffix: "Abort", actions: ["s3:AbortMultipartUpload"], resources: objects },
  ];
}

const DEFAULT_TRANSITIONS: readonly EvidenceTransition[] = [
  { days: 90, storageClass: EvidenceStorageClass.STANDARD_IA },
  { days: 365, storageClass: EvidenceStorageClass.GLACIER_IR },
];

/**
 * The statements that make evidence unalterable. Note what is not denied: s3:PutBucketPolicy,
 * so administrators are never locked out of the policy itself.
 */
function evidenceDenyStatements(bucketArn: string, keyArn: string): PolicyStatement[] {
  const objects = `${bucketArn}/*`;
  return [
    denyInsecureTransport(bucketArn),
    {
      sid: "DenyUploadsWithOtherEncryption",
      effect: "Deny",
      principals: "*",
      actions: ["s3:PutObject"],
      resources: [objects],
      conditions: { StringNotEqualsIfExists: { "s3:x-amz-server-side-encryption": "aws:kms" } },
    },
    {
      sid: "DenyUploadsWithOtherKey",
      effect: "Deny",
      principals: "*",
      actions: ["s3:PutObject"],
      resources: [objects],
      conditions: { StringNotEqualsIfExists: { "s3:x-amz-server-side-encryption-aws-kms-key-id": keyArn } },
    },
    {
      // SSE-KMS requested without naming a key would fall back to the AWS managed aws/s3 key.
      sid: "DenyKmsUploadsWithoutKeyId",
      effect: "Deny",
      principals: "*",
      actions: ["s3:PutObject"],
      resources: [objects],
      conditions: {
        Null: { "s3:x-amz-server-side-encryption": "false", "s3:x-amz-server-side-encryption-aws-kms-key-id": "true" },
      },
    },
    {
      sid: "DenyEvidenceDeletionAndLockChanges",
      effect: "Deny",
      principals: "*",
      actions: ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention", "s3:PutBucketObjectLockConfiguration"],
      resources: [bucketArn, objects],
    },
  ];
}

// Transitions never delete, so any valid schedule keeps objects for the full retention.
function validateTransitions(path: string, transitions: readonly EvidenceTransition[]): readonly EvidenceTransition[] {
  let previous: EvidenceTransition | undefined;
  for (const t of transitions) {
    if (!Number.isInteger(t.days) || t.days < 1) {
      throw new HipaaConfigError({ path, problem: `transition to ${t.storageClass} after ${t.days} days is not a positive whole number of days`, fix: "use whole days, e.g. { days: 90, storageClass: EvidenceStorageClass.STANDARD_IA }" });
    }
    if (!STORAGE_CLASS_ORDER.includes(t.storageClass)) {
      throw new HipaaConfigError({ path, problem: `storage class ${JSON.stringify(t.storageClass)} is not one of ${STORAGE_CLASS_ORDER.join(", ")}`, fix: "use an EvidenceStorageClass value" });
    }
    if (t.storageClass === EvidenceStorageClass.STANDARD_IA && t.days < 30) {
      throw new HipaaConfigError({ path, problem: `S3 does not move objects to STANDARD_IA before 30 days (got ${t.days})`, fix: "transition to STANDARD_IA at 30 days or later" });
    }
    if (previous && (t.days <= previous.days || STORAGE_CLASS_ORDER.indexOf(t.storageClass) <= STORAGE_CLASS_ORDER.indexOf(previous.storageClass))) {
      throw new HipaaConfigError({ path, problem: `transition to ${t.storageClass} at ${t.days} days does not follow ${previous.storageClass} at ${previous.days} days`, fix: "list transitions from warmer to colder storage with increasing days" });
    }
    previous = t;
  }
  return transitions;
}

function validatePassedKey(path: string, key: KmsKey): void {
  const rotation = key.enableKeyRotationInput;
  const usage = key.keyUsageInput;
  const spec = key.customerMasterKeySpecInput;
  if (usage !== undefined && !Token.isUnresolved(usage) && usage !== "ENCRYPT_DECRYPT") {
    throw new HipaaConfigError({ path, problem: `encryptionKey has key_usage ${usage}`, cfr: Cfr.ENCRYPTION, fix: "pass a symmetric ENCRYPT_DECRYPT key" });
  }
  if (spec !== undefined && !Token.isUnresolved(spec) && spec !== "SYMMETRIC_DEFAULT") {
    throw new HipaaConfigError({ path, problem: `encryptionKey has key spec ${spec}; S3 encrypts only with symmetric keys`, cfr: Cfr.ENCRYPTION, fix: "pass a SYMMETRIC_DEFAULT key" });
  }
  if (rotation !== true) {
    throw new HipaaConfigError({ path, problem: "encryptionKey does not have automatic rotation enabled", cfr: Cfr.ENCRYPTION, fix: "set enableKeyRotation: true on the key, or leave encryptionKey unset to have one created" });
  }
}
