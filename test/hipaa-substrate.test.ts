import { REFERENCE_GITHUB } from "./support/substrate-config";
import { Testing } from "cdktf";
import { buildReferenceApp, REFERENCE_APPROVED_RELEASE, REFERENCE_ENVIRONMENTS, REFERENCE_REPOSITORIES } from "../examples/reference/main";
import { Environment, EnvironmentTier, GithubClaimKey, GithubSubjectFormat, HipaaSubstrate, HipaaSubstrateConfig, ImmutableSubjects, RepositoryVisibility } from "../src";
import { refusal, resourcesOf, statements, SynthResult, synthAll } from "./support/synth";

/**
 * What GitHub puts in `sub` for a job, given the repository's claim template (as synthesized) and
 * the token's claims: GitHub's documented rendering, written independently of the library.
 */
function githubEmittedSub(template: { use_default: boolean; include_claim_keys?: string[] }, claims: Record<string, string>, immutable: boolean): string {
  if (template.use_default) return `repo:${immutable ? immutableRepo(claims) : claims.repository}:environment:${claims.environment}`;
  return template
    .include_claim_keys!.map((k) => (k === "context" ? `environment:${claims.environment}` : k === "repo" ? `repo:${immutable ? immutableRepo(claims) : claims.repository}` : `${k}:${claims[k]}`))
    .join(":");
}

/** GitHub's `OWNER@OWNER_ID/REPO@REPO_ID`, on repositories that emit immutable subjects. */
function immutableRepo(claims: Record<string, string>): string {
  return `${claims.repository_owner}@${claims.repository_owner_id}/${claims.repository.split("/")[1]}@${claims.repository_id}`;
}

const config = (overrides: Partial<HipaaSubstrateConfig> = {}): HipaaSubstrateConfig => ({
  ...REFERENCE_GITHUB,
  environments: REFERENCE_ENVIRONMENTS,
  repositories: REFERENCE_REPOSITORIES,
  aws: { region: "us-east-1", accounts: { dev: "111111111111", staging: "222222222222", validation: "333333333333", production: "444444444444" } },
  ...overrides,
});

