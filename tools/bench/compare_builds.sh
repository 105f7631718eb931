#!/usr/bin/env bash
# Speed of two builds of cvtl in the same run, for a change that must not slow anything down (a
# refactoring): the same extraction and training steps, old and new interleaved so that a noisy
# machine disturbs both alike, and the fastest of each side compared (the fastest run is the one
# least disturbed; medians are printed too).
#   tools/bench/compare_builds.sh OLD_BUILD NEW_BUILD [REPS=5] [N_IMAGES=96] [THREADS=2]
# OLD_BUILD, NEW_BUILD: build directories holding bin/cvtl and bin/cvtl_bench_train_step (e.g. a
# worktree of the old commit built with -DCVTL_BUILD_TESTS=OFF).
# (1) cvtl extract of the full VGG-16 at 224 to pool5 (the oneDNN fast path; images/s as extract reports it)
# (2) cvtl_bench_train_step cases a (classifier on pool5) and b (fine-tune block 5 on pool4), ms/image
# Prints one line per measurement, then new/old of the fastest for each, and "within 3 %" or not.
set -euo pipefail

OLD=${1:?OLD_BUILD} NEW=${2:?NEW_BUILD} REPS=${3:-5} N=${4:-96} T=${5:-2}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/tools/bench
WORK=$ROOT/build/bench-extract
PY=/usr/bin/python3
for b in "$OLD" "$NEW"; do
  for p in cvtl cvtl_bench_train_step; do
    [ -x "$b/bin/$p" ] || { echo "compare_builds: $b/bin/$p is not built" >&2; exit 1; }
  done
done
export OMP_NUM_THREADS=$T OPENBLAS_NUM_THREADS=$T
mkdir -p "$WORK"
cd "$WORK"
[ -f vgg16.onnx ] || { $PY "$HERE/make_vgg16_onnx.py" vgg16.tmp.onnx && mv vgg16.tmp.onnx vgg16.onnx; }
[ -d "images-$N" ] || { rm -rf "images-$N.tmp" && $PY "$HERE/make_jpegs.py" "images-$N.tmp" "$N" >/dev/null &&
  mv "images-$N.tmp" "images-$N"; }
RESULTS=$(mktemp)
trap 'rm -rf "$RESULTS" compare.h5 compare.h5.rows-*' EXIT

extract_rate() {  # BUILD -> images/s
  rm -rf compare.h5 compare.h5.rows-*
  "$1/bin/cvtl" extract vgg16.onnx "images-$N" -o compare.h5 --taps pool5 --batch 16 --threads "$T" 2>&1 |
    sed -n 's/.* \([0-9.]*\) images\/s.*/\1/p'
}
step_ms() {  # BUILD CASE -> ms per image
  "$1/bin/cvtl_bench_train_step" --cases "$2" --threads "$T" --reps 3 --warmup 2 |
    sed -n 's/.*"ms_per_image": *\([0-9.]*\).*/\1/p'
}

"$NEW/bin/cvtl" extract vgg16.onnx "images-$N" -o compare.h5 --taps pool5 --threads "$T" >/dev/null 2>&1  # warm the page cache
for rep in $(seq "$REPS"); do
  for side in old new; do
    build=$OLD; [ $side = new ] && build=$NEW
    echo "extract $side $(extract_rate "$build")" | tee -a "$RESULTS"
    for c in a b; do echo "step-$c $side $(step_ms "$build" $c)" | tee -a "$RESULTS"; done
  done
done

# extract: higher is faster (images/s); steps: lower is faster (ms/image). ratio = new speed / old speed.
awk '
  { v[$1" "$2] = v[$1" "$2] " " $3 }
  function best(list, higher,   n, a, i, b) { n = split(list, a, " "); b = a[1];
    for (i = 2; i <= n; i++) if ((higher && a[i] > b) || (!higher && a[i] < b)) b = a[i]; return b }
  function median(list,   n, a, i, j, t) { n = split(list, a, " ");
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  END {
    split("extract step-a step-b", names, " "); bad = 0
    for (k = 1; k <= 3; k++) { m = names[k]; higher = (m == "extract")
      o = best(v[m" old"], higher); n = best(v[m" new"], higher)
      r = higher ? n / o : o / n
      printf "%-8s old best %8.2f median %8.2f | new best %8.2f median %8.2f | new speed / old %.3f%s\n", m,
        o, median(v[m" old"]), n, median(v[m" new"]), r, (r < 0.97 ? "  SLOWER than 3 %" : "")
      if (r < 0.97) bad = 1 }
    print (bad ? "compare_builds: a measurement is more than 3 % slower" : "compare_builds: within 3 %")
    exit bad }' "$RESULTS"
