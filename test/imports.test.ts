import { readdirSync, readFileSync, statSync } from "fs";
import { join } from "path";

const ROOT = join(__dirname, "..");
const DIRS = ["src", "constructs", "stacks", "examples", "test", "bench", "tools"];

function sourceFiles(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const full = join(dir, name);
    if (name === "node_modules" || name === "cdktf.out") return [];
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return /\.(ts|js)$/.test(name) ? [full] : [];
  });
}

const files = DIRS.flatMap((d) => sourceFiles(join(ROOT, d)));
// A barrel import loads every resource class of the provider: 5-10 s and ~1 GB per process.
const BARREL = /(from\s+|require\(\s*|import\(\s*)["']@cdktf\/provider-(aws|google|github|gitlab|kubernetes)["']/;

describe("imports", () => {
  test("finds the project's sources", () => {
    expect(files.length).toBeGreaterThan(10);
  });

  test("no file imports a provider package's barrel", () => {
    const offenders = files.filter((f) => BARREL.test(readFileSync(f, "utf8"))).map((f) => f.slice(ROOT.length + 1));
    expect(offenders).toEqual([]);
  });

  test("the core is imported only as cdktf (so cdktn can be aliased in)", () => {
    const offenders = files.filter((f) => /from\s+["']cdktn["']/.test(readFileSync(f, "utf8")));
    expect(offenders).toEqual([]);
  });

  test("src/model imports no cdktf, constructs or provider package", () => {
    const model = sourceFiles(join(ROOT, "src", "model"));
    expect(model.length).toBeGreaterThan(0);
    for (const f of model) expect(readFileSync(f, "utf8")).not.toMatch(/from\s+["'](cdktf|constructs|@cdktf\/)/);
  });

  test("the barrel check itself recognises a barrel import", () => {
    const provider = ["@cdktf", "provider-aws"].join("/");
    expect(BARREL.test(`import { S3Bucket } from "${provider}";`)).toBe(true);
    expect(BARREL.test(`import { S3Bucket } from "${provider}/lib/s3-bucket";`)).toBe(false);
  });
});
