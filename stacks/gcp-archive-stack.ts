import { Construct } from "constructs";
import { dependable, TerraformOutput, TerraformResource, TerraformStack } from "cdktf";
import { GoogleProvider } from "@cdktf/provider-google/lib/provider";
import { LoggingProjectSink } from "@cdktf/provider-google/lib/logging-project-sink";
import { ProjectIamAuditConfig } from "@cdktf/provider-google/lib/project-iam-audit-config";
import { ProjectIamBinding } from "@cdktf/provider-google/lib/project-iam-binding";
import { DataGoogleProjectIamPolicy } from "@cdktf/provider-google/lib/data-google-project-iam-policy";
import { HipaaConfigError } from "../src/errors";
import { Cfr, HipaaCompliance, recordControl } from "../src/compliance";
import { Environment, EnvironmentTier } from "../src/model";
import { uniqueResourceName } from "../src/naming";
import { GcsEvidenceBucket, GcsEvidenceBucketProps } from "../constructs/gcp/gcs-evidence-bucket";
import { GcpPrincipal } from "../constructs/gcp/principal";
import { GcpProjectServices } from "../constructs/gcp/project-services";

/** One environment project whose audit logs the archive keeps. */
export interface GcpArchivedProject {
  readonly environment: Environment;
  readonly projectId: string;
  /** Its number: the project's Cloud Logging service agent, which writes for its sinks, is named by it. */
  readonly projectNumber: string;
}

export interface GcpArchiveStackProps {
  /** The archive project, distinct from every environment's. */
  readonly projectId: string;
  readonly projectNumber: string;
  readonly region: string;
  /**
   * The break-glass member (`user:`, `group:` or `serviceAccount:`), made the archive project's
   * only owner (`roles/owner` binding, authoritative for that role): nobody else can remove the
   * buckets' IAM or schedule the destruction of their keys' versions.
   */
  readonly breakGlassMember: string;
  readonly environments: readonly GcpArchivedProject[];
  /**
   * Enable the APIs the archive uses (Cloud Storage, Cloud KMS, Cloud Logging, Resource Manager;
   * never disabled on destroy). Turn off only when a central team enables them.
   * @default true
   */
  readonly manageProjectServices?: boolean;
  /**
   * Keep the usage-log bucket names of an archive applied before they carried the archive
   * project (`hipaa-usage-logs-ENV-<hash of the construct path>`,
   * `hipaa-usage-logs-audit-self-<hash>`). Those buckets are retention-locked and
   * `prevent_destroy`: a new name would replace them, which Terraform refuses at plan.
   * @default false - names carry the archive project (usageLogBucketName, ownUsageLogBucketName)
   */
  readonly legacyUsageLogBucketNames?: boolean;
}

/** The services the archive project calls. */
export const GCP_ARCHIVE_SERVICES = ["cloudkms.googleapis.com", "cloudresourcemanager.googleapis.com", "logging.googleapis.com", "storage.googleapis.com"] as const;

/** Data Access audit logs the archive keeps of itself and of each environment project. */
const AUDITED_SERVICES = ["cloudkms.googleapis.com", "iam.googleapis.com", "storage.googleapis.com"] as const;
const ALL_DATA_ACCESS = [{ logType: "ADMIN_READ" }, { logType: "DATA_READ" }, { logType: "DATA_WRITE" }];

