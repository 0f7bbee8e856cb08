import { existsSync, readdirSync, readFileSync, statSync } from "fs";
import { join } from "path";
import { TfUnit, unitFromJson } from "./terraform";

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

/** Loads files into units; HCL is converted with @cdktf/hcl2json, loaded only when needed. */
export async function loadUnits(files: readonly string[]): Promise<TfUnit[]> {
  const units: TfUnit[] = [];
  let hcl: ((name: string, contents: string) => Promise<unknown>) | undefined;
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    if (file.endsWith(".tf.json")) {
      units.push(unitFromJson(file, JSON.parse(text)));
    } else {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      hcl ??= (require("@cdktf/hcl2json") as { parse: (n: string, c: string) => Promise<unknown> }).parse;
      units.push(unitFromJson(file, await hcl(file, text)));
    }
  }
  return units;
}
