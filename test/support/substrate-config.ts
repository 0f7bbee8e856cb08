import { GithubPlan, ReleaseAutomation } from "../../src/model";

/**
 * The GitHub side of the reference HipaaSubstrate configuration (organization, compliance
 * repository, teams, approved release, release App), for tests that build their own substrate
 * around it: one place to change when the configuration gains a required field.
 */
export const REFERENCE_GITHUB = {
  organization: "hipaa-app-org",
  organizationId: 1342004,
  githubPlan: GithubPlan.ENTERPRISE,
  complianceRepo: "compliance-workflows",
  complianceRepoId: 260064901,
  complianceTeam: { id: 5501, slug: "compliance" },
  releaseAutomation: { type: "github-app", appId: 904512, slug: "hipaa-release-bot" } as ReleaseAutomation,
  approverTeamIds: [5502],
  approvedRelease: "v1.4.2",
} as const;
