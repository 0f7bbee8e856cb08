import { App, TerraformStack, Testing } from "cdktf";
import { buildReferenceApp, REFERENCE_ENVIRONMENTS } from "../examples/reference/main";
import { buildGcpGitlabApp, GCP_PROJECTS } from "../examples/gcp-gitlab/main";
import { KyvernoRelease, SignedImageAdmission } from "../constructs/kubernetes/signed-image-admission";
import { ALL_RULES, collectControlRecords, evaluate, unitFromJson } from "../src/compliance";
import { GcpEnvironmentStack } from "../src";
import { production, refusal, resourcesOf, SynthResult } from "./support/synth";

/** Test pins only: the digests are placeholders of the right shape, not Kyverno's. */
const PINS: KyvernoRelease = {
  chartVersion: "3.3.7",
  images: {
    "admissionController.container.image": `reg.kyverno.io/kyverno/kyverno:v1.13.4@sha256:${"a".repeat(64)}`,
    "admissionController.initContainer.image": `reg.kyverno.io/kyverno/kyvernopre:v1.13.4@sha256:${"b".repeat(64)}`,
    "backgroundController.image": `reg.kyverno.io/kyverno/background-controller:v1.13.4@sha256:${"c".repeat(64)}`,
  },
};

function stacksOf(app: App): Map<string, SynthResult> {
  const stacks = app.node.children.filter((c): c is TerraformStack => TerraformStack.isStack(c));
  return new Map(stacks.map((s) => {
    const json = Testing.synth(s, true);
    return [s.node.id, { json, tf: JSON.parse(json) }];
  }));
}

function judge(name: string, out: SynthResult, rule: string) {
  return evaluate([unitFromJson(name, out.tf)], ALL_RULES).filter((f) => f.rule === rule);
}

/** The reference app, with admission turned on for every environment. */
function referenceWithAdmission(): Map<string, SynthResult> {
  const app = Testing.app();
  buildReferenceApp(app, REFERENCE_ENVIRONMENTS, undefined, { release: PINS });
  return stacksOf(app);
}

