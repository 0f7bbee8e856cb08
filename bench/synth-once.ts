/**
 * One measured synthesis, in its own process: `synth-once <library|raw|gcp> <envs>x<repos> <outdir>`.
 * The library run is what a user runs: the reference app with the HIPAA gate and control maps on.
 * Prints one JSON line: resources written, synth milliseconds (App construction to the end of
 * `app.synth()`), CPU milliseconds of the whole process, peak RSS.
 */
import { App } from "cdktf";
import { mkdtempSync, readdirSync, readFileSync } from "fs";
import { join } from "path";
import { tmpdir } from "os";
import { Environment, EnvironmentTier, GithubSubjectFormat, ImmutableSubjects } from "../src/model";
import { HipaaCompliance } from "../src/compliance";
import { buildReferenceApp } from "../examples/reference/main";
import { buildRawEquivalent } from "./raw-equivalent";
import { buildGcpGitlabApp } from "../examples/gcp-gitlab/main";

// `<envs>x<repos>`: a unit is one environment x repository pair.
const [mode, shapeArg, outdirArg] = process.argv.slice(2);
const [envCount, repoCount] = shapeArg.split("x").map(Number);
const outdir = outdirArg ?? mkdtempSync(join(tmpdir(), "hipaa-bench-"));
const tiers = [EnvironmentTier.DEVELOPMENT, EnvironmentTier.STAGING, EnvironmentTier.VALIDATION, EnvironmentTier.PRODUCTION];
const environments = Array.from({ length: envCount }, (_, i) => new Environment({ name: `env-${String(i).padStart(3, "0")}`, tier: tiers[(tiers.length - 1 + i) % tiers.length] }));
const repositories = Array.from({ length: repoCount }, (_, i) => ({
  name: `service-${String(i).padStart(3, "0")}`,
  repositoryId: 300000000 + i,
  deploysTo: environments.map((e) => e.name),
  subjectFormat: GithubSubjectFormat.CLASSIC,
  immutableSubjects: ImmutableSubjects.NOT_EMITTED,
}));

const start = performance.now();
const app = new App({ outdir });
if (mode === "library") {
  buildReferenceApp(app, environments, repositories);
  HipaaCompliance.enable(app);
} else if (mode === "raw") {
  buildRawEquivalent(app, environments, repositories);
} else if (mode === "gcp") {
  buildGcpGitlabApp(app, environments);
  HipaaCompliance.enable(app);
} else {
  throw new Error(`unknown mode ${mode}`);
}
app.synth();
const synthMs = performance.now() - start;

let resources = 0;
for (const stack of readdirSync(join(outdir, "stacks"))) {
  const tf = JSON.parse(readFileSync(join(outdir, "stacks", stack, "cdk.tf.json"), "utf8"));
  for (const byName of Object.values<Record<string, unknown>>(tf.resource ?? {})) resources += Object.keys(byName).length;
}
const usage = process.resourceUsage();
const cpuMs = (usage.userCPUTime + usage.systemCPUTime) / 1000;
process.stdout.write(JSON.stringify({ mode, units: envCount * repoCount, resources, synthMs, cpuMs, maxRssKb: usage.maxRSS }) + "\n");
