/**
 * The seeds' "GitLab CI on GCP" engagement: one GCP project and stack per environment, evidence
 * in GCS with Bucket Lock, cosign keys in Cloud KMS HSM, GitLab CI trusted through Workload
 * Identity Federation (the parent pipeline in hipaa-health/compliance-platform; production only
 * from protected release tags), and GKE runner pools per environment and purpose bound to
 * environment-scoped service accounts through Workload Identity. GitLab itself is governed in
 * its own stack (hipaa-gitlab): protected main and release tags, merge-request approvals, job
 * token allow-lists, protected environments with group approvals and protected runners, and the
 * clouds trust exactly the refs it protects.
 *
 * `cd examples/gcp-gitlab && npx cdktf synth` writes it to examples/gcp-gitlab/cdktf.out/.
 */
import { App } from "cdktf";
import { DeployGate, Environment, EnvironmentTier, GcpArchiveStack, GcpEnvironmentStack, GcpEvidenceArchiveStack, GitlabGovernanceStack, GitlabProjectRef, HipaaCompliance, RunnerPurpose, validateEnvironments } from "../../src";
import { GkeRunnerPool } from "../../constructs/gcp/gke-runner-pool";
import { stableSuffix } from "../../src/naming";

export const GCP_ENVIRONMENTS: readonly Environment[] = [
  new Environment({ name: "dev", tier: EnvironmentTier.DEVELOPMENT }),
  new Environment({ name: "staging", tier: EnvironmentTier.STAGING }),
  new Environment({ name: "validation", tier: EnvironmentTier.VALIDATION }),
  new Environment({ name: "production", tier: EnvironmentTier.PRODUCTION }),
];

export const GCP_PROJECTS: Readonly<Record<string, { id: string; number: string }>> = {
  dev: { id: "hipaa-health-dev", number: "101010101010" },
  staging: { id: "hipaa-health-staging", number: "202020202020" },
  validation: { id: "hipaa-health-validation", number: "303030303030" },
  production: { id: "hipaa-health-prod", number: "404040404040" },
};

/**
 * The archive project: every environment project's audit logs and evidence land in its
 * Bucket-Locked buckets; its only owner is the break-glass group (created beforehand, outside
 * this app), which applies the two archive stacks.
 */
export const GCP_ARCHIVE = { id: "hipaa-health-audit-archive", number: "909090909090", breakGlassMember: "group:break-glass@hipaa-health.example" } as const;

/**
 * Each runner cluster's control-plane /28, fixed per environment name (never by position: a
 * changed range replaces the cluster). Production keeps the range every cluster had before ranges
 * were made distinct.
 */
export const GKE_MASTER_RANGES: Readonly<Record<string, string>> = {
  production: "172.16.0.0/28",
  validation: "172.16.0.16/28",
  staging: "172.16.0.32/28",
  dev: "172.16.0.48/28",
};

/**
 * A /28 in 172.17.0.0/16 for environments not listed above: the slot a hash of the name picks, or
 * the next free one when another environment of this app holds it (the clusters' overlap check
 * would refuse a clash).
 */
function derivedMasterRange(env: string, taken: Set<number>): string {
  let i = parseInt(stableSuffix(`gke-master/${env}`, 4), 16) % 4096;
  while (taken.has(i)) i = (i + 1) % 4096;
  taken.add(i);
  return `172.17.${i >> 4}.${(i & 15) * 16}/28`;
}

/** Where the parent pipeline's evidence of `env` goes: `<repository>/<environment>/`, e.g. compliance-platform/production/. */
export function evidencePrefix(env: string): string {
  return `${COMPLIANCE_PLATFORM_PATH.split("/").pop()}/${env}/`;
}
const COMPLIANCE_PLATFORM_PATH = "hipaa-health/compliance-platform";

/** Read-only access to evidence, in the archive. */
const AUDITORS = "group:hipaa-auditors@hipaa-health.example";

export const COMPLIANCE_PLATFORM_ID = 48213077;
export const COMPLIANCE_PLATFORM = new GitlabProjectRef(COMPLIANCE_PLATFORM_PATH, { projectId: COMPLIANCE_PLATFORM_ID });
/** The group whose members approve deploys. */
export const RELEASE_APPROVERS = { id: 70021, path: "hipaa-health/release-approvers" };
/** The compliance team: the only members who merge to the parent's main and cut its release tags. */
export const COMPLIANCE_TEAM = { id: 70011, path: "hipaa-health/compliance" };
/** The five service repositories whose child pipelines the parent triggers (seed: polyrepo). */
export const CHILD_PROJECTS = [
  { path: "hipaa-health/backend", id: 48213101 },
  { path: "hipaa-health/frontend", id: 48213102 },
  { path: "hipaa-health/infrastructure", id: 48213103 },
  { path: "hipaa-health/networking", id: 48213104 },
  { path: "hipaa-health/security", id: 48213105 },
];