describe("signed-image admission (AWS, opt-in)", () => {
  const stacks = referenceWithAdmission();
  const envStacks = [...stacks.entries()].filter(([name]) => name !== "clinical-github" && name !== "clinical-archive");

  test.each(envStacks)("%s: the ClusterPolicy verifies with this environment's signing key alias and no other, and enforces", (name, out) => {
    const manifests = Object.values(resourcesOf(out, "kubernetes_manifest"));
    expect(manifests).toHaveLength(1);
    const policy = manifests[0].manifest;
    expect(policy).toMatchObject({ apiVersion: "kyverno.io/v1", kind: "ClusterPolicy", spec: { validationFailureAction: "Enforce" } });
    const entries = policy.spec.rules.flatMap((r: any) => r.verifyImages).flatMap((v: any) => v.attestors).flatMap((a: any) => a.entries);
    const aliases = Object.keys(resourcesOf(out, "aws_kms_alias")).filter((id) => id.startsWith("SigningKey"));
    expect(aliases).toHaveLength(1);
    expect(entries.map((e: any) => e.keys.kms)).toEqual([`awskms:///\${aws_kms_alias.${aliases[0]}.arn}`]);
    // No other environment's key appears anywhere in this stack's admission policy.
    for (const other of REFERENCE_ENVIRONMENTS.map((e) => e.name).filter((e) => `clinical-${e}` !== name)) {
      expect(JSON.stringify(policy)).not.toContain(`hipaa-cosign-${other}`);
    }
    expect(judge(name, out, "HIPAA-ADMISSION-ENVIRONMENT-KEY").map((f) => f.verdict)).toEqual(["pass"]);
    const namespaces = policy.spec.rules[0].match.any[0].resources.namespaces;
    expect(namespaces.length).toBeGreaterThan(0);
  });

  test.each(envStacks)("%s: Kyverno from a pinned chart, every image by digest; providers from the workload cluster's data sources", (_, out) => {
    const [release] = Object.values(resourcesOf(out, "helm_release"));
    expect(release).toMatchObject({ chart: "kyverno", version: "3.3.7", repository: "https://kyverno.github.io/kyverno/", atomic: true });
    const tags = release.set.filter((s: any) => s.name.endsWith(".tag")).map((s: any) => s.value);
    expect(tags).toHaveLength(3);
    for (const tag of tags) expect(tag).toMatch(/^v1\.13\.4@sha256:[0-9a-f]{64}$/);
    const tf = out.tf as any;
    expect(tf.provider.kubernetes[0]).toMatchObject({ alias: "workload", host: expect.stringMatching(/^\$\{data\.aws_eks_cluster\.WorkloadCluster\.endpoint\}$/), token: expect.stringMatching(/^\$\{data\.aws_eks_cluster_auth\.\S+\.token\}$/) });
    expect(tf.provider.helm[0].kubernetes).toMatchObject({ host: "${data.aws_eks_cluster.WorkloadCluster.endpoint}" });
    const manifest = Object.values(resourcesOf(out, "kubernetes_manifest"))[0];
    expect(manifest.provider).toBe("kubernetes.workload");
    expect(manifest.depends_on).toEqual([expect.stringMatching(/^helm_release\./)]);
  });

  test.each(envStacks)("%s: the workload nodes may verify with the signing key", (name, out) => {
    const key = Object.entries(resourcesOf(out, "aws_kms_key")).find(([id]) => id.startsWith("SigningKey"))![1];
    const verify = JSON.parse(key.policy).Statement.find((s: any) => s.Sid === "VerifyAdmission0");
    expect(verify.Principal.AWS).toMatch(new RegExp(`^\\$\\{data\\.aws_iam_role\\.WorkloadNodeRole-clinical-${name.replace("clinical-", "")}-workload-nodes\\.arn\\}$`));
    expect(verify.Action).toEqual(["kms:Verify", "kms:GetPublicKey", "kms:DescribeKey"]);
  });

  test("the control map names the key, the admission policy and the registry for a deploy", () => {
    const app = Testing.app();
    buildReferenceApp(app, REFERENCE_ENVIRONMENTS, undefined, { release: PINS });
    const stack = app.node.findChild("clinical-production");
    const records = collectControlRecords(stack).implementations.filter((i) => i.section === "164.312(c)(1)");
    const chain = records.find((r) => r.how.startsWith("For a deploy"))!;
    expect(chain.resources).toEqual(expect.arrayContaining([expect.stringMatching(/^aws_kms_key\.SigningKey/), expect.stringMatching(/^kubernetes_manifest\./), expect.stringMatching(/^aws_ecr_repository\./)]));
  });

  test("without admission the reference app configures no kubernetes or helm provider (offline synth, plain validate)", () => {
    const stacks2 = stacksOf(buildReferenceApp(Testing.app()));
    for (const out of stacks2.values()) {
      expect((out.tf as any).provider.kubernetes).toBeUndefined();
      expect((out.tf as any).provider.helm).toBeUndefined();
    }
  });
});

describe("SignedImageAdmission refuses unpinned releases and foreign key URIs", () => {
  const base = () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, "t");
    const fake = { } as any;
    return { stack, props: { environment: production, cosignKeyUri: "awskms:///arn:aws:kms:us-east-1:444444444444:alias/hipaa-cosign-production", namespaces: ["clinical-platform"], release: PINS, helmProvider: fake, kubernetesProvider: fake } };
  };
  test("a chart range, a tag-only image, no images, a non-KMS key or kube-system", () => {
    const { stack, props } = base();
    expect(refusal(() => new SignedImageAdmission(stack, "A", { ...props, release: { ...PINS, chartVersion: "^3.3.0" } }))).toMatch(/exact chart version/);
    expect(refusal(() => new SignedImageAdmission(stack, "B", { ...props, release: { ...PINS, images: { "backgroundController.image": "reg.kyverno.io/kyverno/background-controller:v1.13.4" } } }))).toMatch(/pinned by digest/);
    expect(refusal(() => new SignedImageAdmission(stack, "C", { ...props, release: { ...PINS, images: {} } }))).toMatch(/pulled by tag/);
    expect(refusal(() => new SignedImageAdmission(stack, "D", { ...props, cosignKeyUri: "cosign.pub" }))).toMatch(/not a KMS key URI/);
    expect(refusal(() => new SignedImageAdmission(stack, "E", { ...props, namespaces: ["kube-system"] }))).toMatch(/application namespaces/);
  });
});

