/**
 * One measured synthesis, in its own process: `synth-once.ts <library|raw> <units> <outdir>`.
 * Prints one JSON line: resources written, synth milliseconds, peak RSS.
 */
import { App } from "cdktf";
import { mkdtempSync, readdirSync, readFileSync } from "fs";
import { join } from "path";
import { tmpdir } from "os";
import { Environment, EnvironmentTier } from "../src/model";
import { buildReferenceApp } from "../examples/reference/main";
import { buildRawEquivalent } from "./raw-equivalent";
import { buildGcpGitlabApp } from "../examples/gcp-gitlab/main";

const [mode, unitsArg, outdirArg] = process.argv.slice(2);
const units = Number(unitsArg);
const outdir = outdirArg ?? mkdtempSync(join(tmpdir(), "hipaa-bench-"));
const tiers = [EnvironmentTier.DEVELOPMENT, EnvironmentTier.STAGING, EnvironmentTier.VALIDATION, EnvironmentTier.PRODUCTION];
const environments = Array.from({ length: units }, (_, i) => new Environment({ name: `env-${String(i).padStart(3, "0")}`, tier: tiers[i % tiers.length] }));

const start = performance.now();
const app = new App({ outdir });
if (mode === "library") buildReferenceApp(app, environments);
else if (mode === "raw") buildRawEquivalent(app, environments);
else if (mode === "gcp") buildGcpGitlabApp(app, environments);
else throw new Error(`unknown mode ${mode}`);
app.synth();
const synthMs = performance.now() - start;

let resources = 0;
for (const stack of readdirSync(join(outdir, "stacks"))) {
  const tf = JSON.parse(readFileSync(join(outdir, "stacks", stack, "cdk.tf.json"), "utf8"));
  for (const byName of Object.values<Record<string, unknown>>(tf.resource ?? {})) resources += Object.keys(byName).length;
}
process.stdout.write(JSON.stringify({ mode, units, resources, synthMs, maxRssKb: process.resourceUsage().maxRSS }) + "\n");