/** The checks both archive stacks make of their environment projects. */
function validateArchivedProjects(path: string, archiveProjectId: string, archiveProjectNumber: string, environments: readonly GcpArchivedProject[]): void {
  if (environments.length === 0) {
    throw new HipaaConfigError({ path, problem: "the archive holds no environment project", fix: "list the environment projects whose audit logs it keeps" });
  }
  const seen = new Set<string>();
  for (const e of environments) {
    if (seen.has(e.environment.name)) {
      throw new HipaaConfigError({ path: `${path}/environments/${e.environment.name}`, problem: `environment "${e.environment.name}" is listed twice`, fix: "list each environment project once" });
    }
    seen.add(e.environment.name);
    if (e.projectId === archiveProjectId || e.projectNumber === archiveProjectNumber) {
      throw new HipaaConfigError({ path: `${path}/environments/${e.environment.name}`, problem: `environment "${e.environment.name}" is in the archive project ${archiveProjectId}`, cfr: Cfr.AUDIT_CONTROLS, fix: "give the archive a project of its own" });
    }
    if (!/^\d{6,20}$/.test(e.projectNumber)) {
      throw new HipaaConfigError({ path: `${path}/environments/${e.environment.name}`, problem: `project number ${JSON.stringify(e.projectNumber)} is not a number`, fix: "pass the project number (gcloud projects describe P --format='value(projectNumber)')" });
    }
  }
}

/**
 * The GCP audit archive: one project, owned only by break-glass, holding a Bucket-Locked (six
 * years, CMEK) bucket per environment project into which that project's audit-log sink
 * (GcpEnvironmentStackProps.auditLogArchive) writes Admin Activity, Data Access (Cloud KMS,
 * Storage, IAM), System Event and Policy Denied logs, and one for the archive's own audit logs
 * (Data Access for Cloud KMS, Storage and IAM turned on here too: reading evidence, using or
 * re-policying its keys is recorded). The sinks' writer identities (each project's Cloud Logging
 * service agent) may only create objects; every bucket's and key's IAM policy is authoritative.
 * The environments' evidence buckets live in the same project, in GcpEvidenceArchiveStack.
 *
 * Apply it first, as the break-glass identity (or, once, as a bootstrap owner: the binding that
 * removes every other owner is created last); then the environment stacks; then the evidence
 * archive. No other identity holds a role in the project: any role that could manage the
 * buckets' or keys' IAM (storage.admin, cloudkms.admin) could also destroy a key version and
 * crypto-shred six years of locked evidence. Every plan checks it (`projectRoles`); roles
 * inherited from a folder or the organization are not in the project's policy and go unseen.
 */
export class GcpArchiveStack extends TerraformStack {
  /** The audit-log bucket of one environment: the archive project in the name, a hash of both. */
  public static auditLogBucketName(archiveProjectId: string, env: string): string {
    return uniqueResourceName(["hipaa-audit", env, archiveProjectId], `${archiveProjectId}/${env}/audit`, 63);
  }

  /** The bucket that keeps the archive project's own audit logs. */
  public static ownAuditLogBucketName(archiveProjectId: string): string {
    return uniqueResourceName(["hipaa-audit-self", archiveProjectId], `${archiveProjectId}/archive/audit`, 63);
  }

  /**
   * The usage-log bucket of an environment's audit-log bucket: the archive project in the name
   * and the hash, so two archives built from the same code (same stack and construct ids) do not
   * claim the same global name.
   */
  public static usageLogBucketName(archiveProjectId: string, env: string): string {
    return uniqueResourceName(["hipaa-aud-usage", env, archiveProjectId], `${archiveProjectId}/${env}/audit/logs`, 63);
  }

  /** The usage-log bucket of the archive's own audit-log bucket. */
  public static ownUsageLogBucketName(archiveProjectId: string): string {
    return uniqueResourceName(["hipaa-usage-logs-audit-self", archiveProjectId], `${archiveProjectId}/archive/audit/logs`, 63);
  }

  /** The identity Cloud Logging writes a project's sinks with (`unique_writer_identity`). */
  public static sinkWriterIdentity(projectNumber: string): string {
    return `serviceAccount:service-${projectNumber}@gcp-sa-logging.iam.gserviceaccount.com`;
  }

