import { ALL_RULES, evaluate, unitFromJson } from "../src/compliance";

function verdicts(doc: unknown, rule: string): Record<string, string> {
  return Object.fromEntries(evaluate([unitFromJson("main.tf.json", doc)], ALL_RULES).filter((f) => f.rule === rule).map((f) => [f.resource, f.verdict]));
}

const ecr = (body: object) => ({ resource: { aws_ecr_repository: { r: { name: "app", ...body } } } });
const ar = (body: object) => ({ resource: { google_artifact_registry_repository: { r: { repository_id: "app", location: "us-central1", format: "DOCKER", ...body } } } });

describe("HIPAA-REGISTRY-IMMUTABLE-TAGS", () => {
  test("ECR: IMMUTABLE passes; MUTABLE, the default and loose exclusions fail; cosign tag exclusions pass", () => {
    expect(verdicts(ecr({ image_tag_mutability: "IMMUTABLE" }), "HIPAA-REGISTRY-IMMUTABLE-TAGS")).toEqual({ "aws_ecr_repository.r": "pass" });
    expect(verdicts(ecr({ image_tag_mutability: "MUTABLE" }), "HIPAA-REGISTRY-IMMUTABLE-TAGS")).toEqual({ "aws_ecr_repository.r": "fail" });
    expect(verdicts(ecr({}), "HIPAA-REGISTRY-IMMUTABLE-TAGS")).toEqual({ "aws_ecr_repository.r": "fail" });
    const excl = (filter: string) => ecr({ image_tag_mutability: "IMMUTABLE_WITH_EXCLUSION", image_tag_mutability_exclusion_filter: [{ filter, filter_type: "WILDCARD" }] });
    expect(verdicts(excl("sha256-*"), "HIPAA-REGISTRY-IMMUTABLE-TAGS")).toEqual({ "aws_ecr_repository.r": "pass" });
    expect(verdicts(excl("latest*"), "HIPAA-REGISTRY-IMMUTABLE-TAGS")).toEqual({ "aws_ecr_repository.r": "fail" });
  });

  test("Artifact Registry: docker_config.immutable_tags passes, its absence fails, non-Docker repositories are not judged", () => {
    expect(verdicts(ar({ docker_config: { immutable_tags: true } }), "HIPAA-REGISTRY-IMMUTABLE-TAGS")).toEqual({ "google_artifact_registry_repository.r": "pass" });
    expect(verdicts(ar({}), "HIPAA-REGISTRY-IMMUTABLE-TAGS")).toEqual({ "google_artifact_registry_repository.r": "fail" });
    expect(verdicts(ar({ format: "MAVEN" }), "HIPAA-REGISTRY-IMMUTABLE-TAGS")).toEqual({});
  });
});

describe("HIPAA-REGISTRY-CMK and HIPAA-REGISTRY-SCANNING", () => {
  test("ECR: a CMK passes; AES256, and KMS with the AWS-managed key, fail", () => {
    expect(verdicts(ecr({ encryption_configuration: [{ encryption_type: "KMS", kms_key: "${aws_kms_key.k.arn}" }] }), "HIPAA-REGISTRY-CMK")).toEqual({ "aws_ecr_repository.r": "pass" });
    expect(verdicts(ecr({ encryption_configuration: [{ encryption_type: "KMS" }] }), "HIPAA-REGISTRY-CMK")).toEqual({ "aws_ecr_repository.r": "fail" });
    expect(verdicts(ecr({}), "HIPAA-REGISTRY-CMK")).toEqual({ "aws_ecr_repository.r": "fail" });
  });

  test("Artifact Registry: kms_key_name passes, none fails", () => {
    expect(verdicts(ar({ kms_key_name: "${google_kms_crypto_key.k.id}" }), "HIPAA-REGISTRY-CMK")).toEqual({ "google_artifact_registry_repository.r": "pass" });
    expect(verdicts(ar({}), "HIPAA-REGISTRY-CMK")).toEqual({ "google_artifact_registry_repository.r": "fail" });
  });

  test("ECR: scan on push or registry-wide enhanced scanning passes; neither fails", () => {
    expect(verdicts(ecr({ image_scanning_configuration: { scan_on_push: true } }), "HIPAA-REGISTRY-SCANNING")).toEqual({ "aws_ecr_repository.r": "pass" });
    expect(verdicts(ecr({ image_scanning_configuration: { scan_on_push: false } }), "HIPAA-REGISTRY-SCANNING")).toEqual({ "aws_ecr_repository.r": "fail" });
    const enhanced = {
      resource: {
        ...ecr({}).resource,
        aws_ecr_registry_scanning_configuration: { s: { scan_type: "ENHANCED", rule: [{ scan_frequency: "CONTINUOUS_SCAN", repository_filter: [{ filter: "*", filter_type: "WILDCARD" }] }] } },
      },
    };
    expect(verdicts(enhanced, "HIPAA-REGISTRY-SCANNING")).toEqual({ "aws_ecr_repository.r": "pass" });
  });

  test("Artifact Registry: DISABLED fails, INHERITED or unset passes", () => {
    expect(verdicts(ar({ vulnerability_scanning_config: { enablement_config: "DISABLED" } }), "HIPAA-REGISTRY-SCANNING")).toEqual({ "google_artifact_registry_repository.r": "fail" });
    expect(verdicts(ar({ vulnerability_scanning_config: { enablement_config: "INHERITED" } }), "HIPAA-REGISTRY-SCANNING")).toEqual({ "google_artifact_registry_repository.r": "pass" });
  });
});

