import { Construct } from "constructs";
import { Fn, GcsBackend, TerraformStack } from "cdktf";
import { GoogleProvider } from "@cdktf/provider-google/lib/provider";
import { ProjectIamAuditConfig } from "@cdktf/provider-google/lib/project-iam-audit-config";
import { LoggingProjectSink } from "@cdktf/provider-google/lib/logging-project-sink";
import { HipaaConfigError } from "../src/errors";
import { Environment, GithubOidcSubject, GitlabOidcSubject, RunnerPurpose } from "../src/model";
import { Cfr, recordControl } from "../src/compliance";
import { CiWorkloadIdentity } from "../constructs/gcp/ci-workload-identity";
import { CloudKmsSigningKey, CloudKmsSigningKeyProps } from "../constructs/gcp/cloud-kms-signing-key";
import { ArchivedGcsEvidenceBucket, GcsEvidenceBucket, GcsEvidenceBucketProps } from "../constructs/gcp/gcs-evidence-bucket";
import { GkeRunnerCluster, GkeRunnerClusterProps, IGkeRunnerCluster } from "../constructs/gcp/gke-runner-cluster";
import { GkeDeployAccess, GkeWorkloadCluster, GkeWorkloadClusterLookupProps, validateDeployNamespaces } from "../constructs/gcp/gke-deploy-access";
import { GkeRunnerPool } from "../constructs/gcp/gke-runner-pool";
import { ArtifactRegistryImageRepository } from "../constructs/gcp/artifact-registry-repository";
import { KmsBinaryAuthorization } from "../constructs/gcp/binary-authorization";
import { KyvernoRelease, SignedImageAdmission } from "../constructs/kubernetes/signed-image-admission";
import { RunnerEgress, RunnerNamespace } from "../constructs/kubernetes/runner-namespace";
import { DataGoogleClientConfig } from "@cdktf/provider-google/lib/data-google-client-config";
import { DataGoogleContainerCluster } from "@cdktf/provider-google/lib/data-google-container-cluster";
import { HelmProvider } from "@cdktf/provider-helm/lib/provider";
import { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
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
  readonly deployTarget: Omit<GkeWorkloadClusterLookupProps, "environment" | "kubernetesProviderAlias">;
  /** Artifact Registry repositories the build pool pushes to. @default - none */
  readonly artifactRepositories?: readonly string[];
  /**
   * Runner namespaces and network fences on the runner cluster (Dataplane V2 enforces them): per
   * pool a namespace, the Kubernetes service account its Workload Identity binding is pinned to,
   * a default-deny NetworkPolicy and egress to DNS, the GKE metadata server (Workload Identity)
   * and the purpose's destinations only (Private Google Access range, the workload cluster's
   * control plane for deploy). The kubernetes provider authenticates from the created cluster's
   * attributes and the caller's access token.
   * @default - none
   */
  readonly fences?: { readonly egress: Readonly<Partial<Record<RunnerPurpose, readonly RunnerEgress[]>>> };
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
  /**
   * Keep evidence in the archive project (GcpEvidenceArchiveStack), whose stack grants this
   * environment's evidence runners create-only: no evidence bucket or evidence key is created in
   * this project, and `auditorMembers` are granted there, not here.
   * @default - evidence in this project (the control map records it)
   */
  readonly evidenceArchive?: {
    readonly bucket: ArchivedGcsEvidenceBucket;
    /**
     * For a stack applied before the archive existed: its evidence bucket and key stay at their
     * addresses in this project (a locked bucket and a key that decrypts it are never destroyed
     * by a plan), readable by auditors; new evidence goes to the archive.
     * @default false - no evidence bucket in this project (right for a fresh project)
     */
    readonly keepLocalEvidenceBucket?: boolean;
  };
  /** @default - compliant defaults */
  readonly signing?: Omit<CloudKmsSigningKeyProps, "environment" | "projectId" | "location">;
  /** GitHub Actions subjects trusted through WIF. @default - none */
  readonly githubSubjects?: readonly GithubOidcSubject[];
  /** GitLab CI subjects trusted through WIF. @default - none */
  readonly gitlabSubjects?: readonly GitlabOidcSubject[];
  /** @default https://gitlab.com */
  readonly gitlabIssuerUri?: string;
  /**
   * The workload-cluster namespaces each application's deploy service account may change, by
   * GitHub repository name or GitLab project path: a deploy identity reaches only its own
   * application's namespaces (Secrets and pod creation in another application's namespace would
   * lead to that application's workload identity). Two applications may not share a namespace.
   * @default - a GitHub repository deploys to the namespace named after it, a GitLab project to
   * the one named after its last path segment
   */
  readonly deployNamespaces?: Readonly<Record<string, readonly string[]>>;
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
  /**
   * Artifact Registry repositories to create for this environment's images (repository ids):
   * CMEK, immutable tags, vulnerability scanning; the build pool is their only writer. To push to
   * repositories you manage yourself, pass `runners.artifactRepositories` instead.
   * @default - none
   */
  readonly imageRepositories?: readonly string[];
  /**
   * Members that pull from the created repositories: the workload cluster's node service account.
   * @default - none
   */
  readonly imageReaderMembers?: readonly string[];
  /**
   * The project's Binary Authorization policy: every image on the runner and workload clusters
   * needs an attestation by this environment's signing key (a KMS-backed attestor), enforced, no
   * allow-all default. Without it the runner cluster's enforcement evaluates Google's default
   * policy, which admits every image. The build pool may write attestations.
   * @default - none (the project's policy is not managed here)
   */
  readonly binaryAuthorization?: { readonly allowlistPatterns?: readonly string[] };
  /**
   * Kyverno signed-image admission on the workload cluster (`runners.deployTarget`), keyed to this
   * environment's Cloud KMS key, in `namespaces`. Opt-in for the same reasons as on AWS (pinned
   * chart and digests are yours; the first apply installs the chart before the policy).
   * @default - none
   */
  readonly admission?: { readonly release: KyvernoRelease; readonly namespaces: readonly string[]; readonly imageReferences?: readonly string[] };
}