  /**
   * The Terraform condition that every binding of the archive project's IAM policy but
   * roles/owner names only Google service agents of that project:
   * `service-NUMBER@gcp-sa-SERVICE.iam.gserviceaccount.com`, Cloud Storage's
   * `service-NUMBER@gs-project-accounts.iam.gserviceaccount.com`, and the Google APIs Service
   * Agent `NUMBER@cloudservices.gserviceaccount.com`, which Google grants Editor on projects.
   * The project number pins them to the archive's own agents. Not any
   * `service-NUMBER@*.iam.gserviceaccount.com`: a user-managed account may be named
   * `service-NUMBER` in a project of anyone's. Other (legacy) agents, which the archive's APIs
   * do not use, fail the check: look at them before removing or allowing them. A project
   * created with Compute Engine enabled fails it by design: Google grants the Compute default
   * service account (`NUMBER-compute@developer.gserviceaccount.com`, which anyone with actAs on
   * it can use) roles/editor unless the organization enforces
   * `iam.automaticIamGrantsForDefaultServiceAccounts`; remove that grant. `lookup`, not `try`:
   * a policy that does not parse fails the plan instead of passing it.
   */
  public static onlyServiceAgentsHoldRoles(projectNumber: string): string {
    const agent = `^serviceAccount:(service-${projectNumber}@(gcp-sa-[a-z0-9-]+|gs-project-accounts)[.]iam[.]gserviceaccount[.]com|${projectNumber}@cloudservices[.]gserviceaccount[.]com)$`;
    return `\${alltrue([for b in lookup(jsondecode(self.policy_data), "bindings", []) : b.role == "roles/owner" || alltrue([for m in b.members : can(regex("${agent}", m))])])}`;
  }

  public readonly auditLogBuckets: ReadonlyMap<string, GcsEvidenceBucket>;
  /** The archive project's IAM policy, read at plan with the postcondition onlyServiceAgentsHoldRoles. */
  public readonly projectRoles: DataGoogleProjectIamPolicy;
  /** The archive project's own audit logs. */
  public readonly ownAuditLogBucket: GcsEvidenceBucket;
  public readonly ownAuditLogSink: LoggingProjectSink;
  public readonly owners: ProjectIamBinding;
  public readonly projectServices?: GcpProjectServices;

