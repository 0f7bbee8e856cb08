import {
  CiWorkloadIdentity,
  CloudKmsProtectionLevel,
  CloudKmsSigningKey,
  GcpPrincipal,
  GcsEvidenceBucket,
  GcsStorageClass,
  GkeRunnerCluster,
  GkeRunnerPool,
  GkeWorkloadCluster,
  gkeClusterIamName,
  regionOf,
} from "../constructs/gcp";
import { RunnerPurpose } from "../src/model";
import { Environment, EnvironmentTier, GithubOidcSubject, GithubSubjectFormat, GitlabOidcSubject, GitlabProjectRef, GitlabRefType, RepositoryRef, RetentionPeriod, WorkflowRef } from "../src/model";
import { collectControlRecords } from "../src/compliance";
import { dev, gcpStack, production, refAt, refusal, resourceAt, resourcesOf, synth } from "./support/synth";

const PROJECT = { projectId: "hipaa-health-prod", location: "us-central1" };
const NUMBER = "404040404040";
const repo = RepositoryRef.parse("hipaa-app-org/clinical-platform", { ownerId: 1342004, repositoryId: 260064828 });
const compliance = RepositoryRef.parse("hipaa-app-org/compliance-workflows", { ownerId: 1342004, repositoryId: 260064901 });
const prodSubject = new GithubOidcSubject({
  repository: repo,
  environment: production,
  format: GithubSubjectFormat.CLASSIC,
  workflow: new WorkflowRef({ repository: compliance, path: ".github/workflows/deploy-prod.yml", tag: "v*" }),
  workflowTagsProtected: true,
});

describe("GcsEvidenceBucket", () => {
  const { stack } = gcpStack();
  const bucket = new GcsEvidenceBucket(stack, "Evidence", { environment: production, ...PROJECT });
  bucket.grantWrite(GcpPrincipal.fromMember("serviceAccount:ci@hipaa-health-prod.iam.gserviceaccount.com", "Ci", production));
  bucket.grantRead(GcpPrincipal.fromMember("group:auditors@hipaa-health.example", "Auditors"));
  const out = synth(stack);
  const b = resourceAt(out, "google_storage_bucket", "Evidence/Bucket");

  test("matches the expected Terraform JSON", () => {
    expect(out.tf).toMatchSnapshot();
  });

  test("locked six-year retention, UBLA, public access prevention, prevent_destroy, no versioning", () => {
    expect(b.retention_policy).toEqual({ retention_period: 189216000, is_locked: true });
    expect(b.retention_policy.retention_period).toBeGreaterThanOrEqual(189_216_000);
    expect(b.uniform_bucket_level_access).toBe(true);
    expect(b.public_access_prevention).toBe("enforced");
    expect(b.force_destroy).toBe(false);
    expect(b.lifecycle).toEqual({ prevent_destroy: true });
    expect(b.versioning).toBeUndefined();
  });

  test("CMEK with the storage service agent's grant as a dependency", () => {
    expect(b.encryption.default_kms_key_name).toBe(refAt(out, "google_kms_crypto_key", "Evidence/Key", "id"));
    const grant = resourceAt(out, "google_kms_crypto_key_iam_member", "Evidence/StorageAgentKeyGrant");
    expect(grant.role).toBe("roles/cloudkms.cryptoKeyEncrypterDecrypter");
    expect(grant.member).toMatch(/^serviceAccount:\$\{data\.google_storage_project_service_account\.[^}]+\.email_address\}$/);
    expect(b.depends_on).toEqual([expect.stringMatching(/^google_kms_crypto_key_iam_member\.Evidence_StorageAgentKeyGrant_/)]);
    expect(resourceAt(out, "google_kms_crypto_key", "Evidence/Key")).toMatchObject({ rotation_period: "7776000s", purpose: "ENCRYPT_DECRYPT", lifecycle: { prevent_destroy: true } });
  });

  test("usage logs to a separate locked bucket the analytics group may write", () => {
    const logs = resourceAt(out, "google_storage_bucket", "Evidence/LogBucket");
    expect(b.logging.log_bucket).toBe(refAt(out, "google_storage_bucket", "Evidence/LogBucket", "name"));
    expect(logs.retention_policy.is_locked).toBe(true);
    expect(logs.uniform_bucket_level_access).toBe(true);
    expect(resourceAt(out, "google_storage_bucket_iam_member", "Evidence/UsageLogDelivery")).toMatchObject({ role: "roles/storage.objectCreator", member: "group:cloud-storage-analytics@google.com" });
  });

  test("lifecycle only changes storage class, never deletes", () => {
    expect(b.lifecycle_rule.map((r: any) => r.action.type)).toEqual(["SetStorageClass", "SetStorageClass"]);
  });

  test("writers get object-create only, auditors object-view only", () => {
    const members = Object.values(resourcesOf(out, "google_storage_bucket_iam_member")).map((m) => [m.role, m.member]);
    expect(members).toEqual(
      expect.arrayContaining([
        ["roles/storage.objectCreator", "serviceAccount:ci@hipaa-health-prod.iam.gserviceaccount.com"],
        ["roles/storage.objectViewer", "group:auditors@hipaa-health.example"],
      ]),
    );
  });

  test("refusals: short retention, unlocked in PHI, unlocked without reason, bad transitions, public members, cross-environment writers", () => {
    const { stack: s } = gcpStack();
    expect(refusal(() => new GcsEvidenceBucket(s, "A", { environment: production, ...PROJECT, retention: RetentionPeriod.years(1) }))).toContain(
      "is shorter than six years (189,216,000 s) (45 CFR 164.316(b)(2)(i))",
    );
    expect(refusal(() => new GcsEvidenceBucket(s, "B", { environment: production, ...PROJECT, lockRetention: false, unlockedRetentionReason: "x".repeat(40) }))).toContain(
      'environment "production" handles PHI',
    );
    expect(refusal(() => new GcsEvidenceBucket(s, "C", { environment: dev, ...PROJECT, lockRetention: false }))).toContain("unlockedRetentionReason");
    expect(
      refusal(() => new GcsEvidenceBucket(s, "D", { environment: production, ...PROJECT, transitions: [{ days: 30, storageClass: GcsStorageClass.NEARLINE }, { days: 40, storageClass: GcsStorageClass.COLDLINE }] })),
    ).toContain("before its 30-day minimum storage duration");
    expect(refusal(() => GcpPrincipal.fromMember("allUsers", "Public"))).toContain("allUsers, allAuthenticatedUsers and wildcards are refused");
    const e = new GcsEvidenceBucket(s, "E", { environment: production, ...PROJECT });
    expect(refusal(() => e.grantWrite(GcpPrincipal.fromMember("serviceAccount:dev@x.iam.gserviceaccount.com", "DevCi", dev)))).toContain('acts in environment "dev"');
  });

  test("an unlocked policy outside PHI with a reason is recorded", () => {
    const { stack: s } = gcpStack();
    new GcsEvidenceBucket(s, "Dev", { environment: dev, ...PROJECT, lockRetention: false, unlockedRetentionReason: "Dev holds synthetic data only and is rebuilt weekly." });
    expect(resourceAt(synth(s), "google_storage_bucket", "Dev/Bucket").retention_policy.is_locked).toBe(false);
    expect(collectControlRecords(s).exceptions).toEqual([expect.objectContaining({ section: "164.312(b)", what: "GCS retention policy not locked" })]);
  });
});

