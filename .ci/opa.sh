#!/usr/bin/env bash
# The deploy gate with the real OPA: for every synthesized environment stack that carries a
# policy bundle (cdktf.out/stacks/<stack>/policy), `opa check --strict` and `opa test` with the
# static test suite (policy/test), which builds one allowed and a dozen refused evidence bundles
# from that environment's own data.
#
# OPA is built once with the Go toolchain (the module proxy is the only network it needs) into
# a cache directory and reused: a later run is offline.
#   usage: .ci/opa.sh <cdktf.out> [<cdktf.out> ...]
set -euo pipefail
cd "$(dirname "$0")/.."

OPA_VERSION="1.22.3"
cache="${OPA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cdktf-hipaa-substrate/opa-$OPA_VERSION}"
opa="$cache/opa"
if ! { [ -x "$opa" ] && "$opa" version 2>/dev/null | grep -q "^Version: $OPA_VERSION$"; }; then
  echo "building opa $OPA_VERSION into $cache"
  mkdir -p "$cache"
  GOBIN="$cache" go install "github.com/open-policy-agent/opa@v$OPA_VERSION"
fi

bundles=()
for out in "$@"; do
  for dir in "$out"/stacks/*/policy; do
    [ -f "$dir/data.json" ] && bundles+=("$dir")
  done
done
if [ "${#bundles[@]}" -eq 0 ]; then
  echo "no deploy-gate bundles under: $*"; exit 1
fi

# The shipped policy and its tests are in opa fmt's canonical layout.
"$opa" fmt --list --fail policy

log=$(mktemp)
trap 'rm -f "$log"' EXIT
for bundle in "${bundles[@]}"; do
  "$opa" check --strict "$bundle" policy/test
  # opa test exits non-zero on any failed test; print its verbose report in that case.
  if ! "$opa" test "$bundle" policy/test > "$log" 2>&1; then
    cat "$log"; echo "opa test failed for $bundle"; exit 1
  fi
  echo "opa test $bundle: $(tail -n 1 "$log")"
done
echo "deploy gate: ${#bundles[@]} bundles checked"
