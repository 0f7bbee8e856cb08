import { Testing } from "cdktf";
import { AwsPrincipal, ImageRepository } from "../constructs/aws";
import { ArtifactRegistryImageRepository, GcpPrincipal } from "../constructs/gcp";
import { buildReferenceApp, REFERENCE_ENVIRONMENTS, REFERENCE_REPOSITORIES } from "../examples/reference/main";
import { buildGcpGitlabApp, GCP_PROJECTS } from "../examples/gcp-gitlab/main";
import { collectControlRecords } from "../src/compliance";
import { awsStack, dev, gcpStack, production, refAt, refusal, resourceAt, resourcesOf, statement, statements, synth, synthAll } from "./support/synth";

const BUILD = "arn:aws:iam::111122223333:role/hipaa-production-build-runner";
const NODES = "arn:aws:iam::111122223333:role/clinical-production-workload-nodes";

describe("ImageRepository (ECR)", () => {
  const { stack } = awsStack();
  const repo = new ImageRepository(stack, "Images", { environment: production, repositoryName: "production/clinical-platform", pullerArns: [NODES] });
  repo.grantPush({ ...AwsPrincipal.fromArn(BUILD, "BuildRunner"), environment: production });
  const out = synth(stack);
  const ecr = resourceAt(out, "aws_ecr_repository", "Images/Repository");

  test("matches the expected Terraform JSON", () => {
    expect(out.tf).toMatchSnapshot();
  });

  test("immutable tags, scan on push, the repository's own rotating CMK", () => {
    expect(ecr).toMatchObject({
      name: "production/clinical-platform",
      image_tag_mutability: "IMMUTABLE",
      image_scanning_configuration: { scan_on_push: true },
      encryption_configuration: [{ encryption_type: "KMS", kms_key: refAt(out, "aws_kms_key", "Images/Key", "arn") }],
      force_delete: false,
    });
    const key = resourceAt(out, "aws_kms_key", "Images/Key");
    expect(key).toMatchObject({ enable_key_rotation: true, deletion_window_in_days: 30, lifecycle: { prevent_destroy: true } });
    const use = statement(key.policy, "UseThroughEcrOnly");
    expect(use.Condition!.StringEquals["kms:ViaService"]).toMatch(/^ecr\.\$\{data\.aws_region\.\S+\.region\}\.amazonaws\.com$/);
  });

  test("untagged images expire", () => {
    const policy = JSON.parse(resourceAt(out, "aws_ecr_lifecycle_policy", "Images/Lifecycle").policy);
    expect(policy.rules).toEqual([expect.objectContaining({ selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: 14 }, action: { type: "expire" } })]);
  });

  test("push is denied to every principal but the build pool; pull to every principal but the nodes and the build pool", () => {
    const policy = resourceAt(out, "aws_ecr_repository_policy", "Images/Policy").policy;
    expect(statement(policy, "DenyPushExceptBuildPool")).toMatchObject({ Effect: "Deny", Principal: "*", Condition: { StringNotEquals: { "aws:PrincipalArn": [BUILD] } } });
    expect(statement(policy, "DenyPullExceptWorkloadNodesAndBuildPool").Condition).toEqual({ StringNotEquals: { "aws:PrincipalArn": [NODES, BUILD] } });
    expect(statement(policy, "WorkloadNodesPull").Action).not.toContain("ecr:PutImage");
    expect(statements(policy).filter((s) => s.Effect === "Allow" && [s.Action].flat().includes("ecr:PutImage")).map((s) => s.Principal.AWS)).toEqual([BUILD]);
  });

  test("with no pusher granted, nobody may push", () => {
    const { stack: s } = awsStack();
    new ImageRepository(s, "Images", { environment: production, repositoryName: "xy" });
    const policy = resourceAt(synth(s), "aws_ecr_repository_policy", "Images/Policy").policy;
    expect(statement(policy, "DenyPushExceptBuildPool").Condition).toBeUndefined();
  });

  test("refuses bad names, wildcard pullers, another environment's pusher", () => {
    const { stack: s } = awsStack();
    expect(refusal(() => new ImageRepository(s, "A", { environment: production, repositoryName: "Clinical Platform" }))).toMatch(/not an ECR repository name/);
    expect(refusal(() => new ImageRepository(s, "B", { environment: production, repositoryName: "a-b", pullerArns: ["arn:aws:iam::111122223333:role/*"] }))).toMatch(/164\.312\(a\)\(1\)/);
    expect(refusal(() => new ImageRepository(s, "C", { environment: production, repositoryName: "a-c", untaggedExpiryDays: 0 }))).toMatch(/untaggedExpiryDays/);
    const r = new ImageRepository(s, "D", { environment: production, repositoryName: "a-d" });
    expect(refusal(() => r.grantPush({ ...AwsPrincipal.fromArn(BUILD, "DevBuild"), environment: dev }))).toMatch(/dev/);
  });

  test("records integrity, encryption and access control", () => {
    const sections = collectControlRecords(stack).implementations.filter((i) => i.constructPath.endsWith("/Images")).map((i) => i.section);
    expect(sections).toEqual(expect.arrayContaining(["164.312(c)(1)", "164.312(a)(2)(iv)", "164.312(a)(1)"]));
  });
});

