import { createHash } from "crypto";

/**
 * Deterministic, length-safe names for cloud resources whose names must be globally unique
 * (S3 buckets, GCS buckets). The suffix is a hash of a stable input (the construct's path),
 * never of a position or the clock, so a name never changes between synths.
 */
export function stableSuffix(input: string, length = 8): string {
  return createHash("sha256").update(input).digest("hex").slice(0, length);
}

/**
 * `parts` joined with '-', lowercased, characters outside [a-z0-9-] replaced, truncated so that
 * `-SUFFIX` still fits in `maxLength`.
 */
export function uniqueResourceName(parts: readonly string[], hashInput: string, maxLength: number): string {
  const suffix = stableSuffix(hashInput);
  const base = parts
    .join("-")
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-|-$/g, "");
  const room = maxLength - suffix.length - 1;
  return `${base.slice(0, room).replace(/-+$/, "")}-${suffix}`;
}
