#!/usr/bin/env bash
# The README's quick start, run exactly as written: every block the README marks
# `<!-- quickstart:file NAME -->` is written to NAME in an empty folder, the dependency on
# cdktf-hipaa-substrate is pointed at the packed tarball (the package is not on the registry
# yet), and the block marked `<!-- quickstart:run -->` runs line by line. Then it checks what a
# reader would see: the stack and its control map written, the gate enforced, nothing failing,
# one copy of each peer.
# Usage: bash .ci/quickstart.sh [TARBALL]   (packs the repository when no tarball is given)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
packed=""
cleanup() { rm -rf "$work"; if [ -n "$packed" ]; then rm -f "$packed"; fi; }
trap cleanup EXIT

tarball=${1:-}
if [ -z "$tarball" ]; then
  tarball="$repo/$(cd "$repo" && npm pack --silent | tail -n 1)"
  packed=$tarball
fi
tarball=$(cd "$(dirname "$tarball")" && pwd)/$(basename "$tarball")

node - "$repo/README.md" "$work" "$tarball" <<'JS'
const fs = require("fs");
const path = require("path");
const [readme, dir, tarball] = process.argv.slice(2);
const text = fs.readFileSync(readme, "utf8");
const marked = /<!-- quickstart:(file ([^ ]+)|run) -->\n```[a-z]*\n([\s\S]*?)```/g;
let files = 0;
let run;
for (const m of text.matchAll(marked)) {
  if (m[2]) {
    fs.writeFileSync(path.join(dir, m[2]), m[3]);
    files++;
  } else {
    run = m[3];
  }
}
if (files < 4 || !run) throw new Error(`README quick start: found ${files} files and ${run ? "a" : "no"} run block`);
const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
if (!pkg.dependencies["cdktf-hipaa-substrate"]) throw new Error("the quick start's package.json does not depend on cdktf-hipaa-substrate");
pkg.dependencies["cdktf-hipaa-substrate"] = `file:${tarball}`;
fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify(pkg, null, 2) + "\n");
fs.writeFileSync(path.join(dir, "run.sh"), run);
if (!fs.readFileSync(path.join(dir, "main.ts"), "utf8").includes("HipaaCompliance.enable(app)")) throw new Error("the quick start's main.ts does not enable the gate");
console.log(`quick start: ${files} files from README.md`);
JS

cd "$work"
export npm_config_audit=false npm_config_fund=false npm_config_prefer_offline=true npm_config_update_notifier=false
export CHECKPOINT_DISABLE=1 CI=true
export TF_CLI_CONFIG_FILE=/dev/null   # no ~/.terraformrc in CI: keeps terraform's warning out of the log
while IFS= read -r line; do
  command=${line%%#*}
  [ -n "${command// /}" ] || continue
  echo "\$ $command"
  bash -euo pipefail -c "$command"
done < run.sh

npm run --silent typecheck
test -s cdktf.out/stacks/clinical-production/cdk.tf.json || { echo "quick start wrote no stack"; exit 1; }
node -e '
const map = require("./cdktf.out/control-map.json");
if (map.gate !== "enforced") throw new Error("gate not enforced: " + map.gate);
if (map.summary.fail !== 0 || map.summary.pass === 0) throw new Error("unexpected verdicts " + JSON.stringify(map.summary));
console.log(`quick start: control map ${map.generator.version}, ${map.summary.pass} passed, ${map.summary.fail} failed`);
'
for pkg in cdktf constructs @cdktf/provider-aws @cdktf/provider-google @cdktf/provider-github @cdktf/provider-kubernetes; do
  # cdktf-cli carries its own constructs for its own use; the app's tree must hold one copy.
  copies=$(find . -path "*/node_modules/$pkg/package.json" -not -path "./node_modules/cdktf-cli/*" -not -path "./node_modules/@cdktf/cli-core/*" | grep -c . || true)
  if [ "$copies" -ne 1 ]; then echo "quick start has $copies copies of $pkg:"; find . -path "*/node_modules/$pkg/package.json"; exit 1; fi
done
echo "quick start passed"
