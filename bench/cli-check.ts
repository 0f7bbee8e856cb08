/**
 * The CLI gate's cost at scale: `cdktf-hipaa-substrate check` over one `cdk.tf.json` of 10,000
 * resources (5,000 buckets, each with its versioning companion), in a fresh process as CI runs
 * it. Speed is measured here, never asserted in `npm test`: a loaded machine must not fail a
 * unit test.
 */
import { spawnSync } from "child_process";
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";

export function measureCliCheck(buckets = 5000): { resources: number; wallMs: number; exitCode: number | null } {
  const dir = mkdtempSync(join(tmpdir(), "hipaa-bench-cli-"));
  const resource: Record<string, Record<string, object>> = { aws_s3_bucket: {}, aws_s3_bucket_versioning: {} };
  for (let i = 0; i < buckets; i++) {
    resource.aws_s3_bucket[`b${i}`] = { bucket: `bucket-${i}` };
    resource.aws_s3_bucket_versioning[`v${i}`] = { bucket: `\${aws_s3_bucket.b${i}.id}`, versioning_configuration: { status: "Enabled" } };
  }
  writeFileSync(join(dir, "cdk.tf.json"), JSON.stringify({ resource }));
  const start = process.hrtime.bigint();
  const child = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", join(__dirname, "..", "src", "cli.ts"), "check", dir, "--format", "json"], {
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  rmSync(dir, { recursive: true, force: true });
  if (child.status !== 0 && child.status !== 1) throw new Error(`cli check failed:\n${child.stderr}`);
  return { resources: 2 * buckets, wallMs, exitCode: child.status };
}

if (require.main === module) {
  const m = measureCliCheck();
  console.log(`CLI check over ${m.resources} resources: ${m.wallMs.toFixed(0)} ms wall (exit ${m.exitCode})`);
}
