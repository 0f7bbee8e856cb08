import { Cfr } from "../../catalog";
import { fail, pass, Rule } from "../rule";
import { block, blocks, bool, num, str, strings } from "../terraform";

const PUBLIC_MEMBERS = ["allUsers", "allAuthenticatedUsers"];
const DEFAULT_SA = /-compute@developer\.gserviceaccount\.com|@appspot\.gserviceaccount\.com|google_compute_default_service_account/;
const NINETY_DAYS = 7_776_000;

export const GCP_RULES: readonly Rule[] = [
  {
    id: "HIPAA-GCS-NO-PUBLIC-MEMBERS",
    title: "Bucket IAM never grants allUsers or allAuthenticatedUsers",
    severity: "critical",
    controls: [Cfr.ACCESS_CONTROL],
    resourceTypes: ["google_storage_bucket_iam_member", "google_storage_bucket_iam_binding"],
    fix: "grant named members only",
    equivalents: ["AVD-GCP-0001", "CKV_GCP_28"],
    kics: [{ id: "a6cd52a1-3056-4910-96a5-894de9f3f3b3", name: "Cloud Storage Anonymous or Publicly Accessible" }, { id: "c010082c-76e0-4b91-91d9-6e8439e455dd", name: "Cloud Storage Bucket Is Publicly Accessible" }],
    evaluate: (r) => {
      const members = [...strings(r.body.member), ...strings(r.body.members)];
      const open = members.find((m) => PUBLIC_MEMBERS.includes(m));
      return open ? fail(`${open} is granted`) : pass("named members only");
    },
  },
  {
    id: "HIPAA-GCS-UBLA",
    title: "Buckets use uniform bucket-level access",
    severity: "high",
    controls: [Cfr.ACCESS_CONTROL],
    resourceTypes: ["google_storage_bucket"],
    fix: "uniform_bucket_level_access = true",
    equivalents: ["AVD-GCP-0002", "CKV_GCP_29"],
    kics: [{ id: "bb0db090-5509-4853-a827-75ced0b3caa0", name: "Google Storage Bucket Level Access Disabled" }],
    evaluate: (b) => (bool(b.body.uniform_bucket_level_access) === true ? pass("uniform access") : fail("object ACLs are enabled")),
  },
  {
    id: "HIPAA-GCS-CMEK",
    title: "Buckets are encrypted with a customer-managed key",
    severity: "high",
    controls: [Cfr.ENCRYPTION],
    resourceTypes: ["google_storage_bucket"],
    fix: "encryption { default_kms_key_name = ... } (after granting the storage service agent the key)",
    equivalents: ["AVD-GCP-0066"],
    evaluate: (b) => (str(block(b.body, "encryption")?.default_kms_key_name) ? pass("CMEK") : fail("Google-managed encryption only")),
  },
  {
    id: "HIPAA-GCS-USAGE-LOGGING",
    title: "Buckets log usage (log buckets excepted)",
    severity: "medium",
    controls: [Cfr.AUDIT_CONTROLS],
    resourceTypes: ["google_storage_bucket"],
    fix: "logging { log_bucket = ... }",
    equivalents: ["AVD-GCP-0077", "CKV_GCP_62"],
    kics: [{ id: "d6cabc3a-d57e-48c2-b341-bf3dd4f4a120", name: "Cloud Storage Bucket Logging Not Enabled" }],
    evaluate: (b, index) => {
      if (block(b.body, "logging")) return pass("usage logging is on");
      const targets = index.memoize("gcs-log-targets", () => {
        const set = new Set<string>();
        for (const o of index.ofType("google_storage_bucket")) {
          const target = block(o.body, "logging")?.log_bucket;
          const resolved = index.resolve(target);
          if (resolved) set.add(resolved.address);
          else if (typeof target === "string") set.add(`name:${target}`);
        }
        return set;
      });
      const isTarget = targets.has(b.address) || targets.has(`name:${str(b.body.name)}`);
      return isTarget ? pass("the bucket is a log target") : fail("usage logging is off");
    },
  },
  {
    id: "HIPAA-GCS-RETENTION-LOCKED",
    title: "Evidence buckets have a locked retention policy of at least six years (Bucket Lock replaces versioning)",
    severity: "critical",
    controls: [Cfr.AUDIT_CONTROLS, Cfr.RETENTION, Cfr.INTEGRITY],
    resourceTypes: ["google_storage_bucket"],
    fix: "retention_policy { retention_period = 189216000, is_locked = true }",
    // Checkov CKV_GCP_78 / trivy GCP-0078 demand versioning, which GCS forbids alongside a
    // retention policy: this rule replaces them for evidence buckets, so none is claimed.
    equivalents: [],
    evaluate: (b) => {
      const policy = block(b.body, "retention_policy");
      const evidence = /evidence/.test(JSON.stringify(b.body.labels ?? {}));
      if (!policy && !evidence) return undefined;
      if (!policy) return fail("an evidence bucket without a retention policy");
      if (bool(policy.is_locked) !== true) return fail("the retention policy is not locked");
      const seconds = num(policy.retention_period) ?? 0;
      return seconds >= 189_216_000 ? pass(`locked for ${seconds} s`) : fail(`retention ${seconds} s is under six years (189,216,000 s)`);
    },
  },
  {
    id: "HIPAA-GCP-NO-DEFAULT-SERVICE-ACCOUNT-GRANT",
    title: "No project role is granted to a default service account",
    severity: "high",
    controls: [Cfr.ACCESS_MANAGEMENT],
    resourceTypes: ["google_project_iam_member", "google_project_iam_binding"],
    fix: "grant roles to dedicated service accounts",
    equivalents: ["AVD-GCP-0006", "CKV_GCP_46"],
    evaluate: (r) => {
      const members = [...strings(r.body.member), ...strings(r.body.members)];
      return members.some((m) => DEFAULT_SA.test(m)) ? fail("a default service account is granted a project role") : pass("no default service account");
    },
  },
  {
    id: "HIPAA-KMS-GCP-ROTATION",
    title: "Symmetric Cloud KMS keys rotate at least every 90 days (asymmetric keys cannot and are excepted)",
    severity: "medium",
    controls: [Cfr.ENCRYPTION],
    resourceTypes: ["google_kms_crypto_key"],
    fix: "rotation_period = \"7776000s\" or shorter",
    equivalents: ["AVD-GCP-0065", "CKV_GCP_43"],
    kics: [{ id: "d8c57c4e-bf6f-4e32-a2bf-8643532de77b", name: "High Google KMS Crypto Key Rotation Period" }],
    evaluate: (k) => {
      const purpose = str(k.body.purpose) ?? "ENCRYPT_DECRYPT";
      if (purpose.startsWith("ASYMMETRIC")) return pass("asymmetric keys cannot rotate automatically");
      const period = num(str(k.body.rotation_period)?.replace(/s$/, ""));
      return period !== undefined && period <= NINETY_DAYS ? pass(`rotates every ${period} s`) : fail("rotation is off or longer than 90 days");
    },
  },
  {
    id: "HIPAA-GCS-PUBLIC-ACCESS-PREVENTION",
    title: "Cloud Storage buckets enforce public access prevention",
    severity: "high",
    controls: [Cfr.ACCESS_CONTROL],
    resourceTypes: ["google_storage_bucket"],
    // The provider default is "inherited": the bucket is private only while no organization or
    // IAM change makes it public. Enforcing it is what makes a PHI bucket unshareable.
    fix: "public_access_prevention = \"enforced\"",
    equivalents: ["CKV_GCP_114"],
    evaluate: (b) => (str(b.body.public_access_prevention) === "enforced" ? pass("public access prevention enforced") : fail(`public_access_prevention is ${str(b.body.public_access_prevention) ?? "inherited (the default)"}`)),
  },
  {
    id: "HIPAA-GKE-NO-LEGACY-ABAC",
    title: "GKE clusters do not use legacy ABAC authorization",
    severity: "high",
    controls: [Cfr.ACCESS_CONTROL],
    resourceTypes: ["google_container_cluster"],
    fix: "enable_legacy_abac = false (the default)",
    equivalents: ["CKV_GCP_7"],
    kics: [{ id: "5baa92d2-d8ee-4c75-88a4-52d9d8bb8067", name: "GKE Legacy Authorization Enabled" }],
    evaluate: (c) => (bool(c.body.enable_legacy_abac) === true ? fail("legacy ABAC grants broad static permissions outside RBAC") : pass("RBAC only")),
  },
  {
    id: "HIPAA-KMS-GCP-SIGNING-NOT-ROTATED",
    title: "Cloud KMS keys that are not symmetric encryption keys request no rotation period (Cloud KMS refuses it)",
    severity: "medium",
    controls: [Cfr.INTEGRITY],
    resourceTypes: ["google_kms_crypto_key"],
    fix: "remove rotation_period; rotate a signing key by creating a new key version and moving verifiers to its public key",
    equivalents: [],
    evaluate: (k) => {
      const purpose = str(k.body.purpose) ?? "ENCRYPT_DECRYPT";
      if (purpose === "ENCRYPT_DECRYPT") return undefined;
      const period = k.body.rotation_period;
      return period !== undefined && period !== null && period !== "" ? fail(`rotation_period is set on a ${purpose} key: automatic rotation exists only for ENCRYPT_DECRYPT keys`) : pass("no rotation period requested");
    },
  },
  {
    id: "HIPAA-KMS-GCP-SIGNING-HSM",
    title: "Cloud KMS signing keys live in an HSM",
    severity: "high",
    controls: [Cfr.INTEGRITY],
    resourceTypes: ["google_kms_crypto_key"],
    fix: "version_template { protection_level = \"HSM\" }",
    equivalents: [],
    evaluate: (k) => {
      if (str(k.body.purpose) !== "ASYMMETRIC_SIGN") return undefined;
      return str(block(k.body, "version_template")?.protection_level) === "HSM" ? pass("HSM protection") : fail("software protection");
    },
  },
  {
    id: "HIPAA-WIF-CONDITION",
    title: "Workload identity providers have an attribute condition that pins a repository or project",
    severity: "critical",
    controls: [Cfr.AUTHENTICATION, Cfr.ACCESS_MANAGEMENT],
    resourceTypes: ["google_iam_workload_identity_pool_provider"],
    fix: "attribute_condition pinning assertion.repository_id (GitHub) or assertion.project_path (GitLab)",
    equivalents: ["AVD-GCP-0068", "CKV_GCP_118"],
    evaluate: (p) => {
      const condition = str(p.body.attribute_condition)?.trim();
      if (!condition) return fail("no attribute condition: any repository on the issuer can federate");
      if (block(p.body, "oidc") && !/assertion\.(repository_id|repository|project_path|project_id)\b/.test(condition)) return fail("the condition pins no repository or project");
      return pass("the condition pins the repository");
    },
  },
  {
    id: "HIPAA-GKE-NODE-SERVICE-ACCOUNT",
    title: "GKE nodes use a dedicated service account",
    severity: "high",
    controls: [Cfr.ACCESS_MANAGEMENT],
    resourceTypes: ["google_container_cluster"],
    fix: "node_config { service_account = ... } (or autoprovisioning defaults)",
    equivalents: ["AVD-GCP-0050"],
    kics: [{ id: "1c8eef02-17b1-4a3e-b01d-dcc3292d2c38", name: "GKE Using Default Service Account" }],
    evaluate: (c) => {
      const sa = str(block(c.body, "node_config")?.service_account) ?? str(block(block(c.body, "cluster_autoscaling"), "auto_provisioning_defaults")?.service_account);
      return sa && !DEFAULT_SA.test(sa) ? pass("dedicated service account") : fail("nodes use the Compute Engine default service account");
    },
  },
  {
    id: "HIPAA-GKE-SHIELDED-NODES",
    title: "GKE clusters use shielded nodes",
    severity: "medium",
    controls: [Cfr.INTEGRITY],
    resourceTypes: ["google_container_cluster"],
    fix: "enable_shielded_nodes = true",
    equivalents: ["AVD-GCP-0055", "CKV_GCP_71"],
    kics: [{ id: "579a0727-9c29-4d58-8195-fc5802a8bdb4", name: "Shielded GKE Nodes Disabled" }],
    evaluate: (c) => (bool(c.body.enable_shielded_nodes) === false ? fail("shielded nodes are off") : pass("shielded nodes")),
  },
  {
    id: "HIPAA-GKE-PRIVATE-NODES",
    title: "GKE clusters use private nodes",
    severity: "high",
    controls: [Cfr.ACCESS_CONTROL],
    resourceTypes: ["google_container_cluster"],
    fix: "private_cluster_config { enable_private_nodes = true }",
    equivalents: ["AVD-GCP-0059", "CKV_GCP_64"],
    evaluate: (c) => (bool(block(c.body, "private_cluster_config")?.enable_private_nodes) === true ? pass("private nodes") : fail("nodes have public addresses")),
  },
  {
    id: "HIPAA-GKE-LOGGING",
    title: "GKE clusters send logs to Cloud Logging",
    severity: "medium",
    controls: [Cfr.AUDIT_CONTROLS],
    resourceTypes: ["google_container_cluster"],
    fix: "leave logging_service at logging.googleapis.com/kubernetes",
    equivalents: ["AVD-GCP-0060", "CKV_GCP_1"],
    kics: [{ id: "4c7ebcb2-eae2-461e-bc83-456ee2d4f694", name: "Stackdriver Logging Disabled" }],
    evaluate: (c) => {
      const service = str(c.body.logging_service);
      return service === undefined || service === "logging.googleapis.com/kubernetes" ? pass("Cloud Logging") : fail(`logging service ${service}`);
    },
  },
  {
    id: "HIPAA-GKE-POOL-COS",
    title: "GKE node pools run Container-Optimized OS",
    severity: "medium",
    controls: [Cfr.INTEGRITY],
    resourceTypes: ["google_container_node_pool"],
    fix: "node_config { image_type = \"COS_CONTAINERD\" }",
    equivalents: ["AVD-GCP-0054", "CKV_GCP_22"],
    kics: [{ id: "8a893e46-e267-485a-8690-51f39951de58", name: "COS Node Image Not Used" }],
    evaluate: (p) => {
      const image = str(block(p.body, "node_config")?.image_type);
      return image === undefined || /^COS/i.test(image) ? pass("COS") : fail(`image type ${image}`);
    },
  },
  {
    id: "HIPAA-GKE-POOL-METADATA",
    title: "GKE node pools hide node metadata from pods (GKE_METADATA)",
    severity: "high",
    controls: [Cfr.ACCESS_CONTROL],
    resourceTypes: ["google_container_node_pool"],
    fix: "node_config { workload_metadata_config { mode = \"GKE_METADATA\" } }",
    equivalents: ["AVD-GCP-0057", "CKV_GCP_69"],
    evaluate: (p, index) => {
      const w = block(block(p.body, "node_config"), "workload_metadata_config");
      const mode = str(w?.mode) ?? str(w?.node_metadata);
      if (mode === undefined) {
        // GKE makes GKE_METADATA the default only for pools of a cluster with Workload Identity;
        // otherwise the default, GCE_METADATA, hands the node's credentials to every pod.
        const cluster = index.resolve(p.body.cluster);
        if (cluster?.type === "google_container_cluster" && str(block(cluster.body, "workload_identity_config")?.workload_pool)) return pass("the cluster's Workload Identity makes GKE_METADATA the default");
        return fail("no workload_metadata_config and no Workload Identity on the cluster: the default GCE_METADATA exposes node credentials to pods");
      }
      return ["GKE_METADATA", "GKE_METADATA_SERVER", "SECURE"].includes(mode) ? pass(`mode ${mode}`) : fail(`mode ${mode} exposes node credentials to pods`);
    },
  },
  {
    id: "HIPAA-GKE-POOL-AUTO-UPGRADE",
    title: "GKE node pools auto-upgrade",
    severity: "medium",
    controls: [Cfr.INTEGRITY],
    resourceTypes: ["google_container_node_pool"],
    fix: "management { auto_upgrade = true }",
    equivalents: ["AVD-GCP-0058", "CKV_GCP_10"],
    kics: [{ id: "b139213e-7d24-49c2-8025-c18faa21ecaa", name: "Node Auto Upgrade Disabled" }],
    evaluate: (p) => (bool(block(p.body, "management")?.auto_upgrade) === false ? fail("auto-upgrade is off") : pass("auto-upgrade")),
  },
  {
    id: "HIPAA-GKE-POOL-AUTO-REPAIR",
    title: "GKE node pools auto-repair",
    severity: "medium",
    controls: [Cfr.INTEGRITY],
    resourceTypes: ["google_container_node_pool"],
    fix: "management { auto_repair = true }",
    equivalents: ["AVD-GCP-0063", "CKV_GCP_9"],
    kics: [{ id: "acfdbec6-4a17-471f-b412-169d77553332", name: "Google Container Node Pool Auto Repair Disabled" }],
    evaluate: (p) => (bool(block(p.body, "management")?.auto_repair) === false ? fail("auto-repair is off") : pass("auto-repair")),
  },
  {
    id: "HIPAA-GKE-POOL-HARDENED",
    title: "GKE runner pools: dedicated node service account, secure boot, integrity monitoring, boot-disk CMEK, a taint",
    severity: "high",
    controls: [Cfr.ACCESS_CONTROL, Cfr.ENCRYPTION],
    resourceTypes: ["google_container_node_pool"],
    fix: "node_config { service_account, boot_disk_kms_key, shielded_instance_config { enable_secure_boot = true, enable_integrity_monitoring = true }, taint }",
    equivalents: [],
    evaluate: (p) => {
      const n = block(p.body, "node_config");
      const sa = str(n?.service_account);
      if (!sa || DEFAULT_SA.test(sa)) return fail("the pool uses the Compute Engine default service account");
      const shield = block(n, "shielded_instance_config");
      if (bool(shield?.enable_secure_boot) !== true || bool(shield?.enable_integrity_monitoring) === false) return fail("secure boot or integrity monitoring is off");
      if (!str(n?.boot_disk_kms_key)) return fail("boot disks are not encrypted with a CMEK");
      if (blocks(n?.taint).length === 0) return fail("no taint keeps other workloads off the pool");
      return pass("hardened runner pool");
    },
  },
];

