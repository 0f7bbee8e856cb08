import { ApprovedRelease, Environment, EnvironmentTier, RepositoryRef, RetentionPeriod, validateEnvironments, validateGithubOrganization, WorkflowRef } from "../src/model";
import { HipaaConfigError } from "../src/errors";
import { refusal } from "./support/synth";

describe("Environment", () => {
  test("production handles PHI by default; other tiers do not unless told", () => {
    expect(new Environment({ name: "production", tier: EnvironmentTier.PRODUCTION }).handlesPhi).toBe(true);
    expect(new Environment({ name: "dev", tier: EnvironmentTier.DEVELOPMENT }).handlesPhi).toBe(false);
    expect(new Environment({ name: "validation", tier: EnvironmentTier.VALIDATION, handlesPhi: true }).handlesPhi).toBe(true);
  });

  test.each(["Prod", "prod_1", "-prod", "prod-", "", "1prod", "a".repeat(64), "prod.eu"])("refuses the name %j", (name) => {
    const message = refusal(() => new Environment({ name, tier: EnvironmentTier.PRODUCTION }));
    expect(message).toContain(`Environment ${JSON.stringify(name)}: name ${JSON.stringify(name)} is not a lowercase DNS label`);
    expect(message).toContain("use 1-63 characters of a-z, 0-9 and '-'");
  });

  test.each(["production", "eu-west-prod", "a", "a".repeat(63)])("accepts the name %j", (name) => {
    expect(new Environment({ name, tier: EnvironmentTier.STAGING }).name).toBe(name);
  });

  test("refuses an unknown tier", () => {
    expect(refusal(() => new Environment({ name: "qa", tier: "qa" as EnvironmentTier }))).toContain('tier "qa" is not one of development, staging, validation, production');
  });

  test("isEnvironment does not rely on instanceof", () => {
    expect(Environment.isEnvironment(new Environment({ name: "dev", tier: EnvironmentTier.DEVELOPMENT }))).toBe(true);
    expect(Environment.isEnvironment({ name: "dev", tier: "development", handlesPhi: false })).toBe(false);
  });
});

describe("validateEnvironments", () => {
  const dev = new Environment({ name: "dev", tier: EnvironmentTier.DEVELOPMENT });
  test("refuses duplicate names", () => {
    const message = refusal(() => validateEnvironments([dev, new Environment({ name: "dev", tier: EnvironmentTier.STAGING })]));
    expect(message).toContain('environments: environment name "dev" appears more than once');
    expect(message).toContain("give every environment a distinct name");
  });
  test("refuses an empty list", () => {
    expect(refusal(() => validateEnvironments([]))).toContain("no environments were given");
  });
  test("refuses a plain object", () => {
    expect(refusal(() => validateEnvironments([{ name: "dev", tier: EnvironmentTier.DEVELOPMENT } as Environment]))).toContain("is not an Environment");
  });
});

describe("RetentionPeriod", () => {
  test("six years is 2190 days and 189,216,000 seconds", () => {
    expect(RetentionPeriod.HIPAA_MINIMUM.toDays()).toBe(2190);
    expect(RetentionPeriod.years(6).toSeconds()).toBe(189_216_000);
    expect(RetentionPeriod.days(2190).toWholeYears()).toBe(6);
    expect(RetentionPeriod.days(2189).isShorterThan(RetentionPeriod.HIPAA_MINIMUM)).toBe(true);
    expect(RetentionPeriod.years(7).isShorterThan(RetentionPeriod.HIPAA_MINIMUM)).toBe(false);
    expect(RetentionPeriod.years(6).toString()).toBe("6 years (2190 days)");
  });
  test.each([0, -1, 1.5, NaN])("refuses %p days", (days) => {
    expect(refusal(() => RetentionPeriod.days(days))).toContain("is not a positive whole number of days");
  });
  test("refuses fractional years", () => {
    expect(refusal(() => RetentionPeriod.years(5.5))).toContain("is not a positive whole number of years");
  });
});

