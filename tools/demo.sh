#!/usr/bin/env bash
# The main job on the embedded default: transfer learning on Fashion-MNIST with every strategy.
# Installs dependencies and builds what it needs (not the test suite), then runs cvtl-demo, which
# prints the results and writes build/demo/demo-results.md (+ its charts), leaving the working tree
# clean; --update-docs writes them into docs/ instead (what the committed docs/demo-results*.md are).
#   tools/demo.sh                      n = 100 images per class (about 5 minutes on 2 cores)
#   tools/demo.sh --update-docs        the same, report into docs/
#   tools/demo.sh --full               n = 10, 100 and 1000
#   tools/demo.sh --scenario disjoint  P1 and P2 on disjoint classes (Yosinski et al. 2014)
#   tools/demo.sh --precision bf16     bf16 products throughout (CPUs with AVX512-BF16)
#   tools/demo.sh --views 8 --n 10,100 K = 1 vs K = 8 augmented views per n (--augment SPEC, default
#                                      "default"), report demo-results-views*.md
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh cvtl cvtl-demo cvtl-fashion-mnist
out=build/demo
args=()
for arg in "$@"; do
  if [ "$arg" = "--update-docs" ]; then out=docs; else args+=("$arg"); fi
done
set -- "${args[@]+"${args[@]}"}"
mkdir -p "$out"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] || commit="$commit+local changes"
report=$out/demo-results
for arg in "$@"; do
  case "$arg" in --views|--views=*) report=$report-views ;; esac
done
for arg in "$@"; do
  [ "$arg" = "disjoint" ] && report=$report-disjoint
done
for arg in "$@"; do
  [ "$arg" = "--full" ] && report=$report-full
done
for arg in "$@"; do
  [ "$arg" = "bf16" ] && report=$report-bf16
done
report=$report.md
exec build/bin/cvtl-demo --commit "$commit" --report "$report" "$@"
