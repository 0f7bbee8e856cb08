import { Construct } from "constructs";
import { DataGoogleStorageProjectServiceAccount } from "@cdktf/provider-google/lib/data-google-storage-project-service-account";
import { KmsCryptoKey } from "@cdktf/provider-google/lib/kms-crypto-key";
import { KmsCryptoKeyIamMember } from "@cdktf/provider-google/lib/kms-crypto-key-iam-member";
import { KmsCryptoKeyIamPolicy } from "@cdktf/provider-google/lib/kms-crypto-key-iam-policy";
import { DataGoogleIamPolicy } from "@cdktf/provider-google/lib/data-google-iam-policy";
import { KmsKeyRing } from "@cdktf/provider-google/lib/kms-key-ring";
import { StorageBucket, StorageBucketLifecycleRule } from "@cdktf/provider-google/lib/storage-bucket";
import { StorageBucketIamMember } from "@cdktf/provider-google/lib/storage-bucket-iam-member";
import { dependable, Token } from "cdktf";
import { HipaaConfigError } from "../../src/errors";
import { assertSameEnvironment, Environment, RetentionPeriod, validateEvidencePrefix } from "../../src/model";
import { Cfr, recordControl, recordException } from "../../src/compliance";
import { uniqueResourceName } from "../../src/naming";
import { IGcpPrincipal } from "./principal";
import { GcsBucketIamPolicy } from "./gcs-bucket-iam-policy";

/** GCS storage classes evidence may move to, warmest first, with GCS's minimum storage duration. */
export enum GcsStorageClass {
  NEARLINE = "NEARLINE",
  COLDLINE = "COLDLINE",
  ARCHIVE = "ARCHIVE",
}
const MIN_DAYS: Record<GcsStorageClass, number> = { NEARLINE: 30, COLDLINE: 90, ARCHIVE: 365 };
const CLASS_ORDER = Object.values(GcsStorageClass);

export interface GcsTransition {
  /** Age in days. */
  readonly days: number;
  readonly storageClass: GcsStorageClass;
}

export interface GcsEvidenceBucketProps {
  readonly environment: Environment;
  /** The project the bucket lives in. */
  readonly projectId: string;
  /** Bucket location, e.g. "US-CENTRAL1" or "US". */
  readonly location: string;
  /** @default `hipaa-evidence-ENV-<hash of the construct path>` */
  readonly bucketName?: string;
  /** @default RetentionPeriod.HIPAA_MINIMUM (189,216,000 s) */
  readonly retention?: RetentionPeriod;
  /** Required to accept a retention under six years; recorded in the control map. @default - none */
  readonly shortRetentionReason?: string;
  /**
   * Lock the retention policy (Bucket Lock): it can then never be removed or shortened.
   * @default true; false is refused for PHI environments and needs `unlockedRetentionReason` elsewhere
   */
  readonly lockRetention?: boolean;
  /** Required for an unlocked policy outside PHI environments; recorded in the control map. @default - none */
  readonly unlockedRetentionReason?: string;
  /**
   * The Cloud KMS key (`projects/.../cryptoKeys/...`) that encrypts evidence.
   * @default - a key ring and a rotating key are created
   */
  readonly kmsKeyId?: string;
  /** @default 90 days NEARLINE, 365 days COLDLINE; never a deletion */
  readonly transitions?: readonly GcsTransition[];
  /** @default `hipaa-usage-logs-ENV-<hash of the construct path>` */
  readonly logBucketName?: string;
  /**
   * The key ring's name (unique per project and location; a key ring can never be deleted).
   * @default `hipaa-evidence-ENV`
   */
  readonly keyRingName?: string;
  /**
   * Authoritative IAM, for a bucket in an archive project: each bucket's whole IAM policy
   * (`google_storage_bucket_iam_policy`, see GcsBucketIamPolicy) and the key's
   * (`google_kms_crypto_key_iam_policy`, naming only the Cloud Storage service agent) are set
   * here, which removes the `projectEditor:`/`projectOwner:` convenience bindings GCS adds and
   * any key grant made outside this code. Needs the key to be created here.
   * @default false - grants are added member by member (`*_iam_member`)
   */
  readonly authoritativeIam?: boolean;
}

/** An evidence bucket of another project (the archive), whose IAM that project's stack sets. */
export interface ArchivedGcsEvidenceBucket {
  readonly environment: Environment;
  readonly projectId: string;
  readonly bucketName: string;
}

const SECONDS_MAX = 2_147_483_647;
/** Google's usage-log delivery identity (cloud.google.com/storage/docs/access-logs). */
const USAGE_LOG_WRITER = "group:cloud-storage-analytics@google.com"; // the provider's validation of retention_period

