import { HipaaConfigError } from "../errors";

/**
 * The four tiers of a HIPAA pipeline (seed: "dev, staging, production, and a separate
 * validation environment for production-like testing with synthetic PHI").
 */
export enum EnvironmentTier {
  DEVELOPMENT = "development",
  STAGING = "staging",
  VALIDATION = "validation",
  PRODUCTION = "production",
}

export interface EnvironmentProps {
  /**
   * The environment's name. It becomes part of Terraform logical IDs, bucket names, GitHub
   * environment names and OIDC subjects, so it must be a lowercase DNS label
   * (`[a-z0-9-]`, 1-63 characters, starting with a letter, not ending with `-`).
   */
  readonly name: string;
  /** The tier, which decides the defaults and refusals that apply. */
  readonly tier: EnvironmentTier;
  /**
   * Whether the environment stores or processes electronic PHI. A PHI environment refuses
   * every weakening (governance-mode locks, unlocked retention, individual reviewers).
   * @default true for production, false for the other tiers
   */
  readonly handlesPhi?: boolean;
}

const DNS_LABEL = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** One deployment environment of the pipeline. Validated when built. */
export class Environment {
  /** True for any Environment, including one from another copy of this library. */
  public static isEnvironment(x: unknown): x is Environment {
    return typeof x === "object" && x !== null && (x as Record<symbol, unknown>)[ENV_MARKER] === true;
  }

  public readonly name: string;
  public readonly tier: EnvironmentTier;
  public readonly handlesPhi: boolean;

  constructor(props: EnvironmentProps) {
    const where = `Environment ${JSON.stringify(props.name)}`;
    if (typeof props.name !== "string" || !DNS_LABEL.test(props.name)) {
      throw new HipaaConfigError({
        path: where,
        problem: `name ${JSON.stringify(props.name)} is not a lowercase DNS label`,
        fix: "use 1-63 characters of a-z, 0-9 and '-', starting with a letter and not ending with '-', e.g. \"production\"",
      });
    }
    if (!Object.values(EnvironmentTier).includes(props.tier)) {
      throw new HipaaConfigError({
        path: where,
        problem: `tier ${JSON.stringify(props.tier)} is not one of ${Object.values(EnvironmentTier).join(", ")}`,
        fix: "pass an EnvironmentTier value, e.g. EnvironmentTier.PRODUCTION",
      });
    }
    this.name = props.name;
    this.tier = props.tier;
    this.handlesPhi = props.handlesPhi ?? props.tier === EnvironmentTier.PRODUCTION;
    Object.defineProperty(this, ENV_MARKER, { value: true });
  }

  /** True for the production tier. */
  public get isProduction(): boolean {
    return this.tier === EnvironmentTier.PRODUCTION;
  }

  public toString(): string {
    return this.name;
  }
}

const ENV_MARKER = Symbol.for("cdktf-hipaa-substrate.Environment");

/**
 * Validates a list of environments as a whole: names must be unique, because each name keys a
 * Terraform stack, a bucket and an OIDC subject.
 */
export function validateEnvironments(environments: readonly Environment[], path = "environments"): readonly Environment[] {
  if (environments.length === 0) {
    throw new HipaaConfigError({
      path,
      problem: "no environments were given",
      fix: "pass at least one Environment, e.g. new Environment({ name: \"production\", tier: EnvironmentTier.PRODUCTION })",
    });
  }
  const seen = new Set<string>();
  for (const env of environments) {
    if (!Environment.isEnvironment(env)) {
      throw new HipaaConfigError({
        path,
        problem: `${JSON.stringify(env)} is not an Environment`,
        fix: "build each entry with new Environment({ name, tier })",
      });
    }
    if (seen.has(env.name)) {
      throw new HipaaConfigError({
        path,
        problem: `environment name "${env.name}" appears more than once`,
        fix: "give every environment a distinct name; each name keys its own Terraform stack and state",
      });
    }
    seen.add(env.name);
  }
  return environments;
}

/**
 * Refuses a grant that would cross environments: an identity scoped to one environment may hold
 * rights only on that environment's resources (45 CFR 164.308(a)(4)). Shared by every cloud.
 */
export function assertSameEnvironment(
  path: string,
  resourceEnvironment: Environment,
  principal: { readonly grantName: string; readonly environment?: Environment },
): void {
  if (principal.environment && principal.environment.name !== resourceEnvironment.name) {
    throw new HipaaConfigError({
      path,
      problem: `${principal.grantName} acts in environment "${principal.environment.name}" and cannot be granted rights on a resource of environment "${resourceEnvironment.name}"`,
      cfr: "164.308(a)(4)",
      fix: `grant ${principal.grantName} only on "${principal.environment.name}" resources; give "${resourceEnvironment.name}" its own identity`,
    });
  }
}
