import { Construct } from "constructs";
import { GcsBackend, TerraformStack } from "cdktf";
import { GoogleProvider } from "@cdktf/provider-google/lib/provider";
import { ProjectIamAuditConfig } from "@cdktf/provider-google/lib/project-iam-audit-config";
import { LoggingProjectSink } from "@cdktf/provider-google/lib/logging-project-sink";
import { HipaaConfigError } from "../src/errors";
import { Environment, GithubOidcSubject, GitlabOidcSubject, RunnerPurpose } from "../src/model";
import { Cfr, recordControl } from "../src/compliance";
import { CiWorkloadIdentity } from "../constructs/gcp/ci-workload-identity";
import { CloudKmsSigningKey, CloudKmsSigningKeyProps } from "../constructs/gcp/cloud-kms-signing-key";
import { GcsEvidenceBucket, GcsEvidenceBucketProps } from "../constructs/gcp/gcs-evidence-bucket";
import { GkeRunnerCluster, GkeRunnerClusterProps, IGkeRunnerCluster } from "../constructs/gcp/gke-runner-cluster";
import { GkeDeployAccess, GkeWorkloadCluster, GkeWorkloadClusterLookupProps } from "../constructs/gcp/gke-deploy-access";
import { GkeRunnerPool } from "../constructs/gcp/gke-runner-pool";
import { GcpPrincipal } from "../constructs/gcp/principal";
import { GcpProjectServices } from "../constructs/gcp/project-services";
import { declareEnvironment } from "./environment-declaration";

export interface GcpRunnerOptions {
  /** A cluster to create (environments are this stack's). */
  readonly cluster: Omit<GkeRunnerClusterProps, "environments" | "projectId" | "projectNumber" | "location">;
  /**
   * The environment's workload cluster, which only the deploy pool (and the CI deploy service
   * account) reaches. It must exist: it is looked up with a data source, so a missing cluster
   * fails `terraform plan`. A zone as location (`us-central1-a`) means a zonal cluster.
   */
  readonly deployTarget: Omit<GkeWorkloadClusterLookupProps, "environment">;
  /** Artifact Registry repositories the build pool pushes to. @default - none */
  readonly artifactRepositories?: readonly string[];
}

/** Where an environment stack keeps its Terraform state: a GCS bucket, objects encrypted with a CMEK. */
export interface GcpStateBucket {
  /** The bucket (created before the first apply, versioned, in a project the stack's pipeline may use). */
  readonly bucket: string;
  /**
   * The Cloud KMS key that encrypts the state objects,
   * `projects/P/locations/L/keyRings/R/cryptoKeys/K`; the Cloud Storage service agent of the
   * bucket's project needs `roles/cloudkms.cryptoKeyEncrypterDecrypter` on it.
   */
  readonly kmsEncryptionKey: string;
  /** @default the stack's id, e.g. `hipaa-gcp-production` */
  readonly prefix?: string;
}

export interface GcpEnvironmentStackProps {
  readonly environment: Environment;
  readonly projectId: string;
  readonly projectNumber: string;
  readonly region: string;
  /** @default - compliant defaults, bucket in the region */
  readonly evidence?: Omit<GcsEvidenceBucketProps, "environment" | "projectId" | "location">;
  /** @default - compliant defaults */
  readonly signing?: Omit<CloudKmsSigningKeyProps, "environment" | "projectId" | "location">;
  /** GitHub Actions subjects trusted through WIF. @default - none */
  readonly githubSubjects?: readonly GithubOidcSubject[];
  /** GitLab CI subjects trusted through WIF. @default - none */
  readonly gitlabSubjects?: readonly GitlabOidcSubject[];
  /** @default https://gitlab.com */
  readonly gitlabIssuerUri?: string;
  /** Groups or users who audit (IAM members); they get read-only evidence access. @default - none */
  readonly auditorMembers?: readonly string[];
  /**
   * Turn on Data Access audit logs for Cloud Storage (authoritative for that service in the
   * project): the real record of who read evidence.
   * @default true
   */
  readonly storageDataAccessLogs?: boolean;
  /**
   * Route this project's audit logs (Admin Activity, Data Access, System Event, Policy Denied)
   * to a Bucket-Locked bucket of an archive project (GcpArchiveStack.auditLogBucketName), and turn
   * on Data Access logs for Cloud KMS and IAM too (authoritative per service, like Storage's).
   * @default - audit logs stay in this project's own log buckets
   */
  readonly auditLogArchive?: { readonly bucketName: string };
  /** @default - no runners */
  readonly runners?: GcpRunnerOptions;
  /**
   * Remote state. State holds every resource's attributes; a PHI environment keeps it in a GCS
   * bucket encrypted with a CMEK, never on a laptop.
   * @default - local state (cdktf's default; the compliance checker flags it for PHI environments)
   */
  readonly stateBucket?: GcpStateBucket;
  /**
   * Appended to the Workload Identity pool ids (`github-actions-SUFFIX`, `gitlab-ci-SUFFIX`). A
   * deleted pool stays soft-deleted for 30 days and blocks its id, so a stack destroyed and
   * re-created within that window fails to create the pool. Prefer undeleting the pool
   * (`gcloud iam workload-identity-pools undelete POOL --location=global`) and importing it; set a
   * suffix only for a genuinely new pool. Changing it on a live stack replaces the pool, its
   * provider and every binding naming it.
   * @default - no suffix (`github-actions`, `gitlab-ci`)
   */
  readonly workloadIdentityPoolSuffix?: string;
  /**
   * Enable the APIs the stack uses (`google_project_service`, never disabled on destroy) and make
   * each resource depend on the APIs it calls. Turn off only when a central team enables APIs
   * (then every API in `GcpEnvironmentStack.requiredServices` must be on before the first apply).
   * @default true
   */
  readonly manageProjectServices?: boolean;
}

