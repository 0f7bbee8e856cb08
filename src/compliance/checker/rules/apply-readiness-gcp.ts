import { Cfr } from "../../catalog";
import { collectReferences, ResourceIndex } from "../links";
import { fail, pass, Rule } from "../rule";
import { block, str, strings, TfResource } from "../terraform";

/**
 * Apply-readiness rules for GCP: configurations that are valid for the provider schema and pass
 * every scanner, yet fail the first `terraform apply` on a fresh project.
 */

/** `serviceAccount:POOL[NAMESPACE/KSA]`: a Kubernetes service account through Workload Identity. */
const WI_MEMBER = /^serviceAccount:(.+)\[[^\]]*\]$/;
/** The principal identifiers of Workload Identity Federation for GKE, which name the same pool. */
const WI_PRINCIPAL = /^principal(?:Set)?:\/\/iam\.googleapis\.com\/projects\/[^/]+\/locations\/global\/workloadIdentityPools\/([^/]+\.svc\.id\.goog)\//;

/** The Workload Identity pool a member names: a literal `P.svc.id.goog`, or an expression. */
function workloadPools(r: TfResource): string[] {
  return [...strings(r.body.member), ...strings(r.body.members)]
    .map((m) => WI_MEMBER.exec(m)?.[1] ?? WI_PRINCIPAL.exec(m)?.[1])
    .filter((pool): pool is string => pool !== undefined && (pool.endsWith(".svc.id.goog") || pool.includes("${")));
}

/** IAM member and binding resources on which a Kubernetes service account is commonly granted. */
const IAM_TYPES = ["service_account", "project", "storage_bucket", "kms_crypto_key", "artifact_registry_repository", "secret_manager_secret"].flatMap((t) => [
  `google_${t}_iam_member`,
  `google_${t}_iam_binding`,
]);

/** `depends_on` entries as addresses, whichever shape (`type.name` from cdktf, `${type.name}` from HCL). */
function dependsOn(r: TfResource): string[] {
  return strings(r.body.depends_on).map((d) => d.replace(/^\$\{/, "").replace(/\}$/, "").trim());
}

/** Every resource `r` waits for in Terraform's graph (references and depends_on, transitively). */
function upstream(r: TfResource, index: ResourceIndex): TfResource[] {
  const seen = new Set<string>([r.address]);
  const found: TfResource[] = [];
  const queue = [r];
  while (queue.length > 0) {
    const current = queue.shift()!;
    const refs = new Set<string>(dependsOn(current));
    collectReferences(current.body, refs);
    for (const address of refs) {
      if (seen.has(address)) continue;
      seen.add(address);
      const target = index.get(address);
      if (!target) continue;
      found.push(target);
      queue.push(target);
    }
  }
  return found;
}

export const GCP_APPLY_READINESS_RULES: readonly Rule[] = [
  {
    id: "HIPAA-GCP-WI-BINDING-ORDER",
    title: "IAM grants to Kubernetes service accounts (serviceAccount:PROJECT.svc.id.goog[NS/KSA] or a principal in the PROJECT.svc.id.goog pool) are created after a cluster with Workload Identity",
    severity: "medium",
    controls: [Cfr.AUTHENTICATION],
    resourceTypes: IAM_TYPES,
    fix: "depends_on = [google_container_cluster.<the cluster with workload_identity_config>] (or a data.google_container_cluster lookup of an existing one), or build the member from the cluster's workload_identity_config[0].workload_pool",
    equivalents: [],
    evaluate: (r, index) => {
      const pools = workloadPools(r);
      if (pools.length === 0) return undefined;
      const before = upstream(r, index);
      for (const pool of pools) {
        if (pool.includes("${")) {
          const refs = new Set<string>();
          collectReferences(pool, refs);
          if ([...refs].some((a) => a.startsWith("google_container_cluster.") || a.startsWith("data.google_container_cluster."))) continue;
          return fail(`member pool ${pool} is an expression that names no cluster`);
        }
        const cluster = before.find((c) => {
          if (c.type !== "google_container_cluster") return false;
          if (c.mode === "data") return true;
          const configured = str(block(c.body, "workload_identity_config")?.workload_pool);
          return configured !== undefined && (configured === pool || configured.includes("${"));
        });
        if (!cluster) {
          return fail(
            `${pool} exists only once a cluster with Workload Identity (workload_pool = "${pool}") exists, and the binding neither depends on nor references one: IAM refuses the member on a fresh project`,
          );
        }
      }
      return pass("created after the cluster that creates the Workload Identity pool");
    },
  },
];