  constructor(scope: Construct, id: string, props: GcpArchiveStackProps) {
    super(scope, id);
    const path = this.node.path;
    if (!/^(user|group|serviceAccount):[^*\s,]+@[^*\s,]+$/.test(props.breakGlassMember)) {
      throw new HipaaConfigError({ path: `${path}/breakGlassMember`, problem: `breakGlassMember ${JSON.stringify(props.breakGlassMember)} is not one user, group or service account`, cfr: Cfr.AUDIT_CONTROLS, fix: "pass e.g. group:break-glass@example.com" });
    }
    validateArchivedProjects(path, props.projectId, props.projectNumber, props.environments);
    new GoogleProvider(this, "google", { project: props.projectId, region: props.region, defaultLabels: { hipaa_archive: "true", managed_by: "cdktf-hipaa-substrate" } });
    if (props.manageProjectServices !== false) {
      this.projectServices = new GcpProjectServices(this, "ProjectServices", { projectId: props.projectId, services: [...GCP_ARCHIVE_SERVICES] });
      this.projectServices.dependOnServices(this);
    }
    // Authoritative for roles/owner: any other owner could set the buckets' IAM or destroy key versions.
    this.owners = new ProjectIamBinding(this, "OnlyBreakGlassOwns", { project: props.projectId, role: "roles/owner", members: [props.breakGlassMember] });
    // The one basic-role grant the substrate makes on purpose: an authoritative owner binding
    // that removes every other owner, so the archive has exactly one, named, alerted identity.
    HipaaCompliance.suppress(
      this.owners,
      "HIPAA-GCP-NO-BASIC-ROLES",
      "authoritative roles/owner binding naming only the break-glass identity: it removes every other owner of the archive project, which is the custody control itself",
    );

    // The owner binding is authoritative for roles/owner only: an Editor, a storage.admin or a
    // cloudkms.admin granted on the project would survive it and could re-policy the buckets or
    // destroy key versions. Read the project's whole policy at plan and fail while anyone but
    // the project's own Google service agents holds any other role. roles/owner is left to the
    // binding (a fresh project's creator is an owner until the first apply ends). Roles
    // inherited from folders or the organization are not in this policy and are not seen.
    this.projectRoles = new DataGoogleProjectIamPolicy(this, "ProjectRoles", {
      project: props.projectId,
      lifecycle: {
        postcondition: [
          {
            condition: GcpArchiveStack.onlyServiceAgentsHoldRoles(props.projectNumber),
            errorMessage:
              `A principal other than break-glass and Google's service agents of project ${props.projectNumber} holds a role in archive project ${props.projectId} ` +
              "(an Editor, storage.admin or cloudkms.admin could re-policy the locked buckets or destroy key versions): remove the grant (gcloud projects get-iam-policy " +
              `${props.projectId}) and plan again. Only roles/owner, held by break-glass alone, is managed here.`,
          },
        ],
      },
    });

    const buckets = new Map<string, GcsEvidenceBucket>();
    for (const e of props.environments) {
      const env = e.environment.name;
      const bucket = new GcsEvidenceBucket(this, `AuditLogs-${env}`, {
        environment: e.environment,
        projectId: props.projectId,
        location: props.region,
        bucketName: GcpArchiveStack.auditLogBucketName(props.projectId, env),
        // Legacy: GcsEvidenceBucket's default, a hash of the construct path only.
        logBucketName: props.legacyUsageLogBucketNames ? undefined : GcpArchiveStack.usageLogBucketName(props.projectId, env),
        authoritativeIam: true,
      });
      bucket.grantWrite(GcpPrincipal.fromMember(GcpArchiveStack.sinkWriterIdentity(e.projectNumber), "AuditLogSink", e.environment));
      buckets.set(env, bucket);
      new TerraformOutput(this, `audit_log_bucket_${env.replace(/[^A-Za-z0-9_]/g, "_")}`, { value: bucket.bucketName });
    }
    this.auditLogBuckets = buckets;

    // The archive's own audit trail: who read evidence, used or re-policied a key, changed IAM.
    // Admin Activity is always logged, but kept 400 days in _Required, short of six years.
    const audits = AUDITED_SERVICES.map(
      (service) => new ProjectIamAuditConfig(this, `DataAccessLogs-${service.split(".")[0]}`, { project: props.projectId, service, auditLogConfig: ALL_DATA_ACCESS }),
    );
    const self = new Environment({ name: "archive", tier: EnvironmentTier.PRODUCTION });
    const ownBucketName = GcpArchiveStack.ownAuditLogBucketName(props.projectId);
    this.ownAuditLogBucket = new GcsEvidenceBucket(this, "OwnAuditLogs", {
      environment: self,
      projectId: props.projectId,
      location: props.region,
      bucketName: ownBucketName,
      logBucketName: props.legacyUsageLogBucketNames
        ? uniqueResourceName(["hipaa-usage-logs-audit-self"], `${props.projectId}/archive/audit/logs`, 63)
        : GcpArchiveStack.ownUsageLogBucketName(props.projectId),
      keyRingName: "hipaa-audit-self",
      authoritativeIam: true,
    });
    const ownWriter = GcpArchiveStack.sinkWriterIdentity(props.projectNumber);
    this.ownAuditLogSink = new LoggingProjectSink(this, "OwnAuditLogsToBucket", {
      project: props.projectId,
      name: "hipaa-archive-audit-logs",
      description: "Every audit log of the archive project, to its own locked bucket",
      destination: `storage.googleapis.com/${ownBucketName}`,
      // Storage Data Access logs record the sink's own writes into this bucket; routing those
      // back would feed the sink its own output for ever.
      filter: `logName:"cloudaudit.googleapis.com" AND NOT (protoPayload.authenticationInfo.principalEmail="${ownWriter.replace(/^serviceAccount:/, "")}" AND protoPayload.resourceName:"projects/_/buckets/${ownBucketName}/")`,
      uniqueWriterIdentity: true,
      dependsOn: [this.ownAuditLogBucket.bucket],
    });
    // The member is the sink's own writer_identity, so the grant follows the sink: on a fresh
    // archive project the Logging service agent exists only once something (this sink) used
    // Cloud Logging, and IAM refuses a grant to an agent that does not exist yet.
    this.ownAuditLogBucket.grantWrite(GcpPrincipal.fromMember(this.ownAuditLogSink.writerIdentity, "OwnAuditLogSink", self));

    // The owner binding last: a first apply by a bootstrap owner must not lose its rights
    // before the buckets, keys and their policies exist. (APIs come first anyway: every other
    // resource waits for those it calls.)
    const others = this.node
      .findAll()
      .filter((c): c is TerraformResource => TerraformResource.isTerraformResource(c) && c !== this.owners && c.terraformResourceType !== "google_project_service");
    this.owners.dependsOn = [...(this.owners.dependsOn ?? []), ...others.map((r) => dependable(r))];

    const sinks = props.environments.map((e) => `${e.projectId}/hipaa-audit-logs-to-archive -> ${GcpArchiveStack.auditLogBucketName(props.projectId, e.environment.name)}`);
    recordControl(this.owners, {
      section: Cfr.AUDIT_CONTROLS,
      resources: [this.owners, this.projectRoles, this.ownAuditLogSink, ...audits, ...[...buckets.values()].map((b) => b.bucket), this.ownAuditLogBucket.bucket],
      how:
        `Can engineers alter the audit log? No: each environment project's audit logs are routed by a log sink (${sinks.join("; ")}) ` +
        `to a Bucket-Locked (${this.ownAuditLogBucket.retention}), CMEK bucket of archive project ${props.projectId}, whose only owner is break-glass (${props.breakGlassMember}); ` +
        `its own audit logs go to ${ownBucketName} (sink hipaa-archive-audit-logs), with Data Access logs for Cloud KMS, Storage and IAM. ` +
        `Each bucket's IAM policy is authoritative (no projectEditor/projectOwner legacy bindings; sink writers may only create objects), ` +
        `and each key (key rings hipaa-evidence-ENV and hipaa-audit-self in ${props.projectId}, prevent_destroy) has an authoritative IAM policy naming only the Cloud Storage service agent: ` +
        `no identity but break-glass can destroy a key version, change a key's or bucket's IAM, or shorten retention. ` +
        `Every plan reads the archive project's IAM policy (data google_project_iam_policy.ProjectRoles) and fails while any principal but the project's own Google service agents holds a role other than roles/owner. The archive stacks are applied as break-glass.`,
    });
  }
}