/**
 * A GCS bucket for pipeline evidence that nobody can alter: a locked retention policy (Bucket
 * Lock) of six years, uniform bucket-level access, public access prevention enforced, CMEK with
 * the Cloud Storage service agent's grant created first, usage logs to a separate locked bucket,
 * lifecycle transitions that never delete, and `prevent_destroy`.
 *
 * No Object Versioning: GCS does not allow a retention policy and Object Versioning on the same
 * bucket. Under a locked retention policy an object cannot be deleted or overwritten until it
 * has aged past the period, which is the protection versioning would give. Scanners that demand
 * versioning (Checkov CKV_GCP_78) are answered with a documented exception, not by versioning.
 *
 * The provider cannot lock at creation: it creates the bucket, then locks it in the same apply;
 * if that second call fails the bucket stays unlocked until the next apply.
 */
export class GcsEvidenceBucket extends Construct {
  public readonly environment: Environment;
  public readonly bucket: StorageBucket;
  public readonly bucketName: string;
  public readonly logBucket: StorageBucket;
  public readonly kmsKeyId: string;
  public readonly retention: RetentionPeriod;
  public readonly locked: boolean;
  /** The created key, when no kmsKeyId was given. */
  public readonly key?: KmsCryptoKey;
  /** The bucket's whole IAM policy, when `authoritativeIam`. */
  public readonly bucketPolicy?: GcsBucketIamPolicy;
  /** The usage-log bucket's whole IAM policy, when `authoritativeIam`. */
  public readonly logBucketPolicy?: GcsBucketIamPolicy;