export function buildGcpGitlabApp(app: App, environments: readonly Environment[] = GCP_ENVIRONMENTS): App {
  validateEnvironments(environments);
  const takenSlots = new Set<number>();
  // GitLab governance first: the refs the clouds trust are the refs it protects.
  const gitlab = new GitlabGovernanceStack(app, "hipaa-gitlab", {
    environments,
    approvals: Object.fromEntries(environments.map((e) => [e.name, { approverGroup: RELEASE_APPROVERS }])),
    projects: [
      // The parent pipeline: production and validation deploy from protected release tags, lower
      // tiers from the protected default branch.
      { project: COMPLIANCE_PLATFORM, projectId: COMPLIANCE_PLATFORM_ID, maintainerGroup: COMPLIANCE_TEAM, deploysTo: environments.map((e) => e.name) },
      // Children: protected main, and only the parent's job token may trigger them.
      ...CHILD_PROJECTS.map((c) => ({ project: new GitlabProjectRef(c.path, { projectId: c.id }), projectId: c.id, maintainerGroup: COMPLIANCE_TEAM, jobTokenAllowList: [COMPLIANCE_PLATFORM_ID] })),
    ],
  });
  const projectOf = (env: string) => GCP_PROJECTS[env] ?? { id: `hipaa-health-${env}`, number: "505050505050" };
  // Apply order: the archive first (the environment projects' audit-log sinks write into it),
  // then the environments, then the evidence archive (its bucket policies name the environments'
  // evidence runner service accounts, which IAM requires to exist).
  new GcpArchiveStack(app, "hipaa-gcp-archive", {
    projectId: GCP_ARCHIVE.id,
    projectNumber: GCP_ARCHIVE.number,
    region: "us-central1",
    breakGlassMember: GCP_ARCHIVE.breakGlassMember,
    environments: environments.map((environment) => ({ environment, projectId: projectOf(environment.name).id, projectNumber: projectOf(environment.name).number })),
  });
  for (const environment of environments) {
    const env = environment.name;
    const project = projectOf(env);
    const stack = new GcpEnvironmentStack(app, `hipaa-gcp-${env}`, {
      environment,
      projectId: project.id,
      projectNumber: project.number,
      region: "us-central1",
      gitlabSubjects: gitlab.subjectsFor(env),
      // The parent pipeline deploys the five services, each into the workload-cluster namespace
      // named after it; its deploy service account may change those namespaces and no other.
      deployNamespaces: { [COMPLIANCE_PLATFORM.path]: CHILD_PROJECTS.map((c) => c.path.split("/").pop()!) },
      evidenceArchive: { bucket: { environment, projectId: GCP_ARCHIVE.id, bucketName: GcpEvidenceArchiveStack.evidenceBucketName(GCP_ARCHIVE.id, env) } },
      auditLogArchive: { bucketName: GcpArchiveStack.auditLogBucketName(GCP_ARCHIVE.id, env) },
      // State in the environment's own project, encrypted with its own key (both bootstrapped
      // before the first apply: see the README, "Before the first apply: GCP").
      stateBucket: {
        bucket: `${project.id}-tfstate`,
        kmsEncryptionKey: `projects/${project.id}/locations/us-central1/keyRings/tfstate/cryptoKeys/tfstate`,
      },
      runners: {
        cluster: {
          clusterName: `hipaa-${env}-runners`,
          network: "hipaa-vpc",
          subnetwork: `hipaa-${env}-runners`,
          podsRangeName: "pods",
          servicesRangeName: "services",
          masterIpv4CidrBlock: GKE_MASTER_RANGES[env] ?? derivedMasterRange(env, takenSlots),
          platformAdminMembers: ["group:gke-platform-admins@hipaa-health.example"],
          rbacSecurityGroup: "gke-security-groups@hipaa-health.example",
        },
        deployTarget: { projectId: project.id, location: "us-central1", clusterName: `hipaa-${env}-workloads` },
      },
      // Created here (CMEK, immutable tags, scanning; the build pool its only writer). A registry
      // you manage yourself goes in runners.artifactRepositories instead (looked up, must exist).
      imageRepositories: ["clinical-images"],
      imageReaderMembers: [`serviceAccount:workload-nodes@${project.id}.iam.gserviceaccount.com`],
      // The project's Binary Authorization policy (runner and workload clusters): only images
      // attested with this environment's KMS key run, except the runner's own helper images and
      // the CI job images the platform team mirrors into ci-images.
      binaryAuthorization: {
        allowlistPatterns: ["registry.gitlab.com/gitlab-org/gitlab-runner/*", `us-central1-docker.pkg.dev/${project.id}/ci-images/*`],
      },
    });
    // The OPA bundle the parent pipeline's policy-gate job evaluates, from the same key and groups.
    new DeployGate(stack, "DeployGate", { environment, signer: DeployGate.gcpSigner(stack.signingKey), approverTeams: gitlab.approverGroups.get(env) ?? [] });
  }
  new GcpEvidenceArchiveStack(app, "hipaa-gcp-evidence-archive", {
    projectId: GCP_ARCHIVE.id,
    projectNumber: GCP_ARCHIVE.number,
    region: "us-central1",
    environments: environments.map((environment) => {
      const project = projectOf(environment.name);
      return {
        environment,
        projectId: project.id,
        projectNumber: project.number,
        // The evidence runner pool each environment stack creates: create-only, under the parent
        // pipeline's evidence layout <repository>/<environment>/ (README, "The evidence bundle").
        writers: [{ member: `serviceAccount:${GkeRunnerPool.runnerServiceAccountEmail(project.id, environment.name, RunnerPurpose.EVIDENCE)}`, grantName: "EvidenceRunner", prefix: evidencePrefix(environment.name) }],
        auditorMembers: [AUDITORS],
      };
    }),
  });
  return app;
}

if (require.main === module) {
  const app = new App();
  buildGcpGitlabApp(app);
  HipaaCompliance.enable(app);
  app.synth();
}
