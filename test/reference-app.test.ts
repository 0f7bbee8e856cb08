import { TerraformStack, Testing } from "cdktf";
import { buildReferenceApp, REFERENCE_ENVIRONMENTS } from "../examples/reference/main";
import { Environment, EnvironmentTier } from "../src/model";
import { refusal, resourcesOf, statements, SynthResult } from "./support/synth";

function synthApp(environments = REFERENCE_ENVIRONMENTS): Map<string, SynthResult> {
  const app = buildReferenceApp(Testing.app(), environments);
  const stacks = app.node.children.filter((c): c is TerraformStack => TerraformStack.isStack(c));
  return new Map(stacks.map((s) => {
    const json = Testing.synth(s, true);
    return [s.node.id, { json, tf: JSON.parse(json) }];
  }));
}

describe("reference app", () => {
  const stacks = synthApp();

  test("writes one stack per environment", () => {
    expect([...stacks.keys()]).toEqual(["clinical-dev", "clinical-staging", "clinical-validation", "clinical-production"]);
  });

  test.each(REFERENCE_ENVIRONMENTS.map((e) => e.name))("%s: evidence bucket and signing key hold every required property", (name) => {
    const out = stacks.get(`clinical-${name}`)!;
    const provider = (out.tf as any).provider.aws[0];
    expect(provider.allowed_account_ids).toEqual(["111122223333"]);

    const buckets = Object.values(resourcesOf(out, "aws_s3_bucket"));
    expect(buckets).toHaveLength(2);
    for (const b of buckets) expect(b).toMatchObject({ force_destroy: false, lifecycle: { prevent_destroy: true } });
    expect(buckets.filter((b) => b.object_lock_enabled === true)).toHaveLength(1);

    const [lock] = Object.values(resourcesOf(out, "aws_s3_bucket_object_lock_configuration"));
    expect(lock.rule.default_retention).toEqual({ mode: "COMPLIANCE", days: 2190 });
    for (const v of Object.values(resourcesOf(out, "aws_s3_bucket_versioning"))) expect(v.versioning_configuration.status).toBe("Enabled");
    for (const p of Object.values(resourcesOf(out, "aws_s3_bucket_public_access_block"))) {
      expect(p).toMatchObject({ block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true });
    }
    for (const o of Object.values(resourcesOf(out, "aws_s3_bucket_ownership_controls"))) expect(o.rule.object_ownership).toBe("BucketOwnerEnforced");
    const sse = Object.values(resourcesOf(out, "aws_s3_bucket_server_side_encryption_configuration")).map((s) => s.rule[0]);
    expect(sse).toContainEqual(expect.objectContaining({ bucket_key_enabled: true, apply_server_side_encryption_by_default: expect.objectContaining({ sse_algorithm: "aws:kms" }) }));
    for (const p of Object.values(resourcesOf(out, "aws_s3_bucket_policy"))) {
      expect(statements(p.policy).find((s) => s.Sid === "DenyInsecureTransport")?.Condition).toEqual({ Bool: { "aws:SecureTransport": "false" } });
    }
    expect(Object.values(resourcesOf(out, "aws_s3_bucket_logging"))).toHaveLength(1);

    const keys = Object.values(resourcesOf(out, "aws_kms_key"));
    const signing = keys.find((k) => k.key_usage === "SIGN_VERIFY")!;
    const evidence = keys.find((k) => k.key_usage === "ENCRYPT_DECRYPT")!;
    expect(signing).toMatchObject({ customer_master_key_spec: "ECC_NIST_P256", deletion_window_in_days: 30, lifecycle: { prevent_destroy: true } });
    expect(signing.enable_key_rotation).toBeUndefined();
    expect(evidence).toMatchObject({ enable_key_rotation: true, deletion_window_in_days: 30, lifecycle: { prevent_destroy: true } });
    expect(Object.values(resourcesOf(out, "aws_kms_alias")).map((a) => a.name)).toContain(`alias/hipaa-cosign-${name}`);
  });

  test("bucket names differ per environment and are stable", () => {
    const names = [...stacks.values()].flatMap((s) => Object.values(resourcesOf(s, "aws_s3_bucket")).map((b) => b.bucket));
    expect(new Set(names).size).toBe(names.length);
    const again = [...synthApp().values()].flatMap((s) => Object.values(resourcesOf(s, "aws_s3_bucket")).map((b) => b.bucket));
    expect(again).toEqual(names);
  });

  test("adding an environment leaves existing logical IDs and names unchanged", () => {
    const before = stacks.get("clinical-production")!;
    const extra = [...REFERENCE_ENVIRONMENTS, new Environment({ name: "dr", tier: EnvironmentTier.PRODUCTION })];
    const after = synthApp(extra).get("clinical-production")!;
    expect(after.tf.resource).toEqual(before.tf.resource);
  });

  test("duplicate environment names are refused", () => {
    const dup = [...REFERENCE_ENVIRONMENTS, new Environment({ name: "dev", tier: EnvironmentTier.STAGING })];
    expect(refusal(() => buildReferenceApp(Testing.app(), dup))).toContain('environment name "dev" appears more than once');
  });
});