  constructor(scope: Construct, id: string, props: GcsEvidenceBucketProps) {
    super(scope, id);
    const path = this.node.path;
    const env = props.environment.name;
    this.environment = props.environment;
    this.retention = this.validateRetention(props);
    this.locked = this.validateLock(props);
    const transitions = validateGcsTransitions(path, props.transitions ?? [
      { days: 90, storageClass: GcsStorageClass.NEARLINE },
      { days: 365, storageClass: GcsStorageClass.COLDLINE },
    ]);
    const name = props.bucketName ?? uniqueResourceName(["hipaa-evidence", env], this.node.addr, 63);
    validateGcsBucketName(path, name);
    const logName = props.logBucketName ?? uniqueResourceName(["hipaa-usage-logs", env], `${this.node.addr}/logs`, 63);
    validateGcsBucketName(path, logName);
    if (props.authoritativeIam && props.kmsKeyId) {
      throw new HipaaConfigError({
        path,
        problem: "authoritative IAM sets the key's whole IAM policy, but kmsKeyId names a key created elsewhere, whose other grants it would remove",
        cfr: Cfr.ACCESS_CONTROL,
        fix: "leave kmsKeyId unset so the key is created here, or drop authoritativeIam",
      });
    }

    let key: KmsCryptoKey | undefined;
    if (props.kmsKeyId) {
      this.kmsKeyId = props.kmsKeyId;
    } else {
      const ring = new KmsKeyRing(this, "KeyRing", {
        name: props.keyRingName ?? `hipaa-evidence-${env}`,
        location: props.location.toLowerCase(),
        project: props.projectId,
        lifecycle: { preventDestroy: true },
      });
      key = new KmsCryptoKey(this, "Key", {
        name: "evidence",
        keyRing: ring.id,
        purpose: "ENCRYPT_DECRYPT",
        rotationPeriod: "7776000s",
        destroyScheduledDuration: "2592000s",
        labels: { environment: env, purpose: "hipaa-evidence" },
        lifecycle: { preventDestroy: true },
      });
      this.kmsKeyId = key.id;
      this.key = key;
    }
    const agent = new DataGoogleStorageProjectServiceAccount(this, "StorageAgent", { project: props.projectId });
    // CMEK works only once the Cloud Storage service agent may use the key: the buckets depend on this grant.
    const agentMember = `serviceAccount:${agent.emailAddress}`;
    let agentGrant: KmsCryptoKeyIamMember | KmsCryptoKeyIamPolicy;
    if (props.authoritativeIam) {
      // The key's whole policy: the storage agent alone, so no grant made beside this code (a
      // cloudkms.admin on the key, who could destroy its versions and crypto-shred six years of
      // locked evidence) survives an apply.
      const keyPolicy = new DataGoogleIamPolicy(this, "KeyPolicyData", { binding: [{ role: "roles/cloudkms.cryptoKeyEncrypterDecrypter", members: [agentMember] }] });
      agentGrant = new KmsCryptoKeyIamPolicy(this, "KeyPolicy", { cryptoKeyId: this.kmsKeyId, policyData: keyPolicy.policyData });
    } else {
      agentGrant = new KmsCryptoKeyIamMember(this, "StorageAgentKeyGrant", { cryptoKeyId: this.kmsKeyId, role: "roles/cloudkms.cryptoKeyEncrypterDecrypter", member: agentMember });
    }

    const base = {
      location: props.location,
      project: props.projectId,
      forceDestroy: false,
      uniformBucketLevelAccess: true,
      publicAccessPrevention: "enforced",
      encryption: { defaultKmsKeyName: this.kmsKeyId },
      retentionPolicy: { retentionPeriod: this.retention.toSeconds(), isLocked: this.locked },
      lifecycleRule: transitions.map(transitionRule),
      lifecycle: { preventDestroy: true },
      dependsOn: [agentGrant],
    };
    this.logBucket = new StorageBucket(this, "LogBucket", {
      ...base,
      name: logName,
      labels: { environment: env, purpose: "hipaa-evidence-usage-logs" },
    });
    if (props.authoritativeIam) {
      this.logBucketPolicy = new GcsBucketIamPolicy(this, "LogBucketIam", { bucketName: logName });
      this.logBucketPolicy.grantService("roles/storage.objectCreator", USAGE_LOG_WRITER);
      this.logBucketPolicy.policy.dependsOn = [dependable(this.logBucket)];
    } else {
      new StorageBucketIamMember(this, "UsageLogDelivery", { bucket: this.logBucket.name, role: "roles/storage.objectCreator", member: USAGE_LOG_WRITER });
    }
    this.bucket = new StorageBucket(this, "Bucket", {
      ...base,
      name,
      labels: { environment: env, purpose: "hipaa-evidence", cfr: "164-312b_164-316b2i" },
      logging: { logBucket: this.logBucket.name, logObjectPrefix: `${env}/` },
    });
    this.bucketName = this.bucket.name;
    if (props.authoritativeIam) {
      this.bucketPolicy = new GcsBucketIamPolicy(this, "BucketIam", { bucketName: name, environment: props.environment });
      this.bucketPolicy.policy.dependsOn = [dependable(this.bucket)];
    }

    recordControl(this, {
      section: Cfr.AUDIT_CONTROLS,
      resources: [this.bucket],
      how: `Retention policy ${this.locked ? "locked (Bucket Lock)" : "UNLOCKED"}: objects cannot be deleted or replaced before ${this.retention}.`,
    });
    recordControl(this, { section: Cfr.RETENTION, resources: [this.bucket], how: `Retention of ${this.retention} (${this.retention.toSeconds()} s); lifecycle never deletes.` });
    recordControl(this, {
      section: Cfr.ENCRYPTION,
      resources: [this.bucket, agentGrant, ...(key ? [key] : [])],
      how: "CMEK with a rotating Cloud KMS key; the storage service agent's grant precedes the bucket.",
    });
    recordControl(this, {
      section: Cfr.ACCESS_CONTROL,
      resources: [this.bucket],
      how: "Uniform bucket-level access and public access prevention enforced; writers may only create objects, auditors only view.",
    });
    recordControl(this, { section: Cfr.ACTIVITY_REVIEW, resources: [this.bucket, this.logBucket], how: "Usage logs go to a separate retention-locked bucket." });
  }

  /** Create-only access (roles/storage.objectCreator): no read, overwrite or delete. */
  public grantWrite(principal: IGcpPrincipal, options: { readonly prefix?: string } = {}): StorageBucketIamMember | undefined {
    if (this.bucketPolicy) {
      this.bucketPolicy.grantWrite(principal, options);
      return undefined;
    }
    if (options.prefix === undefined) return this.grant(principal, "Write", "roles/storage.objectCreator");
    validateEvidencePrefix(this.node.path, options.prefix, "object-name prefix");
    // objectCreator cannot overwrite (that needs storage.objects.delete, and Bucket Lock forbids
    // it anyway), so a writer never shadows existing evidence; the condition confines it to its prefix.
    assertSameEnvironment(this.node.path, this.environment, principal);
    return new StorageBucketIamMember(this, `Write${principal.grantName}`, {
      bucket: this.bucket.name,
      role: "roles/storage.objectCreator",
      member: principal.member,
      condition: {
        title: "evidence-prefix",
        description: `Only objects under ${options.prefix}`,
        expression: `resource.name.startsWith("projects/_/buckets/${this.bucket.name}/objects/${options.prefix}")`,
      },
    });
  }

  /** View-only access (roles/storage.objectViewer). */
  public grantRead(principal: IGcpPrincipal): StorageBucketIamMember | undefined {
    if (this.bucketPolicy) {
      this.bucketPolicy.grantRead(principal);
      return undefined;
    }
    return this.grant(principal, "Read", "roles/storage.objectViewer");
  }

