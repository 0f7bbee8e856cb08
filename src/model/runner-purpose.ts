import { HipaaConfigError } from "../errors";
import { Environment } from "./environment";

/** What a runner pool's jobs do; each purpose gets only its own permissions (seed: the three pools). */
export enum RunnerPurpose {
  /** Build, scan, push images and sign them. */
  BUILD = "build",
  /** Write evidence bundles to the environment's evidence bucket. */
  EVIDENCE = "evidence",
  /** Deploy to the environment's workload cluster. */
  DEPLOY = "deploy",
}

/**
 * Refuses a pool given resources of another purpose, or missing its own: a build pool never
 * holds evidence rights, an evidence pool never reaches a cluster (45 CFR 164.308(a)(4)).
 * @param given the names of the purpose-specific props that were passed
 * @param allowed the props each purpose may take
 * @param required the prop each purpose needs
 */
export function validatePurposeResources(
  path: string,
  purpose: RunnerPurpose,
  given: readonly string[],
  allowed: Readonly<Record<RunnerPurpose, readonly string[]>>,
  required: Readonly<Record<RunnerPurpose, string>>,
  environmentName: string,
): void {
  if (!Object.values(RunnerPurpose).includes(purpose)) {
    throw new HipaaConfigError({ path, problem: `purpose ${JSON.stringify(purpose)} is not one of ${Object.values(RunnerPurpose).join(", ")}`, fix: "use a RunnerPurpose value" });
  }
  const foreign = given.filter((k) => !allowed[purpose].includes(k));
  if (foreign.length > 0) {
    throw new HipaaConfigError({
      path,
      problem: `a ${purpose} pool was given ${foreign.join(", ")}, which belong to another purpose`,
      cfr: "164.308(a)(4)",
      fix: `give a ${purpose} pool only ${allowed[purpose].join(" / ")}; each purpose has its own pool and identity`,
    });
  }
  if (!given.includes(required[purpose])) {
    throw new HipaaConfigError({ path, problem: `a ${purpose} pool needs ${required[purpose]}`, fix: `pass the ${environmentName} environment's ${required[purpose]}` });
  }
}

/**
 * Refuses a runner pool for an environment its cluster does not serve, or whose deploy target
 * belongs to another environment: a pool acts only in its own environment (45 CFR 164.308(a)(4)).
 */
export function assertPoolEnvironment(
  path: string,
  cluster: { readonly path: string; readonly environments: readonly Environment[] },
  environment: Environment,
  deployTargetEnvironment?: Environment,
): void {
  if (!cluster.environments.some((e) => e.name === environment.name)) {
    throw new HipaaConfigError({
      path,
      problem: `environment "${environment.name}" is not one of the environments of cluster ${cluster.path} (${cluster.environments.map((e) => e.name).join(", ")})`,
      cfr: "164.308(a)(4)",
      fix: "add the environment to the cluster's environments, or put the pool on that environment's own cluster",
    });
  }
  if (deployTargetEnvironment && deployTargetEnvironment.name !== environment.name) {
    throw new HipaaConfigError({
      path,
      problem: `the deploy target belongs to environment "${deployTargetEnvironment.name}", not "${environment.name}"`,
      cfr: "164.308(a)(4)",
      fix: `deploy from a "${deployTargetEnvironment.name}" pool; a pool deploys only to its own environment's cluster`,
    });
  }
}