describe("HIPAA-BINAUTHZ-NO-ALLOW-ALL", () => {
  const policy = (rule: object, clusters: object[] = []) => ({ resource: { google_binary_authorization_policy: { p: { default_admission_rule: rule, cluster_admission_rules: clusters } } } });
  const attested = { evaluation_mode: "REQUIRE_ATTESTATION", enforcement_mode: "ENFORCED_BLOCK_AND_AUDIT_LOG", require_attestations_by: ["${google_binary_authorization_attestor.a.name}"] };

  test("ALWAYS_ALLOW fails, in the default rule or any cluster's", () => {
    expect(verdicts(policy({ evaluation_mode: "ALWAYS_ALLOW", enforcement_mode: "ENFORCED_BLOCK_AND_AUDIT_LOG" }), "HIPAA-BINAUTHZ-NO-ALLOW-ALL")).toEqual({ "google_binary_authorization_policy.p": "fail" });
    expect(verdicts(policy(attested, [{ cluster: "us-central1.runners", evaluation_mode: "ALWAYS_ALLOW", enforcement_mode: "ENFORCED_BLOCK_AND_AUDIT_LOG" }]), "HIPAA-BINAUTHZ-NO-ALLOW-ALL")).toEqual({ "google_binary_authorization_policy.p": "fail" });
  });

  test("dry run, or attestations from nobody, fail; an enforced attestation requirement passes", () => {
    expect(verdicts(policy({ ...attested, enforcement_mode: "DRYRUN_AUDIT_LOG_ONLY" }), "HIPAA-BINAUTHZ-NO-ALLOW-ALL")).toEqual({ "google_binary_authorization_policy.p": "fail" });
    expect(verdicts(policy({ ...attested, require_attestations_by: [] }), "HIPAA-BINAUTHZ-NO-ALLOW-ALL")).toEqual({ "google_binary_authorization_policy.p": "fail" });
    expect(verdicts(policy(attested), "HIPAA-BINAUTHZ-NO-ALLOW-ALL")).toEqual({ "google_binary_authorization_policy.p": "pass" });
    expect(verdicts(policy({ evaluation_mode: "ALWAYS_DENY", enforcement_mode: "ENFORCED_BLOCK_AND_AUDIT_LOG" }), "HIPAA-BINAUTHZ-NO-ALLOW-ALL")).toEqual({ "google_binary_authorization_policy.p": "pass" });
  });
});

