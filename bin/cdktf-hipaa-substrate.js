#!/usr/bin/env node
// The CLI gate: `npx cdktf-hipaa-substrate check <paths...> [--format json|text]`.
// The published package runs the compiled dist/. A fresh clone has no dist/ (it is built by
// `npm pack`/`npm run build`), so there the CLI runs from src/ through ts-node, a devDependency.
const { existsSync } = require("fs");
const { join } = require("path");

const root = join(__dirname, "..");
let cli;
if (existsSync(join(root, "dist", "src", "cli.js"))) {
  cli = require(join(root, "dist", "src", "cli.js"));
} else if (existsSync(join(root, "src", "cli.ts"))) {
  try {
    require("ts-node").register({ transpileOnly: true, project: join(root, "tsconfig.json") });
  } catch (e) {
    process.stderr.write("cdktf-hipaa-substrate: no dist/ and no ts-node; run `npm ci` (or `npm run build`) first\n");
    process.exit(2);
  }
  cli = require(join(root, "src", "cli.ts"));
} else {
  process.stderr.write("cdktf-hipaa-substrate: dist/src/cli.js is missing from the package; reinstall it\n");
  process.exit(2);
}
cli.main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
