#!/usr/bin/env bash
# The main job on the embedded default: transfer learning on Fashion-MNIST with every strategy.
# Installs dependencies and builds what it needs (not the test suite), then runs cvtl-demo, which
# prints the results and writes build/demo/demo-results.md (+ its charts), leaving the working tree
# clean; --update-docs writes them into docs/ instead (what the committed docs/demo-results*.md are).
#   tools/demo.sh                      n = 100 images per class (about 4 minutes on 2 cores)
#   tools/demo.sh --update-docs        the same, report into docs/
#   tools/demo.sh --full               n = 10, 100 and 1000
#   tools/demo.sh --scenario disjoint  P1 and P2 on disjoint classes (Yosinski et al. 2014)
#   tools/demo.sh --precision bf16     bf16 products throughout (CPUs with AVX512-BF16)
#   tools/demo.sh --views 8 --n 10,100 K = 1 vs K = 8 augmented views per n (--augment SPEC, default
#                                      "default"), report demo-results-views*.md
#   tools/demo.sh --backbone resnet    from the ResNet-18-layout source instead (demo-results-resnet.md)
#   tools/demo.sh --backbone vgg,resnet  both sources on the same images, compared (demo-results-backbones.md)
#   tools/demo.sh --all --update-docs  every committed report, one after the other, from one commit
#                                      (80 minutes to 3 hours on 2 cores; refuses a working tree with changes)
set -euo pipefail
cd "$(dirname "$0")/.."

# Every committed report, by the arguments that make it (its name follows from them below).
VARIANTS=(
  ""
  "--full"
  "--scenario disjoint"
  "--precision bf16"
  "--views 8 --n 10,100"
  "--views 8 --n 10,100 --scenario disjoint"
  "--backbone vgg,resnet"
)

# The report's path for a variant's arguments.
report_for() {
  local out=$1 report=$1/demo-results
  shift
  local args=" $* "
  case "$args" in *" --views "*|*" --views="*) report=$report-views ;; esac
  case "$args" in *" --backbone vgg,resnet "*|*" --backbone resnet,vgg "*) report=$report-backbones ;;
                  *" --backbone resnet "*) report=$report-resnet ;; esac
  case "$args" in *" disjoint "*) report=$report-disjoint ;; esac
  case "$args" in *" --full "*) report=$report-full ;; esac
  case "$args" in *" bf16 "*) report=$report-bf16 ;; esac
  echo "$report.md"
}

out=build/demo all=0 args=()
for arg in "$@"; do
  case "$arg" in
    --update-docs) out=docs ;;
    --all) all=1 ;;
    *) args+=("$arg") ;;
  esac
done
tools/build.sh cvtl cvtl-demo cvtl-fashion-mnist
mkdir -p "$out" build/demo
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain --untracked-files=no 2>/dev/null || true)

if [ "$all" = 0 ]; then
  [ -z "$dirty" ] || commit="$commit+local changes"
  set -- "${args[@]+"${args[@]}"}"
  exec build/bin/cvtl-demo --commit "$commit" --command "tools/demo.sh${*:+ $*}" --report "$(report_for "$out" "$@")" "$@"
fi

# --all: the reports must come from committed code, and all from the same commit.
[ ${#args[@]} -eq 0 ] || { echo "cvtl: error: tools/demo.sh --all takes no other option than --update-docs" >&2; exit 2; }
[ -z "$dirty" ] || { echo "cvtl: error: the working tree has changes; commit them, then run tools/demo.sh --all" >&2; exit 2; }
start=$(date +%s)
for variant in "${VARIANTS[@]}"; do
  # shellcheck disable=SC2086  # a variant is a list of words
  set -- $variant
  if [ "$variant" = "--precision bf16" ] && ! grep -qw avx512_bf16 /proc/cpuinfo; then
    echo "tools/demo.sh --all: skipping --precision bf16 (this CPU lacks AVX512-BF16); $(report_for "$out" "$@") is unchanged" >&2
    continue
  fi
  report=$(report_for "$out" "$@")
  log=build/demo/$(basename "${report%.md}").log
  echo "== tools/demo.sh${variant:+ $variant} -> $report, its output in $log ($(( ($(date +%s) - start) / 60 )) min so far)"
  build/bin/cvtl-demo --commit "$commit" --command "tools/demo.sh${variant:+ $variant} (one of tools/demo.sh --all)" \
    --report "$report" "$@" >"$log" 2>&1 || { echo "cvtl: error: tools/demo.sh $variant failed; see $log" >&2; exit 1; }
done
echo "every report regenerated at commit $commit in $(( ($(date +%s) - start) / 60 )) min"
