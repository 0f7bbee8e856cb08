import { REFERENCE_GITHUB } from "./support/substrate-config";
import { TerraformStack, Testing } from "cdktf";
import { REFERENCE_ENVIRONMENTS, REFERENCE_REPOSITORIES } from "../examples/reference/main";
import { GcpEnvironmentStack, GcpEnvironmentStackProps, GcpProjectServices, GitlabOidcSubject, GitlabProjectRef, GitlabRefType, HipaaSubstrate, HipaaSubstrateConfig } from "../src";
import { production } from "./support/synth";
import { refusal, resourcesOf, SynthResult } from "./support/synth";

const subject = new GitlabOidcSubject({ project: new GitlabProjectRef("hipaa-health/compliance-platform", { projectId: 48213107 }), environment: production, refType: GitlabRefType.TAG, ref: "v*", refProtected: true });
const KEY = "projects/hipaa-health-prod/locations/us-central1/keyRings/tfstate/cryptoKeys/tfstate";

function stackOf(props: Partial<GcpEnvironmentStackProps> = {}): SynthResult & { stack: GcpEnvironmentStack } {
  const stack = new GcpEnvironmentStack(Testing.app(), "hipaa-gcp-production", {
    environment: production,
    projectId: "hipaa-health-prod",
    projectNumber: "404040404040",
    region: "us-central1",
    gitlabSubjects: [subject],
    ...props,
  });
  const json = Testing.synth(stack, true);
  return { stack, json, tf: JSON.parse(json) };
}

describe("GcpEnvironmentStack: remote state (issue 11, item 13)", () => {
  test("no stateBucket: local state (the checker flags it for PHI environments)", () => {
    expect((stackOf().tf as any).terraform.backend).toBeUndefined();
  });

  test("a GCS backend with the CMEK and the stack id as prefix by default", () => {
    expect((stackOf({ stateBucket: { bucket: "hipaa-health-prod-tfstate", kmsEncryptionKey: KEY } }).tf as any).terraform.backend).toEqual({
      gcs: { bucket: "hipaa-health-prod-tfstate", kms_encryption_key: KEY, prefix: "hipaa-gcp-production" },
    });
    expect((stackOf({ stateBucket: { bucket: "tfstate-central", kmsEncryptionKey: KEY, prefix: "clinical/production" } }).tf as any).terraform.backend.gcs.prefix).toBe("clinical/production");
  });

  test("refusals: no key or a key that is not a Cloud KMS key name; a bucket that is not a bucket name", () => {
    expect(refusal(() => stackOf({ stateBucket: { bucket: "tfstate", kmsEncryptionKey: undefined as any } }))).toContain("is not a Cloud KMS key name (45 CFR 164.312(a)(2)(iv))");
    expect(refusal(() => stackOf({ stateBucket: { bucket: "tfstate", kmsEncryptionKey: "tfstate-key" } }))).toContain('state key "tfstate-key" is not a Cloud KMS key name');
    expect(refusal(() => stackOf({ stateBucket: { bucket: "gs://tfstate", kmsEncryptionKey: KEY } }))).toContain("is not a bucket name");
  });
});

describe("GcpEnvironmentStack: Workload Identity pool ids and soft delete (issue 11, item 12)", () => {
  const poolId = (out: SynthResult) => Object.values(resourcesOf(out, "google_iam_workload_identity_pool"))[0].workload_identity_pool_id;

  test("today's pool id stays the default; a suffix is opt-in", () => {
    expect(poolId(stackOf())).toBe("gitlab-ci");
    expect(poolId(stackOf({ workloadIdentityPoolSuffix: "r2" }))).toBe("gitlab-ci-r2");
  });

  test("refusal: a suffix that is not 1-8 lowercase letters or digits", () => {
    expect(refusal(() => stackOf({ workloadIdentityPoolSuffix: "Re-Created" }))).toContain('workloadIdentityPoolSuffix "Re-Created" is not 1-8 lowercase letters or digits');
  });
});

describe("GcpEnvironmentStack: project services (issue 11, item 11)", () => {
  test("without runners only the APIs the stack calls are enabled", () => {
    const out = stackOf();
    expect(Object.values(resourcesOf(out, "google_project_service")).map((s) => s.service).sort()).toEqual([
      "cloudkms.googleapis.com",
      "cloudresourcemanager.googleapis.com",
      "iam.googleapis.com",
      "iamcredentials.googleapis.com",
      "storage.googleapis.com",
      "sts.googleapis.com",
    ]);
    expect(out.stack.requiredServices).toContain("sts.googleapis.com");
  });

  test("manageProjectServices: false leaves APIs to a central team: no google_project_service and no dependency on one", () => {
    const out = stackOf({ manageProjectServices: false });
    expect(resourcesOf(out, "google_project_service")).toEqual({});
    expect(out.json).not.toContain("google_project_service");
    expect(out.stack.requiredServices.length).toBeGreaterThan(0);
  });

  test("refusal: a service that is not an API name", () => {
    const stack = new TerraformStack(Testing.app(), "s");
    expect(refusal(() => new GcpProjectServices(stack, "Services", { projectId: "p", services: ["container"] }))).toContain('"container" is not an API service name');
  });
});

describe("HipaaSubstrate GCP settings: state buckets and pool suffix", () => {
  const gcp = (extra: object) =>
    ({
      ...REFERENCE_GITHUB,
      environments: REFERENCE_ENVIRONMENTS,
      repositories: REFERENCE_REPOSITORIES,
      gcp: {
        region: "us-central1",
        projects: Object.fromEntries(REFERENCE_ENVIRONMENTS.map((e, i) => [e.name, { id: `hipaa-health-${e.name}`, number: `${i + 1}0000000000` }])),
        ...extra,
      },
    }) as HipaaSubstrateConfig;
  const buckets = Object.fromEntries(
    REFERENCE_ENVIRONMENTS.map((e) => [e.name, { bucket: `hipaa-health-${e.name}-tfstate`, kmsEncryptionKey: `projects/hipaa-health-${e.name}/locations/us-central1/keyRings/tfstate/cryptoKeys/tfstate` }]),
  );

  test("each environment's GCP stack keeps its state in its own bucket under its own key", () => {
    const app = Testing.app();
    const substrate = new HipaaSubstrate(app, "clinical", gcp({ stateBuckets: buckets, workloadIdentityPoolSuffix: "r2" }));
    for (const e of REFERENCE_ENVIRONMENTS) {
      const tf = JSON.parse(Testing.synth(substrate.gcpStacks.get(e.name)!));
      expect(tf.terraform.backend.gcs).toEqual({ bucket: `hipaa-health-${e.name}-tfstate`, kms_encryption_key: buckets[e.name].kmsEncryptionKey, prefix: `clinical-gcp-${e.name}` });
      expect(Object.values<any>(tf.resource.google_iam_workload_identity_pool)[0].workload_identity_pool_id).toBe("github-actions-r2");
    }
  });

  test("refusal: stateBuckets that leave an environment out", () => {
    const { production: _left, ...partial } = buckets;
    expect(refusal(() => new HipaaSubstrate(Testing.app(), "clinical", gcp({ stateBuckets: partial })))).toContain('stateBuckets names no bucket for environment "production"');
  });
});