describe("HIPAA-ADMISSION-ENVIRONMENT-KEY", () => {
  const awsKey = {
    aws_kms_key: { sign: { key_usage: "SIGN_VERIFY", customer_master_key_spec: "ECC_NIST_P256" }, data: { key_usage: "ENCRYPT_DECRYPT" } },
    aws_kms_alias: { alias: { name: "alias/hipaa-cosign-production", target_key_id: "${aws_kms_key.sign.key_id}" } },
  };
  const kyverno = (entry: object, extra: object = {}) => ({
    apiVersion: "kyverno.io/v1",
    kind: "ClusterPolicy",
    metadata: { name: "verify-images" },
    spec: {
      validationFailureAction: "Enforce",
      rules: [{ name: "signed", match: { any: [{ resources: { kinds: ["Pod"] } }] }, verifyImages: [{ imageReferences: ["*"], attestors: [{ entries: [entry] }] }] }],
      ...extra,
    },
  });
  const unit = (manifest: object, keys: object = awsKey) => ({ resource: { ...keys, kubernetes_manifest: { m: { manifest } } } });
  const rule = "HIPAA-ADMISSION-ENVIRONMENT-KEY";

  test("Kyverno keyed to this stack's alias (by reference or by literal alias ARN) and enforcing passes", () => {
    expect(verdicts(unit(kyverno({ keys: { kms: "awskms:///${aws_kms_alias.alias.arn}" } })), rule)).toEqual({ "kubernetes_manifest.m": "pass" });
    expect(verdicts(unit(kyverno({ keys: { kms: "awskms:///arn:aws:kms:us-east-1:444444444444:alias/hipaa-cosign-production" } })), rule)).toEqual({ "kubernetes_manifest.m": "pass" });
  });

  test("another environment's key, an encryption key, an inline public key or a keyless identity fails", () => {
    expect(verdicts(unit(kyverno({ keys: { kms: "awskms:///arn:aws:kms:us-east-1:111111111111:alias/hipaa-cosign-dev" } })), rule)).toEqual({ "kubernetes_manifest.m": "fail" });
    expect(verdicts(unit(kyverno({ keys: { kms: "awskms:///${aws_kms_key.data.arn}" } })), rule)).toEqual({ "kubernetes_manifest.m": "fail" });
    expect(verdicts(unit(kyverno({ keys: { publicKeys: "-----BEGIN PUBLIC KEY-----\nMFkw...\n-----END PUBLIC KEY-----" } })), rule)).toEqual({ "kubernetes_manifest.m": "fail" });
    expect(verdicts(unit(kyverno({ keyless: { subject: "*", issuer: "https://token.actions.githubusercontent.com" } })), rule)).toEqual({ "kubernetes_manifest.m": "fail" });
    // A stack with no signing key of its own cannot be verifying with this environment's key.
    expect(verdicts(unit(kyverno({ keys: { kms: "awskms:///arn:aws:kms:us-east-1:444444444444:alias/hipaa-cosign-production" } }), {}), rule)).toEqual({ "kubernetes_manifest.m": "fail" });
  });

  test("Audit (Kyverno's default) fails even with the right key", () => {
    const audit = kyverno({ keys: { kms: "awskms:///${aws_kms_alias.alias.arn}" } });
    delete (audit.spec as any).validationFailureAction;
    expect(verdicts(unit(audit), rule)).toEqual({ "kubernetes_manifest.m": "fail" });
  });

  test("policy-controller ClusterImagePolicy keyed to this stack's Cloud KMS key passes; a literal key of another project fails", () => {
    const gcpKey = {
      google_kms_key_ring: { ring: { name: "hipaa-cosign-production", location: "us-central1" } },
      google_kms_crypto_key: { cosign: { name: "cosign", key_ring: "${google_kms_key_ring.ring.id}", purpose: "ASYMMETRIC_SIGN" } },
    };
    const cip = (kms: string) => ({ apiVersion: "policy.sigstore.dev/v1beta1", kind: "ClusterImagePolicy", metadata: { name: "signed" }, spec: { images: [{ glob: "**" }], authorities: [{ key: { kms } }] } });
    expect(verdicts(unit(cip("gcpkms://${google_kms_crypto_key.cosign.id}/versions/1"), gcpKey), rule)).toEqual({ "kubernetes_manifest.m": "pass" });
    expect(verdicts(unit(cip("gcpkms://projects/hipaa-health-prod/locations/us-central1/keyRings/hipaa-cosign-production/cryptoKeys/cosign/versions/1"), gcpKey), rule)).toEqual({ "kubernetes_manifest.m": "pass" });
    expect(verdicts(unit(cip("gcpkms://projects/hipaa-health-dev/locations/us-central1/keyRings/hipaa-cosign-dev/cryptoKeys/cosign/versions/1"), gcpKey), rule)).toEqual({ "kubernetes_manifest.m": "fail" });
    expect(verdicts(unit({ ...cip("gcpkms://${google_kms_crypto_key.cosign.id}/versions/1"), spec: { authorities: [{ key: { kms: "gcpkms://${google_kms_crypto_key.cosign.id}/versions/1" } }], mode: "warn" } }, gcpKey), rule)).toEqual({ "kubernetes_manifest.m": "fail" });
  });

  test("other manifests are not judged", () => {
    expect(verdicts(unit({ apiVersion: "v1", kind: "Namespace", metadata: { name: "x" } }), rule)).toEqual({});
  });
});