describe("HipaaSubstrate", () => {
  const stacks = synthAll(buildReferenceApp(Testing.app()));

  test("one GitHub governance stack, the evidence archive and one AWS stack per environment", () => {
    expect([...stacks.keys()]).toEqual(["clinical-github", "clinical-archive", ...REFERENCE_ENVIRONMENTS.map((e) => `clinical-${e.name}`)]);
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
        const emitted = githubEmittedSub(template, claims, repo.immutableSubjects !== ImmutableSubjects.NOT_EMITTED);
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
    const moreRepos = [
      { name: "billing-service", repositoryId: 260065000, deploysTo: ["qa", "production"], subjectFormat: GithubSubjectFormat.CLASSIC, immutableSubjects: ImmutableSubjects.NOT_EMITTED },
      ...REFERENCE_REPOSITORIES,
    ];
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

  test("the approved release is required and exact: patterns, branches and partial versions are refused", () => {
    for (const bad of ["v*", "v1.*", "main", "v1.4", "1.4.2", "v1.4.2/x", "refs/tags/v1.4.2", ""]) {
      const message = refusal(() => new HipaaSubstrate(Testing.app(), "x", config({ approvedRelease: bad })));
      expect(message).toContain(`x/approvedRelease: approved release ${JSON.stringify(bad)} is not one exact release tag`);
      expect(message).toContain("(45 CFR 164.312(c)(1))");
    }
    expect(refusal(() => new HipaaSubstrate(Testing.app(), "x", config({ approvedRelease: "v*" })))).toContain("GitHub matches a runner group's selected workflows exactly");
    expect(refusal(() => new HipaaSubstrate(Testing.app(), "x", config({ approvedRelease: undefined as unknown as string })))).toContain("approved release undefined is not one exact release tag");
    // The configuration key this replaces is refused, not silently ignored.
    expect(refusal(() => new HipaaSubstrate(Testing.app(), "x", { ...config(), workflowTag: "v*" } as HipaaSubstrateConfig))).toContain("x/workflowTag: workflowTag is no longer read");
    expect(() => new HipaaSubstrate(Testing.app(), "y", config({ approvedRelease: "v2.0.0-rc.1" }))).not.toThrow();
    // Issue 12: an exact tag is still forgeable when tags are unprotected (delete and re-create
    // it on another commit), and every trust and runner group names the workflows at that tag.
    const unprotected = refusal(() => new HipaaSubstrate(Testing.app(), "z", config({ protectReleaseTags: false })));
    expect(unprotected).toContain("z/protectReleaseTags: protectReleaseTags is false, but every trust and runner group the substrate builds accepts the compliance workflows at refs/tags/v1.4.2");
    expect(unprotected).toContain("(45 CFR 164.312(c)(1)); remove protectReleaseTags");
  });

  test("release tags are created by the named release App only; a missing one, or GitHub Actions' own, is refused", () => {
    const substrate = new HipaaSubstrate(Testing.app(), "x", config());
    expect(substrate.github.complianceRepository.releaseAutomation).toEqual({ type: "github-app", appId: 904512, slug: "hipaa-release-bot" });
    expect(refusal(() => new HipaaSubstrate(Testing.app(), "y", config({ releaseAutomation: undefined as unknown as HipaaSubstrateConfig["releaseAutomation"] })))).toContain(
      "y-github/ComplianceWorkflows/releaseAutomation: no release automation is named",
    );
    expect(refusal(() => new HipaaSubstrate(Testing.app(), "z", config({ releaseAutomation: { type: "github-app", appId: 15368, slug: "github-actions" } })))).toContain("appId 15368 is GitHub Actions itself");
  });

  test("every trust and runner group names the one approved release, exactly", () => {
    const release = new HipaaSubstrate(Testing.app(), "x", config()).approvedRelease;
    expect(release.tag).toBe("v1.4.2");
    const app = buildReferenceApp(Testing.app());
    const substrate = app.node.children.find((c) => c instanceof HipaaSubstrate) as HipaaSubstrate;
    expect(substrate.approvedRelease.tag).toBe(REFERENCE_APPROVED_RELEASE);
    for (const subject of substrate.subjects.values()) {
      expect(subject.workflow!.release).toBe(substrate.approvedRelease);
      expect(subject.pinnedClaims.find((c) => c.claim === "job_workflow_ref")).toMatchObject({ operator: "StringEquals", value: expect.stringMatching(/@refs\/tags\/v1\.4\.2$/) });
    }
  });

  test("GitHub organization names are validated at synth", () => {
    for (const bad of ["-hipaa", "hipaa-", "hipaa--org", "hipaa org", "hipaa_org", "a".repeat(40), ""]) {
      expect(refusal(() => new HipaaSubstrate(Testing.app(), "x", config({ organization: bad })))).toContain(`x/organization: GitHub organization ${JSON.stringify(bad)} is not a valid organization name`);
    }
    expect(() => new HipaaSubstrate(Testing.app(), "y", config({ organization: "a".repeat(39) }))).not.toThrow();
    expect(() => new HipaaSubstrate(Testing.app(), "z", config({ organization: "H1-b2-C3" }))).not.toThrow();
  });

  test("immutable subjects: the repository says whether and why it emits them; IMMUTABLE without it and CLASSIC with it are refused", () => {
    const [platform, portal] = REFERENCE_REPOSITORIES;
    const withRepo = (repo: object) => config({ repositories: [{ ...platform, ...repo }] });
    const message = refusal(() => new HipaaSubstrate(Testing.app(), "x", withRepo({ subjectFormat: GithubSubjectFormat.IMMUTABLE, immutableSubjects: ImmutableSubjects.NOT_EMITTED })));
    expect(message).toContain("x/repositories/clinical-platform: the IMMUTABLE subject format is trusted, but the repository is not said to emit immutable subjects");
    expect(message).toContain("(45 CFR 164.312(d))");
    expect(message).toContain("gh api -X PUT repos/OWNER/REPO/actions/oidc/customization/sub -F use_default=true -F use_immutable_subject=true");
    expect(refusal(() => new HipaaSubstrate(Testing.app(), "x", withRepo({ subjectFormat: GithubSubjectFormat.CLASSIC, immutableSubjects: ImmutableSubjects.OPTED_IN })))).toContain(
      "x/repositories/clinical-platform: the CLASSIC subject format is trusted, but the repository emits immutable subjects (opted-in)",
    );
    expect(refusal(() => new HipaaSubstrate(Testing.app(), "x", withRepo({ immutableSubjects: undefined })))).toContain("immutableSubjects undefined is not given");
    // An older repository that opted in through the REST API is trusted in the immutable form.
    const app = Testing.app();
    new HipaaSubstrate(app, "clinical", config({ repositories: [{ ...portal, immutableSubjects: ImmutableSubjects.OPTED_IN }] }));
    const all = synthAll(app);
    const trusts = Object.values(resourcesOf(all.get("clinical-production")!, "aws_iam_role")).flatMap((r) => statements(r.assume_role_policy)).filter((t) => t.Sid === "GithubActionsOidc");
    expect(trusts.map((t) => t.Condition!.StringEquals["token.actions.githubusercontent.com:sub"])).toEqual([
      "repo:hipaa-app-org@1342004/patient-portal@260064950:environment:production",
      "repo:hipaa-app-org@1342004/patient-portal@260064950:environment:production",
    ]);
  });

  test("a custom template's repo claim is rendered with ids on a repository that emits immutable subjects", () => {
    const app = Testing.app();
    const custom = { ...REFERENCE_REPOSITORIES[1], subjectFormat: GithubSubjectFormat.CUSTOM, claimKeys: [GithubClaimKey.REPO, GithubClaimKey.CONTEXT] };
    new HipaaSubstrate(app, "clinical", config({ repositories: [custom] }));
    const all = synthAll(app);
    const template = Object.values(resourcesOf(all.get("clinical-github")!, "github_actions_repository_oidc_subject_claim_customization_template"))[0];
    expect(template).toEqual({ repository: "patient-portal", use_default: false, include_claim_keys: ["repo", "context"] });
    const sub = githubEmittedSub(template as { use_default: boolean; include_claim_keys: string[] }, { repository: "hipaa-app-org/patient-portal", repository_owner: "hipaa-app-org", repository_owner_id: "1342004", repository_id: "260064950", environment: "staging" }, true);
    expect(sub).toBe("repo:hipaa-app-org@1342004/patient-portal@260064950:environment:staging");
    const trusts = Object.values(resourcesOf(all.get("clinical-staging")!, "aws_iam_role")).flatMap((r) => statements(r.assume_role_policy)).filter((t) => t.Sid === "GithubActionsOidc");
    expect(trusts).toHaveLength(2);
    for (const t of trusts) expect(t.Condition!.StringEquals["token.actions.githubusercontent.com:sub"]).toBe(sub);
  });

  test("a fresh organization needs no id for the compliance repository the governance stack creates", () => {
    const withId = Testing.app();
    new HipaaSubstrate(withId, "clinical", config());
    const withoutId = Testing.app();
    new HipaaSubstrate(withoutId, "clinical", config({ complianceRepoId: undefined }));
    const a = synthAll(withId);
    const b = synthAll(withoutId);
    for (const [name, out] of a) expect(b.get(name)!.tf.resource).toEqual(out.tf.resource);
  });

  test("a public application repository is refused: it could not call the private compliance workflows", () => {
    expect(refusal(() => new HipaaSubstrate(Testing.app(), "x", config({ repositories: [{ ...REFERENCE_REPOSITORIES[0], visibility: RepositoryVisibility.PUBLIC }] })))).toContain(
      "x/repositories/clinical-platform: a public repository cannot call the private compliance repository's reusable workflows",
    );
  });

  test("refuses GCP settings that leave an environment without a project", () => {
    const projects = Object.fromEntries(REFERENCE_ENVIRONMENTS.filter((e) => e.name !== "staging").map((e, i) => [e.name, { id: `hipaa-health-${e.name}`, number: `${i + 1}0000000000` }]));
    const build = () => new HipaaSubstrate(Testing.app(), "clinical", config({ aws: undefined, gcp: { region: "us-central1", projects } }));
    expect(refusal(build)).toContain('no GCP project is given for environment "staging"');
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
    // The WIF condition pins the same approved release as the runner groups, exactly.
    expect(prod.attribute_condition).toContain("assertion.job_workflow_ref == 'hipaa-app-org/compliance-workflows/.github/workflows/deploy-prod.yml@refs/tags/v1.4.2'");
    expect(prod.attribute_condition).not.toContain("startsWith");
    const groups = Object.values(resourcesOf(all.get("clinical-github")!, "github_actions_runner_group"));
    expect(groups.find((g) => g.name === "hipaa-production")!.selected_workflows).toContain("hipaa-app-org/compliance-workflows/.github/workflows/deploy-prod.yml@refs/tags/v1.4.2");
    // One deploy service account per repository, each impersonable by its own repository id only (issue 12).
    const impersonations = Object.values(resourcesOf(all.get("clinical-gcp-production")!, "google_service_account_iam_member")).filter((b) => b.member.startsWith("principalSet://"));
    const deployers = REFERENCE_REPOSITORIES.filter((r) => r.deploysTo.includes("production"));
    expect(deployers.length).toBeGreaterThan(1);
    expect(new Set(impersonations.map((b) => b.service_account_id)).size).toBe(deployers.length);
    expect(impersonations.map((b) => b.member.replace(/^.*\}\//, "")).sort()).toEqual(deployers.map((r) => `attribute.repository_id/${r.repositoryId}`).sort());
  });
});
