/**
 * `cdktf-hipaa-substrate check <paths...> [--format json|text]`: judges Terraform (`.tf`,
 * `.tf.json`, a `cdktf.out`) with the HIPAA rules, applying the suppressions that `cdktf synth`
 * wrote into the output, so it gives synth's verdicts. Exit 1 when any resource fails or the
 * output was synthesized with the gate skipped, 2 on a usage or input error (no Terraform found,
 * a file that does not parse). No network.
 */
import { ALL_RULES, collectFiles, judge, JudgedFinding, loadUnits, TfUnit } from "./compliance/checker";
import { GATE_SKIPPED } from "./compliance/control-map";

const USAGE = "usage: cdktf-hipaa-substrate check <paths...> [--format json|text]";

export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

const consoleIo: CliIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

export async function main(argv: readonly string[], io: CliIo = consoleIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== "check") {
    io.err(`${USAGE}\n`);
    return 2;
  }
  let format = "text";
  const paths: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === "--format") format = rest[++i] ?? "";
    else if (rest[i].startsWith("--format=")) format = rest[i].slice("--format=".length);
    else paths.push(rest[i]);
  }
  if (paths.length === 0 || !["json", "text"].includes(format)) {
    io.err(`${USAGE}\n`);
    return 2;
  }
  let units: TfUnit[];
  try {
    const files = collectFiles(paths);
    if (files.length === 0) {
      io.err(`cdktf-hipaa-substrate: no Terraform found in ${paths.join(", ")} (looked for *.tf and *.tf.json; run \`cdktf synth\` first?)\n`);
      return 2;
    }
    units = await loadUnits(files);
  } catch (e) {
    // An input problem, not a program error: the message names the file (and line), no stack trace.
    io.err(`cdktf-hipaa-substrate: ${(e as Error).message}\n`);
    return 2;
  }
  const findings = judge(units, ALL_RULES);
  const failed = findings.filter((f) => f.verdict === "fail");
  const suppressed = findings.filter((f) => f.verdict === "suppressed");
  const skipped = units.filter((u) => u.metadata?.gate === "skipped").map((u) => u.file);
  if (format === "json") {
    io.out(`${JSON.stringify({ gateSkipped: skipped, findings: findings.map(toJson) }, null, 2)}\n`);
  } else {
    for (const f of failed) io.out(`FAIL ${f.rule} ${f.resource}${f.constructPath ? ` [${f.constructPath}]` : ""} (${f.file}) [45 CFR ${f.controls.join(", ")}]: ${f.message}\n`);
    for (const f of suppressed) io.out(`SUPPRESSED ${f.rule} ${f.resource} (${f.file}): ${f.suppressionReason}\n`);
    for (const file of skipped) io.out(`GATE SKIPPED ${file}: ${GATE_SKIPPED}\n`);
    io.out(`${findings.length - failed.length - suppressed.length} passed, ${failed.length} failed, ${suppressed.length} suppressed with a reason\n`);
  }
  return failed.length > 0 || skipped.length > 0 ? 1 : 0;
}

function toJson(f: JudgedFinding) {
  const { rule, equivalents, resource, constructPath, file, verdict, controls, message, suppressionReason } = f;
  return { rule, equivalents, resource, constructPath, file, verdict, controls, message, suppressionReason };
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => (process.exitCode = code));
}