/**
 * One environment's GCP substrate in its own stack and project: Bucket Lock evidence bucket,
 * Cloud KMS HSM signing key, Workload Identity Federation for GitHub and/or GitLab with one deploy
 * service account, Data Access logs for Cloud Storage, and GKE runner pools.
 */
export class GcpEnvironmentStack extends TerraformStack {
  public readonly environment: Environment;
  public readonly evidenceBucket: GcsEvidenceBucket;
  public readonly signingKey: CloudKmsSigningKey;
  public readonly githubIdentity?: CiWorkloadIdentity;
  public readonly gitlabIdentity?: CiWorkloadIdentity;
  public readonly runnerCluster?: IGkeRunnerCluster;
  public readonly runnerPools: readonly GkeRunnerPool[];
  /** The APIs the stack calls. */
  public readonly requiredServices: readonly string[];
  public readonly projectServices?: GcpProjectServices;

  constructor(scope: Construct, id: string, props: GcpEnvironmentStackProps) {
    super(scope, id);
    const env = props.environment;
    this.environment = env;
    declareEnvironment(this, env);
    if (props.stateBucket) configureStateBackend(this, id, props.stateBucket);
    new GoogleProvider(this, "google", { project: props.projectId, region: props.region, defaultLabels: { hipaa_environment: env.name, managed_by: "cdktf-hipaa-substrate" } });
    this.requiredServices = requiredServices(props);
    if (props.manageProjectServices !== false) {
      this.projectServices = new GcpProjectServices(this, "ProjectServices", { projectId: props.projectId, services: this.requiredServices });
      this.projectServices.dependOnServices(this);
    }
    const project = { projectId: props.projectId, location: props.region };
    this.evidenceBucket = new GcsEvidenceBucket(this, "EvidenceBucket", { environment: env, ...project, ...props.evidence });
    this.signingKey = new CloudKmsSigningKey(this, "SigningKey", { environment: env, ...project, ...props.signing });

    if (props.storageDataAccessLogs !== false) {
      const audit = new ProjectIamAuditConfig(this, "StorageDataAccessLogs", {
        project: props.projectId,
        service: "storage.googleapis.com",
        auditLogConfig: [{ logType: "ADMIN_READ" }, { logType: "DATA_READ" }, { logType: "DATA_WRITE" }],
      });
      recordControl(audit, { section: Cfr.ACTIVITY_REVIEW, resources: [audit], how: "Data Access audit logs record every read and write of evidence objects." });
    }

    if (props.auditLogArchive) this.routeAuditLogs(props);

    const wif = { projectId: props.projectId, projectNumber: props.projectNumber };
    for (const s of [...(props.githubSubjects ?? []), ...(props.gitlabSubjects ?? [])]) {
      if (s.environment.name !== env.name) {
        throw new HipaaConfigError({
          path: this.node.path,
          problem: `a CI subject for environment "${s.environment.name}" was given to the "${env.name}" stack`,
          cfr: "164.308(a)(4)",
          fix: `put it in the "${s.environment.name}" stack`,
        });
      }
    }
    const suffix = props.workloadIdentityPoolSuffix;
    if (suffix !== undefined && !/^[a-z0-9]{1,8}$/.test(suffix)) {
      throw new HipaaConfigError({ path: this.node.path, problem: `workloadIdentityPoolSuffix ${JSON.stringify(suffix)} is not 1-8 lowercase letters or digits`, fix: "pass a short suffix such as r2" });
    }
    const poolId = (base: string) => (suffix ? `${base}-${suffix}` : undefined);
    if (props.githubSubjects?.length) {
      this.githubIdentity = CiWorkloadIdentity.github(this, "GithubIdentity", {
        ...wif,
        subjects: props.githubSubjects,
        deployServiceAccountId: `hipaa-gh-deploy-${env.name}`.slice(0, 30),
        poolId: poolId("github-actions"),
      });
    }
    if (props.gitlabSubjects?.length) {
      this.gitlabIdentity = CiWorkloadIdentity.gitlab(this, "GitlabIdentity", { ...wif, subjects: props.gitlabSubjects, issuerUri: props.gitlabIssuerUri, poolId: poolId("gitlab-ci") });
    }
    (props.auditorMembers ?? []).forEach((member, i) => this.evidenceBucket.grantRead(GcpPrincipal.fromMember(member, `Auditor${i}`)));

    // Looked up, not named: a workload cluster that does not exist fails the plan.
    const target = props.runners ? GkeWorkloadCluster.lookup(this, "WorkloadCluster", { ...props.runners.deployTarget, environment: env }) : undefined;
    if (target) {
      for (const identity of [this.githubIdentity, this.gitlabIdentity]) {
        if (identity) new GkeDeployAccess(identity, "ClusterDeploy", identity, target);
      }
    }

    this.runnerPools = [];
    if (props.runners) {
      const r = props.runners;
      const cluster = new GkeRunnerCluster(this, "RunnerCluster", { ...r.cluster, ...wif, location: props.region, environments: [env] });
      this.runnerCluster = cluster;
      const common = { cluster, environment: env };
      this.runnerPools = [
        new GkeRunnerPool(this, "BuildRunners", { ...common, purpose: RunnerPurpose.BUILD, signingKey: this.signingKey, artifactRepositories: r.artifactRepositories }),
        new GkeRunnerPool(this, "EvidenceRunners", { ...common, purpose: RunnerPurpose.EVIDENCE, evidenceBucket: this.evidenceBucket }),
        new GkeRunnerPool(this, "DeployRunners", { ...common, purpose: RunnerPurpose.DEPLOY, deployTarget: target }),
      ];
    }
  }

