/**
 * The reference substrate, mirroring the seeds' "GitHub Actions on AWS" engagement: a
 * HipaaSubstrate for the hipaa-app-org organization with four environments (dev, staging,
 * validation with synthetic PHI, production), each in its own AWS account, and two application
 * repositories whose deploys run the compliance-workflows repository's reusable workflows at
 * one approved, protected release tag.
 *
 * `npx cdktf synth` at the repository root writes, with no cloud credentials, to cdktf.out/stacks/:
 * clinical-github (GitHub governance), clinical-archive (the evidence archive account: evidence,
 * its keys, every account's CloudTrail logs, tampering alerts; apply it first) and clinical-<env>
 * (each environment's AWS substrate).
 */
import { App } from "cdktf";
import { AwsAdmissionOptions, Environment, EnvironmentTier, GithubPlan, GithubSubjectFormat, HipaaCompliance, HipaaSubstrate, ImmutableSubjects, SubstrateRepository } from "../../src";

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

/**
 * The release of the compliance workflows deploys may run. Runner groups, AWS trusts and WIF
 * conditions all name exactly this tag; a new release is approved by a reviewed change of it.
 */
/**
 * The evidence archive: an account of its own that no environment's pipeline or administrators
 * reach, holding every environment's evidence, evidence keys and CloudTrail logs. The break-glass
 * role (created by the organization's security team beforehand, outside this substrate) is the
 * only principal that may destroy, disable or re-policy their keys.
 * Its alerts (break-glass use, tampering, and every environment account's forwarded security
 * events) go to the security team's paging webhook, subscribed in code.
 */
export const REFERENCE_ARCHIVE = {
  accountId: "999999999999",
  breakGlassRoleArn: "arn:aws:iam::999999999999:role/break-glass/evidence-custodian",
  alertSubscribers: ["https://hooks.example.com/hipaa/security-alerts"],
} as const;

export const REFERENCE_APPROVED_RELEASE = "v1.4.2";

export const REFERENCE_REPOSITORIES: readonly SubstrateRepository[] = [
  // Created before 2026-07-15 and not opted in: GitHub sends the classic repo:OWNER/REPO subject.
  { name: "clinical-platform", repositoryId: 260064828, deploysTo: ["dev", "staging", "validation", "production"], subjectFormat: GithubSubjectFormat.CLASSIC, immutableSubjects: ImmutableSubjects.NOT_EMITTED },
  // Created after 2026-07-15: GitHub sends repo:OWNER@ID/REPO@ID by default.
  { name: "patient-portal", repositoryId: 260064950, deploysTo: ["staging", "production"], subjectFormat: GithubSubjectFormat.IMMUTABLE, immutableSubjects: ImmutableSubjects.NEW_SINCE_2026_07_15 },
];

/** An account id for an environment the reference does not list (the bench's generated ones). */
function accountFor(env: string): string {
  return REFERENCE_ACCOUNTS[env] ?? String(100000000000 + [...env].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 899999999999, 7));
}

export function buildReferenceApp(
  app: App,
  environments: readonly Environment[] = REFERENCE_ENVIRONMENTS,
  repositories: readonly SubstrateRepository[] = REFERENCE_REPOSITORIES,
  /** Signed-image admission on the workload clusters, once you have reviewed and pinned a Kyverno release. */
  admission?: AwsAdmissionOptions,
): App {
  const accounts = Object.fromEntries(environments.map((e) => [e.name, accountFor(e.name)]));
  new HipaaSubstrate(app, "clinical", {
    organization: "hipaa-app-org",
    organizationId: 1342004,
    githubPlan: GithubPlan.ENTERPRISE,
    complianceRepo: "compliance-workflows",
    complianceRepoId: 260064901,
    complianceTeam: { id: 5501, slug: "compliance" },
    releaseAutomation: { type: "github-app", appId: 904512, slug: "hipaa-release-bot" },
    approverTeamIds: [5502],
    approvedRelease: REFERENCE_APPROVED_RELEASE,
    environments,
    repositories,
    aws: {
      region: "us-east-1",
      accounts,
      archive: {
        ...REFERENCE_ARCHIVE,
        stateBackend: { bucket: `clinical-tfstate-${REFERENCE_ARCHIVE.accountId}`, kmsKeyArn: `arn:aws:kms:us-east-1:${REFERENCE_ARCHIVE.accountId}:alias/clinical-tfstate` },
      },
      auditorPrincipalArns: Object.fromEntries(
        environments.map((e) => [e.name, [`arn:aws:iam::${accounts[e.name]}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_HipaaAuditor_0123456789abcdef`]]),
      ),
      // Each environment's state in its own account: a bucket and key the platform team created
      // before the first apply (README, "Before the first apply").
      stateBackends: Object.fromEntries(
        environments.map((e) => [e.name, { bucket: `clinical-tfstate-${accounts[e.name]}`, kmsKeyArn: `arn:aws:kms:us-east-1:${accounts[e.name]}:alias/clinical-tfstate` }]),
      ),
      runners: {
        privateSubnetTags: { "hipaa-substrate/tier": "private" },
        platformAdminArns: Object.fromEntries(
          environments.map((e) => [e.name, [`arn:aws:iam::${accounts[e.name]}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_PlatformAdmin_0123456789abcdef`]]),
        ),
        // The workload clusters' node roles: the only pullers of each environment's images.
        workloadNodeRoleArns: Object.fromEntries(environments.map((e) => [e.name, [`arn:aws:iam::${accounts[e.name]}:role/clinical-${e.name}-workload-nodes`]])),
      },
      admission,
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