/**
 * One environment's GCP substrate in its own stack and project: Bucket Lock evidence bucket,
 * Cloud KMS HSM signing key, Workload Identity Federation for GitHub and/or GitLab with one deploy
 * service account per application (repository or project), Data Access logs for Cloud Storage,
 * and GKE runner pools. On the workload cluster each deploy service account may change only its
 * application's namespaces (Kubernetes RoleBindings through the provider aliased `workload`), and
 * the deploy runner pool only the union of them.
 */
export class GcpEnvironmentStack extends TerraformStack {
  public readonly environment: Environment;
  /** Where evidence is written: the archive's bucket when `evidenceArchive` is given, else this project's. */
  public readonly evidenceBucket: GcsEvidenceBucket | ArchivedGcsEvidenceBucket;
  /** The evidence bucket in this project, if any (none when evidence lives in the archive). */
  public readonly localEvidenceBucket?: GcsEvidenceBucket;
  public readonly signingKey: CloudKmsSigningKey;
  public readonly githubIdentity?: CiWorkloadIdentity;
  public readonly gitlabIdentity?: CiWorkloadIdentity;
  public readonly runnerCluster?: IGkeRunnerCluster;
  public readonly runnerPools: readonly GkeRunnerPool[];
  /** The workload-cluster namespaces of each application, by GitHub repository name or GitLab project path. */
  public readonly deployNamespaces: ReadonlyMap<string, readonly string[]>;
  /** The APIs the stack calls. */
  public readonly requiredServices: readonly string[];
  public readonly projectServices?: GcpProjectServices;
  /** The created image repositories, by id. */
  public readonly imageRepositories: ReadonlyMap<string, ArtifactRegistryImageRepository>;
  public readonly binaryAuthorization?: KmsBinaryAuthorization;
  /** Each runner pool's namespace and network fence, when `runners.fences` is given. */
  public readonly runnerNamespaces: readonly RunnerNamespace[] = [];
  public readonly admission?: SignedImageAdmission;

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
    if (props.evidenceArchive) this.assertEvidenceArchive(props);
    const keepLocal = !props.evidenceArchive || props.evidenceArchive.keepLocalEvidenceBucket === true;
    this.localEvidenceBucket = keepLocal ? new GcsEvidenceBucket(this, "EvidenceBucket", { environment: env, ...project, ...props.evidence }) : undefined;
    this.evidenceBucket = props.evidenceArchive?.bucket ?? this.localEvidenceBucket!;
    if (props.evidenceArchive) {
      recordControl(this, {
        section: Cfr.AUDIT_CONTROLS,
        resources: this.localEvidenceBucket ? [this.localEvidenceBucket.bucket] : [],
        how: `Evidence of ${env.name} is written to bucket ${props.evidenceArchive.bucket.bucketName} of archive project ${props.evidenceArchive.bucket.projectId}, not to ${props.projectId}${this.localEvidenceBucket ? `; the evidence bucket kept here from before the archive (${this.localEvidenceBucket.node.path}) takes no new writes` : ""}.`,
      });
    }
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
      this.githubIdentity = CiWorkloadIdentity.github(this, "GithubIdentity", { ...wif, subjects: props.githubSubjects, poolId: poolId("github-actions") });
    }
    if (props.gitlabSubjects?.length) {
      this.gitlabIdentity = CiWorkloadIdentity.gitlab(this, "GitlabIdentity", { ...wif, subjects: props.gitlabSubjects, issuerUri: props.gitlabIssuerUri, poolId: poolId("gitlab-ci") });
    }
    (props.auditorMembers ?? []).forEach((member, i) => this.localEvidenceBucket?.grantRead(GcpPrincipal.fromMember(member, `Auditor${i}`)));

    this.deployNamespaces = this.planNamespaces(props);
    // Looked up, not named: a workload cluster that does not exist fails the plan.
    const target = props.runners ? GkeWorkloadCluster.lookup(this, "WorkloadCluster", { ...props.runners.deployTarget, environment: env }) : undefined;
    if (target) {
      for (const identity of [this.githubIdentity, this.gitlabIdentity]) {
        for (const deployer of identity?.deployers.values() ?? []) {
          new GkeDeployAccess(deployer, "ClusterDeploy", deployer, target, {
            namespaces: this.deployNamespaces.get(deployer.application)!,
            bindingName: `hipaa-ci-deploy-${deployer.node.id.replace(/^Deploy-/, "").toLowerCase()}`.slice(0, 63).replace(/-+$/, ""),
          });
        }
      }
    }

    this.imageRepositories = new Map(
      (props.imageRepositories ?? []).map((repositoryId) => [
        repositoryId,
        new ArtifactRegistryImageRepository(this, `Images-${repositoryId}`, {
          environment: env,
          ...project,
          projectNumber: props.projectNumber,
          repositoryId,
          readerMembers: props.imageReaderMembers,
        }),
      ]),
    );

    this.runnerPools = [];
    if (props.runners) {
      const r = props.runners;
      const cluster = new GkeRunnerCluster(this, "RunnerCluster", { ...r.cluster, ...wif, location: props.region, environments: [env] });
      this.runnerCluster = cluster;
      const common = { cluster, environment: env };
      const allNamespaces = [...new Set([...this.deployNamespaces.values()].flat())].sort();
      this.runnerPools = [
        new GkeRunnerPool(this, "BuildRunners", { ...common, purpose: RunnerPurpose.BUILD, signingKey: this.signingKey, artifactRepositories: r.artifactRepositories }),
        new GkeRunnerPool(this, "EvidenceRunners", { ...common, purpose: RunnerPurpose.EVIDENCE, evidenceBucket: this.evidenceBucket }),
      ];
      // A deploy pool only where something deploys: an environment no application deploys to
      // has no workload namespaces to reach.
      if (allNamespaces.length > 0) {
        this.runnerPools = [...this.runnerPools, new GkeRunnerPool(this, "DeployRunners", { ...common, purpose: RunnerPurpose.DEPLOY, deployTarget: target, deployNamespaces: allNamespaces })];
      }
      for (const repository of this.imageRepositories.values()) repository.grantWrite(this.runnerPools[0]);
      if (r.fences) {
        const client = new DataGoogleClientConfig(this, "RunnerClientConfig");
        const kubernetesProvider = new KubernetesProvider(this, "kubernetes-runners", {
          alias: "runners",
          host: `https://${cluster.cluster.endpoint}`,
          clusterCaCertificate: Fn.base64decode(cluster.cluster.masterAuth.clusterCaCertificate),
          token: client.accessToken,
        });
        const fences = r.fences;
        this.runnerNamespaces = this.runnerPools.map(
          (pool) =>
            new RunnerNamespace(this, `Fence-${pool.purpose}`, {
              environment: env,
              purpose: pool.purpose,
              namespace: pool.namespace,
              serviceAccount: pool.kubernetesServiceAccount,
              serviceAccountAnnotations: { "iam.gke.io/gcp-service-account": pool.runnerServiceAccount.email },
              egress: fences.egress[pool.purpose] ?? [],
              gkeMetadataServer: true,
              kubernetesProvider,
              dependsOn: [pool.nodePool],
            }),
        );
      }
    }

    if (props.binaryAuthorization) {
      this.binaryAuthorization = new KmsBinaryAuthorization(this, "BinaryAuthorization", {
        environment: env,
        projectId: props.projectId,
        signingKey: this.signingKey,
        allowlistPatterns: props.binaryAuthorization.allowlistPatterns,
      });
      if (this.runnerPools.length > 0) this.binaryAuthorization.grantAttest(this.runnerPools[0]);
    }
    if (props.admission) {
      const lookup = target?.dependable;
      if (!(lookup instanceof DataGoogleContainerCluster)) {
        throw new HipaaConfigError({ path: `${this.node.path}/admission`, problem: "admission needs the workload cluster, looked up through runners.deployTarget", cfr: Cfr.INTEGRITY, fix: "pass runners: { ..., deployTarget }" });
      }
      const client = new DataGoogleClientConfig(this, "ClientConfig");
      const connection = { host: `https://${lookup.endpoint}`, clusterCaCertificate: Fn.base64decode(lookup.masterAuth.get(0).clusterCaCertificate), token: client.accessToken };
      // The workload cluster's lookup already configures the aliased kubernetes provider (the
      // deployers' RoleBindings use it); the admission policy goes through the same one.
      const kubernetesProvider = target!.kubernetesProvider!;
      const helmProvider = new HelmProvider(this, "helm", { alias: "workload", kubernetes: connection });
      // Kyverno reads the public key through the workload nodes' (or its Workload Identity) account.
      (props.imageReaderMembers ?? []).forEach((member, i) => this.signingKey.grantVerify(GcpPrincipal.fromMember(member, `Admission${i}`, env)));
      this.admission = new SignedImageAdmission(this, "SignedImageAdmission", {
        environment: env,
        cosignKeyUri: this.signingKey.cosignKeyUri,
        namespaces: props.admission.namespaces,
        imageReferences: props.admission.imageReferences,
        release: props.admission.release,
        helmProvider,
        kubernetesProvider,
      });
    }
    this.recordSignatureChain();
  }

  /** The auditor's "for this deploy, show me the signature": the key, the admission policies, the registry. */
  private recordSignatureChain(): void {
    const repos = [...this.imageRepositories.values()];
    if (repos.length === 0 && !this.admission && !this.binaryAuthorization) return;
    const env = this.environment.name;
    const enforcement = [
      this.binaryAuthorization ? `Binary Authorization (attestor hipaa-${env}-signed) admits on the runner and workload clusters only images attested with that key` : undefined,
      this.admission ? `the Kyverno ClusterPolicy ${this.admission.policyName} admits a Pod in the application namespaces only if every image is signed by it` : undefined,
    ].filter(Boolean);
    recordControl(this, {
      section: Cfr.INTEGRITY,
      resources: [this.signingKey.key, ...(this.binaryAuthorization ? [this.binaryAuthorization.policy, this.binaryAuthorization.attestor] : []), ...(this.admission ? [this.admission.policy] : []), ...repos.map((r) => r.repository)],
      how: `For a deploy to ${env}, the signature: images the build pool pushes to ${repos.map((r) => r.repositoryId).join(", ") || "the registry"} are signed with the Cloud KMS key hipaa-cosign-${env}/cosign (cosign gcpkms://); ${enforcement.length ? enforcement.join("; ") : "no admission policy verifies it yet (binaryAuthorization, admission)"}.`,
    });
  }

  /**
   * Each application's namespaces (the given ones, or its name's), refusing a namespace two
   * applications share: either deployer could then read the other's Secrets and run pods as its
   * workload identity.
   */
  private planNamespaces(props: GcpEnvironmentStackProps): Map<string, readonly string[]> {
    const applications = [
      ...(this.githubIdentity?.deployers.keys() ?? []),
      ...(this.gitlabIdentity?.deployers.keys() ?? []),
    ];
    const given = props.deployNamespaces ?? {};
    for (const name of Object.keys(given)) {
      if (!applications.includes(name)) {
        throw new HipaaConfigError({
          path: `${this.node.path}/deployNamespaces`,
          problem: `deployNamespaces names "${name}", which deploys nothing to ${this.environment.name}`,
          fix: applications.length ? `use one of ${applications.join(", ")}` : "remove it, or trust the application's subjects in this stack",
        });
      }
    }
    const owner = new Map<string, string>();
    const plan = new Map<string, readonly string[]>();
    for (const name of applications) {
      const namespaces = given[name] ?? [name.split("/").pop()!];
      validateDeployNamespaces(`${this.node.path}/deployNamespaces/${name}`, namespaces);
      for (const ns of namespaces) {
        const other = owner.get(ns);
        if (other !== undefined) {
          throw new HipaaConfigError({
            path: `${this.node.path}/deployNamespaces/${name}`,
            problem: `namespace "${ns}" is also ${other}'s: either application's deploy identity could create pods and read Secrets in the other's namespace, and so act as its workload identity`,
            cfr: Cfr.ACCESS_MANAGEMENT,
            fix: "give each application namespaces of its own (deployNamespaces: { NAME: [...] })",
          });
        }
        owner.set(ns, name);
      }
      plan.set(name, namespaces);
    }
    return plan;
  }

  private assertEvidenceArchive(props: GcpEnvironmentStackProps): void {
    const archive = props.evidenceArchive!;
    const where = `${this.node.path}/evidenceArchive`;
    if (props.evidence && !archive.keepLocalEvidenceBucket) {
      throw new HipaaConfigError({ path: `${this.node.path}/evidence`, problem: "evidence options were given, but the evidence bucket lives in the archive project", fix: "set evidence options on GcpEvidenceArchiveStack, or drop evidenceArchive" });
    }
    if (archive.bucket.environment.name !== this.environment.name) {
      throw new HipaaConfigError({ path: where, problem: `the archive bucket is for environment "${archive.bucket.environment.name}"`, cfr: Cfr.ACCESS_CONTROL, fix: `pass the archive's "${this.environment.name}" bucket (GcpEvidenceArchiveStack.evidenceBucketName(archiveProjectId, "${this.environment.name}"))` });
    }
    if (archive.bucket.projectId === props.projectId) {
      throw new HipaaConfigError({ path: where, problem: `the archive project is this environment's own project ${props.projectId}, whose administrators could re-policy the bucket and destroy its key`, cfr: Cfr.AUDIT_CONTROLS, fix: "give the archive a project of its own" });
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
  if (props.binaryAuthorization) services.push("binaryauthorization.googleapis.com", "containeranalysis.googleapis.com");
  if (props.runners?.artifactRepositories?.length || props.imageRepositories?.length) services.push("artifactregistry.googleapis.com");
  if (props.imageRepositories?.length) services.push("containerscanning.googleapis.com");
  if (props.auditLogArchive) services.push("logging.googleapis.com");
  return [...new Set(services)].sort();
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
