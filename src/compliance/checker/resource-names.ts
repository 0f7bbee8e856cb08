import { ResourceIndex } from "./links";
import { str, TfResource, TfUnit } from "./terraform";

/** Attributes that carry the name a resource has in the cloud (or on GitHub), in order of preference. */
const NAME_KEYS = [
  "bucket",
  "name",
  "repository",
  "environment",
  "account_id",
  "workload_identity_pool_provider_id",
  "workload_identity_pool_id",
  "node_group_name",
  "cluster_name",
  "role",
  "url",
];

/**
 * The real names of a unit's resources (`aws_s3_bucket.EvidenceBucket_Bucket_3F2A` ->
 * `clinical-production-evidence-7c1e`), so an auditor can find in the console what the control map
 * judged. Only literal values: an unresolved `${...}` says nothing to a reader. A KMS key has no
 * name of its own; its alias names it.
 */
export function resourceNames(unit: TfUnit): Map<string, string> {
  const names = new Map<string, string>();
  let index: ResourceIndex | undefined;
  for (const r of unit.resources) {
    const name = literalName(r);
    if (name) names.set(r.address, name);
    else if (r.type === "aws_kms_key") {
      index ??= ResourceIndex.of(unit);
      const alias = index.companions(r, "aws_kms_alias").map((a) => str(a.body.name)).find((n) => n && !n.includes("${"));
      if (alias) names.set(r.address, alias);
    }
  }
  return names;
}

function literalName(r: TfResource): string | undefined {
  for (const key of NAME_KEYS) {
    const v = str(r.body[key]);
    if (v && !v.includes("${")) return v;
  }
  return undefined;
}
