import { existsSync, readFileSync } from "fs";
import { dirname, join } from "path";

let cached: string | undefined;

/**
 * The version of cdktf-hipaa-substrate that is running, read from its own package.json (found by
 * walking up from this file, which sits at `src/compliance` in a clone and at
 * `dist/src/compliance` in the published package).
 */
export function packageVersion(): string {
  if (cached) return cached;
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
    if (pkg.name === "cdktf-hipaa-substrate") return (cached = pkg.version ?? "unknown");
  }
  return (cached = "unknown");
}
