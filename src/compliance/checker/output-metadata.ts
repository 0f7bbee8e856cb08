/**
 * Suppressions as data that travels with the synthesized output.
 *
 * `cdktf synth` writes them into each stack's `cdk.tf.json` under
 * `"//"."cdktf-hipaa-substrate"` (Terraform ignores `//` keys in JSON configuration), so the
 * CLI over `cdktf.out` applies exactly the suppressions synth applied, through this same
 * function, and the two verdicts cannot drift apart.
 */

/** The key under cdktf's `"//"` metadata object. */
export const OUTPUT_METADATA_KEY = "cdktf-hipaa-substrate";

/** One accepted failure: a rule id, a family (`HIPAA-S3-*`) or every rule (`*`) on one resource. */
export interface Suppression {
  /** Terraform address, `aws_kms_key.Legacy_1A2B3C4D`. */
  readonly resource: string;
  /** A rule id, a family pattern ending in `-*`, or `*`. */
  readonly rule: string;
  readonly reason: string;
  readonly constructPath?: string;
}

/** What synth records about the gate in each stack's output. */
export interface OutputMetadata {
  /** Version of cdktf-hipaa-substrate that synthesized the stack. */
  readonly version: string;
  /**
   * `enforced`: synth refused any failure. `skipped`: the app ran with `skipValidation: true`,
   * so nothing was refused at synth; the CLI refuses such output.
   */
  readonly gate: "enforced" | "skipped";
  readonly suppressions: readonly Suppression[];
}

/** The gate metadata a synthesized stack carries, if any. */
export function outputMetadata(doc: unknown): OutputMetadata | undefined {
  const meta = ((doc ?? {}) as Record<string, Record<string, unknown> | undefined>)["//"]?.[OUTPUT_METADATA_KEY];
  if (meta === null || typeof meta !== "object") return undefined;
  const m = meta as Partial<OutputMetadata>;
  return { version: String(m.version ?? "unknown"), gate: m.gate === "skipped" ? "skipped" : "enforced", suppressions: Array.isArray(m.suppressions) ? m.suppressions : [] };
}

