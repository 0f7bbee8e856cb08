/**
 * The reference substrate, mirroring the seeds' "GitHub Actions on AWS" engagement: one AWS
 * stack per environment (dev, staging, validation with synthetic PHI, production), each in its
 * own AWS account, with its evidence bucket, cosign key, GitHub OIDC trust pinned to the
 * clinical-platform repository, its environment and the compliance repository's tagged
 * reusable workflow, evidence writer and auditor roles, and its own runner cluster with build,
 * evidence and deploy pools.
 *
 * `npx cdktf synth` at the repository root writes it to cdktf.out/ with no cloud credentials.
 */
import { App } from "cdktf";
import {
  AwsEnvironmentStack,
  Environment,
  EnvironmentTier,
  GithubOidcSubject,
  GithubSubjectFormat,
  RepositoryRef,
  validateEnvironments,
  WorkflowRef,
} from "../../src";

export const REFERENCE_ENVIRONMENTS: readonly Environment[] = [
  new Environment({ name: "dev", tier: EnvironmentTier.DEVELOPMENT }),
  new Environment({ name: "staging", tier: EnvironmentTier.STAGING }),
  new Environment({ name: "validation", tier: EnvironmentTier.VALIDATION }),
  new Environment({ name: "production", tier: EnvironmentTier.PRODUCTION }),
];

/** One AWS account per environment: the strongest isolation, and one OIDC provider per account. */
export const REFERENCE_ACCOUNTS: Readonly<Record<string, string>> = {
  dev: "111111111111",
  staging: "222222222222",
  validation: "333333333333",
  production: "444444444444",
};

export const CLINICAL_PLATFORM = RepositoryRef.parse("hipaa-app-org/clinical-platform", { ownerId: 1342004, repositoryId: 260064828 });
export const COMPLIANCE_WORKFLOWS = RepositoryRef.parse("hipaa-app-org/compliance-workflows", { ownerId: 1342004, repositoryId: 260064901 });

export function buildReferenceApp(app: App, environments: readonly Environment[] = REFERENCE_ENVIRONMENTS): App {
  validateEnvironments(environments);
  for (const environment of environments) {
    const env = environment.name;
    const accountId = REFERENCE_ACCOUNTS[env] ?? "555555555555";
    const workflow = (file: string) => new WorkflowRef({ repository: COMPLIANCE_WORKFLOWS, path: `.github/workflows/${file}`, tag: "v*" });
    new AwsEnvironmentStack(app, `clinical-${env}`, {
      environment,
      region: "us-east-1",
      accountId,
      github: {
        deployments: [
          new GithubOidcSubject({
            repository: CLINICAL_PLATFORM,
            environment,
            format: GithubSubjectFormat.CLASSIC,
            workflow: workflow(environment.isProduction ? "deploy-prod.yml" : "deploy.yml"),
            workflowTagsProtected: true,
          }),
        ],
        evidenceWriter: new GithubOidcSubject({
          repository: CLINICAL_PLATFORM,
          environment,
          format: GithubSubjectFormat.CLASSIC,
          workflow: workflow("hipaa-build.yml"),
          workflowTagsProtected: true,
        }),
      },
      auditorPrincipalArns: [`arn:aws:iam::${accountId}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_HipaaAuditor_0123456789abcdef`],
      workloadCluster: {
        clusterName: `clinical-${env}`,
        clusterArn: `arn:aws:eks:us-east-1:${accountId}:cluster/clinical-${env}`,
        namespaces: ["clinical-platform"],
      },
      runners: {
        privateSubnetTags: { "hipaa-substrate/tier": "private" },
        ecrRepositoryArns: [`arn:aws:ecr:us-east-1:${accountId}:repository/clinical-platform`],
      },
    });
  }
  return app;
}

if (require.main === module) {
  const app = new App();
  buildReferenceApp(app);
  app.synth();
}