describe("RepositoryRef and WorkflowRef", () => {
  test("parses owner/repo with ids", () => {
    const repo = RepositoryRef.parse("hipaa-app-org/clinical-platform", { ownerId: 1342004, repositoryId: 260064828 });
    expect(repo).toMatchObject({ owner: "hipaa-app-org", name: "clinical-platform", ownerId: 1342004, repositoryId: 260064828 });
    expect(repo.fullName).toBe("hipaa-app-org/clinical-platform");
  });

  test.each(["hipaa-app-org/*", "*/repo", "org/re?o"])("refuses the wildcard %j", (name) => {
    const message = refusal(() => RepositoryRef.parse(name));
    expect(message).toContain("contains a wildcard (45 CFR 164.308(a)(4))");
  });

  test.each(["org", "org/repo/extra", "-org/repo", "org/re po", "org/.."])("refuses the malformed %j", (name) => {
    expect(() => RepositoryRef.parse(name)).toThrow(/RepositoryRef/);
  });

  test("refuses a non-positive id", () => {
    expect(refusal(() => RepositoryRef.parse("org/repo", { repositoryId: 0 }))).toContain("repositoryId 0 is not a positive integer");
  });

  const compliance = RepositoryRef.parse("hipaa-app-org/compliance-workflows");

  test("a pinned workflow yields its job_workflow_ref", () => {
    const wf = new WorkflowRef({ repository: compliance, path: ".github/workflows/deploy-prod.yml", tag: "v1.4.2" });
    expect(wf.jobWorkflowRef).toBe("hipaa-app-org/compliance-workflows/.github/workflows/deploy-prod.yml@refs/tags/v1.4.2");
    expect(wf.isTagPattern).toBe(false);
  });

  test("a trailing version wildcard is a tag pattern", () => {
    expect(new WorkflowRef({ repository: compliance, path: ".github/workflows/deploy-prod.yml", tag: "v*" }).isTagPattern).toBe(true);
  });

  test.each(["v*", "v1.*", "v1.4.*"])("accepts the version pattern %j", (tag) => {
    expect(new WorkflowRef({ repository: compliance, path: ".github/workflows/deploy.yml", tag }).isTagPattern).toBe(true);
  });

  test("a tag named like a branch is refused with the rule and the fix", () => {
    const message = refusal(() => new WorkflowRef({ repository: compliance, path: ".github/workflows/deploy.yml", tag: "main" }));
    expect(message).toContain('tag "main" is neither an exact tag nor a version pattern (an exact tag is a release, vMAJOR.MINOR.PATCH[-PRERELEASE]');
    expect(message).toContain("(45 CFR 164.312(c)(1)); pin the approved release");
  });

  // Issue 12: free-form and branch-like names, and names with a '/', are careless release inputs.
  test.each(["*", "v*.*", "main*x", "v1.0..1", "", "main", "latest", "release", "v9/x", "v1/*", "v1.4", "release-*", "v1.4.2/x"])("refuses the tag %j", (tag) => {
    expect(() => new WorkflowRef({ repository: compliance, path: ".github/workflows/deploy.yml", tag })).toThrow(HipaaConfigError as any);
  });

  test.each([".github/workflows/*.yml", "deploy.yml", ".github/workflows/../x.yml", ".github/workflows/deploy.json"])("refuses the workflow path %j", (path) => {
    expect(() => new WorkflowRef({ repository: compliance, path, tag: "v1.0.0" })).toThrow(/WorkflowRef/);
  });
});

describe("ApprovedRelease", () => {
  const compliance = RepositoryRef.parse("hipaa-app-org/compliance-workflows");

  test.each(["v1.4.2", "v0.0.1", "v10.20.30", "v2.0.0-rc.1", "v2.0.0-beta-2"])("accepts the exact release %j", (tag) => {
    const release = ApprovedRelease.parse(tag);
    expect(release.tag).toBe(tag);
    expect(release.ref).toBe(`refs/tags/${tag}`);
  });

  test.each(["v*", "v1.*", "v1.4.*", "v1.4", "1.4.2", "V1.4.2", "v01.4.2", "v1.4.2+build.5", "v1.4.2/x", "main", "refs/tags/v1.4.2", "", " v1.4.2"])("refuses %j", (tag) => {
    const message = refusal(() => ApprovedRelease.parse(tag, "clinical/approvedRelease"));
    expect(message).toContain(`clinical/approvedRelease: approved release ${JSON.stringify(tag)} is not one exact release tag`);
    expect(message).toContain("(45 CFR 164.312(c)(1))");
  });

  test("a workflow built from a release names it exactly and remembers it", () => {
    const release = ApprovedRelease.parse("v1.4.2");
    const wf = new WorkflowRef({ repository: compliance, path: ".github/workflows/deploy-prod.yml", release });
    expect(wf.jobWorkflowRef).toBe("hipaa-app-org/compliance-workflows/.github/workflows/deploy-prod.yml@refs/tags/v1.4.2");
    expect(wf.release).toBe(release);
    expect(wf.isTagPattern).toBe(false);
  });

  test("a workflow takes exactly one of tag and release", () => {
    const release = ApprovedRelease.parse("v1.4.2");
    expect(refusal(() => new WorkflowRef({ repository: compliance, path: ".github/workflows/deploy.yml", tag: "v1.4.2", release }))).toContain("give exactly one of tag and release");
    expect(refusal(() => new WorkflowRef({ repository: compliance, path: ".github/workflows/deploy.yml" }))).toContain("give exactly one of tag and release");
  });
});

describe("GitHub organization names", () => {
  test.each(["hipaa-app-org", "a", "A1", "a".repeat(39)])("accepts %j", (name) => {
    expect(() => validateGithubOrganization("x", name)).not.toThrow();
  });
  test.each(["", "-a", "a-", "a--b", "a_b", "a.b", "a b", "a".repeat(40)])("refuses %j", (name) => {
    expect(refusal(() => validateGithubOrganization("clinical/organization", name))).toContain(`clinical/organization: GitHub organization ${JSON.stringify(name)} is not a valid organization name`);
  });
});