  private routeAuditLogs(props: GcpEnvironmentStackProps): void {
    const archive = props.auditLogArchive!;
    if (!/^[a-z0-9][a-z0-9_.-]{1,61}[a-z0-9]$/.test(archive.bucketName)) {
      throw new HipaaConfigError({ path: `${this.node.path}/auditLogArchive`, problem: `${JSON.stringify(archive.bucketName)} is not a bucket name`, fix: "pass GcpArchiveStack.auditLogBucketName(archiveProjectId, env)" });
    }
    const audits = ["cloudkms.googleapis.com", "iam.googleapis.com"].map(
      (service) =>
        new ProjectIamAuditConfig(this, `DataAccessLogs-${service.split(".")[0]}`, {
          project: props.projectId,
          service,
          auditLogConfig: [{ logType: "ADMIN_READ" }, { logType: "DATA_READ" }, { logType: "DATA_WRITE" }],
        }),
    );
    const sink = new LoggingProjectSink(this, "AuditLogsToArchive", {
      project: props.projectId,
      name: "hipaa-audit-logs-to-archive",
      description: "Every audit log of this project, to the archive project's locked bucket",
      destination: `storage.googleapis.com/${archive.bucketName}`,
      filter: 'logName:"cloudaudit.googleapis.com"',
      // The project's Cloud Logging service agent writes (GcpArchiveStack grants it create-only).
      uniqueWriterIdentity: true,
    });
    recordControl(sink, {
      section: Cfr.AUDIT_CONTROLS,
      resources: [sink, ...audits],
      how: `Every audit log of this project (Admin Activity; Data Access for Cloud Storage, Cloud KMS and IAM; System Event; Policy Denied) is routed to the archive's locked bucket ${archive.bucketName}.`,
    });
  }
}

/** Every API the stack's resources call (see constructs/gcp/project-services.ts). */
function requiredServices(props: GcpEnvironmentStackProps): string[] {
  const services = ["cloudkms.googleapis.com", "cloudresourcemanager.googleapis.com", "iam.googleapis.com", "storage.googleapis.com"];
  if (props.githubSubjects?.length || props.gitlabSubjects?.length) services.push("iamcredentials.googleapis.com", "sts.googleapis.com");
  if (props.runners) services.push("binaryauthorization.googleapis.com", "compute.googleapis.com", "container.googleapis.com");
  if (props.runners?.artifactRepositories?.length) services.push("artifactregistry.googleapis.com");
  if (props.auditLogArchive) services.push("logging.googleapis.com");
  return services.sort();
}

const KMS_KEY = /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/;

function configureStateBackend(stack: TerraformStack, id: string, state: GcpStateBucket): void {
  if (!/^[a-z0-9][-a-z0-9_.]{1,220}[a-z0-9]$/.test(state.bucket)) {
    throw new HipaaConfigError({ path: stack.node.path, problem: `state bucket ${JSON.stringify(state.bucket)} is not a bucket name`, fix: "pass the name of the GCS bucket that holds Terraform state" });
  }
  if (!KMS_KEY.test(state.kmsEncryptionKey ?? "")) {
    throw new HipaaConfigError({
      path: stack.node.path,
      problem: `state key ${JSON.stringify(state.kmsEncryptionKey)} is not a Cloud KMS key name`,
      cfr: Cfr.ENCRYPTION,
      fix: "pass kmsEncryptionKey: projects/P/locations/L/keyRings/R/cryptoKeys/K (state holds every resource's attributes)",
    });
  }
  new GcsBackend(stack, { bucket: state.bucket, prefix: state.prefix ?? id, kmsEncryptionKey: state.kmsEncryptionKey });
}
