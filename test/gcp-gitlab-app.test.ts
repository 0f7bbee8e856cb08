import { TerraformStack, Testing } from "cdktf";
import { buildGcpGitlabApp, GCP_ENVIRONMENTS, GCP_PROJECTS } from "../examples/gcp-gitlab/main";
import { resourcesOf, SynthResult } from "./support/synth";

const app = buildGcpGitlabApp(Testing.app());
const stacks = new Map<string, SynthResult>(
  app.node.children
    .filter((c): c is TerraformStack => TerraformStack.isStack(c) && c.node.id.startsWith("hipaa-gcp-"))
    .map((s) => {
      const json = Testing.synth(s, true);
      return [s.node.id, { json, tf: JSON.parse(json) }];
    }),
);

describe("gcp-gitlab example", () => {
  test("one stack per environment", () => {
    expect([...stacks.keys()]).toEqual(GCP_ENVIRONMENTS.map((e) => `hipaa-gcp-${e.name}`));
  });

  test.each([...stacks.entries()])("%s: locked evidence, HSM key, WIF condition naming the project, hardened pools", (_, out) => {
    for (const b of Object.values(resourcesOf(out, "google_storage_bucket"))) {
      expect(b.retention_policy.is_locked).toBe(true);
      expect(b.retention_policy.retention_period).toBeGreaterThanOrEqual(189_216_000);
      expect(b.versioning).toBeUndefined();
    }
    const signing = Object.values(resourcesOf(out, "google_kms_crypto_key")).find((k) => k.purpose === "ASYMMETRIC_SIGN")!;
    expect(signing.version_template.protection_level).toBe("HSM");
    for (const p of Object.values(resourcesOf(out, "google_iam_workload_identity_pool_provider"))) {
      expect(p.attribute_condition).toContain("assertion.project_path == 'hipaa-health/compliance-platform'");
      expect(p.attribute_condition).toContain("assertion.ref_protected == 'true'");
    }
    const pools = Object.values(resourcesOf(out, "google_container_node_pool"));
    expect(pools).toHaveLength(3);
    for (const p of pools) {
      expect(p.node_config.workload_metadata_config.mode).toBe("GKE_METADATA");
      expect(p.node_config.shielded_instance_config).toEqual({ enable_secure_boot: true, enable_integrity_monitoring: true });
      expect(p.node_config.boot_disk_kms_key).toBeDefined();
      expect(p.node_config.taint.length).toBe(2);
    }
    expect(Object.values(resourcesOf(out, "google_project_iam_audit_config"))[0].service).toBe("storage.googleapis.com");
  });

  test("production deploys only from protected tags; lower tiers from the protected default branch", () => {
    const condition = (env: string) => Object.values(resourcesOf(stacks.get(`hipaa-gcp-${env}`)!, "google_iam_workload_identity_pool_provider"))[0].attribute_condition;
    expect(condition("production")).toContain("assertion.ref_type == 'tag' && assertion.ref.startsWith('v')");
    expect(condition("dev")).toContain("assertion.ref_type == 'branch' && assertion.ref == 'main'");
  });

  test("cross-environment isolation: no stack names another environment's project, service accounts or clusters", () => {
    for (const [name, out] of stacks) {
      const env = name.replace("hipaa-gcp-", "");
      const text = JSON.stringify(out.tf.resource);
      for (const [other, project] of Object.entries(GCP_PROJECTS)) {
        if (other === env) continue;
        expect(text).not.toContain(project.id);
        expect(text).not.toContain(project.number);
        expect(text).not.toMatch(new RegExp(`ci-${other}-|hipaa-${other}-|runner-${other}-|node-${other}-`));
      }
    }
  });
});
