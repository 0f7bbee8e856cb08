import { Cfr } from "../../catalog";
import { ResourceIndex } from "../links";
import { fail, KicsQuery, pass, Rule } from "../rule";
import { policyStatements } from "../policy-document";
import { block, blocks, bool, num, path, str, strings, TfResource } from "../terraform";

/** A bucket's companion of one type, or its legacy inline block. */
function companion(index: ResourceIndex, bucket: TfResource, type: string): TfResource | undefined {
  return index.companions(bucket, type)[0];
}

function publicAccessFlag(flag: string, equivalent: string, title: string, kics: KicsQuery): Rule {
  return {
    id: `HIPAA-S3-${flag.toUpperCase().replace(/_/g, "-")}`,
    title,
    severity: "high",
    controls: [Cfr.ACCESS_CONTROL],
    resourceTypes: ["aws_s3_bucket"],
    fix: `add an aws_s3_bucket_public_access_block for the bucket with ${flag} = true`,
    equivalents: [equivalent],
    kics: [kics],
    evaluate: (bucket, index) => {
      const pab = companion(index, bucket, "aws_s3_bucket_public_access_block");
      return bool(pab?.body[flag]) === true ? pass(`${flag} is set`) : fail(`${flag} is not set for the bucket`);
    },
  };
}

/** A bucket that receives S3 server access logs: exempt from rules a log target cannot meet. */
export function isS3LogBucket(bucket: TfResource, index: ResourceIndex): boolean {
  if (str(bucket.body.acl) === "log-delivery-write") return true;
  for (const acl of index.companions(bucket, "aws_s3_bucket_acl")) {
    if (str(acl.body.acl) === "log-delivery-write") return true;
    if (JSON.stringify(acl.body).includes("groups/s3/LogDelivery")) return true;
  }
  for (const policy of index.companions(bucket, "aws_s3_bucket_policy")) {
    if (JSON.stringify(policy.body).includes("logging.s3.amazonaws.com")) return true;
  }
  return logTargets(index).has(bucket.address) || (str(bucket.body.bucket) !== undefined && logTargets(index).has(`name:${str(bucket.body.bucket)}`));
}

/** Addresses (and literal names, as `name:x`) of the buckets that receive access logs, once per unit. */
function logTargets(index: ResourceIndex): Set<string> {
  return index.memoize("s3-log-targets", () => {
    const targets = new Set<string>();
    const add = (target: unknown) => {
      const resolved = index.resolve(target);
      if (resolved) targets.add(resolved.address);
      else if (typeof target === "string") targets.add(`name:${target}`);
    };
    for (const l of index.ofType("aws_s3_bucket_logging")) add(l.body.target_bucket);
    for (const b of index.ofType("aws_s3_bucket")) for (const l of blocks(b.body.logging)) add(l.target_bucket);
    return targets;
  });
}

const PUBLIC_ACLS = ["public-read", "public-read-write", "authenticated-read"];

/** The aws_s3_bucket a companion configures, when this unit creates it (by reference or literal name). */
function bucketInUnit(r: TfResource, index: ResourceIndex): TfResource | undefined {
  const resolved = index.resolve(r.body.bucket);
  if (resolved) return resolved.type === "aws_s3_bucket" && resolved.mode === "managed" ? resolved : undefined;
  const name = str(r.body.bucket);
  return name ? index.ofType("aws_s3_bucket").find((b) => str(b.body.bucket) === name) : undefined;
}

/** COMPLIANCE mode for at least six years, from a lock configuration's default retention. */
function judgeRetention(configuration: TfResource | undefined, where: string) {
  const at = where ? ` ${where}` : "";
  const retention = path(configuration?.body, "rule", "default_retention");
  if (!retention) return fail(`Object Lock has no default retention${at}`);
  const days = (num(retention.days) ?? 0) + 365 * (num(retention.years) ?? 0);
  if (str(retention.mode) !== "COMPLIANCE") return fail(`Object Lock mode ${str(retention.mode)}${at}: privileged users can shorten or remove retention`);
  if (days < 2190) return fail(`default retention ${days} days${at} is under six years (2190)`);
  return pass(`COMPLIANCE mode, ${days} days${at}`);
}

