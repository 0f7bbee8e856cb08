import { mkdtempSync, readFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { App } from "cdktf";
import { HipaaCompliance } from "../src/compliance";
import { ControlMap, renderControlMapMarkdown } from "../src/compliance/control-map";
import { buildReferenceApp } from "../examples/reference/main";

/**
 * The gate writes the combined control map from each stack's written text, once every stack is
 * judged; the files must be exactly what serializing and rendering all the stacks' maps writes.
 */
test("the combined control map is byte for byte the serialized and rendered maps of every stack", () => {
  const outdir = mkdtempSync(join(tmpdir(), "hipaa-combined-"));
  const app = buildReferenceApp(new App({ outdir }));
  HipaaCompliance.enable(app);
  app.synth();
  const stacks = ["clinical-dev", "clinical-github", "clinical-production", "clinical-staging", "clinical-validation"];
  const maps: ControlMap[] = stacks.map((s) => JSON.parse(readFileSync(join(outdir, "stacks", s, "control-map.json"), "utf8")));
  expect(readFileSync(join(outdir, "control-map.json"), "utf8")).toBe(`${JSON.stringify({ stacks: maps }, null, 2)}\n`);
  expect(readFileSync(join(outdir, "control-map.md"), "utf8")).toBe(renderControlMapMarkdown(maps));
});