export const GITHUB_RULES: readonly Rule[] = [
  {
    id: "HIPAA-GITHUB-PRIVATE-REPOSITORY",
    title: "Repositories are private",
    severity: "high",
    controls: [Cfr.ACCESS_CONTROL],
    resourceTypes: ["github_repository"],
    fix: "visibility = \"private\"",
    equivalents: ["AVD-GIT-0001", "CKV_GIT_1"],
    kics: [{ id: "15d8a7fd-465a-4d15-a868-add86552f17b", name: "GitHub Repository Set To Public" }],
    evaluate: (r) => {
      const v = str(r.body.visibility);
      if (v) return v === "public" ? fail("public repository") : pass(`${v} repository`);
      return bool(r.body.private) === true ? pass("private repository") : fail("public repository");
    },
  },
  {
    id: "HIPAA-GITHUB-VULNERABILITY-ALERTS",
    title: "Repositories have vulnerability alerts",
    severity: "medium",
    controls: [Cfr.EVALUATION],
    resourceTypes: ["github_repository"],
    fix: "vulnerability_alerts = true",
    equivalents: ["AVD-GIT-0003", "CKV_GIT_3"],
    evaluate: (r) => {
      if (bool(r.body.archived) === true) return pass("archived repositories run nothing");
      return bool(r.body.vulnerability_alerts) === true ? pass("alerts on") : fail("vulnerability alerts are off");
    },
  },
  {
    id: "HIPAA-GITHUB-NO-PLAINTEXT-SECRETS",
    title: "Environment secrets are not written in plain text",
    severity: "critical",
    controls: [Cfr.ENCRYPTION],
    resourceTypes: ["github_actions_environment_secret"],
    fix: "use encrypted_value, never plaintext_value",
    equivalents: ["AVD-GIT-0002", "CKV_GIT_4"],
    evaluate: (r) => (r.body.plaintext_value !== undefined ? fail("plaintext_value is set") : pass("no plaintext value")),
  },
  {
    id: "HIPAA-GITHUB-SIGNED-COMMITS",
    title: "Branch protection requires signed commits",
    severity: "medium",
    controls: [Cfr.INTEGRITY],
    resourceTypes: ["github_branch_protection"],
    fix: "require_signed_commits = true",
    equivalents: ["AVD-GIT-0004", "CKV_GIT_6"],
    evaluate: (r) => (bool(r.body.require_signed_commits) === true ? pass("signed commits required") : fail("unsigned commits accepted")),
  },
  {
    id: "HIPAA-GITHUB-ENVIRONMENT-PROTECTION",
    title: "Deployment environments need a reviewer other than the author, with no admin bypass; production waits and deploys from tags only",
    severity: "critical",
    controls: [Cfr.ACCESS_MANAGEMENT, Cfr.AUDIT_CONTROLS],
    resourceTypes: ["github_repository_environment"],
    fix: "reviewers { teams = [...] }, prevent_self_review = true, can_admins_bypass = false; production: wait_timer > 0 and a tag_pattern deployment policy only",
    equivalents: [],
    evaluate: (e, index) => {
      const reviewers = blocks(e.body.reviewers);
      if (reviewers.every((r) => strings(r.teams).length + strings(r.users).length + [r.teams, r.users].flat().filter((x) => typeof x === "number").length === 0)) {
        return fail("no required reviewers");
      }
      if (bool(e.body.prevent_self_review) !== true) return fail("the author may approve their own deploy (prevent_self_review is not true)");
      if (bool(e.body.can_admins_bypass) !== false) return fail("administrators may bypass the protection (can_admins_bypass defaults to true)");
      if (/prod/i.test(str(e.body.environment) ?? "")) {
        if ((num(e.body.wait_timer) ?? 0) < 1) return fail("production has no wait timer");
        const policies = index.companions(e, "github_repository_environment_deployment_policy");
        if (policies.length === 0 || policies.some((p) => p.body.branch_pattern !== undefined)) return fail("production may deploy from branches, not only tags");
      }
      return pass("reviewed by someone other than the author, no admin bypass");
    },
  },
  {
    id: "HIPAA-GITHUB-RULESET-CONTENTS",
    title: "Rulesets protect what they target: branches need reviewed pull requests and no force push or deletion; tags cannot be moved or deleted",
    severity: "high",
    controls: [Cfr.INTEGRITY],
    resourceTypes: ["github_repository_ruleset"],
    fix: "branch rulesets: pull_request, non_fast_forward, deletion; tag rulesets: update, deletion (and creation restricted to a bypass team)",
    equivalents: [],
    evaluate: (r) => {
      if (str(r.body.enforcement) !== "active") return fail(`enforcement is ${str(r.body.enforcement)}`);
      const rules = block(r.body, "rules");
      if (str(r.body.target) === "branch") {
        const pr = block(rules, "pull_request");
        if (!pr || (num(pr.required_approving_review_count) ?? 0) < 1) return fail("no pull request with at least one approval");
        if (bool(rules?.non_fast_forward) !== true || bool(rules?.deletion) !== true) return fail("force push or deletion allowed");
        return pass("reviewed pull requests, no force push, no deletion");
      }
      if (str(r.body.target) === "tag") {
        if (bool(rules?.creation) === true && !bool(rules?.update)) return pass("tag creation restricted");
        return bool(rules?.update) === true && bool(rules?.deletion) === true ? pass("tags cannot be moved or deleted") : fail("tags can be moved or deleted");
      }
      return undefined;
    },
  },
];
