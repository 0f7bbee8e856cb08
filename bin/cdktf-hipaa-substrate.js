#!/usr/bin/env node
// The CLI gate: `npx cdktf-hipaa-substrate check <paths...> [--format json|text]`.
require("../dist/src/cli.js")
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
