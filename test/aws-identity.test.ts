import { STS_GITHUB_CLAIM_KEYS } from "../constructs/aws/role-trust";
import {
  AwsPrincipal,
  CiOidcProvider,
  EvidenceAuditorRole,
  EvidenceBucket,
  EvidenceWriterRole,
  githubActionsTrust,
  GithubDeployRole,
  GitlabDeployRole,
  SigningKey,
} from "../constructs/aws";
import { Environment, EnvironmentTier, GithubOidcSubject, GithubSubjectFormat, GitlabOidcSubject, GitlabProjectRef, GitlabRefType, ImmutableSubjects, RepositoryRef, WorkflowRef } from "../src/model";
import { actionsOf, awsStack, dev, production, refAt, refusal, resourceAt, resourcesOf, statements, synth } from "./support/synth";

const repo = RepositoryRef.parse("hipaa-app-org/clinical-platform", { ownerId: 1342004, repositoryId: 260064828 });
const compliance = RepositoryRef.parse("hipaa-app-org/compliance-workflows", { ownerId: 1342004, repositoryId: 260064901 });
const deployProd = new WorkflowRef({ repository: compliance, path: ".github/workflows/deploy-prod.yml", tag: "v*" });
const prodSubject = new GithubOidcSubject({ repository: repo, environment: production, format: GithubSubjectFormat.CLASSIC, workflow: deployProd, workflowTagsProtected: true });
const GH = "token.actions.githubusercontent.com";

describe("CiOidcProvider", () => {
  test("creates GitHub's provider with audience sts.amazonaws.com and no thumbprint", () => {
    const { stack } = awsStack();
    CiOidcProvider.githubActions(stack, "Github");
    const out = synth(stack);
    expect(out.tf).toMatchSnapshot();
    expect(resourceAt(out, "aws_iam_openid_connect_provider", "Github/Provider")).toEqual({
      url: "https://token.actions.githubusercontent.com",
      client_id_list: ["sts.amazonaws.com"],
    });
  });

  test("imports an existing provider by ARN instead of creating one", () => {
    const { stack } = awsStack();
    const p = CiOidcProvider.githubActions(stack, "Github", { existingProviderArn: "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com" });
    new GithubDeployRole(stack, "Deploy", { oidcProvider: p, subject: prodSubject });
    const out = synth(stack);
    expect(resourcesOf(out, "aws_iam_openid_connect_provider")).toEqual({});
    expect(statements(resourceAt(out, "aws_iam_role", "Deploy/Role").assume_role_policy)[0].Principal).toEqual({
      Federated: "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com",
    });
  });

  test("refuses an ARN of another issuer, a bad URL and a wildcard audience", () => {
    const { stack } = awsStack();
    expect(refusal(() => CiOidcProvider.githubActions(stack, "A", { existingProviderArn: "arn:aws:iam::111122223333:oidc-provider/gitlab.com" }))).toContain(
      "is not the IAM OIDC provider of https://token.actions.githubusercontent.com",
    );
    expect(refusal(() => new CiOidcProvider(stack, "B", { issuerUrl: "http://gitlab.example.com" }))).toContain("is not an https URL");
    expect(refusal(() => CiOidcProvider.gitlab(stack, "C", { audience: "*" }))).toContain("has a wildcard");
  });
});