describe("CloudKmsSigningKey", () => {
  const { stack } = gcpStack();
  const key = new CloudKmsSigningKey(stack, "Signing", { environment: production, ...PROJECT, administratorMembers: ["group:kms-admins@hipaa-health.example"] });
  key.grantSign(GcpPrincipal.fromMember("serviceAccount:build@hipaa-health-prod.iam.gserviceaccount.com", "Build"));
  key.grantVerify(GcpPrincipal.fromMember("serviceAccount:admission@hipaa-health-prod.iam.gserviceaccount.com", "Admission"));
  const out = synth(stack);
  const k = resourceAt(out, "google_kms_crypto_key", "Signing/Key");

  test("matches the expected Terraform JSON", () => {
    expect(out.tf).toMatchSnapshot();
  });

  test("ASYMMETRIC_SIGN, EC P-256 in an HSM, no rotation, 30-day destroy schedule, prevent_destroy", () => {
    expect(k).toMatchObject({
      purpose: "ASYMMETRIC_SIGN",
      version_template: { algorithm: "EC_SIGN_P256_SHA256", protection_level: "HSM" },
      destroy_scheduled_duration: "2592000s",
      lifecycle: { prevent_destroy: true },
    });
    expect(k.rotation_period).toBeUndefined();
    expect(resourceAt(out, "google_kms_key_ring", "Signing/KeyRing").lifecycle).toEqual({ prevent_destroy: true });
  });

  test("signers get signerVerifier + viewer, verifiers publicKeyViewer, admins admin; no member holds both", () => {
    const byMember = new Map<string, string[]>();
    for (const m of Object.values(resourcesOf(out, "google_kms_crypto_key_iam_member"))) byMember.set(m.member, [...(byMember.get(m.member) ?? []), m.role]);
    expect(byMember.get("serviceAccount:build@hipaa-health-prod.iam.gserviceaccount.com")).toEqual(["roles/cloudkms.signerVerifier", "roles/cloudkms.viewer"]);
    expect(byMember.get("serviceAccount:admission@hipaa-health-prod.iam.gserviceaccount.com")).toEqual(["roles/cloudkms.publicKeyViewer"]);
    expect(byMember.get("group:kms-admins@hipaa-health.example")).toEqual(["roles/cloudkms.admin"]);
    for (const roles of byMember.values()) expect(roles.includes("roles/cloudkms.admin") && roles.length > 1).toBe(false);
  });

  test("exposes a gcpkms:// URI pinned to version 1", () => {
    expect(stackResolve(out, key.cosignKeyUri)).toBe(`gcpkms://${refAt(out, "google_kms_crypto_key", "Signing/Key", "id")}/versions/1`);
  });

  test("refusals: rotation, software protection in PHI, admin who signs", () => {
    const { stack: s } = gcpStack();
    const message = refusal(() => new CloudKmsSigningKey(s, "A", { environment: production, ...PROJECT, rotationPeriod: "7776000s" }));
    expect(message).toContain("Cloud KMS does not rotate asymmetric keys");
    expect(message).toContain("add a new key version");
    expect(refusal(() => new CloudKmsSigningKey(s, "B", { environment: production, ...PROJECT, protectionLevel: CloudKmsProtectionLevel.SOFTWARE, softwareProtectionReason: "x".repeat(30) }))).toContain(
      "outside an HSM in PHI environment",
    );
    const c = new CloudKmsSigningKey(s, "C", { environment: production, ...PROJECT, administratorMembers: ["group:kms-admins@hipaa-health.example"] });
    expect(refusal(() => c.grantSign(GcpPrincipal.fromMember("group:kms-admins@hipaa-health.example", "Admins")))).toContain("administers this key and cannot also hold a crypto role");
  });
});