  private grant(principal: IGcpPrincipal, intent: string, role: string): StorageBucketIamMember {
    assertSameEnvironment(this.node.path, this.environment, principal);
    return new StorageBucketIamMember(this, `${intent}${principal.grantName}`, { bucket: this.bucket.name, role, member: principal.member });
  }

  private validateRetention(props: GcsEvidenceBucketProps): RetentionPeriod {
    const retention = props.retention ?? RetentionPeriod.HIPAA_MINIMUM;
    if (retention.toSeconds() > SECONDS_MAX) {
      throw new HipaaConfigError({ path: this.node.path, problem: `retention ${retention} exceeds ${SECONDS_MAX} seconds (about 68 years)`, fix: "choose a shorter retention" });
    }
    if (retention.isShorterThan(RetentionPeriod.HIPAA_MINIMUM)) {
      const reason = props.shortRetentionReason?.trim();
      if (!reason || reason.length < 20) {
        throw new HipaaConfigError({
          path: this.node.path,
          problem: `retention ${retention} is shorter than six years (189,216,000 s)`,
          cfr: Cfr.RETENTION,
          fix: "keep the default six years, or pass shortRetentionReason (at least 20 characters); it is recorded in the control map",
        });
      }
      recordException(this, { section: Cfr.RETENTION, what: `retention ${retention}, below 2190 days`, reason });
    }
    return retention;
  }

  private validateLock(props: GcsEvidenceBucketProps): boolean {
    if (props.lockRetention !== false) return true;
    if (props.environment.handlesPhi) {
      throw new HipaaConfigError({
        path: this.node.path,
        problem: `an unlocked retention policy can be removed or shortened by a bucket administrator, and environment "${props.environment.name}" handles PHI`,
        cfr: Cfr.AUDIT_CONTROLS,
        fix: "leave lockRetention unset (locked)",
      });
    }
    const reason = props.unlockedRetentionReason?.trim();
    if (!reason || reason.length < 20) {
      throw new HipaaConfigError({
        path: this.node.path,
        problem: "an unlocked retention policy can be removed or shortened by a bucket administrator",
        cfr: Cfr.AUDIT_CONTROLS,
        fix: "leave lockRetention unset (locked), or pass unlockedRetentionReason (at least 20 characters); it is recorded in the control map",
      });
    }
    recordException(this, { section: Cfr.AUDIT_CONTROLS, what: "GCS retention policy not locked", reason });
    return false;
  }
}

function transitionRule(t: GcsTransition): StorageBucketLifecycleRule {
  return { action: { type: "SetStorageClass", storageClass: t.storageClass }, condition: { age: t.days } };
}

function validateGcsTransitions(path: string, transitions: readonly GcsTransition[]): readonly GcsTransition[] {
  let previous: GcsTransition | undefined;
  for (const t of transitions) {
    if (!CLASS_ORDER.includes(t.storageClass) || !Number.isInteger(t.days) || t.days < 1) {
      throw new HipaaConfigError({ path, problem: `transition ${JSON.stringify(t)} is not a whole number of days to ${CLASS_ORDER.join(", ")}`, fix: "e.g. { days: 90, storageClass: GcsStorageClass.NEARLINE }" });
    }
    if (previous && (t.days <= previous.days || CLASS_ORDER.indexOf(t.storageClass) <= CLASS_ORDER.indexOf(previous.storageClass))) {
      throw new HipaaConfigError({ path, problem: `transition to ${t.storageClass} at ${t.days} days does not follow ${previous.storageClass} at ${previous.days} days`, fix: "list transitions from warmer to colder storage with increasing days" });
    }
    if (previous && t.days - previous.days < MIN_DAYS[previous.storageClass]) {
      throw new HipaaConfigError({
        path,
        problem: `objects would leave ${previous.storageClass} after ${t.days - previous.days} days, before its ${MIN_DAYS[previous.storageClass]}-day minimum storage duration`,
        fix: "space the transitions by at least the minimum storage duration (NEARLINE 30, COLDLINE 90, ARCHIVE 365 days)",
      });
    }
    previous = t;
  }
  return transitions;
}

function validateGcsBucketName(path: string, name: string): void {
  if (Token.isUnresolved(name)) return;
  if (!/^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$/.test(name) || name.startsWith("goog") || name.includes("google")) {
    throw new HipaaConfigError({
      path,
      problem: `bucket name ${JSON.stringify(name)} is not a valid GCS bucket name`,
      fix: "use 3-63 characters of a-z, 0-9, '-' and '_', starting and ending with a letter or digit, without 'goog'",
    });
  }
}