// Kept here for rule files that import it from "./aws"; it reads every policy shape (JSON,
// jsonencode, data.aws_iam_policy_document).
export { policyStatements };

export const AWS_RULES: readonly Rule[] = [
  {
    id: "HIPAA-S3-VERSIONING",
    title: "S3 buckets are versioned",
    severity: "medium",
    controls: [Cfr.INTEGRITY],
    resourceTypes: ["aws_s3_bucket"],
    fix: "add aws_s3_bucket_versioning with versioning_configuration { status = \"Enabled\" }",
    equivalents: ["AVD-AWS-0090", "CKV_AWS_21"],
    kics: [{ id: "568a4d22-3517-44a6-a7ad-6a7eed88722c", name: "S3 Bucket Without Versioning" }],
    evaluate: (bucket, index) => {
      const inline = bool(block(bucket.body, "versioning")?.enabled);
      const v = str(path(companion(index, bucket, "aws_s3_bucket_versioning")?.body, "versioning_configuration")?.status);
      return inline === true || v === "Enabled" ? pass("versioning is enabled") : fail("versioning is not enabled");
    },
  },
  publicAccessFlag("block_public_acls", "AVD-AWS-0086", "S3 public access block blocks public ACLs", { id: "d0cc8694-fcad-43ff-ac86-32331d7e867f", name: "S3 Bucket Allows Public ACL" }),
  publicAccessFlag("block_public_policy", "AVD-AWS-0087", "S3 public access block blocks public policies", { id: "1a4bc881-9f69-4d44-8c9a-d37d08f54c50", name: "S3 Bucket Allows Public Policy" }),
  publicAccessFlag("ignore_public_acls", "AVD-AWS-0091", "S3 public access block ignores public ACLs", { id: "4fa66806-0dd9-4f8d-9480-3174d39c7c91", name: "S3 Bucket Without Ignore Public ACL" }),
  publicAccessFlag("restrict_public_buckets", "AVD-AWS-0093", "S3 public access block restricts public buckets", { id: "1ec253ab-c220-4d63-b2de-5b40e0af9293", name: "S3 Bucket Without Restriction Of Public Bucket" }),
  {
    id: "HIPAA-S3-PUBLIC-ACCESS-BLOCK",
    title: "S3 buckets have a public access block",
    severity: "high",
    controls: [Cfr.ACCESS_CONTROL],
    resourceTypes: ["aws_s3_bucket"],
    fix: "add an aws_s3_bucket_public_access_block for the bucket",
    equivalents: ["AVD-AWS-0094"],
    evaluate: (bucket, index) => (companion(index, bucket, "aws_s3_bucket_public_access_block") ? pass("a public access block exists") : fail("no public access block")),
  },
  {
    id: "HIPAA-S3-NO-PUBLIC-ACL",
    title: "S3 buckets have no public ACL",
    severity: "high",
    controls: [Cfr.ACCESS_CONTROL],
    resourceTypes: ["aws_s3_bucket"],
    fix: "remove public ACLs; disable ACLs with ownership BucketOwnerEnforced",
    equivalents: ["AVD-AWS-0092"],
    evaluate: (bucket, index) => {
      const acls = [str(bucket.body.acl), ...index.companions(bucket, "aws_s3_bucket_acl").map((a) => str(a.body.acl))].filter(Boolean) as string[];
      const bad = acls.find((a) => PUBLIC_ACLS.includes(a));
      return bad ? fail(`ACL ${bad} makes the bucket public`) : pass("no public ACL");
    },
  },
  {
    id: "HIPAA-S3-ACCESS-LOGGING",
    title: "S3 buckets log server access (log buckets excepted)",
    severity: "medium",
    controls: [Cfr.AUDIT_CONTROLS, Cfr.ACTIVITY_REVIEW],
    resourceTypes: ["aws_s3_bucket"],
    fix: "add aws_s3_bucket_logging targeting a separate log bucket",
    equivalents: ["AVD-AWS-0089", "CKV_AWS_18"],
    kics: [{ id: "f861041c-8c9f-4156-acfc-5e6e524f5884", name: "S3 Bucket Logging Disabled" }],
    evaluate: (bucket, index) => {
      if (blocks(bucket.body.logging).length > 0 || companion(index, bucket, "aws_s3_bucket_logging")) return pass("server access logging is on");
      return isS3LogBucket(bucket, index) ? pass("the bucket is a log target; a bucket cannot usefully log to itself") : fail("server access logging is off");
    },
  },
  {
    id: "HIPAA-S3-CMK",
    title: "S3 buckets are encrypted with a customer-managed KMS key (log buckets excepted)",
    severity: "high",
    controls: [Cfr.ENCRYPTION],
    resourceTypes: ["aws_s3_bucket"],
    fix: "add aws_s3_bucket_server_side_encryption_configuration with sse_algorithm aws:kms and kms_master_key_id",
    equivalents: ["AVD-AWS-0132", "CKV_AWS_145"],
    evaluate: (bucket, index) => {
      const sse = companion(index, bucket, "aws_s3_bucket_server_side_encryption_configuration")?.body ?? block(bucket.body, "server_side_encryption_configuration");
      const byDefault = path(sse, "rule", "apply_server_side_encryption_by_default");
      if (str(byDefault?.sse_algorithm)?.startsWith("aws:kms") && str(byDefault?.kms_master_key_id)) return pass("SSE-KMS with a customer-managed key");
      return isS3LogBucket(bucket, index) ? pass("log target buckets may use SSE-S3, the encryption S3 documents for server access log delivery") : fail("not encrypted with a customer-managed KMS key");
    },
  },
  {
    id: "HIPAA-S3-TLS-ONLY",
    title: "S3 bucket policies deny requests without TLS",
    severity: "high",
    controls: [Cfr.TRANSMISSION_SECURITY],
    resourceTypes: ["aws_s3_bucket"],
    fix: "add a bucket policy statement denying s3:* when aws:SecureTransport is false",
    equivalents: [],
    // KICS judges the policy resource and we the bucket: a bucket with no policy at all accepts
    // HTTP too, which KICS leaves unjudged and we fail.
    kics: [{ id: "4bc4dd4c-7d8d-405e-a0fb-57fa4c31b4d9", name: "S3 Bucket Policy Accepts HTTP Requests" }],
    evaluate: (bucket, index) => {
      const denies = index.companions(bucket, "aws_s3_bucket_policy").some((p) => {
        const statements = policyStatements(p.body.policy, index);
        if (statements) return statements.some((s) => s.Effect === "Deny" && JSON.stringify(s.Condition ?? {}).includes('"aws:SecureTransport":"false"'));
        return /SecureTransport/.test(JSON.stringify(p.body));
      });
      return denies ? pass("non-TLS requests are denied") : fail("no bucket policy denies non-TLS requests");
    },
  },
  {
    id: "HIPAA-S3-OBJECT-LOCK",
    title: "Evidence buckets lock objects in COMPLIANCE mode for at least six years",
    severity: "critical",
    controls: [Cfr.AUDIT_CONTROLS, Cfr.RETENTION],
    // A lock configuration on a bucket this configuration does not create (an existing bucket,
    // by name or data source) is judged on its own: the provider enables Object Lock on new and
    // existing buckets through that resource.
    resourceTypes: ["aws_s3_bucket", "aws_s3_bucket_object_lock_configuration"],
    fix: "object_lock_enabled = true and aws_s3_bucket_object_lock_configuration { rule { default_retention { mode = \"COMPLIANCE\", days = 2190 } } }",
    equivalents: [],
    evaluate: (r, index) => {
      if (r.type === "aws_s3_bucket_object_lock_configuration") {
        if (bucketInUnit(r, index)) return undefined;
        return judgeRetention(r, `on existing bucket ${str(r.body.bucket) ?? "(unresolved)"}`);
      }
      const bucket = r;
      const evidence = /evidence/i.test(JSON.stringify(bucket.body.tags ?? {})) && !/access logs/i.test(JSON.stringify(bucket.body.tags ?? {}));
      const configuration = companion(index, bucket, "aws_s3_bucket_object_lock_configuration");
      const locked = bool(bucket.body.object_lock_enabled) === true || (configuration !== undefined && (str(configuration.body.object_lock_enabled) ?? "Enabled") === "Enabled");
      if (!locked && !evidence) return undefined;
      if (!locked) return fail("an evidence bucket without Object Lock");
      return judgeRetention(configuration, "");
    },
  },
  {
    id: "HIPAA-KMS-ROTATION",
    title: "Symmetric KMS keys rotate automatically (signing keys cannot and are excepted)",
    severity: "medium",
    controls: [Cfr.ENCRYPTION],
    resourceTypes: ["aws_kms_key"],
    fix: "enable_key_rotation = true",
    equivalents: ["AVD-AWS-0065", "CKV_AWS_7"],
    kics: [{ id: "22fbfeac-7b5a-421a-8a27-7a2178bb910b", name: "CMK Rotation Disabled" }],
    evaluate: (key) => {
      if (str(key.body.key_usage) === "SIGN_VERIFY") return pass("asymmetric signing keys cannot rotate automatically");
      return bool(key.body.enable_key_rotation) === true ? pass("rotation is on") : fail("automatic rotation is off");
    },
  },
  {
    id: "HIPAA-KMS-SIGNING-NOT-ROTATED",
    title: "KMS signing keys do not request automatic rotation (it fails at apply)",
    severity: "medium",
    controls: [Cfr.INTEGRITY],
    resourceTypes: ["aws_kms_key"],
    fix: "remove enable_key_rotation; rotate a signing key by creating a new key and moving its alias",
    equivalents: [],
    evaluate: (key) => {
      if (str(key.body.key_usage) !== "SIGN_VERIFY") return undefined;
      return bool(key.body.enable_key_rotation) === true ? fail("rotation requested on a SIGN_VERIFY key") : pass("no rotation requested");
    },
  },
  {
    id: "HIPAA-KMS-POLICY-NO-WILDCARD-PRINCIPAL",
    title: "KMS key policies allow no wildcard principal",
    severity: "critical",
    controls: [Cfr.ACCESS_CONTROL, Cfr.ENCRYPTION],
    resourceTypes: ["aws_kms_key"],
    fix: "name each principal in the key policy",
    equivalents: ["CKV_AWS_33"],
    evaluate: (key, index) => {
      // No policy: KMS applies the default key policy, which names only the account.
      if (key.body.policy === undefined) return pass("no key policy: the default key policy names only the account");
      const statements = policyStatements(key.body.policy, index);
      if (!statements) return undefined;
      const open = statements.find((s) => s.Effect === "Allow" && (s.Principal === "*" || strings(s.Principal?.AWS).includes("*")));
      return open ? fail(`statement ${open.Sid ?? "(no Sid)"} allows any principal`) : pass("every principal is named");
    },
  },
  {
    id: "HIPAA-IMDSV2-INSTANCE",
    title: "EC2 instances require IMDSv2",
    severity: "high",
    controls: [Cfr.ACCESS_CONTROL],
    resourceTypes: ["aws_instance"],
    fix: "metadata_options { http_tokens = \"required\" }",
    equivalents: ["AVD-AWS-0028", "CKV_AWS_79"],
    kics: [{ id: "c306ac53-ee5b-41d3-86a9-0fd2722b4e67", name: "Instance Uses Metadata Service IMDSv1" }],
    evaluate: (r) => {
      const m = block(r.body, "metadata_options");
      return str(m?.http_tokens) === "required" || str(m?.http_endpoint) === "disabled" ? pass("IMDSv2 required") : fail("IMDSv1 is allowed");
    },
  },
  {
    id: "HIPAA-IMDSV2-LAUNCH-TEMPLATE",
    title: "Launch templates require IMDSv2",
    severity: "high",
    controls: [Cfr.ACCESS_CONTROL],
    resourceTypes: ["aws_launch_template", "aws_launch_configuration"],
    fix: "metadata_options { http_tokens = \"required\" }",
    equivalents: ["AVD-AWS-0130", "CKV_AWS_79"],
    kics: [{ id: "c306ac53-ee5b-41d3-86a9-0fd2722b4e67", name: "Instance Uses Metadata Service IMDSv1" }],
    evaluate: (r) => {
      const m = block(r.body, "metadata_options");
      return str(m?.http_tokens) === "required" || str(m?.http_endpoint) === "disabled" ? pass("IMDSv2 required") : fail("IMDSv1 is allowed");
    },
  },
  {
    id: "HIPAA-IMDS-HOP-LIMIT",
    title: "Launch templates keep the IMDS response hop limit at 1, so containers cannot reach the node's credentials",
    severity: "high",
    controls: [Cfr.ACCESS_CONTROL],
    resourceTypes: ["aws_launch_template", "aws_launch_configuration"],
    fix: "metadata_options { http_put_response_hop_limit = 1 }",
    equivalents: ["CKV_AWS_341"],
    evaluate: (r) => {
      const limit = num(block(r.body, "metadata_options")?.http_put_response_hop_limit);
      return limit === undefined || limit <= 1 ? pass(`hop limit ${limit ?? "1 (the default)"}`) : fail(`hop limit ${limit}: a pod one network hop away can read the node role's credentials`);
    },
  },
  {
    id: "HIPAA-EKS-CONTROL-PLANE-LOGS",
    title: "EKS clusters log every control-plane log type",
    severity: "medium",
    controls: [Cfr.AUDIT_CONTROLS],
    resourceTypes: ["aws_eks_cluster"],
    fix: "enabled_cluster_log_types = [\"api\", \"audit\", \"authenticator\", \"controllerManager\", \"scheduler\"]",
    equivalents: ["AVD-AWS-0038", "CKV_AWS_37"],
    kics: [{ id: "66f130d9-b81d-4e8e-9b08-da74b9c891df", name: "Missing Cluster Log Types" }],
    evaluate: (c) => {
      const types = strings(c.body.enabled_cluster_log_types);
      const missing = ["api", "audit", "authenticator", "controllerManager", "scheduler"].filter((t) => !types.includes(t));
      return missing.length === 0 ? pass("every log type is on") : fail(`log types off: ${missing.join(", ")}`);
    },
  },
  {
    id: "HIPAA-EKS-SECRETS-ENCRYPTION",
    title: "EKS clusters encrypt Kubernetes secrets with a KMS key",
    severity: "high",
    controls: [Cfr.ENCRYPTION],
    resourceTypes: ["aws_eks_cluster"],
    fix: "encryption_config { resources = [\"secrets\"], provider { key_arn = ... } }",
    equivalents: ["AVD-AWS-0039", "CKV_AWS_58"],
    kics: [{ id: "63ebcb19-2739-4d3f-aa5c-e8bbb9b85281", name: "EKS Cluster Encryption Disabled" }],
    evaluate: (c) => {
      const e = block(c.body, "encryption_config");
      return strings(e?.resources).includes("secrets") && str(path(e, "provider")?.key_arn) ? pass("secrets are encrypted") : fail("secrets are not encrypted with a KMS key");
    },
  },
  {
    id: "HIPAA-EKS-PRIVATE-ENDPOINT",
    title: "EKS cluster API is not public",
    severity: "high",
    controls: [Cfr.ACCESS_CONTROL],
    resourceTypes: ["aws_eks_cluster"],
    fix: "vpc_config { endpoint_public_access = false, endpoint_private_access = true }",
    equivalents: ["AVD-AWS-0040", "CKV_AWS_39"],
    kics: [{ id: "42f4b905-3736-4213-bfe9-c0660518cda8", name: "EKS Cluster Has Public Access" }],
    evaluate: (c) => (bool(block(c.body, "vpc_config")?.endpoint_public_access) === false ? pass("no public endpoint") : fail("the API endpoint is public")),
  },
  {
    id: "HIPAA-EKS-PUBLIC-CIDRS",
    title: "A public EKS endpoint is not open to the internet",
    severity: "high",
    controls: [Cfr.ACCESS_CONTROL],
    resourceTypes: ["aws_eks_cluster"],
    fix: "set public_access_cidrs to your networks, or disable the public endpoint",
    equivalents: ["AVD-AWS-0041", "CKV_AWS_38"],
    kics: [{ id: "61cf9883-1752-4768-b18c-0d57f2737709", name: "EKS Cluster Has Public Access CIDRs" }],
    evaluate: (c) => {
      const v = block(c.body, "vpc_config");
      if (bool(v?.endpoint_public_access) === false) return pass("no public endpoint");
      const cidrs = strings(v?.public_access_cidrs);
      return cidrs.length === 0 || cidrs.includes("0.0.0.0/0") ? fail("the public endpoint admits 0.0.0.0/0") : pass(`public endpoint limited to ${cidrs.join(", ")}`);
    },
  },
];