describe("GithubDeployRole", () => {
  const { stack } = awsStack();
  const provider = CiOidcProvider.githubActions(stack, "Github");
  new GithubDeployRole(stack, "Deploy", { oidcProvider: provider, subject: prodSubject, permissionsBoundaryArn: "arn:aws:iam::111122223333:policy/ci-boundary" });
  const out = synth(stack);
  const role = resourceAt(out, "aws_iam_role", "Deploy/Role");
  const [trust] = statements(role.assume_role_policy);

  test("matches the expected Terraform JSON", () => {
    expect(out.tf).toMatchSnapshot();
  });

  test("trusts only the GitHub provider, with StringEquals on aud, sub, repository_id and environment: only keys STS evaluates", () => {
    expect(trust.Principal).toEqual({ Federated: refAt(out, "aws_iam_openid_connect_provider", "Github/Provider", "arn") });
    expect(trust.Action).toBe("sts:AssumeRoleWithWebIdentity");
    expect(trust.Condition!.StringEquals).toEqual({
      [`${GH}:aud`]: "sts.amazonaws.com",
      [`${GH}:sub`]: "repo:hipaa-app-org/clinical-platform:environment:production",
      [`${GH}:repository_id`]: "260064828",
      [`${GH}:environment`]: "production",
    });
    // repository_owner_id is not a verified STS key: a StringEquals on it could make the role
    // unassumable, and repository_id already pins the repository and its owner.
    const keys = [...Object.keys(trust.Condition!.StringEquals), ...Object.keys(trust.Condition!.StringLike ?? {})].map((k) => k.slice(GH.length + 1));
    for (const key of keys) expect(STS_GITHUB_CLAIM_KEYS).toContain(key);
  });

  test("the only wildcard is the protected tag-version wildcard on job_workflow_ref, via StringLike", () => {
    expect(trust.Condition!.StringLike).toEqual({ [`${GH}:job_workflow_ref`]: "hipaa-app-org/compliance-workflows/.github/workflows/deploy-prod.yml@refs/tags/v*" });
    for (const value of Object.values(trust.Condition!.StringEquals)) expect(value).not.toMatch(/[*?]/);
  });

  test("one-hour sessions and the permissions boundary", () => {
    expect(role.max_session_duration).toBe(3600);
    expect(role.permissions_boundary).toBe("arn:aws:iam::111122223333:policy/ci-boundary");
    expect(role.name).toBe("hipaa-production-github-deploy-clinical-platform");
  });

  test("an exact workflow tag is pinned with StringEquals and no StringLike", () => {
    const { stack: s2 } = awsStack();
    const p2 = CiOidcProvider.githubActions(s2, "Github");
    const exact = new WorkflowRef({ repository: compliance, path: ".github/workflows/deploy-prod.yml", tag: "v3.2.1" });
    new GithubDeployRole(s2, "Deploy", { oidcProvider: p2, subject: new GithubOidcSubject({ repository: repo, environment: production, format: GithubSubjectFormat.IMMUTABLE, immutableSubjects: ImmutableSubjects.NEW_SINCE_2026_07_15, workflow: exact }) });
    const [t] = statements(resourceAt(synth(s2), "aws_iam_role", "Deploy/Role").assume_role_policy);
    expect(t.Condition!.StringLike).toBeUndefined();
    expect(t.Condition!.StringEquals[`${GH}:sub`]).toBe("repo:hipaa-app-org@1342004/clinical-platform@260064828:environment:production");
    expect(t.Condition!.StringEquals[`${GH}:job_workflow_ref`]).toBe("hipaa-app-org/compliance-workflows/.github/workflows/deploy-prod.yml@refs/tags/v3.2.1");
  });

  test("refuses a session longer than IAM allows", () => {
    const { stack: s3 } = awsStack();
    const p3 = CiOidcProvider.githubActions(s3, "Github");
    expect(refusal(() => new GithubDeployRole(s3, "Deploy", { oidcProvider: p3, subject: prodSubject, maxSessionDurationSeconds: 86400 }))).toContain("outside 900-43200");
  });

  test("grants are intents: the role gets exactly what the resource grants, and only in its own environment", () => {
    const { stack: s4 } = awsStack();
    const p4 = CiOidcProvider.githubActions(s4, "Github");
    const deploy = new GithubDeployRole(s4, "Deploy", { oidcProvider: p4, subject: prodSubject });
    new SigningKey(s4, "Signing", { environment: production }).grantSign(deploy);
    const devBucket = new EvidenceBucket(s4, "DevEvidence", { environment: dev });
    const message = refusal(() => devBucket.grantWrite(deploy));
    expect(message).toContain('GithubDeploy acts in environment "production" and cannot be granted rights on a resource of environment "dev" (45 CFR 164.308(a)(4))');
    const policy = resourceAt(synth(s4), "aws_iam_role_policy", "Deploy/Permissions").policy;
    expect(statements(policy).map((s) => actionsOf(s))).toEqual([["kms:Sign", "kms:GetPublicKey", "kms:DescribeKey"]]);
  });
});

