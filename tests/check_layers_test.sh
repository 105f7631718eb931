#!/usr/bin/env bash
# tools/check_layers.sh on the repository (no cycle) and on a tree with a cycle put in on purpose
# (it must fail and name both folders).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/tools/check_layers.sh" "$ROOT" >/dev/null
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree/plugin" "$tree/pipeline/core" "$tree/pipeline/train"
printf '#include "pipeline/core/error.hpp"\n#include "pipeline/train/trainer.hpp"\n' >"$tree/plugin/model.hpp"
printf '#include "plugin/model.hpp"\n' >"$tree/pipeline/train/trainer.hpp"
printf '#pragma once\n' >"$tree/pipeline/core/error.hpp"
if out=$("$ROOT/tools/check_layers.sh" "$tree" 2>&1); then
  echo "check_layers_test: the planted cycle plugin <-> pipeline/train passed the check" >&2
  exit 1
fi
grep -q "include cycle" <<<"$out" && grep -q "plugin" <<<"$out" && grep -q "pipeline/train" <<<"$out" ||
  { echo "check_layers_test: the failure does not name the cycle: $out" >&2; exit 1; }
echo "check_layers_test: ok"
