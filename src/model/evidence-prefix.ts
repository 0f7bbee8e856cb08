import { HipaaConfigError } from "../errors";

const EVIDENCE_PREFIX = /^([A-Za-z0-9._-]+\/)+$/;

/**
 * The key (object-name) prefix an evidence writer is confined to, e.g. `clinical-platform/production/`:
 * plain segments each ending in `/`, no wildcard, no `.`/`..`, so a policy or IAM condition built
 * from it names exactly that subtree. One check for S3 and GCS.
 * @returns the prefix, or "" for none (the whole bucket)
 */
export function validateEvidencePrefix(path: string, prefix: string | undefined, noun = "key prefix"): string {
  if (prefix === undefined) return "";
  if (!EVIDENCE_PREFIX.test(prefix) || prefix.split("/").some((seg) => seg === "." || seg === "..")) {
    throw new HipaaConfigError({
      path,
      problem: `evidence prefix ${JSON.stringify(prefix)} is not a plain ${noun} ending in "/"`,
      cfr: "164.312(a)(1)",
      fix: "pass segments of letters, digits, '.', '_' or '-', each ending in '/', e.g. \"clinical-platform/production/\" (no wildcards)",
    });
  }
  return prefix;
}
