import { TerraformStack, Testing } from "cdktf";
import { buildGcpGitlabApp, GCP_ENVIRONMENTS, GCP_PROJECTS, GKE_MASTER_RANGES } from "../examples/gcp-gitlab/main";
import { ALL_RULES, evaluate, unitFromJson } from "../src/compliance";
import { resourcesOf, SynthResult } from "./support/synth";

const app = buildGcpGitlabApp(Testing.app());
const stacks = new Map<string, SynthResult>(
  app.node.children
    .filter((c): c is TerraformStack => TerraformStack.isStack(c) && c.node.id.startsWith("hipaa-gcp-") && !c.node.id.endsWith("archive"))
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
    // Data Access logs for Storage, and (with the audit archive) Cloud KMS and IAM.
    expect(Object.values(resourcesOf(out, "google_project_iam_audit_config")).map((a) => a.service).sort()).toEqual(["cloudkms.googleapis.com", "iam.googleapis.com", "storage.googleapis.com"]);
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

  describe("first apply into an empty project (issue 11)", () => {
    const byName = (out: SynthResult, type: string, fragment: string) => Object.entries(resourcesOf(out, type)).filter(([name]) => name.includes(fragment));
    const addressOf = (out: SynthResult, type: string, fragment: string) => {
      const found = byName(out, type, fragment);
      expect(found).toHaveLength(1);
      return `${type}.${found[0][0]}`;
    };

    test.each([...stacks.entries()])("%s: every API it calls is enabled, never disabled on destroy, and each resource waits for its APIs", (_, out) => {
      const services = Object.entries(resourcesOf(out, "google_project_service"));
      expect(services.map(([, s]) => s.service).sort()).toEqual([
        "artifactregistry.googleapis.com",
        "binaryauthorization.googleapis.com",
        "cloudkms.googleapis.com",
        "cloudresourcemanager.googleapis.com",
        "compute.googleapis.com",
        "container.googleapis.com",
        "containeranalysis.googleapis.com",
        "containerscanning.googleapis.com",
        "iam.googleapis.com",
        "iamcredentials.googleapis.com",
        // The audit-log sink to the archive project.
        "logging.googleapis.com",
        "storage.googleapis.com",
        "sts.googleapis.com",
      ]);
      for (const [, s] of services) expect(s.disable_on_destroy).toBe(false);
      const address = (service: string) => `google_project_service.${services.find(([, s]) => s.service === service)![0]}`;
      const waitsFor = (type: string, service: string) => {
        for (const r of Object.values(resourcesOf(out, type))) expect(r.depends_on).toContain(address(service));
      };
      waitsFor("google_kms_key_ring", "cloudkms.googleapis.com");
      waitsFor("google_kms_crypto_key", "cloudkms.googleapis.com");
      waitsFor("google_storage_bucket", "storage.googleapis.com");
      waitsFor("google_container_cluster", "container.googleapis.com");
      waitsFor("google_container_cluster", "compute.googleapis.com");
      waitsFor("google_container_cluster", "binaryauthorization.googleapis.com");
      waitsFor("google_container_node_pool", "container.googleapis.com");
      waitsFor("google_service_account", "iam.googleapis.com");
      waitsFor("google_iam_workload_identity_pool", "iam.googleapis.com");
      waitsFor("google_iam_workload_identity_pool_provider", "sts.googleapis.com");
      waitsFor("google_project_iam_member", "cloudresourcemanager.googleapis.com");
      waitsFor("google_project_iam_audit_config", "cloudresourcemanager.googleapis.com");
      waitsFor("google_artifact_registry_repository_iam_member", "artifactregistry.googleapis.com");
      waitsFor("google_artifact_registry_repository", "artifactregistry.googleapis.com");
      waitsFor("google_artifact_registry_repository", "containerscanning.googleapis.com");
      waitsFor("google_binary_authorization_policy", "binaryauthorization.googleapis.com");
      waitsFor("google_binary_authorization_attestor", "binaryauthorization.googleapis.com");
      waitsFor("google_container_analysis_note", "containeranalysis.googleapis.com");
      // Grants to service agents wait for the API whose enabling creates the agent.
      const agentGrant = (agent: string) => Object.values(resourcesOf(out, "google_kms_crypto_key_iam_member")).find((g) => g.member.includes(agent))!;
      expect(agentGrant("@container-engine-robot.iam.gserviceaccount.com").depends_on).toContain(address("container.googleapis.com"));
      expect(agentGrant("@compute-system.iam.gserviceaccount.com").depends_on).toContain(address("compute.googleapis.com"));
      expect(agentGrant("@gcp-sa-artifactregistry.iam.gserviceaccount.com").depends_on).toContain(address("artifactregistry.googleapis.com"));
      // Every data source is read at plan (no depends_on): a missing cluster, network or registry
      // fails the plan, and the storage agent a key grant names never turns unknown.
      waitsFor("google_logging_project_sink", "logging.googleapis.com");
      // Evidence lives in the archive project: no evidence bucket, key or storage-agent lookup here.
      expect(out.tf.data!.google_storage_project_service_account).toBeUndefined();
      expect(resourcesOf(out, "google_storage_bucket")).toEqual({});
      for (const type of ["google_container_cluster", "google_compute_network", "google_compute_subnetwork"]) {
        expect(Object.keys(out.tf.data![type]).length).toBeGreaterThan(0);
        for (const d of Object.values(out.tf.data![type])) expect(d.depends_on).toBeUndefined();
      }
    });

    test.each([...stacks.entries()])("%s: Workload Identity bindings depend on the cluster that creates PROJECT.svc.id.goog (item 4)", (_, out) => {
      const cluster = addressOf(out, "google_container_cluster", "RunnerCluster");
      const wi = Object.values(resourcesOf(out, "google_service_account_iam_member")).filter((b) => /\.svc\.id\.goog\[/.test(b.member));
      expect(wi).toHaveLength(3);
      for (const b of wi) expect(b.depends_on).toContain(cluster);
    });

    test.each([...stacks.entries()])("%s: the workload cluster is looked up, and deploy grants wait for the lookup (item 5)", (name, out) => {
      const env = name.replace("hipaa-gcp-", "");
      const project = GCP_PROJECTS[env].id;
      const lookups = Object.entries(out.tf.data!.google_container_cluster);
      expect(lookups.map(([, d]) => d)).toEqual([{ project, location: "us-central1", name: `hipaa-${env}-workloads` }]);
      const lookup = `data.google_container_cluster.${lookups[0][0]}`;
      const deploys = Object.values(resourcesOf(out, "google_project_iam_member")).filter((m) => m.role === "roles/container.clusterViewer");
      expect(deploys).toHaveLength(2); // the deploy runner pool and the compliance-platform deploy service account
      for (const d of deploys) {
        expect(d.depends_on).toContain(lookup);
        expect(d.condition.expression).toBe(
          `resource.name == "projects/${project}/locations/us-central1/clusters/hipaa-${env}-workloads" || resource.name.startsWith("projects/${project}/locations/us-central1/clusters/hipaa-${env}-workloads/")`,
        );
      }
    });

    test.each([...stacks.entries()])("%s: the compliance-platform deploy service account and the deploy pool edit only the five services' namespaces (issue 12)", (name, out) => {
      const env = name.replace("hipaa-gcp-", "");
      const services = ["backend", "frontend", "infrastructure", "networking", "security"];
      const byUser = new Map<string, string[]>();
      for (const rb of Object.values(resourcesOf(out, "kubernetes_role_binding_v1"))) {
        expect(rb.role_ref.name).toBe("edit");
        byUser.set(rb.subject[0].name, [...(byUser.get(rb.subject[0].name) ?? []), rb.metadata.namespace].sort());
      }
      const project = GCP_PROJECTS[env].id;
      const platform = Object.values(resourcesOf(out, "google_service_account")).find((a) => /compliance-platform/.test(a.display_name))!;
      expect(Object.fromEntries(byUser)).toEqual({
        [`${platform.account_id}@${project}.iam.gserviceaccount.com`]: services,
        [`runner-${env}-deploy@${project}.iam.gserviceaccount.com`]: services,
      });
    });

    test.each([...stacks.entries()])("%s: named platform administrators hold container.admin on the runner cluster only (item 6)", (name, out) => {
      const env = name.replace("hipaa-gcp-", "");
      const admins = Object.values(resourcesOf(out, "google_project_iam_member")).filter((m) => m.role === "roles/container.admin");
      expect(admins).toHaveLength(1);
      expect(admins[0]).toMatchObject({
        member: "group:gke-platform-admins@hipaa-health.example",
        condition: { title: "only-runner-cluster" },
      });
      expect(admins[0].condition.expression).toContain(`"projects/${GCP_PROJECTS[env].id}/locations/us-central1/clusters/hipaa-${env}-runners"`);
      expect(admins[0].depends_on).toContain(addressOf(out, "google_container_cluster", "RunnerCluster"));
    });

    test.each([...stacks.entries()])("%s: the VPC is looked up, the registry created, and the cluster checks the secondary ranges at plan (item 11, issue 15)", (name, out) => {
      const env = name.replace("hipaa-gcp-", "");
      const project = GCP_PROJECTS[env].id;
      expect(Object.values(out.tf.data!.google_compute_network)).toEqual([{ project, name: "hipaa-vpc" }]);
      expect(Object.values(out.tf.data!.google_compute_subnetwork)).toEqual([{ project, region: "us-central1", name: `hipaa-${env}-runners` }]);
      // The example creates its registry now; the lookup path (runners.artifactRepositories) is tested in gcp.test.ts.
      expect(out.tf.data!.google_artifact_registry_repository).toBeUndefined();
      const repo = Object.entries(resourcesOf(out, "google_artifact_registry_repository"));
      expect(repo.map(([, r]) => r.repository_id)).toEqual(["clinical-images"]);
      const writers = Object.values(resourcesOf(out, "google_artifact_registry_repository_iam_member")).filter((m) => m.role === "roles/artifactregistry.writer");
      expect(writers.map((w) => w.member)).toEqual([expect.stringMatching(/^\$\{google_service_account\.BuildRunners_RunnerServiceAccount_\w+\.member\}$/)]);
      expect(writers[0].repository).toBe(`\${google_artifact_registry_repository.${repo[0][0]}.name}`);
      const c = Object.values(resourcesOf(out, "google_container_cluster"))[0];
      const conditions = c.lifecycle.precondition.map((p: any) => p.condition);
      expect(conditions).toEqual([
        expect.stringMatching(/^\$\{\(data\.google_compute_subnetwork\.\S+\.network == data\.google_compute_network\.\S+\.self_link\)\}$/),
        expect.stringMatching(/^\$\{contains\(data\.google_compute_subnetwork\.\S+\.secondary_ip_range\[\*\]\.range_name, "pods"\)\}$/),
        expect.stringMatching(/^\$\{contains\(data\.google_compute_subnetwork\.\S+\.secondary_ip_range\[\*\]\.range_name, "services"\)\}$/),
      ]);
      expect(c.private_cluster_config.master_ipv4_cidr_block).toBe(GKE_MASTER_RANGES[env]);
    });

    test("each runner cluster has its own control-plane range; production keeps the range it had", () => {
      const ranges = [...stacks.values()].map((out) => Object.values(resourcesOf(out, "google_container_cluster"))[0].private_cluster_config.master_ipv4_cidr_block);
      expect(new Set(ranges).size).toBe(ranges.length);
      expect(GKE_MASTER_RANGES.production).toBe("172.16.0.0/28");
      // Environments beyond the listed four get derived ranges; env-011 and env-031 hash to the same
      // slot, and the second takes the next free one instead of being refused as an overlap.
      const { Environment, EnvironmentTier } = require("../src/model");
      const clashing = ["env-011", "env-031"].map((name) => new Environment({ name, tier: EnvironmentTier.DEVELOPMENT }));
      const derived = buildGcpGitlabApp(Testing.app(), clashing)
        .node.children.filter((c): c is TerraformStack => TerraformStack.isStack(c) && c.node.id.startsWith("hipaa-gcp-") && !c.node.id.endsWith("archive"))
        .map((st) => Object.values<any>(JSON.parse(Testing.synth(st)).resource.google_container_cluster)[0].private_cluster_config.master_ipv4_cidr_block);
      expect(derived).toHaveLength(2);
      expect(derived[0]).not.toBe(derived[1]);
      expect(derived.every((r: string) => r.startsWith("172.17."))).toBe(true);
    });

    test.each([...stacks.entries()])("%s: state in a GCS bucket encrypted with a CMEK (item 13)", (name, out) => {
      const project = GCP_PROJECTS[name.replace("hipaa-gcp-", "")].id;
      expect((out.tf as any).terraform.backend).toEqual({
        gcs: { bucket: `${project}-tfstate`, prefix: name, kms_encryption_key: `projects/${project}/locations/us-central1/keyRings/tfstate/cryptoKeys/tfstate` },
      });
    });

    test("the WI-binding rule passes on every stack, and fails on the same JSON without the cluster dependency", () => {
      for (const [name, out] of stacks) {
        const rule = (tf: unknown) => evaluate([unitFromJson(name, tf)], ALL_RULES).filter((f) => f.rule === "HIPAA-GCP-WI-BINDING-ORDER");
        expect(rule(out.tf).map((f) => f.verdict)).toEqual(["pass", "pass", "pass"]);
        const before = JSON.parse(out.json);
        for (const b of Object.values<any>(before.resource.google_service_account_iam_member)) {
          b.depends_on = (b.depends_on ?? []).filter((d: string) => !d.startsWith("google_container_cluster."));
        }
        expect(rule(before).map((f) => f.verdict)).toEqual(["fail", "fail", "fail"]);
      }
    });
  });
});