describe("GitlabDeployRole", () => {
  test("pins sub and aud for gitlab.com", () => {
    const { stack } = awsStack();
    const provider = CiOidcProvider.gitlab(stack, "Gitlab", { audience: "https://aws.hipaa-health.example" });
    const subject = new GitlabOidcSubject({ project: new GitlabProjectRef("hipaa-health/compliance-platform"), environment: production, refType: GitlabRefType.TAG, ref: "v*", refProtected: true });
    new GitlabDeployRole(stack, "Deploy", { oidcProvider: provider, subject });
    const out = synth(stack);
    expect(out.tf).toMatchSnapshot();
    expect(resourceAt(out, "aws_iam_openid_connect_provider", "Gitlab/Provider")).toEqual({ url: "https://gitlab.com", client_id_list: ["https://aws.hipaa-health.example"] });
    const [trust] = statements(resourceAt(out, "aws_iam_role", "Deploy/Role").assume_role_policy);
    expect(trust.Condition).toEqual({
      StringEquals: { "gitlab.com:aud": "https://aws.hipaa-health.example", "gitlab.com:ref_protected": "true" },
      StringLike: { "gitlab.com:sub": "project_path:hipaa-health/compliance-platform:ref_type:tag:ref:v*" },
    });
  });

  test("pins the project id when known, and refuses two environments whose trusted refs one token satisfies (STS has no GitLab environment key)", () => {
    const { stack } = awsStack();
    const provider = CiOidcProvider.gitlab(stack, "Gitlab", { audience: "sts.amazonaws.com" });
    const project = new GitlabProjectRef("hipaa-health/compliance-platform", { projectId: 48213107 });
    const validation = new Environment({ name: "validation", tier: EnvironmentTier.VALIDATION });
    const staging = new Environment({ name: "staging", tier: EnvironmentTier.STAGING });
    const dev = new Environment({ name: "dev", tier: EnvironmentTier.DEVELOPMENT });
    const subject = (environment: Environment, refType: GitlabRefType, ref: string) => new GitlabOidcSubject({ project, environment, refType, ref, refProtected: true, defaultBranch: "main" });
    new GitlabDeployRole(stack, "Prod", { oidcProvider: provider, subject: subject(production, GitlabRefType.TAG, "v*") });
    new GitlabDeployRole(stack, "Validation", { oidcProvider: provider, subject: subject(validation, GitlabRefType.TAG, "rc-*") });
    new GitlabDeployRole(stack, "Staging", { oidcProvider: provider, subject: subject(staging, GitlabRefType.BRANCH, "main") });
    const [trust] = statements(resourceAt(synth(stack), "aws_iam_role", "Prod/Role").assume_role_policy);
    expect(trust.Condition!.StringEquals).toMatchObject({ "gitlab.com:project_id": "48213107", "gitlab.com:ref_protected": "true" });
    expect(refusal(() => new GitlabDeployRole(stack, "Validation2", { oidcProvider: provider, subject: subject(validation, GitlabRefType.TAG, "v2*") }))).toContain(
      'overlaps the production trust\'s "v*": AWS STS has no GitLab environment key',
    );
    expect(refusal(() => new GitlabDeployRole(stack, "Dev", { oidcProvider: provider, subject: subject(dev, GitlabRefType.BRANCH, "main") }))).toContain("one job token would be accepted by both environments (45 CFR 164.308(a)(4))");
  });

  test("a self-managed GitLab's issuer host prefixes the keys; an exact ref uses StringEquals", () => {
    const { stack } = awsStack();
    const provider = CiOidcProvider.gitlab(stack, "Gitlab", { issuerUrl: "https://gitlab.hipaa-health.example", audience: "sts.amazonaws.com" });
    const subject = new GitlabOidcSubject({ project: new GitlabProjectRef("platform/api"), environment: production, refType: GitlabRefType.BRANCH, ref: "main", refProtected: true, defaultBranch: "main" });
    new GitlabDeployRole(stack, "Deploy", { oidcProvider: provider, subject });
    const [trust] = statements(resourceAt(synth(stack), "aws_iam_role", "Deploy/Role").assume_role_policy);
    expect(trust.Condition).toEqual({
      StringEquals: {
        "gitlab.hipaa-health.example:aud": "sts.amazonaws.com",
        "gitlab.hipaa-health.example:ref_protected": "true",
        "gitlab.hipaa-health.example:sub": "project_path:platform/api:ref_type:branch:ref:main",
      },
    });
  });
});

