/**
 * Issue 14: evidence, its keys and the audit trail live in an archive account that the
 * pipeline's own administrators cannot alter. Assertions read the parsed policy JSON.
 */
import { REFERENCE_GITHUB } from "./support/substrate-config";
import { App, Testing } from "cdktf";
import { mkdtempSync, readFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { buildReferenceApp, REFERENCE_ACCOUNTS, REFERENCE_ARCHIVE, REFERENCE_ENVIRONMENTS, REFERENCE_REPOSITORIES } from "../examples/reference/main";
import { AccessLogBucket, EvidenceBucket, ScopedRole, SigningKey } from "../constructs/aws";
import { ArchivedEvidenceBucket } from "../constructs/aws/archived-evidence-bucket";
import { AuditTrail } from "../constructs/aws/audit-trail";
import { AUDIT_TAMPERING_EVENTS, SecurityAlerts } from "../constructs/aws/security-alerts";
import { TrailBucket } from "../constructs/aws/trail-bucket";
import { KEY_CUSTODY_ACTIONS } from "../constructs/aws/key-custody";
import { AwsArchiveStack } from "../stacks/aws-archive-stack";
import { GcpArchiveStack, GcpEvidenceArchiveStack } from "../stacks/gcp-archive-stack";
import { GcpEnvironmentStack } from "../stacks/gcp-environment-stack";
import { GcsBucketIamPolicy } from "../constructs/gcp/gcs-bucket-iam-policy";
import { GcsEvidenceBucket } from "../constructs/gcp/gcs-evidence-bucket";
import { buildGcpGitlabApp, evidencePrefix, GCP_ARCHIVE, GCP_ENVIRONMENTS, GCP_PROJECTS } from "../examples/gcp-gitlab/main";
import { AwsEnvironmentStack } from "../stacks/aws-environment-stack";
import { Environment, EnvironmentTier, HipaaCompliance, HipaaSubstrate, HipaaSubstrateConfig } from "../src";
import { principalsTrust } from "../constructs/aws/role-trust";
import { actionsOf, awsStack, dev, gcpStack, production, refusal, resourcesOf, Statement, statements, synth, SynthResult, synthAll } from "./support/synth";

const ARCHIVE = REFERENCE_ARCHIVE.accountId;
const BREAK_GLASS = REFERENCE_ARCHIVE.breakGlassRoleArn;
/** The break-glass role of the same path and name in an environment's own account. */
const breakGlassIn = (env: string) => BREAK_GLASS.replace(/:iam::\d{12}:/, `:iam::${REFERENCE_ACCOUNTS[env]}:`);
const ENV_ACCOUNTS = Object.values(REFERENCE_ACCOUNTS);

/** Every policy document of a stack, with where it came from. */
function policiesOf(out: SynthResult): { where: string; statements: Statement[] }[] {
  const docs: { where: string; statements: Statement[] }[] = [];
  const add = (type: string, attr: string) => {
    for (const [id, r] of Object.entries(resourcesOf(out, type))) if (typeof r[attr] === "string") docs.push({ where: `${type}.${id}`, statements: statements(r[attr]) });
  };
  add("aws_s3_bucket_policy", "policy");
  add("aws_kms_key", "policy");
  add("aws_sns_topic_policy", "policy");
  add("aws_iam_role", "assume_role_policy");
  add("aws_iam_role_policy", "policy");
  return docs;
}

const awsPrincipals = (s: Statement): string[] => (s.Principal === "*" ? ["*"] : [s.Principal?.AWS ?? []].flat());

/** Deleting, retention, policy and key-management actions (anything but putting, reading, assuming). */
const DESTRUCTIVE = /^(s3:(Delete|PutBucket|PutLifecycle|PutEncryption|PutObjectRetention|PutObjectLegalHold|BypassGovernance|PutReplication|\*)|kms:(ScheduleKeyDeletion|DisableKey|PutKeyPolicy|CreateGrant|RevokeGrant|DeleteImportedKeyMaterial|CancelKeyDeletion|EnableKey|TagResource|UntagResource|\*)|iam:|sns:(SetTopicAttributes|DeleteTopic|AddPermission))/;

describe("evidence custody in an archive account (reference app)", () => {
  const stacks = synthAll(buildReferenceApp(Testing.app()));
  const archive = stacks.get("clinical-archive")!;

  test("the archive stack applies only to the archive account", () => {
    expect((archive.tf as any).provider.aws[0].allowed_account_ids).toEqual([ARCHIVE]);
    expect(ENV_ACCOUNTS).not.toContain(ARCHIVE);
  });

  test("no principal of an environment account is allowed a delete, retention, policy or key-management action on archive resources", () => {
    let envAllows = 0;
    for (const doc of policiesOf(archive)) {
      for (const s of doc.statements.filter((x) => x.Effect === "Allow")) {
        const fromEnv = awsPrincipals(s).filter((p) => ENV_ACCOUNTS.some((a) => p.includes(`::${a}:`)));
        if (fromEnv.length === 0) continue;
        envAllows++;
        const bad = actionsOf(s).filter((a) => DESTRUCTIVE.test(a));
        expect({ where: doc.where, sid: s.Sid, bad }).toEqual({ where: doc.where, sid: s.Sid, bad: [] });
        // Writers: only put-and-encrypt; auditors: only assume the archive's read-only role; trail
        // accounts: only resolve the trail key's alias (DescribeKey); forwarders: only put events.
        expect({ sid: s.Sid, actions: actionsOf(s).filter((a) => !["s3:PutObject", "s3:AbortMultipartUpload", "kms:GenerateDataKey", "kms:Decrypt", "kms:DescribeKey", "sts:AssumeRole", "sts:SetSourceIdentity", "events:PutEvents"].includes(a)) }).toEqual({ sid: s.Sid, actions: [] });
      }
    }
    expect(envAllows).toBeGreaterThan(0);
  });

  test("an environment account's writer is admitted by account plus its exact role ARN, never the whole account", () => {
    for (const [id, p] of Object.entries(resourcesOf(archive, "aws_s3_bucket_policy"))) {
      for (const s of statements(p.policy).filter((x) => x.Effect === "Allow" && awsPrincipals(x).some((a) => a.endsWith(":root")))) {
        expect({ id, sid: s.Sid, pinned: s.Condition?.ArnEquals?.["aws:PrincipalArn"] }).toEqual({ id, sid: s.Sid, pinned: expect.stringMatching(/^arn:aws:iam::\d{12}:role\/hipaa-[a-z]+-evidence-(writer-[a-z-]+|runner)$/) });
      }
    }
  });

  test.each(REFERENCE_ENVIRONMENTS.map((e) => e.name))("%s: every evidence write path crosses into the archive account, pinned to it", (name) => {
    const env = stacks.get(`clinical-${name}`)!;
    expect(resourcesOf(env, "aws_s3_bucket")).toEqual({});
    const bucketArn = `arn:aws:s3:::${AwsArchiveStack.evidenceBucketName("clinical", name, ARCHIVE)}`;
    const puts: Statement[] = [];
    for (const p of Object.values(resourcesOf(env, "aws_iam_role_policy"))) {
      for (const s of statements(p.policy)) {
        const actions = actionsOf(s);
        if (actions.some((a) => a.startsWith("s3:Put") || a === "s3:AbortMultipartUpload")) {
          puts.push(s);
          for (const r of [s.Resource].flat()) expect(r!.startsWith(`${bucketArn}/`)).toBe(true);
          expect(s.Condition?.StringEquals?.["s3:ResourceAccount"]).toBe(ARCHIVE);
        }
        if (actions.includes("kms:GenerateDataKey")) {
          expect(s.Resource).toBe(`arn:aws:kms:us-east-1:${ARCHIVE}:key/*`);
          expect(s.Condition?.StringEquals).toEqual({ "kms:ViaService": "s3.us-east-1.amazonaws.com", "kms:EncryptionContext:aws:s3:arn": bucketArn });
        }
      }
    }
    expect(puts.length).toBeGreaterThan(0);
    // The roles the environment creates are exactly the ones the archive's bucket policy admits.
    const roleNames = Object.values(resourcesOf(env, "aws_iam_role")).map((r) => r.name as string).filter((n) => /evidence-(writer-.+|runner)$/.test(n));
    const archiveBucket = Object.entries(resourcesOf(archive, "aws_s3_bucket")).find(([, b]) => b.bucket === AwsArchiveStack.evidenceBucketName("clinical", name, ARCHIVE))![0];
    const policy = Object.values(resourcesOf(archive, "aws_s3_bucket_policy")).find((p) => p.bucket.includes(archiveBucket))!;
    const admitted = new Set(statements(policy.policy).map((s) => s.Condition?.ArnEquals?.["aws:PrincipalArn"]).filter((a): a is string => typeof a === "string"));
    expect([...admitted].map((a) => a.split("/").pop()).sort()).toEqual(roleNames.sort());
    for (const a of admitted) expect(a).toContain(`::${REFERENCE_ACCOUNTS[name]}:role/`);
  });

  test("every key policy of the archive, and every signing key, denies destruction to all but break-glass, bypassing the lockout check deliberately", () => {
    // Each key's break-glass is a role of the key's own account: KMS lets no other account's
    // principal re-policy, disable or delete a key, so an exemption naming the archive's role on
    // an environment's key would freeze that key for good.
    const keys = [
      ...Object.entries(resourcesOf(archive, "aws_kms_key")).map(([id, k]) => [`archive/${id}`, k, BREAK_GLASS] as const),
      ...REFERENCE_ENVIRONMENTS.map(
        (e) => [`${e.name}/signing`, Object.values(resourcesOf(stacks.get(`clinical-${e.name}`)!, "aws_kms_key")).find((k) => k.key_usage === "SIGN_VERIFY")!, breakGlassIn(e.name)] as const,
      ),
    ];
    expect(keys.length).toBe(REFERENCE_ENVIRONMENTS.length * 2 + 2); // evidence keys, trail key, alert key, signing keys
    for (const [where, key, BREAK_GLASS] of keys) {
      const deny = statements(key.policy).find((s) => s.Effect === "Deny" && actionsOf(s).includes("kms:ScheduleKeyDeletion"));
      expect({ where, principal: deny?.Principal, actions: deny && actionsOf(deny), condition: deny?.Condition }).toEqual({
        where,
        principal: "*",
        actions: expect.arrayContaining(["kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy"]),
        condition: { ArnNotEquals: { "aws:PrincipalArn": BREAK_GLASS } },
      });
      const grants = statements(key.policy).find((s) => s.Effect === "Deny" && actionsOf(s).includes("kms:CreateGrant"))!;
      expect(grants.Condition).toEqual({ ArnNotEquals: { "aws:PrincipalArn": BREAK_GLASS }, Bool: { "kms:GrantIsForAWSResource": "false" } });
      expect(key.bypass_policy_lockout_safety_check).toBe(true);
    }
  });

  test("every custody key stays manageable: break-glass is allowed PutKeyPolicy by the key policy itself wherever it is in another account", () => {
    for (const name of REFERENCE_ENVIRONMENTS.map((e) => e.name)) {
      for (const key of Object.values(resourcesOf(stacks.get(`clinical-${name}`)!, "aws_kms_key")).filter((k) => /ScheduleKeyDeletion/.test(k.policy) && /OnlyBreakGlass/.test(k.policy))) {
        const admin = statements(key.policy).find((s) => s.Effect === "Allow" && actionsOf(s).includes("kms:PutKeyPolicy"))!;
        expect(awsPrincipals(admin)).toContain(breakGlassIn(name));
        expect(key.policy).not.toContain(BREAK_GLASS);
      }
    }
  });

  test("the signing key's break-glass administrator can never sign", () => {
    const env = stacks.get("clinical-production")!;
    const key = Object.values(resourcesOf(env, "aws_kms_key")).find((k) => k.key_usage === "SIGN_VERIFY")!;
    for (const s of statements(key.policy).filter((x) => x.Effect === "Allow" && awsPrincipals(x).includes(breakGlassIn("production")))) expect(actionsOf(s)).not.toContain("kms:Sign");
  });

  test.each(REFERENCE_ENVIRONMENTS.map((e) => e.name))("%s: a multi-region, validated, KMS-encrypted trail delivers into the archive's locked trail bucket", (name) => {
    const env = stacks.get(`clinical-${name}`)!;
    const trails = Object.values(resourcesOf(env, "aws_cloudtrail"));
    expect(trails).toHaveLength(1);
    const [trail] = trails;
    expect(trail).toMatchObject({
      is_multi_region_trail: true,
      include_global_service_events: true,
      enable_log_file_validation: true,
      enable_logging: true,
      s3_bucket_name: AwsArchiveStack.trailBucketName("clinical", ARCHIVE),
      kms_key_id: expect.stringMatching(/^\$\{data\.aws_kms_key\.AuditTrail_TrailKey_[0-9A-F]+\.arn\}$/),
    });
    // The trail names the key the archive's alias resolves to at plan, never the alias itself.
    expect(Object.values(env.tf.data!.aws_kms_key)).toEqual([expect.objectContaining({ key_id: `arn:aws:kms:us-east-1:${ARCHIVE}:alias/hipaa-trail-clinical` })]);
    const evidenceArn = `arn:aws:s3:::${AwsArchiveStack.evidenceBucketName("clinical", name, ARCHIVE)}`;
    expect(trail.advanced_event_selector).toEqual([
      { name: "Every management event, KMS included", field_selector: [{ field: "eventCategory", equals: ["Management"] }] },
      {
        name: "Reads and writes of evidence objects",
        field_selector: [
          { field: "eventCategory", equals: ["Data"] },
          { field: "resources.type", equals: ["AWS::S3::Object"] },
          { field: "resources.ARN", starts_with: [`${evidenceArn}/`] },
        ],
      },
    ]);
    // The archive admits exactly this trail, under this account's prefix.
    const trailArn = `arn:aws:cloudtrail:us-east-1:${REFERENCE_ACCOUNTS[name]}:trail/${trail.name}`;
    const bucketPolicy = Object.entries(resourcesOf(archive, "aws_s3_bucket_policy")).find(([id]) => id.startsWith("TrailBucket_Policy"))![1];
    const write = statements(bucketPolicy.policy).find((s) => s.Sid === `AWSCloudTrailWrite${REFERENCE_ACCOUNTS[name]}`)!;
    expect(write).toMatchObject({ Effect: "Allow", Principal: { Service: "cloudtrail.amazonaws.com" }, Action: "s3:PutObject" });
    expect(write.Resource).toMatch(new RegExp(`/AWSLogs/${REFERENCE_ACCOUNTS[name]}/\\*$`));
    expect(write.Condition).toEqual({ StringEquals: { "s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": trailArn } });
    const acl = statements(bucketPolicy.policy).find((s) => s.Sid === "AWSCloudTrailAclCheck")!;
    expect(acl.Condition!.StringEquals["aws:SourceArn"]).toContain(trailArn);
    const trailKey = Object.entries(resourcesOf(archive, "aws_kms_key")).find(([id]) => id.startsWith("TrailBucket_Key"))![1];
    expect(statements(trailKey.policy).find((s) => s.Sid === "CloudTrailEncryptsLogs")!.Condition!.StringEquals["aws:SourceArn"]).toContain(trailArn);
  });

  test("the trail bucket is Object-Locked in COMPLIANCE mode for six years and only break-glass changes its logging, lifecycle or encryption", () => {
    const locks = Object.entries(resourcesOf(archive, "aws_s3_bucket_object_lock_configuration"));
    expect(locks.find(([id]) => id.startsWith("TrailBucket_ObjectLock"))![1].rule.default_retention).toEqual({ mode: "COMPLIANCE", days: 2190 });
    const bucket = Object.values(resourcesOf(archive, "aws_s3_bucket")).find((b) => b.bucket === AwsArchiveStack.trailBucketName("clinical", ARCHIVE))!;
    expect(bucket).toMatchObject({ object_lock_enabled: true, force_destroy: false, lifecycle: { prevent_destroy: true } });
  });

  test("access-log integrity: evidence buckets deny PutBucketLogging, log buckets deny lifecycle, policy and bucket deletion, to all but break-glass", () => {
    const policies = Object.entries(resourcesOf(archive, "aws_s3_bucket_policy"));
    const evidence = policies.filter(([id]) => /^Evidence-[a-z]+_Policy/.test(id));
    const logs = policies.filter(([id]) => /AccessLogs/.test(id));
    expect(evidence).toHaveLength(REFERENCE_ENVIRONMENTS.length);
    expect(logs).toHaveLength(REFERENCE_ENVIRONMENTS.length + 1);
    for (const [, p] of evidence) {
      const s = statements(p.policy).find((x) => x.Sid === "OnlyBreakGlassChangesLoggingLifecycleOrEncryption")!;
      expect(s).toMatchObject({ Effect: "Deny", Principal: "*", Condition: { ArnNotEquals: { "aws:PrincipalArn": BREAK_GLASS } } });
      expect(actionsOf(s)).toEqual(expect.arrayContaining(["s3:PutBucketLogging", "s3:PutLifecycleConfiguration"]));
      // What the policy freezes must exist before the policy.
      expect(p.depends_on.some((d: string) => d.startsWith("aws_s3_bucket_logging."))).toBe(true);
    }
    for (const [, p] of logs) {
      const s = statements(p.policy).find((x) => x.Sid === "OnlyBreakGlassEndsTheLogTrail")!;
      expect(s).toMatchObject({ Effect: "Deny", Principal: "*", Condition: { ArnNotEquals: { "aws:PrincipalArn": BREAK_GLASS } } });
      expect(actionsOf(s)).toEqual(expect.arrayContaining(["s3:DeleteBucket", "s3:PutLifecycleConfiguration", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"]));
      expect(actionsOf(statements(p.policy).find((x) => x.Sid === "DenyLogDeletion")!)).toEqual(["s3:DeleteObject", "s3:DeleteObjectVersion"]);
    }
  });

  test("break-glass use and tampering alert through a CMK-encrypted topic", () => {
    const rules = Object.values(resourcesOf(archive, "aws_cloudwatch_event_rule")).filter((r) => r.event_pattern).map((r) => JSON.parse(r.event_pattern));
    expect(rules).toContainEqual({
      account: [ARCHIVE],
      source: ["aws.sts"],
      "detail-type": ["AWS API Call via CloudTrail"],
      detail: { eventSource: ["sts.amazonaws.com"], eventName: ["AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity"], requestParameters: { roleArn: [BREAK_GLASS] } },
    });
    const names = rules.flatMap((r) => r.detail?.eventName ?? []);
    for (const e of ["PutKeyPolicy", "ScheduleKeyDeletion", "DisableKey", "PutBucketPolicy", "PutBucketLogging", "DeleteTrail", "StopLogging", "UpdateTrail"]) expect(names).toContain(e);
    const [topic] = Object.values(resourcesOf(archive, "aws_sns_topic"));
    expect(topic.kms_master_key_id).toMatch(/^\$\{aws_kms_key\.SecurityAlerts_Key_[0-9A-F]+\.arn\}$/);
    // Break-glass (STS and console), key custody, bucket protection, trail, alert rules, alert
    // topics, guarded roles, forwarded events; alarms and managed-policy versions (fifth review).
    expect(Object.values(resourcesOf(archive, "aws_cloudwatch_event_target"))).toHaveLength(11);
    const topicPolicy = statements(Object.values(resourcesOf(archive, "aws_sns_topic_policy"))[0].policy)[0];
    expect(topicPolicy.Condition!.ArnEquals["aws:SourceArn"]).toHaveLength(11);
    for (const name of REFERENCE_ENVIRONMENTS.map((e) => e.name)) {
      const envNames = Object.values(resourcesOf(stacks.get(`clinical-${name}`)!, "aws_cloudwatch_event_rule")).flatMap((r) => (r.event_pattern ? JSON.parse(r.event_pattern).detail?.eventName ?? [] : []));
      for (const e of ["PutKeyPolicy", "ScheduleKeyDeletion", "DisableKey", "StopLogging", "DeleteTrail"]) expect(envNames).toContain(e);
    }
  });

  test("archive bucket names carry the archive account, fit S3's 63 characters and are stable", () => {
    const names = Object.values(resourcesOf(archive, "aws_s3_bucket")).map((b) => b.bucket as string);
    for (const n of names) {
      expect(n).toContain(ARCHIVE);
      expect(n.length).toBeLessThanOrEqual(63);
    }
    expect(new Set(names).size).toBe(names.length);
    expect(AwsArchiveStack.evidenceBucketName("clinical", "a-very-long-environment-name-indeed", ARCHIVE).length).toBeLessThanOrEqual(63);
  });

  test("adding an environment leaves the archive's existing buckets, keys and their addresses unchanged", () => {
    const extra = [...REFERENCE_ENVIRONMENTS, new Environment({ name: "dr", tier: EnvironmentTier.PRODUCTION })];
    const after = synthAll(buildReferenceApp(Testing.app(), extra)).get("clinical-archive")!;
    for (const type of ["aws_s3_bucket", "aws_s3_bucket_object_lock_configuration", "aws_kms_alias", "aws_s3_bucket_policy"]) {
      const before = resourcesOf(archive, type);
      const now = resourcesOf(after, type);
      for (const id of Object.keys(before)) {
        // The trail bucket admits the new environment's trail: its policy (only) gains a statement.
        if (type === "aws_s3_bucket_policy" && id.startsWith("TrailBucket_Policy")) continue;
        expect(now[id]).toEqual(before[id]);
      }
    }
    for (const id of Object.keys(resourcesOf(archive, "aws_kms_key"))) expect(resourcesOf(after, "aws_kms_key")[id]).toBeDefined();
  });
});

describe("archive configuration is validated", () => {
  const base = (): HipaaSubstrateConfig => ({
    ...REFERENCE_GITHUB,
    environments: REFERENCE_ENVIRONMENTS,
    repositories: REFERENCE_REPOSITORIES,
    aws: { region: "us-east-1", accounts: { ...REFERENCE_ACCOUNTS }, archive: { ...REFERENCE_ARCHIVE } },
  });
  const withArchive = (archive: Partial<typeof REFERENCE_ARCHIVE>) => {
    const c = base();
    return { ...c, aws: { ...c.aws!, archive: { ...REFERENCE_ARCHIVE, ...archive } } };
  };

  test("the archive account must differ from every environment's", () => {
    expect(refusal(() => new HipaaSubstrate(Testing.app(), "clinical", withArchive({ accountId: REFERENCE_ACCOUNTS.production, breakGlassRoleArn: `arn:aws:iam::${REFERENCE_ACCOUNTS.production}:role/break-glass` } as any)))).toContain(
      `the archive account ${REFERENCE_ACCOUNTS.production} is also environment "production"'s account`,
    );
  });

  test.each([
    ["a wildcard", "arn:aws:iam::999999999999:role/*"],
    ["an account root", "arn:aws:iam::999999999999:root"],
    ["a user", "arn:aws:iam::999999999999:user/alice"],
    ["nothing", ""],
  ])("break-glass refuses %s", (_, arn) => {
    expect(refusal(() => new HipaaSubstrate(Testing.app(), "clinical", withArchive({ breakGlassRoleArn: arn } as any)))).toContain("is not one exact IAM role ARN");
  });

  test("break-glass must live in the archive account", () => {
    expect(refusal(() => new HipaaSubstrate(Testing.app(), "clinical", withArchive({ breakGlassRoleArn: "arn:aws:iam::444444444444:role/break-glass" } as any)))).toContain("is not in the archive account 999999999999");
  });

  test("the archive account id must be 12 digits", () => {
    expect(refusal(() => new HipaaSubstrate(Testing.app(), "clinical", withArchive({ accountId: "9999" } as any)))).toContain("is not 12 digits");
  });

  test("moving an applied environment to the archive can keep its evidence bucket and key at the same addresses", () => {
    const c = base();
    const without = synthAll((() => { const app = Testing.app(); new HipaaSubstrate(app, "clinical", { ...c, aws: { region: "us-east-1", accounts: { ...REFERENCE_ACCOUNTS } } }); return app; })()).get("clinical-production")!;
    const kept = synthAll((() => { const app = Testing.app(); new HipaaSubstrate(app, "clinical", withArchive({ keepEnvironmentEvidenceBuckets: ["production"] } as any)); return app; })());
    const production = kept.get("clinical-production")!;
    for (const type of ["aws_s3_bucket", "aws_s3_bucket_object_lock_configuration", "aws_kms_alias"]) {
      const before = Object.fromEntries(Object.entries(resourcesOf(without, type)).filter(([id]) => id.startsWith("EvidenceBucket")));
      expect(Object.keys(before).length).toBeGreaterThan(0);
      for (const [id, r] of Object.entries(before)) expect(resourcesOf(production, type)[id]).toEqual(r);
    }
    const key = Object.entries(resourcesOf(production, "aws_kms_key")).find(([id]) => id.startsWith("EvidenceBucket"))!;
    expect(resourcesOf(without, "aws_kms_key")[key[0]]).toMatchObject({ lifecycle: { prevent_destroy: true } });
    // New writes go to the archive all the same; dev, not kept, has no bucket of its own.
    expect(statements(Object.values(resourcesOf(production, "aws_iam_role_policy")).find((p) => /EvidenceWriter/.test(p.role))!.policy)[0].Resource).toMatch(new RegExp(`^arn:aws:s3:::hipaa-evidence-production-${ARCHIVE}-`));
    expect(resourcesOf(kept.get("clinical-dev")!, "aws_s3_bucket")).toEqual({});
    expect(refusal(() => new HipaaSubstrate(Testing.app(), "clinical", withArchive({ keepEnvironmentEvidenceBuckets: ["qa"] } as any)))).toContain('"qa" is not an environment');
  });

  test("without an archive the control map records that evidence and its key live in the environment's account", () => {
    const outdir = mkdtempSync(join(tmpdir(), "hipaa-no-archive-"));
    const app = new App({ outdir });
    const c = base();
    const stateBackends = Object.fromEntries(Object.entries(REFERENCE_ACCOUNTS).map(([env, account]) => [env, { bucket: `clinical-tfstate-${account}`, kmsKeyArn: `arn:aws:kms:us-east-1:${account}:alias/clinical-tfstate` }]));
    new HipaaSubstrate(app, "clinical", { ...c, aws: { region: "us-east-1", accounts: { ...REFERENCE_ACCOUNTS }, stateBackends } });
    expect(app.node.tryFindChild("clinical-archive")).toBeUndefined();
    HipaaCompliance.enable(app);
    app.synth();
    const map = JSON.parse(readFileSync(join(outdir, "stacks", "clinical-production", "control-map.json"), "utf8"));
    const audit = map.sections.find((s: any) => s.section === "164.312(b)");
    expect(audit.exceptions).toContainEqual(expect.objectContaining({ what: expect.stringContaining("live in the environment's own account 444444444444") }));
  });
});

describe("custody constructs, one at a time", () => {
  const custody = { breakGlassRoleArn: "arn:aws:iam::999999999999:role/break-glass" };

  test("EvidenceBucket keeps working in a single account; with custody its key denies destruction to all but break-glass", () => {
    const { stack } = awsStack();
    new EvidenceBucket(stack, "Evidence", { environment: production, custody });
    const out = synth(stack);
    const [key] = Object.values(resourcesOf(out, "aws_kms_key"));
    expect(key.bypass_policy_lockout_safety_check).toBe(true);
    const deny = statements(key.policy).find((s) => s.Sid === "OnlyBreakGlassDestroysDisablesOrRepoliciesKey")!;
    expect(actionsOf(deny)).toEqual([...KEY_CUSTODY_ACTIONS]);
  });

  test("without custody nothing changes: no bypass, no custody statements", () => {
    const { stack } = awsStack();
    new EvidenceBucket(stack, "Evidence", { environment: production });
    new SigningKey(stack, "Signing", { environment: production });
    const out = synth(stack);
    for (const key of Object.values(resourcesOf(out, "aws_kms_key"))) {
      expect(key.bypass_policy_lockout_safety_check).toBeUndefined();
      expect(statements(key.policy).filter((s) => s.Effect === "Deny")).toEqual([]);
    }
  });

  test("custody refuses anything but one exact role ARN", () => {
    const { stack } = awsStack();
    expect(refusal(() => new SigningKey(stack, "K", { environment: production, custody: { breakGlassRoleArn: "arn:aws:iam::999999999999:role/break-*" } }))).toContain("is not one exact IAM role ARN");
    expect(refusal(() => new AccessLogBucket(stack, "L", { environment: production, custody: { breakGlassRoleArn: "arn:aws:sts::999999999999:assumed-role/x/y" } }))).toContain("is not one exact IAM role ARN");
  });

  test("a cross-account writer must be one exact role ARN", () => {
    const { stack } = awsStack();
    const bucket = new EvidenceBucket(stack, "Evidence", { environment: production, custody });
    expect(refusal(() => bucket.grantWriteFromAccount({ roleArn: "arn:aws:iam::444444444444:role/*", grantName: "W" }))).toContain("is not one exact IAM role ARN");
  });

  test("the archive's bucket seen from an environment refuses a writer without an identity policy and another environment's writer", () => {
    const handle = new ArchivedEvidenceBucket({ environment: production, bucketName: "hipaa-evidence-production-999999999999-abcdef01", archiveAccountId: "999999999999", region: "us-east-1" });
    expect(refusal(() => handle.grantWrite({ principalArn: "arn:aws:iam::444444444444:role/x", grantName: "X" }))).toContain("has no identity policy this library manages");
    const { stack } = awsStack();
    const dev = new Environment({ name: "dev", tier: EnvironmentTier.DEVELOPMENT });
    const role = new ScopedRole(stack, "R", { environment: dev, grantName: "EvidenceWriter", description: "d", trust: principalsTrust("t", ["arn:aws:iam::111111111111:role/ci"]) });
    expect(refusal(() => handle.grantWrite(role))).toContain('acts in environment "dev"');
    expect(refusal(() => new ArchivedEvidenceBucket({ environment: production, bucketName: "x", archiveAccountId: "12", region: "us-east-1" }))).toContain("is not 12 digits");
  });

  test("an environment stack refuses the archive of another environment, or its own account as archive", () => {
    const app = Testing.app();
    const options = (accountId: string, environment = production) => ({
      evidenceBucket: new ArchivedEvidenceBucket({ environment, bucketName: "hipaa-evidence-production-999999999999-abcdef01", archiveAccountId: accountId, region: "us-east-1" }),
      trail: { trailName: "t", bucketName: "hipaa-trail-b", kmsKeyArn: "arn:aws:kms:us-east-1:999999999999:alias/hipaa-trail" },
      custody,
    });
    expect(refusal(() => new AwsEnvironmentStack(app, "a", { environment: production, region: "us-east-1", accountId: "444444444444", archive: options("444444444444") }))).toContain("the archive account is this environment's own account");
    const dev = new Environment({ name: "dev", tier: EnvironmentTier.DEVELOPMENT });
    expect(refusal(() => new AwsEnvironmentStack(app, "b", { environment: production, region: "us-east-1", archive: options("999999999999", dev) }))).toContain('the archive bucket is for environment "dev"');
    expect(refusal(() => new AwsEnvironmentStack(app, "c", { environment: production, region: "us-east-1", archive: options("999999999999"), evidence: {} }))).toContain("the evidence bucket lives in the archive account");
  });

  test("an archive stack refuses an environment in the archive account, and no environment at all", () => {
    const app = Testing.app();
    expect(refusal(() => new AwsArchiveStack(app, "x", { substrateId: "s", accountId: "999999999999", region: "us-east-1", custody, environments: [{ environment: production, accountId: "999999999999", writers: [] }], alertSubscribers: ["security@example.com"] }))).toContain(
      'environment "production" is in the archive account',
    );
    expect(refusal(() => new AwsArchiveStack(app, "y", { substrateId: "s", accountId: "999999999999", region: "us-east-1", custody, environments: [], alertSubscribers: ["security@example.com"] }))).toContain("the archive holds no environment");
  });

  test("snapshot: a custody evidence bucket with a cross-account writer, a trail bucket, a trail and alerts", () => {
    const { stack } = awsStack();
    const bucket = new EvidenceBucket(stack, "Evidence", { environment: production, bucketName: "hipaa-evidence-production-999999999999-0a1b2c3d", custody });
    bucket.grantWriteFromAccount({ roleArn: "arn:aws:iam::444444444444:role/hipaa-production-evidence-runner", grantName: "EvidenceRunner" }, { prefix: "runner/" });
    const trailBucket = new TrailBucket(stack, "Trails", { bucketName: "hipaa-trail-999999999999-0a1b2c3d", keyAliasName: "alias/hipaa-trail-test", custody, environment: production });
    trailBucket.allowTrail("444444444444", "arn:aws:cloudtrail:us-east-1:444444444444:trail/hipaa-test-production-audit");
    new AuditTrail(stack, "Trail", { trailName: "hipaa-test-archive-audit", bucketName: "hipaa-trail-999999999999-0a1b2c3d", kmsKeyArn: trailBucket.keyAlias.arn, evidenceBucketArns: [bucket.bucketArn], dependsOn: [trailBucket.policy] });
    const alerts = new SecurityAlerts(stack, "Alerts", { topicName: "hipaa-test-alerts", custody });
    alerts.alertOnRoleAssumed("BreakGlassAssumed", custody.breakGlassRoleArn);
    alerts.alertOn("TrailChanged", "A trail was stopped, deleted or narrowed", AUDIT_TAMPERING_EVENTS.trail);
    expect(synth(stack).json).toMatchSnapshot();
  });

  test("AuditTrail refuses a key that is not a KMS key or alias ARN", () => {
    const { stack } = awsStack();
    expect(refusal(() => new AuditTrail(stack, "T", { trailName: "t", bucketName: "b-bucket", kmsKeyArn: "alias/hipaa-trail" }))).toContain("is not a KMS key or alias ARN");
  });
});

describe("optional cross-region replica of the archive", () => {
  const app = Testing.app();
  const c = {
    ...REFERENCE_GITHUB,
    environments: REFERENCE_ENVIRONMENTS,
    repositories: REFERENCE_REPOSITORIES,
    aws: { region: "us-east-1", accounts: { ...REFERENCE_ACCOUNTS }, archive: { ...REFERENCE_ARCHIVE, replicaRegion: "us-west-2" } },
  } satisfies HipaaSubstrateConfig;
  new HipaaSubstrate(app, "clinical", c);
  const archive = synthAll(app).get("clinical-archive")!;

  test("off by default: the reference archive has no replica", () => {
    const plain = synthAll(buildReferenceApp(Testing.app())).get("clinical-archive")!;
    expect(resourcesOf(plain, "aws_s3_bucket_replication_configuration")).toEqual({});
  });

  test("each evidence bucket replicates to a COMPLIANCE-locked bucket in the replica region, under break-glass custody, deletes never replicated", () => {
    const providers = (archive.tf as any).provider.aws;
    expect(providers).toContainEqual(expect.objectContaining({ alias: "replica", region: "us-west-2", allowed_account_ids: [ARCHIVE] }));
    const replications = Object.values(resourcesOf(archive, "aws_s3_bucket_replication_configuration"));
    expect(replications).toHaveLength(REFERENCE_ENVIRONMENTS.length);
    for (const r of replications) {
      expect(r.rule[0]).toMatchObject({ status: "Enabled", delete_marker_replication: { status: "Disabled" }, source_selection_criteria: { sse_kms_encrypted_objects: { status: "Enabled" } } });
      expect(r.rule[0].destination.encryption_configuration.replica_kms_key_id).toMatch(/^\$\{aws_kms_key\.EvidenceReplica-[a-z]+_Key_[0-9A-F]+\.arn\}$/);
    }
    for (const [id, b] of Object.entries(resourcesOf(archive, "aws_s3_bucket")).filter(([id]) => id.startsWith("EvidenceReplica-"))) {
      expect(b).toMatchObject({ provider: "aws.replica", object_lock_enabled: true, force_destroy: false, lifecycle: { prevent_destroy: true } });
      expect(b.bucket).toContain(ARCHIVE);
      expect(id).toBeDefined();
    }
    for (const [, lock] of Object.entries(resourcesOf(archive, "aws_s3_bucket_object_lock_configuration")).filter(([id]) => id.startsWith("EvidenceReplica-"))) {
      expect(lock.rule.default_retention).toEqual({ mode: "COMPLIANCE", days: 2190 });
    }
    for (const [, key] of Object.entries(resourcesOf(archive, "aws_kms_key")).filter(([id]) => id.startsWith("EvidenceReplica-"))) {
      expect(statements(key.policy).find((s) => s.Sid === "OnlyBreakGlassDestroysDisablesOrRepoliciesKey")!.Condition).toEqual({ ArnNotEquals: { "aws:PrincipalArn": BREAK_GLASS } });
    }
    for (const p of Object.values(resourcesOf(archive, "aws_iam_role_policy")).filter((p) => p.name === "evidence-replication")) {
      for (const s of statements(p.policy)) for (const a of actionsOf(s)) expect(a).not.toMatch(/Delete|PutBucket|PutObjectRetention|BypassGovernance/);
    }
  });

  test("the replica region must be another region", () => {
    expect(refusal(() => new HipaaSubstrate(Testing.app(), "clinical", { ...c, aws: { ...c.aws, archive: { ...REFERENCE_ARCHIVE, replicaRegion: "us-east-1" } } }))).toContain("is not another AWS region");
  });
});

describe("GCP archive project (gcp-gitlab example)", () => {
  const stacks = synthAll(buildGcpGitlabApp(Testing.app()));
  const archive = stacks.get("hipaa-gcp-archive")!;
  const evidence = stacks.get("hipaa-gcp-evidence-archive")!;
  const archives = [archive, evidence];
  const ENV_IDS = Object.values(GCP_PROJECTS).flatMap((p) => [p.id, p.number]);
  const envPrincipal = (member: string) => ENV_IDS.some((id) => member.includes(id));

  /** Each bucket's authoritative policy bindings, by bucket name. */
  function bucketPolicies(out: SynthResult): Map<string, { role: string; members: string[]; condition?: { expression: string } }[]> {
    const data = (out.tf.data?.google_iam_policy ?? {}) as Record<string, { binding: any[] }>;
    return new Map(
      Object.values(resourcesOf(out, "google_storage_bucket_iam_policy")).map((p) => [p.bucket, data[/data\.google_iam_policy\.([^.]+)\./.exec(p.policy_data)![1]].binding]),
    );
  }

  test("the archive project's only owner is break-glass, granted last; nobody else holds a project role there", () => {
    for (const out of archives) expect((out.tf as any).provider.google[0].project).toBe(GCP_ARCHIVE.id);
    const owners = Object.values(resourcesOf(archive, "google_project_iam_binding"));
    expect(owners).toEqual([expect.objectContaining({ project: GCP_ARCHIVE.id, role: "roles/owner", members: [GCP_ARCHIVE.breakGlassMember] })]);
    // Created after every other resource: a bootstrap owner applying the first time keeps its
    // rights until the buckets, keys and policies exist.
    const all = Object.entries(archive.tf.resource).flatMap(([type, rs]) => Object.keys(rs as object).map((id) => `${type}.${id}`));
    const others = all.filter((a) => !a.startsWith("google_project_iam_binding.") && !a.startsWith("google_project_service."));
    const resourceManager = all.find((a) => a.includes("cloudresourcemanager"))!;
    expect([...owners[0].depends_on].sort()).toEqual([...others, resourceManager].sort());
    for (const out of archives) {
      expect(resourcesOf(out, "google_project_iam_member")).toEqual({});
      expect(resourcesOf(out, "google_project_iam_policy")).toEqual({});
    }
    expect(resourcesOf(evidence, "google_project_iam_binding")).toEqual({});
  });

  test("a plan fails while anyone but break-glass and the archive's own service agents holds a project role", () => {
    const checks = Object.values((archive.tf.data?.google_project_iam_policy ?? {}) as Record<string, any>);
    expect(checks).toHaveLength(1);
    const [check] = checks;
    expect(check.project).toBe(GCP_ARCHIVE.id);
    // Read at plan: nothing it depends on is created by the stack.
    expect(check.depends_on).toBeUndefined();
    expect(check.lifecycle.postcondition).toHaveLength(1);
    const { condition, error_message } = check.lifecycle.postcondition[0];
    expect(condition).toBe(GcpArchiveStack.onlyServiceAgentsHoldRoles(GCP_ARCHIVE.number));
    // Every binding but roles/owner (the authoritative binding's: a fresh project's creator is an
    // owner until the first apply ends) must name only agents; no bindings at all passes.
    expect(condition).toMatch(/^\$\{alltrue\(\[for b in lookup\(jsondecode\(self\.policy_data\), "bindings", \[\]\) : b\.role == "roles\/owner" \|\| alltrue\(\[for m in b\.members : can\(regex\("(.+)", m\)\)\]\)\]\)\}$/);
    const agent = new RegExp(/regex\("(.+)", m\)/.exec(condition)![1]);
    const n = GCP_ARCHIVE.number;
    for (const ok of [`serviceAccount:service-${n}@gcp-sa-logging.iam.gserviceaccount.com`, `serviceAccount:service-${n}@gs-project-accounts.iam.gserviceaccount.com`, `serviceAccount:${n}@cloudservices.gserviceaccount.com`]) {
      expect(ok).toMatch(agent);
    }
    for (const bad of [
      GCP_ARCHIVE.breakGlassMember, // break-glass holds roles/owner only
      "user:admin@hipaa-health.example",
      "group:platform@hipaa-health.example",
      `serviceAccount:deployer@${GCP_ARCHIVE.id}.iam.gserviceaccount.com`,
      `serviceAccount:service-${n}@attacker-project.iam.gserviceaccount.com`, // a user-managed account named like an agent
      `serviceAccount:service-${GCP_PROJECTS.production.number}@gcp-sa-logging.iam.gserviceaccount.com`, // another project's agent
      `serviceAccount:${n}-compute@developer.gserviceaccount.com`, // a user-managed default account, not an agent
      `deleted:serviceAccount:service-${n}@gcp-sa-logging.iam.gserviceaccount.com?uid=1`,
      `serviceAccount:service-${n}@gcp-sa-logging.iam.gserviceaccount.com.evil`,
    ]) {
      expect(bad).not.toMatch(agent);
    }
    expect(error_message).toContain(`holds a role in archive project ${GCP_ARCHIVE.id}`);
  });

  test("every bucket and key IAM in the archive is authoritative, with no legacy convenience roles", () => {
    for (const out of archives) {
      for (const t of ["google_storage_bucket_iam_member", "google_storage_bucket_iam_binding", "google_kms_crypto_key_iam_member", "google_kms_crypto_key_iam_binding", "google_kms_key_ring_iam_member", "google_kms_key_ring_iam_binding", "google_kms_key_ring_iam_policy"]) {
        expect(resourcesOf(out, t)).toEqual({});
      }
      const buckets = Object.values(resourcesOf(out, "google_storage_bucket")).map((b) => b.name);
      const policies = bucketPolicies(out);
      expect([...policies.keys()].sort()).toEqual([...buckets].sort());
      for (const [, bindings] of policies) {
        for (const b of bindings) {
          expect(b.role).toMatch(/^roles\/storage\.(objectCreator|objectViewer)$/);
          for (const m of b.members) expect(m).not.toMatch(/^project(Editor|Owner|Viewer):/);
        }
      }
      // One key policy per key: the archive's Cloud Storage service agent alone may use it.
      const keys = Object.keys(resourcesOf(out, "google_kms_crypto_key"));
      const keyPolicies = Object.values(resourcesOf(out, "google_kms_crypto_key_iam_policy"));
      expect(keyPolicies).toHaveLength(keys.length);
      const agent = Object.entries(out.tf.data!.google_storage_project_service_account as Record<string, any>);
      expect(agent.map(([, a]) => a.project)).toEqual(agent.map(() => GCP_ARCHIVE.id));
      for (const kp of keyPolicies) {
        const data = (out.tf.data!.google_iam_policy as Record<string, any>)[/data\.google_iam_policy\.([^.]+)\./.exec(kp.policy_data)![1]];
        expect(data.binding).toHaveLength(1);
        expect(data.binding[0].role).toBe("roles/cloudkms.cryptoKeyEncrypterDecrypter");
        expect(data.binding[0].members).toHaveLength(1);
        expect(data.binding[0].members[0]).toMatch(/^serviceAccount:\$\{data\.google_storage_project_service_account\.[^.]+\.email_address\}$/);
      }
      // CMEK needs the agent's grant first.
      for (const b of Object.values(resourcesOf(out, "google_storage_bucket"))) expect(b.depends_on.some((d: string) => d.startsWith("google_kms_crypto_key_iam_policy."))).toBe(true);
    }
  });

  test("archive keys, key rings and buckets carry prevent_destroy; buckets are locked six years, CMEK, uniform, never public", () => {
    for (const out of archives) {
      for (const t of ["google_kms_key_ring", "google_kms_crypto_key", "google_storage_bucket"]) {
        const rs = Object.values(resourcesOf(out, t));
        expect(rs.length).toBeGreaterThan(0);
        for (const r of rs) expect(r.lifecycle).toEqual({ prevent_destroy: true });
      }
      for (const b of Object.values(resourcesOf(out, "google_storage_bucket"))) {
        expect(b).toMatchObject({ project: GCP_ARCHIVE.id, uniform_bucket_level_access: true, public_access_prevention: "enforced", force_destroy: false, retention_policy: { is_locked: true, retention_period: 189_216_000 } });
        expect(b.encryption.default_kms_key_name).toMatch(/^\$\{google_kms_crypto_key\./);
      }
      for (const r of Object.values(resourcesOf(out, "google_kms_key_ring"))) expect(r.project).toBe(GCP_ARCHIVE.id);
    }
  });

  test("no environment-project principal holds anything but create-only on archive buckets; evidence writers only under their prefix", () => {
    let seen = 0;
    for (const out of archives) {
      for (const [bucket, bindings] of bucketPolicies(out)) {
        for (const b of bindings) {
          for (const m of b.members.filter(envPrincipal)) {
            seen++;
            expect(b.role).toBe("roles/storage.objectCreator");
            // Sink writers (Cloud Logging agents) write the audit-log buckets' fixed layout; every
            // other writer is confined to its prefix.
            if (!m.includes("@gcp-sa-logging.")) expect(b.condition?.expression).toMatch(new RegExp(`^resource\\.name\\.startsWith\\("projects/_/buckets/${bucket}/objects/compliance-platform/(dev|staging|validation|production)/"\\)$`));
          }
        }
      }
    }
    expect(seen).toBe(GCP_ENVIRONMENTS.length * 2);
  });

  test.each(GCP_ENVIRONMENTS.map((e) => e.name))("%s: a sink routes every audit log to a locked archive bucket whose only writer is that sink", (env) => {
    const out = stacks.get(`hipaa-gcp-${env}`)!;
    const bucketName = GcpArchiveStack.auditLogBucketName(GCP_ARCHIVE.id, env);
    expect(bucketName).toContain(GCP_ARCHIVE.id);
    const sinks = Object.values(resourcesOf(out, "google_logging_project_sink"));
    expect(sinks).toEqual([expect.objectContaining({ project: GCP_PROJECTS[env].id, destination: `storage.googleapis.com/${bucketName}`, filter: 'logName:"cloudaudit.googleapis.com"', unique_writer_identity: true })]);
    expect(Object.values(resourcesOf(archive, "google_storage_bucket")).map((b) => b.name)).toContain(bucketName);
    expect(bucketPolicies(archive).get(bucketName)).toEqual([{ role: "roles/storage.objectCreator", members: [GcpArchiveStack.sinkWriterIdentity(GCP_PROJECTS[env].number)] }]);
  });

  test.each(GCP_ENVIRONMENTS.map((e) => e.name))("%s: every evidence write path lands in the archive project", (env) => {
    const out = stacks.get(`hipaa-gcp-${env}`)!;
    const bucketName = GcpEvidenceArchiveStack.evidenceBucketName(GCP_ARCHIVE.id, env);
    expect(bucketName).toContain(GCP_ARCHIVE.id);
    // No evidence bucket, evidence key or bucket grant in the environment project.
    expect(resourcesOf(out, "google_storage_bucket")).toEqual({});
    expect(Object.values(resourcesOf(out, "google_kms_key_ring")).map((r) => r.name)).not.toContain(`hipaa-evidence-${env}`);
    expect(resourcesOf(out, "google_storage_bucket_iam_member")).toEqual({});
    // The layout the README's evidence bundle uses (compliance-platform/production/$CI_PIPELINE_ID/).
    expect(evidencePrefix(env)).toBe(`compliance-platform/${env}/`);
    // The environment's evidence runner service account is exactly the archive bucket's writer.
    const runner = Object.values(resourcesOf(out, "google_service_account")).find((s) => s.account_id === `runner-${env}-evidence`)!;
    expect(runner).toBeDefined();
    const email = `${runner.account_id}@${GCP_PROJECTS[env].id}.iam.gserviceaccount.com`;
    expect(bucketPolicies(evidence).get(bucketName)).toEqual([
      { role: "roles/storage.objectCreator", members: [`serviceAccount:${email}`], condition: expect.objectContaining({ expression: `resource.name.startsWith("projects/_/buckets/${bucketName}/objects/${evidencePrefix(env)}")` }) },
      { role: "roles/storage.objectViewer", members: ["group:hipaa-auditors@hipaa-health.example"] },
    ]);
  });

  test("the archive audits itself: Data Access logs for Cloud KMS, Storage and IAM, into a locked bucket of its own", () => {
    const audits = Object.values(resourcesOf(archive, "google_project_iam_audit_config"));
    expect(audits.map((a) => a.service).sort()).toEqual(["cloudkms.googleapis.com", "iam.googleapis.com", "storage.googleapis.com"]);
    for (const a of audits) expect(a.audit_log_config.map((c: any) => c.log_type).sort()).toEqual(["ADMIN_READ", "DATA_READ", "DATA_WRITE"]);
    const own = GcpArchiveStack.ownAuditLogBucketName(GCP_ARCHIVE.id);
    const [sink] = Object.values(resourcesOf(archive, "google_logging_project_sink"));
    expect(sink).toMatchObject({ project: GCP_ARCHIVE.id, destination: `storage.googleapis.com/${own}`, unique_writer_identity: true });
    expect(sink.filter).toContain('logName:"cloudaudit.googleapis.com" AND NOT (');
    // The writer is the sink's own writer_identity, so the grant follows the sink (the archive's
    // Logging service agent may not exist before the sink does, and IAM refuses an absent agent).
    expect(bucketPolicies(archive).get(own)).toEqual([{ role: "roles/storage.objectCreator", members: ["${google_logging_project_sink.OwnAuditLogsToBucket.writer_identity}"] }]);
    const services = Object.values(resourcesOf(archive, "google_project_service")).map((s) => s.service).sort();
    expect(services).toEqual(["cloudkms.googleapis.com", "cloudresourcemanager.googleapis.com", "logging.googleapis.com", "storage.googleapis.com"]);
  });

  test("the control map's answer to 'can engineers alter the audit log?' names the archive project, break-glass, the sinks and the keys", () => {
    const outdir = mkdtempSync(join(tmpdir(), "gcp-archive-"));
    const app = buildGcpGitlabApp(new App({ outdir }));
    HipaaCompliance.enable(app);
    app.synth();
    const combined = JSON.parse(readFileSync(join(outdir, "control-map.json"), "utf8"));
    const section = (stack: string) => combined.stacks.find((s: any) => s.stack === stack).sections.find((s: any) => s.section === "164.312(b)");
    const answer = JSON.stringify(section("hipaa-gcp-archive").implementedBy);
    expect(answer).toContain("Can engineers alter the audit log? No");
    for (const named of [`archive project ${GCP_ARCHIVE.id}`, GCP_ARCHIVE.breakGlassMember, "hipaa-audit-logs-to-archive", "hipaa-archive-audit-logs", "hipaa-evidence-ENV", "google_logging_project_sink."]) expect(answer).toContain(named);
    for (const s of combined.stacks) expect(s.summary.fail).toBe(0);
    expect(JSON.stringify(section("hipaa-gcp-evidence-archive").implementedBy)).toContain(`Evidence of production is kept in archive project ${GCP_ARCHIVE.id}`);
    expect(JSON.stringify(section("hipaa-gcp-production").implementedBy)).toContain(`Evidence of production is written to bucket ${GcpEvidenceArchiveStack.evidenceBucketName(GCP_ARCHIVE.id, "production")} of archive project ${GCP_ARCHIVE.id}`);
  });

  test("the archives refuse an environment in the archive project, a break-glass that is not one member, no or repeated environments, and foreign writers", () => {
    const app = Testing.app();
    const base = { projectId: "arch", projectNumber: "909090909090", region: "us-central1", breakGlassMember: "group:bg@example.com", environments: [{ environment: production, projectId: "p", projectNumber: "404040404040" }] };
    for (const message of [
      refusal(() => new GcpArchiveStack(app, "a", { ...base, environments: [{ environment: production, projectId: "arch", projectNumber: "909090909090" }] })),
      refusal(() => new GcpArchiveStack(app, "b", { ...base, breakGlassMember: "allUsers" })),
      refusal(() => new GcpArchiveStack(app, "c", { ...base, environments: [] })),
      refusal(() => new GcpEvidenceArchiveStack(app, "d", { ...base, environments: [base.environments[0], base.environments[0]] })),
      refusal(() => new GcpEvidenceArchiveStack(app, "e", { ...base, environments: [{ ...base.environments[0], writers: [{ member: "serviceAccount:w@other.iam.gserviceaccount.com", grantName: "W", prefix: "runner/" }] }] })),
      refusal(() => new GcpEvidenceArchiveStack(app, "f", { ...base, environments: [{ ...base.environments[0], writers: [{ member: "serviceAccount:w@p.iam.gserviceaccount.com", grantName: "W", prefix: "../" }] }] })),
    ]) {
      expect(message).toMatch(/^[^:]+: .+; .+/);
    }
    expect(refusal(() => new GcpArchiveStack(app, "a2", { ...base, environments: [{ environment: production, projectId: "arch", projectNumber: "909090909090" }] }))).toContain('environment "production" is in the archive project arch (45 CFR 164.312(b)); give the archive a project of its own');
    expect(refusal(() => new GcpArchiveStack(app, "b2", { ...base, breakGlassMember: "allUsers" }))).toContain("is not one user, group or service account");
    expect(refusal(() => new GcpArchiveStack(app, "c2", { ...base, environments: [] }))).toContain("holds no environment project");
    expect(refusal(() => new GcpEvidenceArchiveStack(app, "g2", { ...base, environments: [{ ...base.environments[0], projectNumber: "p-404" }] }))).toContain('g2/environments/production: project number "p-404" is not a number; pass the project number');
    expect(refusal(() => new GcpEvidenceArchiveStack(app, "d2", { ...base, environments: [base.environments[0], base.environments[0]] }))).toContain('environment "production" is listed twice');
    expect(refusal(() => new GcpEvidenceArchiveStack(app, "e2", { ...base, environments: [{ ...base.environments[0], writers: [{ member: "serviceAccount:w@other.iam.gserviceaccount.com", grantName: "W", prefix: "runner/" }] }] }))).toContain(
      'is not a service account of environment project p (45 CFR 164.312(a)(1)); pass the environment\'s evidence runner service account',
    );
  });

  test("every archive bucket's name carries the archive project, so two archives built from the same code never claim the same name", () => {
    for (const out of archives) {
      for (const b of Object.values(resourcesOf(out, "google_storage_bucket"))) expect(b.name).toContain(GCP_ARCHIVE.id);
    }
    const names = (projectId: string, legacy?: boolean) => {
      const app = Testing.app();
      const s = new GcpArchiveStack(app, "hipaa-gcp-archive", { projectId, projectNumber: "909090909090", region: "us-central1", breakGlassMember: "group:bg@example.com", legacyUsageLogBucketNames: legacy, environments: [{ environment: production, projectId: "p-prod", projectNumber: "404040404040" }] });
      return Object.values(resourcesOf(synth(s), "google_storage_bucket")).map((b) => b.name).sort();
    };
    const [a, b] = [names("archive-one"), names("archive-two")];
    for (const n of a) expect(b).not.toContain(n);
    expect(a).toContain(GcpArchiveStack.usageLogBucketName("archive-one", "production"));
    expect(a).toContain(GcpArchiveStack.ownUsageLogBucketName("archive-one"));
    // An archive applied before: its retention-locked usage-log buckets keep their names (a new
    // name would replace them; prevent_destroy makes Terraform refuse that plan).
    const legacy = names("archive-one", true);
    expect(legacy).toContain("hipaa-usage-logs-production-7b9e5e7a");
    expect(legacy.filter((n) => n.startsWith("hipaa-usage-logs-audit-self-"))).toHaveLength(1);
    expect(legacy.filter((n) => !n.startsWith("hipaa-usage-logs"))).toEqual(a.filter((n) => !n.startsWith("hipaa-usage-logs") && !n.startsWith("hipaa-aud-usage")));
  });

  test("snapshots of both archive stacks (addresses of locked buckets and keys must never change)", () => {
    expect(archive.json).toMatchSnapshot();
    expect(evidence.json).toMatchSnapshot();
  });

  test("an archive bucket policy refuses any role beyond create and view", () => {
    const { stack } = gcpStack();
    const policy = new GcsBucketIamPolicy(stack, "P", { bucketName: "b-1" });
    expect(refusal(() => policy.grantService("roles/storage.admin", "group:ops@example.com"))).toContain("role roles/storage.admin on bucket b-1 would let group:ops@example.com do more than create or view objects (45 CFR 164.312(b))");
    const bucket = () => new GcsEvidenceBucket(stack, "B", { environment: production, projectId: "arch", location: "us-central1", kmsKeyId: "projects/a/locations/us-central1/keyRings/r/cryptoKeys/k", authoritativeIam: true });
    expect(refusal(bucket)).toContain("names a key created elsewhere, whose other grants it would remove (45 CFR 164.312(a)(1)); leave kmsKeyId unset");
  });
});

describe("GCP environment stack writing evidence to the archive", () => {
  const archived = (environment = production) => ({ environment, projectId: "arch", bucketName: GcpEvidenceArchiveStack.evidenceBucketName("arch", environment.name) });
  const props = { environment: production, projectId: "hipaa-health-prod", projectNumber: "404040404040", region: "us-central1" };

  test("keepLocalEvidenceBucket keeps the environment's evidence bucket and key at their addresses", () => {
    const addresses = (out: SynthResult) =>
      ["google_storage_bucket", "google_kms_key_ring", "google_kms_crypto_key", "google_kms_crypto_key_iam_member"].flatMap((t) => Object.keys(resourcesOf(out, t)).map((id) => `${t}.${id}`)).filter((a) => !a.includes("SigningKey"));
    const before = synth(new GcpEnvironmentStack(Testing.app(), "hipaa-gcp-production", props));
    const kept = synth(new GcpEnvironmentStack(Testing.app(), "hipaa-gcp-production", { ...props, evidenceArchive: { bucket: archived(), keepLocalEvidenceBucket: true } }));
    expect(addresses(before).length).toBeGreaterThan(0);
    expect(addresses(kept)).toEqual(addresses(before));
    for (const [id, b] of Object.entries(resourcesOf(kept, "google_storage_bucket"))) expect(b).toEqual(resourcesOf(before, "google_storage_bucket")[id]);
    const moved = synth(new GcpEnvironmentStack(Testing.app(), "hipaa-gcp-production", { ...props, evidenceArchive: { bucket: archived() } }));
    expect(addresses(moved)).toEqual([]);
  });

  test("refuses evidence options, another environment's bucket and an archive in its own project", () => {
    const app = Testing.app();
    expect(refusal(() => new GcpEnvironmentStack(app, "a", { ...props, evidence: { transitions: [] }, evidenceArchive: { bucket: archived() } }))).toContain("evidence options were given, but the evidence bucket lives in the archive project; set evidence options on GcpEvidenceArchiveStack");
    expect(refusal(() => new GcpEnvironmentStack(app, "b", { ...props, evidenceArchive: { bucket: archived(dev) } }))).toContain('the archive bucket is for environment "dev" (45 CFR 164.312(a)(1))');
    expect(refusal(() => new GcpEnvironmentStack(app, "c", { ...props, evidenceArchive: { bucket: { ...archived(), projectId: props.projectId } } }))).toContain("the archive project is this environment's own project hipaa-health-prod, whose administrators could re-policy the bucket and destroy its key (45 CFR 164.312(b))");
  });
});

describe("HipaaSubstrate's GCP path with an archive project", () => {
  const projects = Object.fromEntries(REFERENCE_ENVIRONMENTS.map((e, i) => [e.name, { id: `hipaa-health-${e.name}`, number: `${i + 1}0000000000` }]));
  const archiveProject = { projectId: "hipaa-health-archive", projectNumber: "990000000000", breakGlassMember: "group:break-glass@hipaa-health.example" };
  const config = (archive?: Partial<typeof archiveProject> & { keepEnvironmentEvidenceBuckets?: string[]; legacyUsageLogBucketNames?: boolean }): HipaaSubstrateConfig => ({
    ...REFERENCE_GITHUB,
    environments: REFERENCE_ENVIRONMENTS,
    repositories: REFERENCE_REPOSITORIES,
    gcp: { region: "us-central1", projects, auditorMembers: ["group:auditors@hipaa-health.example"], archive: archive ? { ...archiveProject, ...archive } : undefined },
  });

  test("the archive stacks hold every environment's evidence and audit logs; the environment stacks route into them", () => {
    const app = Testing.app();
    const substrate = new HipaaSubstrate(app, "clinical", config({}));
    const all = synthAll(app);
    expect([...all.keys()]).toEqual(["clinical-github", "clinical-gcp-archive", ...REFERENCE_ENVIRONMENTS.map((e) => `clinical-gcp-${e.name}`), "clinical-gcp-evidence-archive"]);
    expect(substrate.gcpArchive!.node.id).toBe("clinical-gcp-archive");
    const evidence = all.get("clinical-gcp-evidence-archive")!;
    for (const e of REFERENCE_ENVIRONMENTS) {
      const out = all.get(`clinical-gcp-${e.name}`)!;
      expect(resourcesOf(out, "google_storage_bucket")).toEqual({});
      expect(Object.values(resourcesOf(out, "google_logging_project_sink"))[0].destination).toBe(`storage.googleapis.com/${GcpArchiveStack.auditLogBucketName(archiveProject.projectId, e.name)}`);
      const bucket = Object.values(resourcesOf(evidence, "google_storage_bucket")).find((b) => b.name === GcpEvidenceArchiveStack.evidenceBucketName(archiveProject.projectId, e.name))!;
      expect(bucket).toMatchObject({ project: archiveProject.projectId, retention_policy: { is_locked: true } });
    }
    // No evidence runner pool on this path: the archive grants auditors view, and nobody create.
    const policies = Object.values(evidence.tf.data!.google_iam_policy as Record<string, any>).filter((p) => p.binding.some((b: any) => b.role === "roles/storage.objectViewer"));
    expect(policies).toHaveLength(REFERENCE_ENVIRONMENTS.length);
    for (const p of policies) expect(p.binding).toEqual([{ role: "roles/storage.objectViewer", members: ["group:auditors@hipaa-health.example"] }]);
  });

  test("keepEnvironmentEvidenceBuckets keeps an applied environment's bucket and key at their addresses", () => {
    const addresses = (app: App, env: string) => {
      const out = synthAll(app).get(`clinical-gcp-${env}`)!;
      return ["google_storage_bucket", "google_kms_key_ring", "google_kms_crypto_key"].flatMap((t) => Object.keys(resourcesOf(out, t)).map((id) => `${t}.${id}`));
    };
    const before = Testing.app();
    new HipaaSubstrate(before, "clinical", config());
    const kept = Testing.app();
    new HipaaSubstrate(kept, "clinical", config({ keepEnvironmentEvidenceBuckets: ["production"] }));
    expect(addresses(kept, "production")).toEqual(addresses(before, "production"));
    expect(addresses(kept, "dev").filter((a) => a.startsWith("google_storage_bucket."))).toEqual([]);
  });

  test("legacyUsageLogBucketNames keeps an applied archive's usage-log bucket names (retention-locked buckets are never renamed)", () => {
    const names = (legacy?: boolean) => {
      const app = Testing.app();
      new HipaaSubstrate(app, "clinical", config(legacy === undefined ? {} : { legacyUsageLogBucketNames: legacy }));
      return Object.values(resourcesOf(synthAll(app).get("clinical-gcp-archive")!, "google_storage_bucket")).map((b) => b.name);
    };
    expect(names()).toContain(GcpArchiveStack.usageLogBucketName(archiveProject.projectId, "production"));
    const legacy = names(true);
    expect(legacy).not.toContain(GcpArchiveStack.usageLogBucketName(archiveProject.projectId, "production"));
    expect(legacy.filter((n) => /^hipaa-usage-logs-production-[0-9a-f]{8}$/.test(n))).toHaveLength(1);
  });

  test("refuses an unknown environment to keep and an archive that is an environment's project", () => {
    expect(refusal(() => new HipaaSubstrate(Testing.app(), "clinical", config({ keepEnvironmentEvidenceBuckets: ["qa"] })))).toContain('clinical/gcp/archive/keepEnvironmentEvidenceBuckets: "qa" is not an environment; use one of');
    expect(refusal(() => new HipaaSubstrate(Testing.app(), "clinical", config({ projectId: projects.production.id })))).toContain(`is in the archive project ${projects.production.id} (45 CFR 164.312(b))`);
  });
});
