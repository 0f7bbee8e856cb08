import { TerraformStack, Testing } from "cdktf";
import { buildReferenceApp, REFERENCE_ENVIRONMENTS, REFERENCE_REPOSITORIES } from "../examples/reference/main";
import { Environment, EnvironmentTier, GithubPlan, GithubSubjectFormat, HipaaSubstrate, HipaaSubstrateConfig } from "../src";
import { refusal, resourcesOf, statements, SynthResult } from "./support/synth";

function synthAll(app: ReturnType<typeof Testing.app>): Map<string, SynthResult> {
  return new Map(
    app.node.children
      .filter((c): c is TerraformStack => TerraformStack.isStack(c))
      .map((s) => {
        const json = Testing.synth(s, true);
        return [s.node.id, { json, tf: JSON.parse(json) }];
      }),
  );
}

/**
 * What GitHub puts in `sub` for a job, given the repository's claim template (as synthesized) and
 * the token's claims: GitHub's documented rendering, written independently of the library.
 */
function githubEmittedSub(template: { use_default: boolean; include_claim_keys?: string[] }, claims: Record<string, string>, immutable: boolean): string {
  if (template.use_default) {
    const repo = immutable ? `${claims.repository_owner}@${claims.repository_owner_id}/${claims.repository.split("/")[1]}@${claims.repository_id}` : claims.repository;
    return `repo:${repo}:environment:${claims.environment}`;
  }
  return template
    .include_claim_keys!.map((k) => (k === "context" ? `environment:${claims.environment}` : k === "repo" ? `repo:${claims.repository}` : `${k}:${claims[k]}`))
    .join(":");
}

const config = (overrides: Partial<HipaaSubstrateConfig> = {}): HipaaSubstrateConfig => ({
  organization: "hipaa-app-org",
  organizationId: 1342004,
  githubPlan: GithubPlan.ENTERPRISE,
  complianceRepo: "compliance-workflows",
  complianceRepoId: 260064901,
  complianceTeam: { id: 5501, slug: "compliance" },
  approverTeamIds: [5502],
  environments: REFERENCE_ENVIRONMENTS,
  repositories: REFERENCE_REPOSITORIES,
  aws: { region: "us-east-1", accounts: { dev: "111111111111", staging: "222222222222", validation: "333333333333", production: "444444444444" } },
  ...overrides,
});