describe("evidence roles", () => {
  const { stack } = awsStack();
  const provider = CiOidcProvider.githubActions(stack, "Github");
  const bucket = new EvidenceBucket(stack, "Evidence", { environment: production });
  const evidenceWorkflow = new WorkflowRef({ repository: compliance, path: ".github/workflows/hipaa-build.yml", tag: "v3.2.1" });
  const writerSubject = new GithubOidcSubject({ repository: repo, environment: production, format: GithubSubjectFormat.CLASSIC, workflow: evidenceWorkflow });
  new EvidenceWriterRole(stack, "Writer", { bucket, trust: githubActionsTrust("test/Writer", provider.providerArn, writerSubject) });
  new EvidenceAuditorRole(stack, "Auditor", { bucket, auditorPrincipalArns: ["arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Auditor_abc"] });
  const out = synth(stack);
  const writer = statements(resourceAt(out, "aws_iam_role_policy", "Writer/Permissions").policy);
  const auditor = statements(resourceAt(out, "aws_iam_role_policy", "Auditor/Permissions").policy);
  const bucketPolicy = statements(resourceAt(out, "aws_s3_bucket_policy", "Evidence/Policy").policy);

  test("match the expected Terraform JSON", () => {
    expect(out.tf).toMatchSnapshot();
  });

  test("the writer can only put objects and encrypt them", () => {
    expect([...new Set(writer.flatMap(actionsOf))].sort()).toEqual(["kms:Decrypt", "kms:GenerateDataKey", "s3:AbortMultipartUpload", "s3:PutObject"]);
    for (const s of writer.filter((st) => actionsOf(st).includes("s3:PutObject"))) expect(s.Condition).toBeDefined();
  });

  test("the auditor can only read", () => {
    const actions = auditor.flatMap(actionsOf);
    expect(actions.filter((a) => /Put|Delete|Bypass|Encrypt|GenerateDataKey|Retention$/.test(a) && !/^s3:GetObjectRetention$/.test(a))).toEqual([]);
    expect(actions).toEqual(expect.arrayContaining(["s3:GetObject", "s3:ListBucket", "kms:Decrypt"]));
  });

  test("neither can delete or change retention, and the bucket policy denies it to everyone", () => {
    const forbidden = /^s3:(Delete|PutObjectRetention|PutObjectLegalHold|BypassGovernanceRetention|PutBucketObjectLockConfiguration|PutBucketPolicy|PutLifecycle)/;
    for (const s of [...writer, ...auditor]) expect(actionsOf(s).filter((a) => forbidden.test(a))).toEqual([]);
    for (const s of bucketPolicy.filter((x) => x.Effect === "Allow")) expect(actionsOf(s).filter((a) => forbidden.test(a))).toEqual([]);
    const deny = bucketPolicy.find((s) => s.Sid === "DenyEvidenceDeletionAndLockChanges")!;
    expect(deny.Principal).toBe("*");
  });

  test("the auditor role trusts named principals only", () => {
    const [trust] = statements(resourceAt(out, "aws_iam_role", "Auditor/Role").assume_role_policy);
    // Through the account, pinned to the exact ARN: IAM accepts it before the SSO role exists.
    expect(trust.Principal).toEqual({ AWS: "arn:aws:iam::111122223333:root" });
    expect(trust.Condition).toEqual({ ArnEquals: { "aws:PrincipalArn": ["arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Auditor_abc"] } });
    expect(refusal(() => new EvidenceAuditorRole(awsStack().stack, "A", { bucket: new EvidenceBucket(awsStack().stack, "E", { environment: production }), auditorPrincipalArns: ["arn:aws:iam::111122223333:role/*"] }))).toContain(
      "is not one IAM role or user ARN",
    );
  });

  test("roles of another environment are refused by the bucket", () => {
    const staging = new Environment({ name: "staging", tier: EnvironmentTier.STAGING });
    const { stack: s2 } = awsStack();
    const stagingBucket = new EvidenceBucket(s2, "Evidence", { environment: staging });
    const prodKey = new SigningKey(s2, "Signing", { environment: production });
    const writerRole = new EvidenceWriterRole(s2, "Writer", { bucket: stagingBucket, trust: { sid: "X", effect: "Allow", principals: { AWS: ["arn:aws:iam::111122223333:role/x"] }, actions: ["sts:AssumeRole"] } });
    expect(refusal(() => prodKey.grantSign(writerRole))).toContain('EvidenceWriter acts in environment "staging"');
    expect(refusal(() => prodKey.grantSign({ ...AwsPrincipal.fromArn("arn:aws:iam::111122223333:role/x", "X"), environment: staging }))).toContain("cannot be granted rights");
  });
});
