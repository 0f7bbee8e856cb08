import { Testing } from "cdktf";
import { REFERENCE_ACCOUNTS, REFERENCE_ARCHIVE, REFERENCE_ENVIRONMENTS, REFERENCE_REPOSITORIES } from "../../examples/reference/main";
import { HipaaSubstrate } from "../../src";
import { REFERENCE_GITHUB } from "./substrate-config";
import { SynthResult, synthAll } from "./synth";

/** The reference app's substrate, with its archive, homed in another region; every stack synthesized. */
export function referenceAppIn(region: string): Map<string, SynthResult> {
  const app = Testing.app();
  new HipaaSubstrate(app, "clinical", {
    ...REFERENCE_GITHUB,
    environments: REFERENCE_ENVIRONMENTS,
    repositories: REFERENCE_REPOSITORIES,
    aws: { region, accounts: { ...REFERENCE_ACCOUNTS }, archive: { ...REFERENCE_ARCHIVE } },
  });
  return synthAll(app);
}
