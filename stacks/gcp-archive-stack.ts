import { Construct } from "constructs";
import { TerraformOutput, TerraformStack } from "cdktf";
import { GoogleProvider } from "@cdktf/provider-google/lib/provider";
import { ProjectIamBinding } from "@cdktf/provider-google/lib/project-iam-binding";
import { HipaaConfigError } from "../src/errors";
import { Cfr, HipaaCompliance, recordControl } from "../src/compliance";
import { Environment } from "../src/model";
import { uniqueResourceName } from "../src/naming";
import { GcsEvidenceBucket } from "../constructs/gcp/gcs-evidence-bucket";
import { GcpPrincipal } from "../constructs/gcp/principal";

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
}

/**
 * The GCP audit archive: one project, owned only by break-glass, holding a Bucket-Locked (six
 * years, CMEK) bucket per environment project into which that project's audit-log sink
 * (GcpEnvironmentStackProps.auditLogArchive) writes Admin Activity, Data Access (Cloud KMS,
 * Storage, IAM), System Event and Policy Denied logs. The sink's writer identity, the environment
 * project's Cloud Logging service agent, is granted create-only on its bucket.
 *
 * Apply it before the environment stacks (their sinks write into it).
 */
export class GcpArchiveStack extends TerraformStack {
  /** The audit-log bucket of one environment: the archive project in the name, a hash of both. */
  public static auditLogBucketName(archiveProjectId: string, env: string): string {
    return uniqueResourceName(["hipaa-audit", env, archiveProjectId], `${archiveProjectId}/${env}/audit`, 63);
  }

  /** The identity Cloud Logging writes a project's sinks with (`unique_writer_identity`). */
  public static sinkWriterIdentity(projectNumber: string): string {
    return `serviceAccount:service-${projectNumber}@gcp-sa-logging.iam.gserviceaccount.com`;
  }

  public readonly auditLogBuckets: ReadonlyMap<string, GcsEvidenceBucket>;
  public readonly owners: ProjectIamBinding;

  constructor(scope: Construct, id: string, props: GcpArchiveStackProps) {
    super(scope, id);
    const path = this.node.path;
    if (!/^(user|group|serviceAccount):[^*\s,]+@[^*\s,]+$/.test(props.breakGlassMember)) {
      throw new HipaaConfigError({ path: `${path}/breakGlassMember`, problem: `breakGlassMember ${JSON.stringify(props.breakGlassMember)} is not one user, group or service account`, cfr: Cfr.AUDIT_CONTROLS, fix: "pass e.g. group:break-glass@example.com" });
    }
    if (props.environments.length === 0) {
      throw new HipaaConfigError({ path, problem: "the archive holds no environment project", fix: "list the environment projects whose audit logs it keeps" });
    }
    for (const e of props.environments) {
      if (e.projectId === props.projectId || e.projectNumber === props.projectNumber) {
        throw new HipaaConfigError({ path: `${path}/environments/${e.environment.name}`, problem: `environment "${e.environment.name}" is in the archive project ${props.projectId}`, cfr: Cfr.AUDIT_CONTROLS, fix: "give the archive a project of its own" });
      }
      if (!/^\d{6,20}$/.test(e.projectNumber)) {
        throw new HipaaConfigError({ path: `${path}/environments/${e.environment.name}`, problem: `project number ${JSON.stringify(e.projectNumber)} is not a number`, fix: "pass the project number (gcloud projects describe P --format='value(projectNumber)')" });
      }
    }
    new GoogleProvider(this, "google", { project: props.projectId, region: props.region, defaultLabels: { hipaa_archive: "true", managed_by: "cdktf-hipaa-substrate" } });
    // Authoritative for roles/owner: any other owner could set the buckets' IAM or destroy key versions.
    this.owners = new ProjectIamBinding(this, "OnlyBreakGlassOwns", { project: props.projectId, role: "roles/owner", members: [props.breakGlassMember] });
    // The one basic-role grant the substrate makes on purpose: an authoritative owner binding
    // that removes every other owner, so the archive has exactly one, named, alerted identity.
    HipaaCompliance.suppress(
      this.owners,
      "HIPAA-GCP-NO-BASIC-ROLES",
      "authoritative roles/owner binding naming only the break-glass identity: it removes every other owner of the archive project, which is the custody control itself",
    );

    const buckets = new Map<string, GcsEvidenceBucket>();
    for (const e of props.environments) {
      const env = e.environment.name;
      const bucket = new GcsEvidenceBucket(this, `AuditLogs-${env}`, {
        environment: e.environment,
        projectId: props.projectId,
        location: props.region,
        bucketName: GcpArchiveStack.auditLogBucketName(props.projectId, env),
      });
      bucket.grantWrite(GcpPrincipal.fromMember(GcpArchiveStack.sinkWriterIdentity(e.projectNumber), "AuditLogSink", e.environment));
      buckets.set(env, bucket);
      new TerraformOutput(this, `audit_log_bucket_${env.replace(/[^A-Za-z0-9_]/g, "_")}`, { value: bucket.bucketName });
    }
    this.auditLogBuckets = buckets;
    recordControl(this.owners, {
      section: Cfr.AUDIT_CONTROLS,
      resources: [this.owners],
      how: `Can engineers alter the audit log? Each environment project's audit logs are routed to a Bucket-Locked bucket of archive project ${props.projectId}, whose only owner is break-glass (${props.breakGlassMember}); the sinks' writer identities may only create objects.`,
    });
  }
}