/** One environment project whose evidence the archive keeps. */
export interface GcpEvidenceArchivedProject extends GcpArchivedProject {
  /**
   * The environment's identities that write evidence (its evidence runner pool's service
   * account, `GkeRunnerPool.runnerServiceAccountEmail`): create-only, under `prefix`, the
   * evidence layout `<repository>/<environment>/` of the pipeline the pool serves. They must
   * exist when this stack is applied (IAM refuses a service account that does not).
   * @default - none
   */
  readonly writers?: readonly { readonly member: string; readonly grantName: string; readonly prefix: string }[];
  /** Members who audit (groups or users): view-only. @default - none */
  readonly auditorMembers?: readonly string[];
}

export interface GcpEvidenceArchiveStackProps {
  /** The archive project (the same as GcpArchiveStack's), distinct from every environment's. */
  readonly projectId: string;
  readonly projectNumber: string;
  readonly region: string;
  readonly environments: readonly GcpEvidenceArchivedProject[];
  /** Retention, lock and transitions of every evidence bucket. @default - six years, locked */
  readonly evidence?: Pick<GcsEvidenceBucketProps, "retention" | "shortRetentionReason" | "transitions">;
}

/**
 * Each environment's evidence in the archive project: a Bucket-Locked (six years, CMEK, uniform
 * access, public access prevention) bucket and its Cloud KMS key per environment, every IAM
 * policy authoritative. The environment's evidence writers may only create objects under their
 * prefix; auditors may only view; the Cloud Storage service agent of the archive project is the
 * key's only member. Names carry the archive project and a hash, so nobody can claim them first.
 *
 * A stack of its own because its bucket policies name the environment stacks' writer service
 * accounts, which IAM requires to exist, while those stacks' audit-log sinks need
 * GcpArchiveStack's buckets to exist: apply GcpArchiveStack, then the environments, then this,
 * as the break-glass identity. Until this stack is applied an environment's evidence writes fail
 * (nothing is written anywhere else). The APIs it calls are those GcpArchiveStack enables.
 */
