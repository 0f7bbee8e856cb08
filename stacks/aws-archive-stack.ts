import { Construct } from "constructs";
import { S3Backend, TerraformOutput, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { HipaaConfigError } from "../src/errors";
import { Cfr, recordControl } from "../src/compliance";
import { Environment } from "../src/model";
import { stableSuffix } from "../src/naming";
import { AccessLogBucket } from "../constructs/aws/access-log-bucket";
import { AuditTrail } from "../constructs/aws/audit-trail";
import { EvidenceAuditorRole } from "../constructs/aws/evidence-auditor-role";
import { EvidenceBucket } from "../constructs/aws/evidence-bucket";
import { EvidenceReplica } from "../constructs/aws/evidence-replica";
import { KeyCustody, lookUpBreakGlassRole, validateBreakGlassRoleArn } from "../constructs/aws/key-custody";
import { ALARM_TAMPERING_EVENTS, AUDIT_TAMPERING_EVENTS, globalEventsRegion, MANAGED_POLICY_EVENTS, SecurityAlerts } from "../constructs/aws/security-alerts";
import { TrailBucket } from "../constructs/aws/trail-bucket";
import { assertAccountId, AwsStateBackend } from "./aws-environment-stack";

/** One environment whose evidence the archive holds. */
export interface ArchivedEnvironment {
  readonly environment: Environment;
  /** The environment's AWS account (its CI roles and trail live there). */
  readonly accountId: string;
  /** The environment account's roles that write evidence, by exact ARN, with the key prefix each is confined to. */
  readonly writers: readonly { readonly roleArn: string; readonly grantName: string; readonly prefix?: string; readonly anyRepository?: boolean }[];
  /** Roles of the people who audit this environment's evidence. @default - none */
  readonly auditorPrincipalArns?: readonly string[];
}

export interface AwsArchiveStackProps {
  /** The substrate's id (names and hashes derive from it). */
  readonly substrateId: string;
  /** The archive account (12 digits), distinct from every environment's. */
  readonly accountId: string;
  readonly region: string;
  /** Break-glass: the only role that may destroy, disable or re-policy the archive's keys, or end a log trail. */
  readonly custody: KeyCustody;
  readonly environments: readonly ArchivedEnvironment[];
  /** @default - local state */
  readonly stateBackend?: AwsStateBackend;
  /**
   * Replicate every evidence bucket to a second COMPLIANCE-locked bucket in this region of the
   * archive account (EvidenceReplica).
   * @default - no replica
   */
  readonly replicaRegion?: string;
  /**
   * Who reads the archive's alerts (break-glass use, tampering in the archive, every event the
   * environment accounts forward): `https://` endpoints or email addresses, subscribed to the
   * alert topic in code. At least one: a topic nobody reads is no alerting at all.
   */
  readonly alertSubscribers: readonly string[];
}

/**
 * The evidence archive: one AWS account, which the environments' pipelines and administrators
 * cannot alter, holding every environment's evidence bucket, access-log bucket and evidence key,
 * the trail bucket every account's CloudTrail delivers to, the archive's own trail, and the
 * alerts on key, bucket and trail tampering and on break-glass use. Environment CI roles write
 * cross-account, put-only; every key and every protection of a log is in break-glass custody.
 *
 * Apply it first: the environment stacks' trails need the trail bucket and its policy, and their
 * writers need the buckets. Its policies name environment roles by account plus an
 * `aws:PrincipalArn` condition, so they do not need those roles to exist yet.
 */
export class AwsArchiveStack extends TerraformStack {
  /** `hipaa-evidence-ENV-ACCOUNT-<8 hex>`: the account makes a name squatted elsewhere visibly not ours, the hash makes it unguessable without the substrate id. */
  public static evidenceBucketName(substrateId: string, env: string, accountId: string): string {
    return `hipaa-evidence-${env.slice(0, 26)}-${accountId}-${stableSuffix(`${substrateId}/${env}/${accountId}/evidence`)}`;
  }
  public static trailBucketName(substrateId: string, accountId: string): string {
    return `hipaa-trail-${accountId}-${stableSuffix(`${substrateId}/${accountId}/trail`)}`;
  }
  public static replicaBucketName(substrateId: string, env: string, accountId: string): string {
    return `hipaa-replica-${env.slice(0, 26)}-${accountId}-${stableSuffix(`${substrateId}/${env}/${accountId}/replica`)}`;
  }
  public static trailKeyAliasName(substrateId: string): string {
    return `alias/hipaa-trail-${substrateId}`;
  }
  public static trailName(substrateId: string, env: string): string {
    return `hipaa-${substrateId}-${env}-audit`.slice(0, 128);
  }
  /** The ARN of environment `env`'s trail (home region `region`, account `accountId`). */
  public static trailArnOf(partition: string, region: string, accountId: string, substrateId: string, env: string): string {
    return `arn:${partition}:cloudtrail:${region}:${accountId}:trail/${AwsArchiveStack.trailName(substrateId, env)}`;
  }
  /** The archive account's default event bus, where environment accounts forward their security events. */
  public static securityEventBusArn(partition: string, region: string, accountId: string): string {
    return `arn:${partition}:events:${region}:${accountId}:event-bus/default`;
  }

  public readonly evidenceBuckets: ReadonlyMap<string, EvidenceBucket>;
  public readonly trailBucket: TrailBucket;
  public readonly trail: AuditTrail;
  public readonly alerts: SecurityAlerts;
  public readonly auditorRoles: ReadonlyMap<string, EvidenceAuditorRole>;
  public readonly replicas: ReadonlyMap<string, EvidenceReplica>;

  constructor(scope: Construct, id: string, props: AwsArchiveStackProps) {
    super(scope, id);
    const path = this.node.path;
    assertAccountId(`${path}/accountId`, props.accountId);
    const breakGlass = validateBreakGlassRoleArn(`${path}/breakGlassRoleArn`, props.custody);
    if (!breakGlass.includes(`::${props.accountId}:`)) {
      throw new HipaaConfigError({
        path: `${path}/breakGlassRoleArn`,
        problem: `break-glass role ${breakGlass} is not in the archive account ${props.accountId}`,
        cfr: Cfr.AUDIT_CONTROLS,
        fix: "create the break-glass role in the archive account, so custody stays outside every environment account",
      });
    }
    for (const e of props.environments) {
      assertAccountId(`${path}/environments/${e.environment.name}`, e.accountId);
      if (e.accountId === props.accountId) {
        throw new HipaaConfigError({
          path: `${path}/environments/${e.environment.name}`,
          problem: `environment "${e.environment.name}" is in the archive account ${props.accountId}, so its administrators would administer the archive`,
          cfr: Cfr.AUDIT_CONTROLS,
          fix: "give the archive an account of its own",
        });
      }
    }
    if (props.stateBackend) {
      new S3Backend(this, {
        bucket: props.stateBackend.bucket,
        key: props.stateBackend.key ?? `${id}/terraform.tfstate`,
        region: props.stateBackend.region ?? props.region,
        encrypt: true,
        kmsKeyId: props.stateBackend.kmsKeyArn,
        allowedAccountIds: [props.accountId],
      }).addOverride("use_lockfile", true);
    }
    new AwsProvider(this, "aws", {
      region: props.region,
      allowedAccountIds: [props.accountId],
      defaultTags: [{ tags: { HipaaArchive: props.substrateId, ManagedBy: "cdktf-hipaa-substrate" } }],
    });
    if (!props.alertSubscribers || props.alertSubscribers.length === 0) {
      throw new HipaaConfigError({
        path: `${path}/alertSubscribers`,
        problem: "no alert subscriber is given, so break-glass use and tampering with the evidence, its keys or the trails would alert nobody",
        cfr: Cfr.ACTIVITY_REVIEW,
        fix: "pass alertSubscribers: [\"https://...\" (the security team's paging or chat webhook) or \"security@example.com\"]",
      });
    }
    // Pinned to the break-glass role's unique id as well as its ARN: a role deleted and re-created
    // under the same name (by whoever administers IAM in the archive account) matches the ARN again.
    const custody = lookUpBreakGlassRole(this, "BreakGlassRole", props.custody);
    const partition = breakGlass.split(":")[1];
    const archiveEnv = props.environments[0]?.environment;
    if (!archiveEnv) {
      throw new HipaaConfigError({ path, problem: "the archive holds no environment", fix: "list the environments whose evidence the archive keeps" });
    }

    this.trailBucket = new TrailBucket(this, "TrailBucket", {
      bucketName: AwsArchiveStack.trailBucketName(props.substrateId, props.accountId),
      keyAliasName: AwsArchiveStack.trailKeyAliasName(props.substrateId),
      custody,
      environment: archiveEnv,
      // It holds every environment's trail logs: an archive resource, not the first environment's.
      archive: props.substrateId,
    });

    if (props.replicaRegion !== undefined && (props.replicaRegion === props.region || !/^[a-z]{2}(-gov)?-[a-z]+-\d$/.test(props.replicaRegion))) {
      throw new HipaaConfigError({ path: `${path}/replicaRegion`, problem: `replica region ${JSON.stringify(props.replicaRegion)} is not another AWS region than ${props.region}`, fix: "pass a second region, e.g. us-west-2" });
    }
    const replicaProvider = props.replicaRegion
      ? new AwsProvider(this, "replica", { alias: "replica", region: props.replicaRegion, allowedAccountIds: [props.accountId], defaultTags: [{ tags: { HipaaArchive: props.substrateId, ManagedBy: "cdktf-hipaa-substrate" } }] })
      : undefined;
    const replicas = new Map<string, EvidenceReplica>();
    const buckets = new Map<string, EvidenceBucket>();
    const auditors = new Map<string, EvidenceAuditorRole>();
    for (const e of props.environments) {
      const env = e.environment.name;
      const name = AwsArchiveStack.evidenceBucketName(props.substrateId, env, props.accountId);
      // Construct ids derive from environment names, never positions.
      const logs = new AccessLogBucket(this, `EvidenceAccessLogs-${env}`, { environment: e.environment, bucketName: name.replace(/^hipaa-evidence-/, "hipaa-evlogs-"), custody });
      const bucket = new EvidenceBucket(this, `Evidence-${env}`, { environment: e.environment, bucketName: name, accessLogBucket: logs, custody });
      for (const w of e.writers) bucket.grantWriteFromAccount({ roleArn: w.roleArn, grantName: w.grantName }, { prefix: w.prefix, anyRepository: w.anyRepository });
      buckets.set(env, bucket);
      if (replicaProvider) {
        replicas.set(
          env,
          new EvidenceReplica(this, `EvidenceReplica-${env}`, {
            source: bucket,
            replicaProvider,
            replicaRegion: props.replicaRegion!,
            bucketName: AwsArchiveStack.replicaBucketName(props.substrateId, env, props.accountId),
            custody,
          }),
        );
      }
      this.trailBucket.allowTrail(e.accountId, AwsArchiveStack.trailArnOf(partition, props.region, e.accountId, props.substrateId, env));
      if (e.auditorPrincipalArns && e.auditorPrincipalArns.length > 0) {
        const auditor = new EvidenceAuditorRole(this, `EvidenceAuditor-${env}`, { bucket, auditorPrincipalArns: e.auditorPrincipalArns, roleName: `hipaa-${env}-evidence-auditor` });
        // This environment's account's trail logs only: another environment's calls are not its auditors' to read.
        this.trailBucket.grantRead(auditor.roleArn, { accountId: e.accountId, trailArn: AwsArchiveStack.trailArnOf(partition, props.region, e.accountId, props.substrateId, env) });
        auditors.set(env, auditor);
      }
    }
    this.evidenceBuckets = buckets;
    this.auditorRoles = auditors;
    this.replicas = replicas;

    // The archive account's own trail: every call on the archive's keys and buckets, whoever
    // makes it (environment writers included), and the break-glass assumptions the alerts read.
    const archiveTrailName = AwsArchiveStack.trailName(props.substrateId, "archive");
    this.trailBucket.allowTrail(props.accountId, `arn:${partition}:cloudtrail:${props.region}:${props.accountId}:trail/${archiveTrailName}`, { crossAccount: false });
    this.trail = new AuditTrail(this, "AuditTrail", {
      trailName: archiveTrailName,
      bucketName: AwsArchiveStack.trailBucketName(props.substrateId, props.accountId),
      // The key itself, not its alias: CloudTrail stores the key ARN (an alias plans a change on
      // every run) and a trail naming an alias would follow it if it were re-pointed.
      kmsKeyArn: this.trailBucket.key.arn,
      // Every access to the evidence and its replicas: the replicas' access record (they have no
      // server access logs: a log target must be in the replica's region and is not built here).
      evidenceBucketArns: [...buckets.values()].map((b) => b.bucketArn).concat([...replicas.values()].map((r) => r.bucket.arn)),
      dependsOn: [this.trailBucket.policy, this.trailBucket.key],
    });

    this.alerts = new SecurityAlerts(this, "SecurityAlerts", { topicName: `hipaa-${props.substrateId}-archive-alerts`, custody, subscribers: props.alertSubscribers });
    // The archive's own rules match the archive's own events only: the bus also receives the
    // environments' forwarded events, which EnvironmentSecurityEvents alerts on once.
    const own = props.accountId;
    this.alerts.alertOnRoleAssumed("BreakGlassAssumed", breakGlass, own);
    this.alerts.alertOnRoleChanges("GuardedRolesChanged", [breakGlass.split("/").pop()!], own);
    this.alerts.alertOn("KeyCustodyChanged", "A KMS key's policy or alias was changed, or the key was disabled or scheduled for deletion", AUDIT_TAMPERING_EVENTS.keyCustody, own);
    this.alerts.alertOn("BucketProtectionChanged", "A bucket's policy, access logging, lifecycle, encryption, versioning or lock was changed", AUDIT_TAMPERING_EVENTS.bucketProtection, own);
    this.alerts.alertOn("TrailChanged", "A CloudTrail trail was stopped, deleted or narrowed", AUDIT_TAMPERING_EVENTS.trail, own);
    this.alerts.alertOn("AlertRulesChanged", "An EventBridge rule or target (an alert's or a forwarder's) was changed, disabled or deleted", AUDIT_TAMPERING_EVENTS.alertRules, own);
    this.alerts.alertOn("AlertTopicsChanged", "An alert topic, its policy or a subscription was changed or deleted", AUDIT_TAMPERING_EVENTS.alertTopics, own);
    // The heartbeat alarms are the only sign of an environment gone silent: silencing one is tampering too.
    this.alerts.alertOn("AlarmsChanged", "A CloudWatch alarm (a heartbeat alarm among them) was deleted, rewritten, had its actions disabled or its state set by hand", ALARM_TAMPERING_EVENTS, own);
    // Before watchGlobalRegion, so a home region other than us-east-1 mirrors it there (IAM delivers in us-east-1).
    this.alerts.alertOn("ManagedPoliciesChanged", "A customer-managed IAM policy got a new or different default version (one attached to the break-glass role would widen it unseen by GuardedRolesChanged)", MANAGED_POLICY_EVENTS, own);
    const global = globalEventsRegion(props.region);
    if (global && global !== props.region) {
      this.alerts.watchGlobalRegion(global, AwsArchiveStack.securityEventBusArn(partition, props.region, props.accountId), `hipaa-${props.substrateId}-archive-global-events`.slice(0, 64));
    }
    this.alerts.admitForwardedEvents(
      props.environments.map((e) => ({ accountId: e.accountId, forwarderRoleArn: `arn:${partition}:iam::${e.accountId}:role/${SecurityAlerts.forwarderRoleName(e.environment.name)}` })),
    );
    // Each environment's heartbeat (its forwarder role, every 5 minutes, environment stacks in
    // this stack's region): an environment gone silent alarms instead of looking quiet.
    this.alerts.expectHeartbeats(
      `hipaa-${props.substrateId}`,
      props.environments.map((e) => ({ id: e.environment.name, accountId: e.accountId, ruleArn: `arn:${partition}:events:${props.region}:${e.accountId}:rule/${SecurityAlerts.heartbeatRuleName(e.environment.name)}` })),
    );

    const trailNames = [...props.environments.map((e) => `${AwsArchiveStack.trailName(props.substrateId, e.environment.name)} (account ${e.accountId})`), `${archiveTrailName} (archive)`];
    // A webhook URL often carries its secret in the path: the control map names the host only.
    const subscribers = props.alertSubscribers.map((s) => (s.startsWith("https://") ? `https://${s.slice(8).split("/")[0]}/...` : s));
    recordControl(this.trailBucket, {
      section: Cfr.AUDIT_CONTROLS,
      resources: [this.trail.trail, ...this.alerts.rules],
      how: `Can engineers alter the audit log? No: evidence, its keys and every account's CloudTrail logs live in archive account ${props.accountId}, which no environment's administrators or pipelines administer; environment CI roles can only put new objects; Object Lock (COMPLIANCE) stops deletion and overwrites for everyone; only break-glass role ${breakGlass} (pinned by ARN and by the role's unique id, so a re-created role of the same name is not break-glass) may destroy, disable, re-policy or re-alias a key or change a bucket's logging, lifecycle or encryption; every assumption of it, every such change and every trail stop, in the archive or (forwarded to the archive's bus by each environment account ${props.environments.map((e) => e.accountId).join(", ")}) in an environment, alerts through ${`hipaa-${props.substrateId}-archive-alerts`}, to which ${subscribers.join(", ")} ${subscribers.length === 1 ? "is" : "are"} subscribed in code. The trails are ${trailNames.join(", ")}, each multi-region with log-file validation, delivering into the Object-Locked trail bucket ${AwsArchiveStack.trailBucketName(props.substrateId, props.accountId)}. Environment auditors read only their own account's trail logs.`,
    });

    new TerraformOutput(this, "alert_topic_arn", { value: this.alerts.topic.arn, description: "The archive's alert topic (subscribers in alertSubscribers must confirm their subscription)" });
    new TerraformOutput(this, "trail_bucket", { value: this.trailBucket.bucketName });
    for (const [env, bucket] of buckets) {
      new TerraformOutput(this, `evidence_bucket_${env.replace(/[^A-Za-z0-9_]/g, "_")}`, { value: bucket.bucketName });
      new TerraformOutput(this, `evidence_key_${env.replace(/[^A-Za-z0-9_]/g, "_")}`, { value: bucket.encryptionKeyArn, description: "Writers may name it in x-amz-server-side-encryption-aws-kms-key-id" });
    }
  }
}
