import { Environment, EnvironmentTier, GithubClaimKey, GithubOidcSubject, GithubSubjectFormat, GitlabOidcSubject, GitlabProjectRef, GitlabRefType, ImmutableSubjects, RepositoryRef, WorkflowRef } from "../src/model";
import { refusal } from "./support/synth";

const production = new Environment({ name: "production", tier: EnvironmentTier.PRODUCTION });
const staging = new Environment({ name: "staging", tier: EnvironmentTier.STAGING });
const repo = RepositoryRef.parse("hipaa-app-org/clinical-platform", { ownerId: 1342004, repositoryId: 260064828 });
const compliance = RepositoryRef.parse("hipaa-app-org/compliance-workflows", { ownerId: 1342004, repositoryId: 260064901 });
const exact = new WorkflowRef({ repository: compliance, path: ".github/workflows/deploy-prod.yml", tag: "v3.2.1" });
const pattern = new WorkflowRef({ repository: compliance, path: ".github/workflows/deploy-prod.yml", tag: "v*" });

describe("GithubOidcSubject", () => {
  test("classic subject: repo:OWNER/REPO:environment:ENV, default claim template", () => {
    const s = new GithubOidcSubject({ repository: repo, environment: production, format: GithubSubjectFormat.CLASSIC, workflow: exact });
    expect(s.subject).toBe("repo:hipaa-app-org/clinical-platform:environment:production");
    expect(s.claimTemplate).toEqual({ useDefault: true, includeClaimKeys: [] });
    expect(s.pinnedClaims).toEqual([
      { claim: "sub", value: "repo:hipaa-app-org/clinical-platform:environment:production", operator: "StringEquals" },
      { claim: "repository_id", value: "260064828", operator: "StringEquals" },
      { claim: "repository_owner_id", value: "1342004", operator: "StringEquals" },
      { claim: "environment", value: "production", operator: "StringEquals" },
      { claim: "job_workflow_ref", value: "hipaa-app-org/compliance-workflows/.github/workflows/deploy-prod.yml@refs/tags/v3.2.1", operator: "StringEquals" },
    ]);
  });

  test("immutable subject carries owner and repository ids", () => {
    for (const immutableSubjects of [ImmutableSubjects.NEW_SINCE_2026_07_15, ImmutableSubjects.OPTED_IN]) {
      const s = new GithubOidcSubject({ repository: repo, environment: production, format: GithubSubjectFormat.IMMUTABLE, immutableSubjects, workflow: exact });
      expect(s.subject).toBe("repo:hipaa-app-org@1342004/clinical-platform@260064828:environment:production");
      expect(s.claimTemplate).toEqual({ useDefault: true, includeClaimKeys: [] });
    }
  });

  test("IMMUTABLE is refused unless the repository is said to emit immutable subjects, and CLASSIC when it does", () => {
    const message = refusal(() => new GithubOidcSubject({ repository: repo, environment: production, format: GithubSubjectFormat.IMMUTABLE, workflow: exact }));
    expect(message).toContain("GithubOidcSubject hipaa-app-org/clinical-platform:production: the IMMUTABLE subject format is trusted, but the repository is not said to emit immutable subjects");
    expect(message).toContain("(45 CFR 164.312(d)); set immutableSubjects to NEW_SINCE_2026_07_15 or, after opting in");
    expect(refusal(() => new GithubOidcSubject({ repository: repo, environment: production, format: GithubSubjectFormat.IMMUTABLE, immutableSubjects: ImmutableSubjects.NOT_EMITTED, workflow: exact }))).toContain(
      "the IMMUTABLE subject format is trusted, but the repository is not said to emit immutable subjects",
    );
    expect(refusal(() => new GithubOidcSubject({ repository: repo, environment: production, format: GithubSubjectFormat.CLASSIC, immutableSubjects: ImmutableSubjects.NEW_SINCE_2026_07_15, workflow: exact }))).toContain(
      "the CLASSIC subject format is trusted, but the repository emits immutable subjects (new-since-2026-07-15), so GitHub's default template sends repo:OWNER@ID/REPO@ID and no token would match (45 CFR 164.312(d)); use GithubSubjectFormat.IMMUTABLE",
    );
  });

  test("an immutableSubjects value that is not one of the enum is refused", () => {
    expect(refusal(() => new GithubOidcSubject({ repository: repo, environment: staging, format: GithubSubjectFormat.CLASSIC, immutableSubjects: "maybe" as ImmutableSubjects }))).toContain(
      'immutableSubjects "maybe" is not one of not-emitted, new-since-2026-07-15, opted-in',
    );
  });

  test("on a repository that emits immutable subjects, a custom template's repo key carries both ids; repository does not", () => {
    const immutableSubjects = ImmutableSubjects.OPTED_IN;
    const s = new GithubOidcSubject({ repository: repo, environment: staging, format: GithubSubjectFormat.CUSTOM, immutableSubjects, claimKeys: [GithubClaimKey.REPO, GithubClaimKey.CONTEXT] });
    expect(s.subject).toBe("repo:hipaa-app-org@1342004/clinical-platform@260064828:environment:staging");
    const named = new GithubOidcSubject({ repository: repo, environment: staging, format: GithubSubjectFormat.CUSTOM, immutableSubjects, claimKeys: [GithubClaimKey.REPOSITORY, GithubClaimKey.CONTEXT] });
    expect(named.subject).toBe("repository:hipaa-app-org/clinical-platform:environment:staging");
  });

  test("custom subject renders the included claims in order", () => {
    const s = new GithubOidcSubject({ repository: repo, environment: production, format: GithubSubjectFormat.CUSTOM, workflow: exact });
    expect(s.claimTemplate).toEqual({ useDefault: false, includeClaimKeys: ["repository_owner_id", "repository_id", "context", "job_workflow_ref"] });
    expect(s.subject).toBe(
      "repository_owner_id:1342004:repository_id:260064828:environment:production:job_workflow_ref:hipaa-app-org/compliance-workflows/.github/workflows/deploy-prod.yml@refs/tags/v3.2.1",
    );
    const repoContext = new GithubOidcSubject({ repository: repo, environment: staging, format: GithubSubjectFormat.CUSTOM, claimKeys: [GithubClaimKey.REPO, GithubClaimKey.CONTEXT] });
    expect(repoContext.subject).toBe("repo:hipaa-app-org/clinical-platform:environment:staging");
  });

  test("a protected tag pattern is pinned with StringLike", () => {
    const s = new GithubOidcSubject({ repository: repo, environment: production, format: GithubSubjectFormat.CLASSIC, workflow: pattern, workflowTagsProtected: true });
    expect(s.pinnedClaims.find((c) => c.claim === "job_workflow_ref")).toEqual({
      claim: "job_workflow_ref",
      value: "hipaa-app-org/compliance-workflows/.github/workflows/deploy-prod.yml@refs/tags/v*",
      operator: "StringLike",
    });
  });

  test("refuses a repository without numeric ids", () => {
    const message = refusal(() => new GithubOidcSubject({ repository: RepositoryRef.parse("hipaa-app-org/clinical-platform"), environment: production, format: GithubSubjectFormat.CLASSIC, workflow: exact }));
    expect(message).toContain("numeric ids are not given");
    expect(message).toContain("(45 CFR 164.312(d))");
    expect(message).toContain("gh api repos/hipaa-app-org/clinical-platform");
  });

  test("refuses org-wide trust: a wildcard repository cannot even be named", () => {
    expect(refusal(() => RepositoryRef.parse("hipaa-app-org/*", { ownerId: 1, repositoryId: 2 }))).toContain('repository "*" contains a wildcard');
  });

  test("refuses production without a pinned workflow", () => {
    expect(refusal(() => new GithubOidcSubject({ repository: repo, environment: production, format: GithubSubjectFormat.CLASSIC }))).toContain(
      "production trust does not pin the reusable workflow",
    );
  });

  test("refuses a tag pattern whose tags are not protected", () => {
    const message = refusal(() => new GithubOidcSubject({ repository: repo, environment: production, format: GithubSubjectFormat.CLASSIC, workflow: pattern }));
    expect(message).toContain('workflow tag pattern "v*" is trusted, but its tags are not declared protected (45 CFR 164.312(c)(1))');
    expect(message).toContain("workflowTagsProtected: true");
  });

  test("refuses a branch-pinned workflow for production", () => {
    expect(() => new WorkflowRef({ repository: compliance, path: ".github/workflows/deploy-prod.yml", tag: "refs/heads/main*x" })).toThrow(/neither an exact tag nor a version pattern/);
  });

  test("refuses custom claim keys that do not name the repository and environment (repository-wide trust)", () => {
    expect(
      refusal(() => new GithubOidcSubject({ repository: repo, environment: staging, format: GithubSubjectFormat.CUSTOM, claimKeys: [GithubClaimKey.REPOSITORY_ID] })),
    ).toContain("does not name both the repository and the environment");
  });

  test("refuses job_workflow_ref in a custom subject when the workflow tag is a pattern", () => {
    expect(
      refusal(
        () =>
          new GithubOidcSubject({
            repository: repo,
            environment: production,
            format: GithubSubjectFormat.CUSTOM,
            claimKeys: [GithubClaimKey.REPOSITORY_ID, GithubClaimKey.CONTEXT, GithubClaimKey.JOB_WORKFLOW_REF],
            workflow: pattern,
            workflowTagsProtected: true,
          }),
      ),
    ).toContain("job_workflow_ref in the subject would need the tag pattern");
  });
});