describe("GKE: Binary Authorization with a KMS-backed attestor per environment (GCP example)", () => {
  const stacks = stacksOf(buildGcpGitlabApp(Testing.app()));

  test.each(Object.keys(GCP_PROJECTS))("%s: attestation by this environment's key required, enforced, no allow-all default", (env) => {
    const out = stacks.get(`hipaa-gcp-${env}`)!;
    const [policy] = Object.values(resourcesOf(out, "google_binary_authorization_policy"));
    const [[attestorId, attestor]] = Object.entries(resourcesOf(out, "google_binary_authorization_attestor"));
    expect(policy).toMatchObject({
      project: GCP_PROJECTS[env].id,
      global_policy_evaluation_mode: "ENABLE",
      default_admission_rule: { evaluation_mode: "REQUIRE_ATTESTATION", enforcement_mode: "ENFORCED_BLOCK_AND_AUDIT_LOG", require_attestations_by: [`\${google_binary_authorization_attestor.${attestorId}.name}`] },
    });
    const version = Object.entries((out.tf as any).data.google_kms_crypto_key_version as Record<string, any>);
    expect(version).toHaveLength(1);
    const signingKey = Object.keys(resourcesOf(out, "google_kms_crypto_key")).find((id) => id.startsWith("SigningKey"))!;
    expect(version[0][1].crypto_key).toBe(`\${google_kms_crypto_key.${signingKey}.id}`);
    expect(attestor.attestation_authority_note.public_keys[0].pkix_public_key.public_key_pem).toBe(`\${data.google_kms_crypto_key_version.${version[0][0]}.public_key[0].pem}`);
    expect(judge(env, out, "HIPAA-BINAUTHZ-NO-ALLOW-ALL").map((f) => f.verdict)).toEqual(["pass"]);
    // The build pool writes attestations.
    const attach = Object.values(resourcesOf(out, "google_container_analysis_note_iam_member"));
    expect(attach.map((a) => a.member)).toEqual([expect.stringMatching(/BuildRunners_RunnerServiceAccount/)]);
  });

  test("Kyverno on GKE, opt-in: keyed to the stack's Cloud KMS key", () => {
    const app = Testing.app();
    const stack = new GcpEnvironmentStack(app, "hipaa-gcp-production", {
      environment: production,
      projectId: "hipaa-health-prod",
      projectNumber: "404040404040",
      region: "us-central1",
      imageReaderMembers: ["serviceAccount:workload-nodes@hipaa-health-prod.iam.gserviceaccount.com"],
      runners: {
        cluster: { clusterName: "hipaa-production-runners", network: "hipaa-vpc", subnetwork: "runners", podsRangeName: "pods", servicesRangeName: "services", masterIpv4CidrBlock: "172.16.0.0/28", platformAdminMembers: ["group:admins@hipaa-health.example"] },
        deployTarget: { projectId: "hipaa-health-prod", location: "us-central1", clusterName: "hipaa-production-workloads" },
      },
      admission: { release: PINS, namespaces: ["clinical"] },
    });
    const json = Testing.synth(stack, true);
    const out = { json, tf: JSON.parse(json) };
    const [manifest] = Object.values(resourcesOf(out, "kubernetes_manifest"));
    const signingKey = Object.keys(resourcesOf(out, "google_kms_crypto_key")).find((id) => id.startsWith("SigningKey"))!;
    expect(manifest.manifest.spec.rules[0].verifyImages[0].attestors[0].entries[0].keys.kms).toBe(`gcpkms://\${google_kms_crypto_key.${signingKey}.id}/versions/1`);
    expect(judge("gcp", out, "HIPAA-ADMISSION-ENVIRONMENT-KEY").map((f) => f.verdict)).toEqual(["pass"]);
    expect((out.tf as any).provider.kubernetes[0].token).toMatch(/^\$\{data\.google_client_config\.\S+\.access_token\}$/);
  });
});

