/**
 * The one error type for bad configuration.
 *
 * Every refusal in the library (a wildcard trust, a short retention, a weakened gate, a
 * malformed name) is raised as a HipaaConfigError while the program is being constructed,
 * so `cdktf synth` fails before any Terraform is written. The message always reads
 *
 *   <construct path>: <what is wrong> (45 CFR <section>); <how to fix it>
 *
 * so that a platform engineer can act on it without reading the library's source.
 */

const MARKER = Symbol.for("cdktf-hipaa-substrate.HipaaConfigError");

export interface HipaaConfigErrorDetails {
  /** Construct path (`clinical/production/EvidenceBucket`) or, for model values, what was being built (`Environment "Prod"`). */
  readonly path: string;
  /** What is wrong, with the value received. */
  readonly problem: string;
  /** The HIPAA Security Rule section the check serves, without the "45 CFR" prefix (`164.316(b)(2)(i)`). */
  readonly cfr?: string;
  /** What to do instead. */
  readonly fix: string;
}

export class HipaaConfigError extends Error {
  /**
   * True for any HipaaConfigError, including one thrown by another copy of this library
   * (checked by a global symbol rather than `instanceof`, which breaks across copies).
   */
  public static isHipaaConfigError(x: unknown): x is HipaaConfigError {
    return typeof x === "object" && x !== null && (x as Record<symbol, unknown>)[MARKER] === true;
  }

  public readonly path: string;
  public readonly problem: string;
  public readonly cfr?: string;
  public readonly fix: string;

  constructor(details: HipaaConfigErrorDetails) {
    const cfr = details.cfr ? ` (45 CFR ${details.cfr})` : "";
    super(`${details.path}: ${details.problem}${cfr}; ${details.fix}`);
    this.name = "HipaaConfigError";
    this.path = details.path;
    this.problem = details.problem;
    this.cfr = details.cfr;
    this.fix = details.fix;
    Object.defineProperty(this, MARKER, { value: true });
  }
}