function stackResolve(out: ReturnType<typeof synth>, value: string): string {
  void out;
  // Tokens render through an output; the Testing app resolves them at synth.
  const { stack } = gcpStack("resolve");
  const { TerraformOutput, Testing } = require("cdktf");
  new TerraformOutput(stack, "v", { value });
  return JSON.parse(Testing.synth(stack)).output.v.value;
}

describe("CiWorkloadIdentity", () => {
  test("GitHub: condition pins owner and repository ids, environment and workflow; binding by project-number principalSet", () => {
    const { stack } = gcpStack();
    CiWorkloadIdentity.github(stack, "Github", { projectId: PROJECT.projectId, projectNumber: NUMBER, subjects: [prodSubject] });
    const out = synth(stack);
    expect(out.tf).toMatchSnapshot();
    const provider = resourceAt(out, "google_iam_workload_identity_pool_provider", "Github/Provider");
    expect(provider.attribute_condition).toBe(
      "(assertion.repository_owner_id == '1342004' && assertion.repository_id == '260064828' && assertion.environment == 'production' && assertion.job_workflow_ref.startsWith('hipaa-app-org/compliance-workflows/.github/workflows/deploy-prod.yml@refs/tags/v'))",
    );
    expect(provider.attribute_mapping["google.subject"]).toBe("assertion.sub");
    expect(provider.attribute_mapping["attribute.repository_id"]).toBe("assertion.repository_id");
    expect(provider.oidc).toEqual({ issuer_uri: "https://token.actions.githubusercontent.com" });
    const binding = Object.values(resourcesOf(out, "google_service_account_iam_member"))[0];
    expect(binding.role).toBe("roles/iam.workloadIdentityUser");
    expect(binding.member).toBe(`principalSet://iam.googleapis.com/${refAt(out, "google_iam_workload_identity_pool", "Github/Pool", "name")}/attribute.repository_id/260064828`);
  });

  test("GitLab: condition pins the project by id and path, ref type, ref, protection, and the job's protected environment", () => {
    const { stack } = gcpStack();
    const subject = new GitlabOidcSubject({ project: new GitlabProjectRef("hipaa-health/compliance-platform", { projectId: 48213107 }), environment: production, refType: GitlabRefType.TAG, ref: "v*", refProtected: true });
    CiWorkloadIdentity.gitlab(stack, "Gitlab", { projectId: PROJECT.projectId, projectNumber: NUMBER, subjects: [subject] });
    const out = synth(stack);
    const provider = resourceAt(out, "google_iam_workload_identity_pool_provider", "Gitlab/Provider");
    // Without the environment pin one tag pipeline's token would open every environment that
    // trusts the same tags (validation and production both deploy from v* tags).
    expect(provider.attribute_condition).toBe(
      "(assertion.project_id == '48213107' && assertion.project_path == 'hipaa-health/compliance-platform' && assertion.ref_type == 'tag' && assertion.ref.startsWith('v') && assertion.ref_protected == 'true' && assertion.environment == 'production' && assertion.environment_protected == 'true')",
    );
    const binding = Object.values(resourcesOf(out, "google_service_account_iam_member"))[0];
    expect(binding.member).toMatch(/\/attribute\.project_id\/48213107$/);
  });

  test("GitLab: a project without its numeric id is refused (a path can be re-registered)", () => {
    const { stack } = gcpStack();
    const subject = new GitlabOidcSubject({ project: new GitlabProjectRef("hipaa-health/compliance-platform"), environment: production, refType: GitlabRefType.TAG, ref: "v*", refProtected: true });
    expect(refusal(() => CiWorkloadIdentity.gitlab(stack, "Gitlab", { projectId: PROJECT.projectId, projectNumber: NUMBER, subjects: [subject] }))).toContain("has no numeric id");
  });

  test("refusals: no subject, subjects of two environments, a subject too long for google.subject, a bad project number", () => {
    const { stack } = gcpStack();
    const base = { projectId: PROJECT.projectId, projectNumber: NUMBER };
    expect(refusal(() => CiWorkloadIdentity.github(stack, "A", { ...base, subjects: [] }))).toContain("no subject is trusted");
    const staging = new Environment({ name: "staging", tier: EnvironmentTier.STAGING });
    const stagingSubject = new GithubOidcSubject({ repository: repo, environment: staging, format: GithubSubjectFormat.CLASSIC });
    expect(refusal(() => CiWorkloadIdentity.github(stack, "B", { ...base, subjects: [prodSubject, stagingSubject] }))).toContain("subjects span environments production, staging");
    const exact = new WorkflowRef({ repository: compliance, path: ".github/workflows/deploy-production-with-a-long-name.yml", tag: "v3.2.1" });
    const custom = new GithubOidcSubject({ repository: repo, environment: production, format: GithubSubjectFormat.CUSTOM, workflow: exact });
    expect(refusal(() => CiWorkloadIdentity.github(stack, "C", { ...base, subjects: [custom] }))).toContain("google.subject is capped at 127");
    expect(refusal(() => CiWorkloadIdentity.github(stack, "D", { ...base, projectNumber: "hipaa-health-prod", subjects: [prodSubject] }))).toContain("is not a project number");
  });
});