describe("ArtifactRegistryImageRepository", () => {
  const { stack } = gcpStack();
  const repo = new ArtifactRegistryImageRepository(stack, "Images", {
    environment: production,
    projectId: "hipaa-health-prod",
    projectNumber: "404040404040",
    location: "us-central1",
    repositoryId: "clinical-images",
    readerMembers: ["serviceAccount:workload-nodes@hipaa-health-prod.iam.gserviceaccount.com"],
  });
  repo.grantWrite({ ...GcpPrincipal.fromMember("serviceAccount:runner-production-build@hipaa-health-prod.iam.gserviceaccount.com", "BuildRunner"), environment: production });
  const out = synth(stack);
  const ar = resourceAt(out, "google_artifact_registry_repository", "Images/Repository");

  test("matches the expected Terraform JSON", () => {
    expect(out.tf).toMatchSnapshot();
  });

  test("CMEK after the service agent's grant, immutable tags, scanning, untagged cleanup", () => {
    const grant = resourceAt(out, "google_kms_crypto_key_iam_member", "Images/RegistryAgentKeyGrant");
    expect(grant).toMatchObject({ role: "roles/cloudkms.cryptoKeyEncrypterDecrypter", member: "serviceAccount:service-404040404040@gcp-sa-artifactregistry.iam.gserviceaccount.com" });
    expect(ar).toMatchObject({
      format: "DOCKER",
      kms_key_name: refAt(out, "google_kms_crypto_key", "Images/Key", "id"),
      docker_config: { immutable_tags: true },
      vulnerability_scanning_config: { enablement_config: "INHERITED" },
      cleanup_policy_dry_run: false,
      cleanup_policies: [{ id: "expire-untagged", action: "DELETE", condition: { tag_state: "UNTAGGED", older_than: "1209600s" } }],
    });
    expect(ar.depends_on).toContain(`google_kms_crypto_key_iam_member.${Object.keys(resourcesOf(out, "google_kms_crypto_key_iam_member"))[0]}`);
    expect(resourceAt(out, "google_kms_crypto_key", "Images/Key")).toMatchObject({ rotation_period: "7776000s", lifecycle: { prevent_destroy: true } });
  });

  test("writers and readers split: the build pool writes, the workload nodes read", () => {
    const members = Object.values(resourcesOf(out, "google_artifact_registry_repository_iam_member")).map((m) => [m.role, m.member]);
    expect(members).toEqual([
      ["roles/artifactregistry.reader", "serviceAccount:workload-nodes@hipaa-health-prod.iam.gserviceaccount.com"],
      ["roles/artifactregistry.writer", "serviceAccount:runner-production-build@hipaa-health-prod.iam.gserviceaccount.com"],
    ]);
  });

  test("refuses public readers and bad ids", () => {
    const { stack: s } = gcpStack();
    const base = { environment: production, projectId: "p-123456", projectNumber: "1", location: "us-central1" };
    expect(refusal(() => new ArtifactRegistryImageRepository(s, "A", { ...base, repositoryId: "Clinical_Images" }))).toMatch(/repository id/);
    expect(refusal(() => new ArtifactRegistryImageRepository(s, "B", { ...base, repositoryId: "b", readerMembers: ["allUsers"] }))).toMatch(/one named member/);
  });
});

describe("registries in the examples", () => {
  test("reference app: one ECR repository per application repository deploying to the environment; the build pool's role is the only pusher", () => {
    const stacks = synthAll(buildReferenceApp(Testing.app()));
    for (const environment of REFERENCE_ENVIRONMENTS) {
      const env = environment.name;
      const out = stacks.get(`clinical-${env}`)!;
      const expected = REFERENCE_REPOSITORIES.filter((r) => r.deploysTo.includes(env)).map((r) => `${env}/${r.name}`);
      const repos = Object.values(resourcesOf(out, "aws_ecr_repository"));
      expect(repos.map((r) => r.name)).toEqual(expected);
      const buildRole = refAt(out, "aws_iam_role", "BuildRunners/PodRole/Role", "arn");
      for (const policy of Object.values(resourcesOf(out, "aws_ecr_repository_policy"))) {
        expect(statement(policy.policy, "DenyPushExceptBuildPool").Condition).toEqual({ StringNotEquals: { "aws:PrincipalArn": [buildRole] } });
        // Looked up by name, so a missing role fails the plan (ECR refuses a policy naming one).
        expect(statement(policy.policy, "WorkloadNodesPull").Principal.AWS).toMatch(new RegExp(`^\\$\\{data\\.aws_iam_role\\.WorkloadNodeRole-clinical-${env}-workload-nodes\\.arn\\}$`));
        expect(Object.values((out.tf.data as any).aws_iam_role)).toContainEqual({ name: `clinical-${env}-workload-nodes` });
      }
      // The build pool's identity policy names exactly these repositories.
      const push = Object.values(resourcesOf(out, "aws_iam_role_policy")).map((p) => statements(p.policy)).flat().find((s) => s.Sid === "EcrPushToEnvironmentRepositories")!;
      expect([push.Resource].flat()).toHaveLength(expected.length);
      for (const r of [push.Resource].flat()) expect(r).toMatch(/^\$\{aws_ecr_repository\.\S+\.arn\}$/);
    }
  });

  test("GCP example: each environment creates its registry; the build pool is its only writer", () => {
    const stacks = synthAll(buildGcpGitlabApp(Testing.app()));
    for (const env of Object.keys(GCP_PROJECTS)) {
      const out = stacks.get(`hipaa-gcp-${env}`)!;
      const writers = Object.values(resourcesOf(out, "google_artifact_registry_repository_iam_member")).filter((m) => m.role === "roles/artifactregistry.writer");
      expect(writers).toHaveLength(1);
      expect(writers[0].member).toMatch(/google_service_account\.BuildRunners_RunnerServiceAccount/);
    }
  });
});