describe("snapshots", () => {
  test("SignedImageAdmission matches the expected Terraform JSON", () => {
    const { HelmProvider } = require("@cdktf/provider-helm/lib/provider");
    const { KubernetesProvider } = require("@cdktf/provider-kubernetes/lib/provider");
    const stack = new TerraformStack(Testing.app(), "s");
    new SignedImageAdmission(stack, "Admission", {
      environment: production,
      cosignKeyUri: "awskms:///arn:aws:kms:us-east-1:444444444444:alias/hipaa-cosign-production",
      namespaces: ["clinical-platform"],
      release: PINS,
      helmProvider: new HelmProvider(stack, "helm", {}),
      kubernetesProvider: new KubernetesProvider(stack, "k8s", {}),
    });
    expect(JSON.parse(Testing.synth(stack))).toMatchSnapshot();
  });

  test("KmsBinaryAuthorization matches the expected Terraform JSON, and refuses a registry-wide allowlist", () => {
    const { gcpStack } = require("./support/synth");
    const { CloudKmsSigningKey, KmsBinaryAuthorization } = require("../constructs/gcp");
    const { stack } = gcpStack();
    const key = new CloudKmsSigningKey(stack, "SigningKey", { environment: production, projectId: "hipaa-health-prod", location: "us-central1" });
    new KmsBinaryAuthorization(stack, "BinaryAuthorization", { environment: production, projectId: "hipaa-health-prod", signingKey: key, allowlistPatterns: ["us-central1-docker.pkg.dev/hipaa-health-prod/ci-images/*"] });
    expect(JSON.parse(Testing.synth(stack))).toMatchSnapshot();
    expect(refusal(() => new KmsBinaryAuthorization(stack, "Open", { environment: production, projectId: "hipaa-health-prod", signingKey: key, allowlistPatterns: ["docker.io/*"] }))).toMatch(/whole registry/);
  });
});

describe("admission is refused where there is no workload cluster to admit on", () => {
  test("AwsEnvironmentStack without workloadCluster, GcpEnvironmentStack without runners, HipaaSubstrate without runners", () => {
    const { AwsEnvironmentStack } = require("../src");
    expect(refusal(() => new AwsEnvironmentStack(Testing.app(), "a", { environment: production, region: "us-east-1", admission: { release: PINS } }))).toMatch(/needs the environment's workload cluster/);
    expect(
      refusal(() => new GcpEnvironmentStack(Testing.app(), "g", { environment: production, projectId: "hipaa-health-prod", projectNumber: "404040404040", region: "us-central1", admission: { release: PINS, namespaces: ["clinical"] } })),
    ).toMatch(/runners.deployTarget/);
    const { HipaaSubstrate, GithubPlan } = require("../src");
    const { REFERENCE_REPOSITORIES } = require("../examples/reference/main");
    expect(
      refusal(
        () =>
          new HipaaSubstrate(Testing.app(), "clinical", {
            organization: "hipaa-app-org", organizationId: 1342004, githubPlan: GithubPlan.ENTERPRISE, complianceRepo: "compliance-workflows",
            complianceTeam: { id: 5501, slug: "compliance" }, approverTeamIds: [5502], approvedRelease: "v1.4.2", releaseAutomation: { type: "github-app", appId: 904512, slug: "hipaa-release-bot" },
            environments: REFERENCE_ENVIRONMENTS, repositories: REFERENCE_REPOSITORIES,
            aws: { region: "us-east-1", accounts: { dev: "111111111111", staging: "222222222222", validation: "333333333333", production: "444444444444" }, admission: { release: PINS } },
          }),
      ),
    ).toMatch(/admission is given without runners/);
  });
});
