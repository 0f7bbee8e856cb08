import { existsSync, readdirSync, readFileSync, statSync } from "fs";
import { dirname, join } from "path";
import { OUTPUT_METADATA_KEY } from "./output-metadata";
import { TfUnit, unitFromJson } from "./terraform";

/** A file the checker could not read: the message names the file and, where known, the line. */
export class TerraformParseError extends Error {
  constructor(
    public readonly file: string,
    public readonly line: number | undefined,
    problem: string,
  ) {
    super(`${file}${line !== undefined ? `:${line}` : ""}: ${problem}`);
    this.name = "TerraformParseError";
  }
}

/** Files the checker reads: `.tf.json` (cdktf output included) and `.tf` (through hcl2json). */
export function collectFiles(paths: readonly string[]): string[] {
  const files: string[] = [];
  const walk = (p: string) => {
    if (!existsSync(p)) throw new Error(`${p} does not exist`);
    if (statSync(p).isDirectory()) {
      for (const name of readdirSync(p).sort()) {
        if (name === "node_modules" || name === ".terraform" || name.startsWith(".")) continue;
        walk(join(p, name));
      }
    } else if (p.endsWith(".tf.json") || p.endsWith(".tf")) {
      files.push(p);
    }
  };
  paths.forEach(walk);
  return files;
}

/** Parses Terraform JSON, naming the file and the line of the first error. */
export function parseTerraformJson(file: string, text: string): unknown {
  if (text.trim() === "") throw new TerraformParseError(file, undefined, "the file is empty (expected a Terraform JSON object)");
  try {
    return JSON.parse(text);
  } catch (e) {
    const message = (e as Error).message;
    const at = /position (\d+)/.exec(message);
    const line = at ? text.slice(0, Number(at[1])).split("\n").length : /end of JSON input/.test(message) ? text.split("\n").length : undefined;
    throw new TerraformParseError(file, line, `invalid JSON: ${message.replace(/^JSON\.parse: /, "")}`);
  }
}

/** hcl2json reports `parse config: [FILE:LINE,COL-COL: Summary; Detail]`: keep the line and the words. */
function hclError(file: string, e: unknown): TerraformParseError {
  const message = String((e as Error)?.message ?? e);
  const m = /:(\d+),\d+(?:-\d+)?: ([^\]]*)\]?/.exec(message);
  return new TerraformParseError(file, m ? Number(m[1]) : undefined, `invalid HCL: ${m ? m[2].trim() : message}`);
}

/**
 * Loads files into units; HCL is converted with @cdktf/hcl2json, loaded only when needed. An HCL
 * stack synthesized by cdktf-hipaa-substrate carries its gate metadata (suppressions) in
 * `hipaa-gate.json` beside it, since HCL has no place for it.
 */
export async function loadUnits(files: readonly string[]): Promise<TfUnit[]> {
  const units: TfUnit[] = [];
  let hcl: ((name: string, contents: string) => Promise<unknown>) | undefined;
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    if (file.endsWith(".tf.json")) {
      units.push(unitFromJson(file, parseTerraformJson(file, text)));
    } else {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      hcl ??= (require("@cdktf/hcl2json") as { parse: (n: string, c: string) => Promise<unknown> }).parse;
      let doc: Record<string, unknown>;
      if (text.trimStart().startsWith("{")) {
        // cdktf 0.21 with App({ hclOutput: true }) but without SYNTH_HCL_OUTPUT writes JSON into cdk.tf.
        doc = parseTerraformJson(file, text) as Record<string, unknown>;
      } else {
        try {
          doc = ((await hcl(file, text)) ?? {}) as Record<string, unknown>;
        } catch (e) {
          throw hclError(file, e);
        }
      }
      const beside = join(dirname(file), "hipaa-gate.json");
      if (existsSync(beside)) doc = { ...doc, "//": { ...((doc["//"] as object) ?? {}), [OUTPUT_METADATA_KEY]: parseTerraformJson(beside, readFileSync(beside, "utf8")) } };
      units.push(unitFromJson(file, doc));
    }
  }
  return units;
}
