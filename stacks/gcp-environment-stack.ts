import { Construct } from "constructs";
import { TerraformStack } from "cdktf";
import { GoogleProvider } from "@cdktf/provider-google/lib/provider";
import { ProjectIamAuditConfig } from "@cdktf/provider-google/lib/project-iam-audit-config";
import { HipaaConfigError } from "../src/errors";
import { Environment, GithubOidcSubject, GitlabOidcSubject, RunnerPurpose } from "../src/model";
import { Cfr, recordControl } from "../src/compliance";
import { CiWorkloadIdentity } from "../constructs/gcp/ci-workload-identity";
import { CloudKmsSigningKey, CloudKmsSigningKeyProps } from "../constructs/gcp/cloud-kms-signing-key";
import { GcsEvidenceBucket, GcsEvidenceBucketProps } from "../constructs/gcp/gcs-evidence-bucket";
import { GkeRunnerCluster, GkeRunnerClusterProps, IGkeRunnerCluster } from "../constructs/gcp/gke-runner-cluster";
import { GkeDeployAccess, GkeDeployTarget } from "../constructs/gcp/gke-deploy-access";
import { GkeRunnerPool } from "../constructs/gcp/gke-runner-pool";
import { GcpPrincipal } from "../constructs/gcp/principal";

export interface GcpRunnerOptions {
  /** A cluster to create (environments are this stack's). */
  readonly cluster: Omit<GkeRunnerClusterProps, "environments" | "projectId" | "projectNumber" | "location">;
  /** The environment's workload cluster, which only the deploy pool reaches. */
  readonly deployTarget: Omit<GkeDeployTarget, "environment">;
  /** Artifact Registry repositories the build pool pushes to. @default - none */
  readonly artifactRepositories?: readonly string[];
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
  /** @default - no runners */
  readonly runners?: GcpRunnerOptions;
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

  constructor(scope: Construct, id: string, props: GcpEnvironmentStackProps) {
    super(scope, id);
    const env = props.environment;
    this.environment = env;
    new GoogleProvider(this, "google", { project: props.projectId, region: props.region, defaultLabels: { hipaa_environment: env.name, managed_by: "cdktf-hipaa-substrate" } });
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
    if (props.githubSubjects?.length) {
      this.githubIdentity = CiWorkloadIdentity.github(this, "GithubIdentity", { ...wif, subjects: props.githubSubjects, deployServiceAccountId: `hipaa-gh-deploy-${env.name}`.slice(0, 30) });
    }
    if (props.gitlabSubjects?.length) {
      this.gitlabIdentity = CiWorkloadIdentity.gitlab(this, "GitlabIdentity", { ...wif, subjects: props.gitlabSubjects, issuerUri: props.gitlabIssuerUri });
    }
    (props.auditorMembers ?? []).forEach((member, i) => this.evidenceBucket.grantRead(GcpPrincipal.fromMember(member, `Auditor${i}`)));

    if (props.runners) {
      const target = { ...props.runners.deployTarget, environment: env };
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
        new GkeRunnerPool(this, "DeployRunners", { ...common, purpose: RunnerPurpose.DEPLOY, deployTarget: { ...r.deployTarget, environment: env } }),
      ];
    }
  }
}
