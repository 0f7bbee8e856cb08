/**
 * The reference substrate: one AWS stack per environment of a HIPAA pipeline (dev, staging,
 * validation with synthetic PHI, production), each with its evidence bucket and cosign key.
 * `npx cdktf synth` at the repository root writes it to cdktf.out/ with no cloud credentials.
 */
import { App } from "cdktf";
import { AwsEnvironmentStack, Environment, EnvironmentTier, validateEnvironments } from "../../src";

export const REFERENCE_ENVIRONMENTS: readonly Environment[] = [
  new Environment({ name: "dev", tier: EnvironmentTier.DEVELOPMENT }),
  new Environment({ name: "staging", tier: EnvironmentTier.STAGING }),
  new Environment({ name: "validation", tier: EnvironmentTier.VALIDATION }),
  new Environment({ name: "production", tier: EnvironmentTier.PRODUCTION }),
];

export function buildReferenceApp(app: App, environments: readonly Environment[] = REFERENCE_ENVIRONMENTS): App {
  validateEnvironments(environments);
  for (const environment of environments) {
    new AwsEnvironmentStack(app, `clinical-${environment.name}`, {
      environment,
      region: "us-east-1",
      accountId: "111122223333",
    });
  }
  return app;
}

if (require.main === module) {
  const app = new App();
  buildReferenceApp(app);
  app.synth();
}