describe("GKE runners", () => {
  const { stack } = gcpStack();
  const cluster = new GkeRunnerCluster(stack, "Cluster", {
    clusterName: "hipaa-production-runners",
    projectId: PROJECT.projectId,
    projectNumber: NUMBER,
    location: PROJECT.location,
    environments: [production],
    network: "hipaa-vpc",
    subnetwork: "runners",
    podsRangeName: "pods",
    servicesRangeName: "services",
    masterIpv4CidrBlock: "172.16.0.0/28",
    platformAdminMembers: ["group:gke-platform-admins@hipaa-health.example"],
  });
  const key = new CloudKmsSigningKey(stack, "Signing", { environment: production, ...PROJECT });
  const bucket = new GcsEvidenceBucket(stack, "EvidenceBucket", { environment: production, ...PROJECT });
  const target = GkeWorkloadCluster.lookup(stack, "WorkloadCluster", { projectId: PROJECT.projectId, location: PROJECT.location, clusterName: "hipaa-production-workloads", environment: production });
  new GkeRunnerPool(stack, "Build", { cluster, environment: production, purpose: RunnerPurpose.BUILD, signingKey: key, artifactRepositories: ["projects/hipaa-health-prod/locations/us-central1/repositories/clinical-images"] });
  new GkeRunnerPool(stack, "Evidence", { cluster, environment: production, purpose: RunnerPurpose.EVIDENCE, evidenceBucket: bucket });
  new GkeRunnerPool(stack, "Deploy", { cluster, environment: production, purpose: RunnerPurpose.DEPLOY, deployTarget: target, deployNamespaces: ["clinical-platform"] });
  const out = synth(stack);

  test("matches the expected Terraform JSON", () => {
    expect(out.tf).toMatchSnapshot();
  });

  test("cluster: private, Workload Identity, shielded nodes, release channel, secrets CMEK, no default compute SA", () => {
    const c = resourceAt(out, "google_container_cluster", "Cluster/Cluster");
    expect(c.private_cluster_config).toMatchObject({ enable_private_nodes: true, enable_private_endpoint: true });
    expect(c.workload_identity_config).toEqual({ workload_pool: "hipaa-health-prod.svc.id.goog" });
    expect(c.enable_shielded_nodes).toBe(true);
    expect(c.release_channel).toEqual({ channel: "REGULAR" });
    expect(c.database_encryption.state).toBe("ENCRYPTED");
    expect(c.remove_default_node_pool).toBe(true);
    expect(c.deletion_protection).toBe(true);
    expect(c.node_config.service_account).toMatch(/google_service_account\.Cluster_BootstrapNodeServiceAccount_/);
    expect(c.datapath_provider).toBe("ADVANCED_DATAPATH");
    expect(c.network_policy).toEqual({ enabled: false });
    expect(c.binary_authorization).toEqual({ evaluation_mode: "PROJECT_SINGLETON_POLICY_ENFORCE" });
    expect(c.master_auth).toEqual({ client_certificate_config: { issue_client_certificate: false } });
    expect(c.enable_intranode_visibility).toBe(true);
  });

  test.each(["Build", "Evidence", "Deploy"])("%s pool: GKE_METADATA, secure boot, integrity monitoring, COS_CONTAINERD, auto-repair/upgrade, taint, labels, boot CMEK, dedicated SA", (pool) => {
    const p = resourceAt(out, "google_container_node_pool", `${pool}/NodePool`);
    const purpose = pool.toLowerCase();
    expect(p.management).toEqual({ auto_repair: true, auto_upgrade: true });
    expect(p.node_config).toMatchObject({
      image_type: "COS_CONTAINERD",
      workload_metadata_config: { mode: "GKE_METADATA" },
      shielded_instance_config: { enable_secure_boot: true, enable_integrity_monitoring: true },
      labels: { "hipaa-substrate/environment": "production", "hipaa-substrate/purpose": purpose },
      taint: [
        { key: "hipaa-substrate/environment", value: "production", effect: "NO_SCHEDULE" },
        { key: "hipaa-substrate/purpose", value: purpose, effect: "NO_SCHEDULE" },
      ],
    });
    expect(p.node_config.boot_disk_kms_key).toBe(refAt(out, "google_kms_crypto_key", "Cluster/NodeDiskKey", "id"));
    expect(p.node_config.service_account).toBe(refAt(out, "google_service_account", `${pool}/NodeServiceAccount`, "email"));
  });

  test("node service accounts hold only the default node role and registry read", () => {
    const nodeRoles = Object.values(resourcesOf(out, "google_project_iam_member")).filter((m) => /NodeServiceAccount/.test(m.member));
    expect(new Set(nodeRoles.map((m) => m.role))).toEqual(new Set(["roles/container.defaultNodeServiceAccount", "roles/artifactregistry.reader"]));
  });

  test("runner service accounts are bound to their namespace/KSA and hold only their purpose's rights", () => {
    const bindings = Object.values(resourcesOf(out, "google_service_account_iam_member")).map((b) => b.member);
    expect(bindings.sort()).toEqual([
      "serviceAccount:hipaa-health-prod.svc.id.goog[ci-production-build/runner]",
      "serviceAccount:hipaa-health-prod.svc.id.goog[ci-production-deploy/runner]",
      "serviceAccount:hipaa-health-prod.svc.id.goog[ci-production-evidence/runner]",
    ]);
    const deploy = resourceAt(out, "google_project_iam_member", "Deploy/DeployAccess/Binding");
    expect(deploy.role).toBe("roles/container.clusterViewer");
    expect(deploy.condition.expression).toBe(
      'resource.name == "projects/hipaa-health-prod/locations/us-central1/clusters/hipaa-production-workloads" || resource.name.startsWith("projects/hipaa-health-prod/locations/us-central1/clusters/hipaa-production-workloads/")',
    );
    expect(resourceAt(out, "google_storage_bucket_iam_member", "EvidenceBucket/WriteEvidenceRunner").role).toBe("roles/storage.objectCreator");
  });

  test("refusals: metadata mode, unknown environment, another environment's target, foreign purpose", () => {
    expect(refusal(() => new GkeRunnerPool(stack, "X1", { cluster, environment: production, purpose: RunnerPurpose.EVIDENCE, evidenceBucket: bucket, workloadMetadataMode: "GCE_METADATA" }))).toContain(
      "lets pods use the node's service account",
    );
    const devBucket = new GcsEvidenceBucket(stack, "DevBucket", { environment: dev, ...PROJECT });
    expect(refusal(() => new GkeRunnerPool(stack, "X2", { cluster, environment: dev, purpose: RunnerPurpose.EVIDENCE, evidenceBucket: devBucket }))).toContain('environment "dev" is not one of the environments');
    // An archived bucket (granted by the archive's stack) of another environment is refused too.
    const devArchived = { environment: dev, projectId: "hipaa-health-archive", bucketName: "hipaa-evidence-dev-archive" };
    expect(refusal(() => new GkeRunnerPool(stack, "X2b", { cluster, environment: production, purpose: RunnerPurpose.EVIDENCE, evidenceBucket: devArchived }))).toContain(
      'EvidenceRunner acts in environment "production" and cannot be granted rights on a resource of environment "dev" (45 CFR 164.308(a)(4))',
    );
    expect(refusal(() => new GkeRunnerPool(stack, "X3", { cluster, environment: production, purpose: RunnerPurpose.DEPLOY, deployTarget: { ...target, environment: dev } }))).toContain(
      'belongs to environment "dev"',
    );
    expect(refusal(() => new GkeRunnerPool(stack, "X4", { cluster, environment: production, purpose: RunnerPurpose.DEPLOY, deployTarget: target, evidenceBucket: bucket }))).toContain(
      "belong to another purpose",
    );
    expect(refusal(() => new GkeRunnerPool(stack, "X6", { cluster, environment: production, purpose: RunnerPurpose.DEPLOY, deployTarget: target }))).toContain(
      "deploy namespaces [] must be one or more Kubernetes names",
    );
    expect(refusal(() => new GkeRunnerPool(stack, "X5", { cluster, environment: production, purpose: RunnerPurpose.EVIDENCE, evidenceBucket: devBucket }))).toContain(
      'EvidenceRunner acts in environment "production"',
    );
  });
});

