/**
 * The seeds' "GitLab CI on GCP" engagement: one GCP project and stack per environment, evidence
 * in GCS with Bucket Lock, cosign keys in Cloud KMS HSM, GitLab CI trusted through Workload
 * Identity Federation (the parent pipeline in hipaa-health/compliance-platform; production only
 * from protected release tags), and GKE runner pools per environment and purpose bound to
 * environment-scoped service accounts through Workload Identity.
 *
 * `cd examples/gcp-gitlab && npx cdktf synth` writes it to examples/gcp-gitlab/cdktf.out/.
 */
import { App } from "cdktf";
import { DeployGate, Environment, EnvironmentTier, GcpEnvironmentStack, GitlabOidcSubject, GitlabProjectRef, GitlabRefType, HipaaCompliance, validateEnvironments } from "../../src";

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

export const COMPLIANCE_PLATFORM = new GitlabProjectRef("hipaa-health/compliance-platform");
/** The GitLab group whose members approve deploys. */
export const RELEASE_APPROVERS = "hipaa-health/release-approvers";

export function buildGcpGitlabApp(app: App, environments: readonly Environment[] = GCP_ENVIRONMENTS): App {
  validateEnvironments(environments);
  for (const environment of environments) {
    const env = environment.name;
    const project = GCP_PROJECTS[env] ?? { id: `hipaa-health-${env}`, number: "505050505050" };
    // Production and validation deploy only from protected release tags; lower tiers from the
    // protected default branch (the parent pipeline's `authorize` rule).
    const fromTags = environment.isProduction || environment.tier === EnvironmentTier.VALIDATION;
    const subject = new GitlabOidcSubject({
      project: COMPLIANCE_PLATFORM,
      environment,
      refType: fromTags ? GitlabRefType.TAG : GitlabRefType.BRANCH,
      ref: fromTags ? "v*" : "main",
      refProtected: true,
      defaultBranch: "main",
    });
    const stack = new GcpEnvironmentStack(app, `hipaa-gcp-${env}`, {
      environment,
      projectId: project.id,
      projectNumber: project.number,
      region: "us-central1",
      gitlabSubjects: [subject],
      auditorMembers: ["group:hipaa-auditors@hipaa-health.example"],
      runners: {
        cluster: {
          clusterName: `hipaa-${env}-runners`,
          network: "hipaa-vpc",
          subnetwork: `hipaa-${env}-runners`,
          podsRangeName: "pods",
          servicesRangeName: "services",
          rbacSecurityGroup: "gke-security-groups@hipaa-health.example",
        },
        deployTarget: { projectId: project.id, location: "us-central1", clusterName: `hipaa-${env}-workloads` },
        artifactRepositories: [`projects/${project.id}/locations/us-central1/repositories/clinical-images`],
      },
    });
    // The OPA bundle the parent pipeline's policy-gate job evaluates, from the same key and groups.
    new DeployGate(stack, "DeployGate", { environment, signer: DeployGate.gcpSigner(stack.signingKey), approverTeams: [RELEASE_APPROVERS] });
  }
  return app;
}

if (require.main === module) {
  const app = new App();
  buildGcpGitlabApp(app);
  HipaaCompliance.enable(app);
  app.synth();
}