describe("HipaaSubstrate", () => {
  const stacks = synthAll(buildReferenceApp(Testing.app()));

  test("one GitHub governance stack and one AWS stack per environment", () => {
    expect([...stacks.keys()]).toEqual(["clinical-github", ...REFERENCE_ENVIRONMENTS.map((e) => `clinical-${e.name}`)]);
  });

  test("the sub each repository's claim template makes GitHub emit equals the sub every AWS role trusts, per environment", () => {
    const templates = Object.values(resourcesOf(stacks.get("clinical-github")!, "github_actions_repository_oidc_subject_claim_customization_template"));
    let compared = 0;
    for (const repo of REFERENCE_REPOSITORIES) {
      const template = templates.find((t) => t.repository === repo.name)! as { use_default: boolean; include_claim_keys?: string[] };
      for (const env of repo.deploysTo) {
        const claims = {
          repository: `hipaa-app-org/${repo.name}`,
          repository_owner: "hipaa-app-org",
          repository_owner_id: "1342004",
          repository_id: String(repo.repositoryId),
          environment: env,
        };
        const emitted = githubEmittedSub(template, claims, repo.subjectFormat === GithubSubjectFormat.IMMUTABLE);
        const trusts = Object.values(resourcesOf(stacks.get(`clinical-${env}`)!, "aws_iam_role"))
          .flatMap((r) => statements(r.assume_role_policy))
          .filter((s) => s.Sid === "GithubActionsOidc" && s.Condition!.StringEquals["token.actions.githubusercontent.com:repository_id"] === String(repo.repositoryId));
        expect(trusts.length).toBe(2); // the deploy role and the evidence writer
        for (const t of trusts) {
          expect(t.Condition!.StringEquals["token.actions.githubusercontent.com:sub"]).toBe(emitted);
          expect(t.Condition!.StringEquals["token.actions.githubusercontent.com:environment"]).toBe(env);
          compared++;
        }
      }
    }
    expect(compared).toBe(12);
  });

  test("each environment's GitHub environment, trust, runner group and stack refer to that environment only", () => {
    const github = stacks.get("clinical-github")!;
    for (const env of REFERENCE_ENVIRONMENTS.map((e) => e.name)) {
      const group = Object.values(resourcesOf(github, "github_actions_runner_group")).find((g) => g.name === `hipaa-${env}`)!;
      const deployers = REFERENCE_REPOSITORIES.filter((r) => r.deploysTo.includes(env)).map((r) => r.repositoryId);
      expect(group.selected_repository_ids).toEqual(deployers);
      const aws = stacks.get(`clinical-${env}`)!;
      for (const t of Object.values(resourcesOf(aws, "aws_iam_role")).flatMap((r) => statements(r.assume_role_policy))) {
        const eq = t.Condition?.StringEquals ?? {};
        const envClaim = eq["token.actions.githubusercontent.com:environment"];
        if (envClaim !== undefined) expect(envClaim).toBe(env);
      }
      const environments = Object.values(resourcesOf(github, "github_repository_environment")).filter((e) => e.environment === env);
      expect(environments.map((e) => e.repository).sort()).toEqual(REFERENCE_REPOSITORIES.filter((r) => r.deploysTo.includes(env)).map((r) => r.name).sort());
    }
  });

  test("adding an environment or a repository changes no existing resource's address", () => {
    const addresses = (all: Map<string, SynthResult>) =>
      new Set([...all.entries()].flatMap(([stack, out]) => Object.entries(out.tf.resource).flatMap(([type, byName]) => Object.keys(byName).map((n) => `${stack}:${type}.${n}`))));
    const before = addresses(stacks);
    const moreEnvs = [...REFERENCE_ENVIRONMENTS.slice(0, 2), new Environment({ name: "qa", tier: EnvironmentTier.STAGING }), ...REFERENCE_ENVIRONMENTS.slice(2)];
    const moreRepos = [{ name: "billing-service", repositoryId: 260065000, deploysTo: ["qa", "production"], subjectFormat: GithubSubjectFormat.CLASSIC }, ...REFERENCE_REPOSITORIES];
    const after = addresses(synthAll(buildReferenceApp(Testing.app(), moreEnvs, moreRepos)));
    const lost = [...before].filter((a) => !after.has(a));
    expect(lost).toEqual([]);
    expect(after.size).toBeGreaterThan(before.size);
  });

  test("refusals", () => {
    expect(refusal(() => new HipaaSubstrate(Testing.app(), "x", config({ repositories: [{ ...REFERENCE_REPOSITORIES[0], deploysTo: ["prod"] }] })))).toContain('deploysTo names unknown environment "prod"');
    expect(refusal(() => new HipaaSubstrate(Testing.app(), "x", config({ repositories: [REFERENCE_REPOSITORIES[0], REFERENCE_REPOSITORIES[0]] })))).toContain("is listed twice");
    expect(refusal(() => new HipaaSubstrate(Testing.app(), "x", config({ repositories: [{ ...REFERENCE_REPOSITORIES[0], deploysTo: [] }] })))).toContain("deploysTo is empty");
    expect(refusal(() => new HipaaSubstrate(Testing.app(), "x", config({ aws: { region: "us-east-1", accounts: { dev: "111111111111" } } })))).toContain('no AWS account is given for environment "staging"');
    expect(refusal(() => new HipaaSubstrate(Testing.app(), "x", config({ aws: undefined })))).toContain("neither aws nor gcp");
    expect(refusal(() => new HipaaSubstrate(Testing.app(), "x", config({ repositories: [{ ...REFERENCE_REPOSITORIES[0], name: "compliance-workflows" }] })))).toContain(
      "the compliance repository cannot also be an application repository",
    );
  });

  test("a v* workflow trust is refused when the compliance repository does not protect its tags", () => {
    const message = refusal(() => new HipaaSubstrate(Testing.app(), "x", config({ protectReleaseTags: false })));
    expect(message).toContain('workflow tag pattern "v*" is trusted, but its tags are not declared protected (45 CFR 164.312(c)(1))');
    // An exact tag needs no tag protection.
    expect(() => new HipaaSubstrate(Testing.app(), "y", config({ protectReleaseTags: false, workflowTag: "v3.2.1" }))).not.toThrow();
  });

  test("GCP settings build one GCP stack per environment wired to the same subjects", () => {
    const app = Testing.app();
    new HipaaSubstrate(app, "clinical", config({
      aws: undefined,
      gcp: { region: "us-central1", projects: Object.fromEntries(REFERENCE_ENVIRONMENTS.map((e, i) => [e.name, { id: `hipaa-health-${e.name}`, number: `${i + 1}0000000000` }])) },
    }));
    const all = synthAll(app);
    expect([...all.keys()]).toEqual(["clinical-github", ...REFERENCE_ENVIRONMENTS.map((e) => `clinical-gcp-${e.name}`)]);
    const prod = Object.values(resourcesOf(all.get("clinical-gcp-production")!, "google_iam_workload_identity_pool_provider"))[0];
    expect(prod.attribute_condition).toContain("assertion.repository_id == '260064828' && assertion.environment == 'production'");
    expect(prod.attribute_condition).toContain("assertion.repository_id == '260064950' && assertion.environment == 'production'");
  });
});