describe("GKE first apply: cluster references, administrators, control-plane ranges (issue 11)", () => {
  const clusterProps = (overrides: Partial<ConstructorParameters<typeof GkeRunnerCluster>[2]> = {}): ConstructorParameters<typeof GkeRunnerCluster>[2] => ({
    clusterName: "hipaa-production-runners",
    projectId: PROJECT.projectId,
    projectNumber: NUMBER,
    location: PROJECT.location,
    environments: [production],
    network: "hipaa-vpc",
    subnetwork: "runners",
    podsRangeName: "pods",
    servicesRangeName: "services",
    masterIpv4CidrBlock: "172.16.0.0/28",
    platformAdminMembers: ["group:gke-platform-admins@hipaa-health.example"],
    ...overrides,
  });

  test("refusals: no platform administrator, a member that is not one named identity, a duplicate", () => {
    const { stack } = gcpStack();
    expect(refusal(() => new GkeRunnerCluster(stack, "A", clusterProps({ platformAdminMembers: undefined as any })))).toContain("no platform administrator is named");
    expect(refusal(() => new GkeRunnerCluster(stack, "B", clusterProps({ platformAdminMembers: [] })))).toContain("(45 CFR 164.308(a)(4))");
    expect(refusal(() => new GkeRunnerCluster(stack, "C", clusterProps({ platformAdminMembers: ["domain:hipaa-health.example"] })))).toContain("is not one named group, user or service account");
    expect(refusal(() => new GkeRunnerCluster(stack, "D", clusterProps({ platformAdminMembers: ["allUsers"] })))).toContain("is not one named group, user or service account");
    expect(refusal(() => new GkeRunnerCluster(stack, "E", clusterProps({ platformAdminMembers: ["user:a@x.example", "user:a@x.example"] })))).toContain("lists a member twice");
  });

  test("refusals: no control-plane range, not a /28 network address, a range another cluster of the program has", () => {
    const { app, stack } = gcpStack();
    expect(refusal(() => new GkeRunnerCluster(stack, "A", clusterProps({ masterIpv4CidrBlock: undefined as any })))).toContain("masterIpv4CidrBlock is not given");
    expect(refusal(() => new GkeRunnerCluster(stack, "B", clusterProps({ masterIpv4CidrBlock: "172.16.0.0/24" })))).toContain("is not a /28 network address");
    expect(refusal(() => new GkeRunnerCluster(stack, "C", clusterProps({ masterIpv4CidrBlock: "172.16.0.8/28" })))).toContain("is not a /28 network address");
    expect(refusal(() => new GkeRunnerCluster(stack, "D", clusterProps({ masterIpv4CidrBlock: "172.16.300.0/28" })))).toContain("is not a /28 network address");
    new GkeRunnerCluster(stack, "First", clusterProps());
    // Another stack of the same program (another environment of one substrate).
    const { TerraformStack } = require("cdktf");
    const other = new TerraformStack(app, "other");
    expect(refusal(() => new GkeRunnerCluster(other, "Second", clusterProps({ clusterName: "hipaa-staging-runners" })))).toContain("overlaps 172.16.0.0/28 of test/First");
    expect(() => new GkeRunnerCluster(other, "Third", clusterProps({ clusterName: "hipaa-staging-runners", masterIpv4CidrBlock: "172.16.0.16/28" }))).not.toThrow();
    // A separate program may reuse the range.
    expect(() => new GkeRunnerCluster(gcpStack().stack, "Elsewhere", clusterProps())).not.toThrow();
  });

  test("zonal clusters are named projects/P/zones/Z/clusters/C in IAM conditions; the subnetwork is looked up in the zone's region", () => {
    const { stack } = gcpStack();
    const cluster = new GkeRunnerCluster(stack, "Cluster", clusterProps({ location: "us-central1-a" }));
    const target = GkeWorkloadCluster.lookup(stack, "Workloads", { projectId: PROJECT.projectId, location: "us-central1-b", clusterName: "hipaa-production-workloads", environment: production });
    new GkeRunnerPool(stack, "Deploy", { cluster, environment: production, purpose: RunnerPurpose.DEPLOY, deployTarget: target, deployNamespaces: ["clinical-platform"] });
    const out = synth(stack);
    expect(cluster.iamResourceName).toBe("projects/hipaa-health-prod/zones/us-central1-a/clusters/hipaa-production-runners");
    expect(resourceAt(out, "google_project_iam_member", "Deploy/DeployAccess/Binding").condition.expression).toBe(
      'resource.name == "projects/hipaa-health-prod/zones/us-central1-b/clusters/hipaa-production-workloads" || resource.name.startsWith("projects/hipaa-health-prod/zones/us-central1-b/clusters/hipaa-production-workloads/")',
    );
    const admin = Object.values(resourcesOf(out, "google_project_iam_member")).find((m) => m.role === "roles/container.admin")!;
    expect(admin.condition.expression).toContain('resource.name == "projects/hipaa-health-prod/zones/us-central1-a/clusters/hipaa-production-runners"');
    expect(Object.values(out.tf.data!.google_compute_subnetwork)).toEqual([{ project: "hipaa-health-prod", region: "us-central1", name: "runners" }]);
    expect(Object.values(out.tf.data!.google_container_cluster)).toEqual([{ project: "hipaa-health-prod", location: "us-central1-b", name: "hipaa-production-workloads" }]);
  });

  test("cluster resource names: zones (including AI zones) vs regions", () => {
    expect(gkeClusterIamName("t", "p", "us-central1", "c")).toBe("projects/p/locations/us-central1/clusters/c");
    expect(gkeClusterIamName("t", "p", "europe-west4-b", "c")).toBe("projects/p/zones/europe-west4-b/clusters/c");
    expect(gkeClusterIamName("t", "p", "northamerica-northeast1-a", "c")).toBe("projects/p/zones/northamerica-northeast1-a/clusters/c");
    expect(regionOf("t", "us-central1-ai1a")).toBe("us-central1");
    expect(regionOf("t", "us-east4")).toBe("us-east4");
    expect(refusal(() => gkeClusterIamName("t", "p", "${var.location}", "c"))).toContain("the cluster location is a Terraform expression");
    const { Fn } = require("cdktf");
    expect(refusal(() => gkeClusterIamName("t", "p", Fn.lower("US-CENTRAL1"), "c"))).toContain("the cluster location is a Terraform expression");
  });

  test("refusals: a location that is neither region nor zone; a deploy target that is not a cluster reference", () => {
    const { stack } = gcpStack();
    expect(refusal(() => new GkeRunnerCluster(stack, "A", clusterProps({ location: "us-central" })))).toContain('location "us-central" is neither a region nor a zone');
    expect(refusal(() => GkeWorkloadCluster.lookup(stack, "B", { projectId: PROJECT.projectId, location: "central", clusterName: "w", environment: production }))).toContain("is neither a region nor a zone");
    const cluster = new GkeRunnerCluster(stack, "Cluster", clusterProps());
    const literal = { projectId: PROJECT.projectId, location: PROJECT.location, clusterName: "w", environment: production } as any;
    expect(refusal(() => new GkeRunnerPool(stack, "Deploy", { cluster, environment: production, purpose: RunnerPurpose.DEPLOY, deployTarget: literal, deployNamespaces: ["clinical-platform"] }))).toContain(
      "the deploy target is not a cluster reference",
    );
  });

  test("a workload cluster created in the same program: the grant depends on the resource", () => {
    const { stack } = gcpStack();
    const runners = new GkeRunnerCluster(stack, "Cluster", clusterProps());
    const where = { cluster: runners.cluster, projectId: PROJECT.projectId, location: PROJECT.location, clusterName: "hipaa-production-runners", environment: production };
    // Without a Kubernetes provider for the cluster there is no way to scope the grant to namespaces.
    expect(refusal(() => new GkeRunnerPool(stack, "NoProvider", { cluster: runners, environment: production, purpose: RunnerPurpose.DEPLOY, deployTarget: GkeWorkloadCluster.fromResource(where), deployNamespaces: ["clinical-platform"] }))).toContain(
      "the deploy target has no Kubernetes provider",
    );
    stack.node.tryRemoveChild("NoProvider");
    const { KubernetesProvider } = require("@cdktf/provider-kubernetes/lib/provider");
    const kubernetesProvider = new KubernetesProvider(stack, "Kubernetes", { alias: "runners", configPath: "/dev/null" });
    const target = GkeWorkloadCluster.fromResource({ ...where, kubernetesProvider });
    new GkeRunnerPool(stack, "Deploy", { cluster: runners, environment: production, purpose: RunnerPurpose.DEPLOY, deployTarget: target, deployNamespaces: ["clinical-platform"] });
    const out = synth(stack);
    expect(resourceAt(out, "google_project_iam_member", "Deploy/DeployAccess/Binding").depends_on).toEqual([expect.stringMatching(/^google_container_cluster\.Cluster_[0-9A-F]{8}$/)]);
    expect(resourceAt(out, "kubernetes_role_binding_v1", "Deploy/DeployAccess/RoleBinding-clinical-platform").provider).toBe("kubernetes.runners");
  });

  test("Shared VPC: network and subnetwork paths are looked up in the host project", () => {
    const { stack } = gcpStack();
    new GkeRunnerCluster(stack, "Cluster", clusterProps({ network: "projects/host-net/global/networks/shared", subnetwork: "projects/host-net/regions/us-east1/subnetworks/runners" }));
    const out = synth(stack);
    expect(Object.values(out.tf.data!.google_compute_network)).toEqual([{ project: "host-net", name: "shared" }]);
    expect(Object.values(out.tf.data!.google_compute_subnetwork)).toEqual([{ project: "host-net", region: "us-east1", name: "runners" }]);
  });

  test("an existing runner cluster is looked up; Workload Identity bindings wait for the lookup", () => {
    const { stack } = gcpStack();
    const cluster = GkeRunnerCluster.fromExisting(stack, "Existing", {
      clusterName: "shared-runners",
      projectId: PROJECT.projectId,
      projectNumber: NUMBER,
      location: PROJECT.location,
      environments: [production],
      nodeDiskKmsKeyId: "projects/hipaa-health-prod/locations/us-central1/keyRings/gke/cryptoKeys/disks",
    });
    const bucket = new GcsEvidenceBucket(stack, "EvidenceBucket", { environment: production, ...PROJECT });
    new GkeRunnerPool(stack, "Evidence", { cluster, environment: production, purpose: RunnerPurpose.EVIDENCE, evidenceBucket: bucket });
    const out = synth(stack);
    const [lookupName, lookup] = Object.entries(out.tf.data!.google_container_cluster)[0];
    expect(lookup).toEqual({ project: "hipaa-health-prod", location: "us-central1", name: "shared-runners" });
    expect(resourceAt(out, "google_service_account_iam_member", "Evidence/WorkloadIdentityBinding").depends_on).toEqual([`data.google_container_cluster.${lookupName}`]);
  });
});

describe("GcsEvidenceBucket.grantWrite with a prefix (issue 12)", () => {
  test("confines the writer to its prefix with an IAM condition; refuses a prefix that is not one", () => {
    const { stack } = gcpStack();
    const bucket = new GcsEvidenceBucket(stack, "Evidence", { environment: production, ...PROJECT });
    bucket.grantWrite(GcpPrincipal.fromMember("serviceAccount:ci@hipaa-health-prod.iam.gserviceaccount.com", "Repo", production), { prefix: "clinical-platform/production/" });
    const grant = resourceAt(synth(stack), "google_storage_bucket_iam_member", "Evidence/WriteRepo");
    expect(grant.role).toBe("roles/storage.objectCreator");
    expect(grant.condition.expression).toMatch(/^resource\.name\.startsWith\("projects\/_\/buckets\/\$\{google_storage_bucket\.[A-Za-z0-9_]+\.name\}\/objects\/clinical-platform\/production\/"\)$/);
    expect(refusal(() => bucket.grantWrite(GcpPrincipal.fromMember("serviceAccount:x@hipaa-health-prod.iam.gserviceaccount.com", "Bad", production), { prefix: "clinical-platform/*" }))).toContain("is not a plain object-name prefix");
  });
});