export class GcpEvidenceArchiveStack extends TerraformStack {
  /** One environment's evidence bucket: the archive project in the name, a hash of both. */
  public static evidenceBucketName(archiveProjectId: string, env: string): string {
    return uniqueResourceName(["hipaa-evidence", env, archiveProjectId], `${archiveProjectId}/${env}/evidence`, 63);
  }

  /** Its usage-log bucket. */
  public static evidenceLogBucketName(archiveProjectId: string, env: string): string {
    return uniqueResourceName(["hipaa-usage-logs", env, archiveProjectId], `${archiveProjectId}/${env}/evidence/logs`, 63);
  }

  public readonly evidenceBuckets: ReadonlyMap<string, GcsEvidenceBucket>;

  constructor(scope: Construct, id: string, props: GcpEvidenceArchiveStackProps) {
    super(scope, id);
    const path = this.node.path;
    validateArchivedProjects(path, props.projectId, props.projectNumber, props.environments);
    new GoogleProvider(this, "google", { project: props.projectId, region: props.region, defaultLabels: { hipaa_archive: "true", managed_by: "cdktf-hipaa-substrate" } });
    const buckets = new Map<string, GcsEvidenceBucket>();
    for (const e of props.environments) {
      const env = e.environment.name;
      const bucket = new GcsEvidenceBucket(this, `Evidence-${env}`, {
        ...props.evidence,
        environment: e.environment,
        projectId: props.projectId,
        location: props.region,
        bucketName: GcpEvidenceArchiveStack.evidenceBucketName(props.projectId, env),
        logBucketName: GcpEvidenceArchiveStack.evidenceLogBucketName(props.projectId, env),
        keyRingName: `hipaa-archive-evidence-${env}`,
        authoritativeIam: true,
      });
      for (const w of e.writers ?? []) {
        // A writer of another project would be a write path that does not come from this
        // environment; only the environment's own service accounts write its evidence.
        if (!w.member.endsWith(`@${e.projectId}.iam.gserviceaccount.com`)) {
          throw new HipaaConfigError({
            path: `${path}/environments/${env}/writers/${w.grantName}`,
            problem: `evidence writer ${JSON.stringify(w.member)} is not a service account of environment project ${e.projectId}`,
            cfr: Cfr.ACCESS_CONTROL,
            fix: `pass the environment's evidence runner service account (GkeRunnerPool.runnerServiceAccountEmail("${e.projectId}", "${env}", RunnerPurpose.EVIDENCE))`,
          });
        }
        bucket.grantWrite(GcpPrincipal.fromMember(w.member, w.grantName, e.environment), { prefix: w.prefix });
      }
      (e.auditorMembers ?? []).forEach((member, i) => bucket.grantRead(GcpPrincipal.fromMember(member, `Auditor${i}`)));
      buckets.set(env, bucket);
      new TerraformOutput(this, `evidence_bucket_${env.replace(/[^A-Za-z0-9_]/g, "_")}`, { value: bucket.bucketName });
      recordControl(bucket, {
        section: Cfr.AUDIT_CONTROLS,
        resources: [bucket.bucket, ...(bucket.key ? [bucket.key] : [])],
        how: `Evidence of ${env} is kept in archive project ${props.projectId}, not in ${e.projectId}: ${(e.writers ?? []).map((w) => `${w.member} may only create objects under ${w.prefix}`).join("; ") || "no writer yet"}; the bucket's and key's IAM policies are authoritative, so no identity of ${e.projectId} can read, delete, re-policy or crypto-shred it.`,
      });
    }
    this.evidenceBuckets = buckets;
  }
}
