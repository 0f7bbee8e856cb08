/**
 * The reference substrate, mirroring the seeds' "GitHub Actions on AWS" engagement: a
 * HipaaSubstrate for the hipaa-app-org organization with four environments (dev, staging,
 * validation with synthetic PHI, production), each in its own AWS account, and two application
 * repositories whose deploys run the compliance-workflows repository's reusable workflows at
 * protected release tags.
 *
 * `npx cdktf synth` at the repository root writes, with no cloud credentials, to cdktf.out/stacks/:
 * clinical-github (GitHub governance) and clinical-<env> (each environment's AWS substrate).
 */
import { App } from "cdktf";
import { Environment, EnvironmentTier, GithubPlan, GithubSubjectFormat, HipaaCompliance, HipaaSubstrate, SubstrateRepository } from "../../src";

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

export const REFERENCE_REPOSITORIES: readonly SubstrateRepository[] = [
  { name: "clinical-platform", repositoryId: 260064828, deploysTo: ["dev", "staging", "validation", "production"], subjectFormat: GithubSubjectFormat.CLASSIC },
  { name: "patient-portal", repositoryId: 260064950, deploysTo: ["staging", "production"], subjectFormat: GithubSubjectFormat.IMMUTABLE },
];

/** An account id for an environment the reference does not list (the bench's generated ones). */
function accountFor(env: string): string {
  return REFERENCE_ACCOUNTS[env] ?? String(100000000000 + [...env].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 899999999999, 7));
}

export function buildReferenceApp(
  app: App,
  environments: readonly Environment[] = REFERENCE_ENVIRONMENTS,
  repositories: readonly SubstrateRepository[] = REFERENCE_REPOSITORIES,
): App {
  const accounts = Object.fromEntries(environments.map((e) => [e.name, accountFor(e.name)]));
  new HipaaSubstrate(app, "clinical", {
    organization: "hipaa-app-org",
    organizationId: 1342004,
    githubPlan: GithubPlan.ENTERPRISE,
    complianceRepo: "compliance-workflows",
    complianceRepoId: 260064901,
    complianceTeam: { id: 5501, slug: "compliance" },
    approverTeamIds: [5502],
    environments,
    repositories,
    aws: {
      region: "us-east-1",
      accounts,
      auditorPrincipalArns: Object.fromEntries(
        environments.map((e) => [e.name, [`arn:aws:iam::${accounts[e.name]}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_HipaaAuditor_0123456789abcdef`]]),
      ),
      runners: { privateSubnetTags: { "hipaa-substrate/tier": "private" }, deployNamespaces: ["clinical-platform"] },
    },
    // The deploy gate's thresholds: zero critical findings and zero secrets everywhere (the floor);
    // production is stricter and refuses high-severity container findings too.
    deployGate: { scanThresholds: { production: { containerHigh: 0 } } },
  });
  return app;
}

if (require.main === module) {
  const app = new App();
  buildReferenceApp(app);
  // The synth-time gate: any failing resource fails synthesis; control maps land next to the stacks.
  HipaaCompliance.enable(app);
  app.synth();
}