describe("GitlabOidcSubject", () => {
  const project = new GitlabProjectRef("hipaa-health/compliance-platform");

  test("sub pins project path, ref type and ref", () => {
    const s = new GitlabOidcSubject({ project, environment: production, refType: GitlabRefType.BRANCH, ref: "main", refProtected: true, defaultBranch: "main" });
    expect(s.subject).toBe("project_path:hipaa-health/compliance-platform:ref_type:branch:ref:main");
    expect(s.isPattern).toBe(false);
  });

  test("production accepts a protected tag pattern", () => {
    const s = new GitlabOidcSubject({ project, environment: production, refType: GitlabRefType.TAG, ref: "v*", refProtected: true });
    expect(s.subject).toBe("project_path:hipaa-health/compliance-platform:ref_type:tag:ref:v*");
    expect(s.isPattern).toBe(true);
  });

  test("refuses a wildcard project path", () => {
    expect(refusal(() => new GitlabProjectRef("hipaa-health/*"))).toContain("contains a wildcard (45 CFR 164.308(a)(4))");
  });

  test("refuses production from a branch that is not the default branch", () => {
    expect(
      refusal(() => new GitlabOidcSubject({ project, environment: production, refType: GitlabRefType.BRANCH, ref: "feature-x", refProtected: true, defaultBranch: "main" })),
    ).toContain('production trusts branch "feature-x", which is not a protected tag or the protected default branch');
  });

  test("refuses production from an unprotected tag", () => {
    expect(refusal(() => new GitlabOidcSubject({ project, environment: production, refType: GitlabRefType.TAG, ref: "v1.2.3", refProtected: false }))).toContain(
      "not a protected tag",
    );
  });

  test("refuses a ref pattern on an unprotected ref or a branch", () => {
    expect(refusal(() => new GitlabOidcSubject({ project, environment: staging, refType: GitlabRefType.BRANCH, ref: "release-*", refProtected: true }))).toContain(
      "only accepted for protected tags",
    );
    expect(refusal(() => new GitlabOidcSubject({ project, environment: staging, refType: GitlabRefType.TAG, ref: "v*", refProtected: false }))).toContain(
      "only accepted for protected tags",
    );
    expect(refusal(() => new GitlabOidcSubject({ project, environment: staging, refType: GitlabRefType.TAG, ref: "v*.*", refProtected: true }))).toContain(
      "only one trailing version wildcard",
    );
  });
});
