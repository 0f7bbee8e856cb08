/**
 * `cdktf-hipaa-substrate check <paths...> [--format json|text]`: judges Terraform (`.tf`,
 * `.tf.json`, a `cdktf.out`) with the HIPAA rules. Exit 1 when any resource fails, 2 on a usage
 * error. No network.
 */
import { ALL_RULES, collectFiles, evaluate, Finding, loadUnits } from "./compliance/checker";

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
  let findings: Finding[];
  try {
    findings = evaluate(await loadUnits(collectFiles(paths)), ALL_RULES);
  } catch (e) {
    io.err(`cdktf-hipaa-substrate: ${(e as Error).message}\n`);
    return 2;
  }
  const failed = findings.filter((f) => f.verdict === "fail");
  if (format === "json") {
    io.out(`${JSON.stringify({ findings: findings.map(({ rule, equivalents, resource, file, verdict, controls, message }) => ({ rule, equivalents, resource, file, verdict, controls, message })) }, null, 2)}\n`);
  } else {
    for (const f of failed) io.out(`FAIL ${f.rule} ${f.resource} (${f.file}) [45 CFR ${f.controls.join(", ")}]: ${f.message}\n`);
    io.out(`${findings.length - failed.length} passed, ${failed.length} failed\n`);
  }
  return failed.length > 0 ? 1 : 0;
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => (process.exitCode = code));
}
