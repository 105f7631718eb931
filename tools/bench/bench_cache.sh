#!/usr/bin/env bash
# What the cache's growth and views cost (issue 13), all in one run on the same model and images:
#   tools/bench/bench_cache.sh [N_IMAGES=400] [K=4] [THREADS=2]
# (Every extraction pays a fixed start: oneDNN builds and JIT-compiles its VGG-16 plan, ~2.5 s here;
# with few images that start dominates an update, so N should be a few hundred.)
# (1) full      cvtl extract of N images (taps pool4, pool5)
# (2) update    10 % of the files changed (N/20 rewritten with new content, N/40 removed, N/40 added),
#               then cvtl extract --update: target <= 0.20 of (1)
# (3) views     cvtl extract --views K: expected (N + (K-1) x training images) / N times (1)
# (4) training  a linear probe on pool5 from (1) and from (3), same samples: median images/s over
#               epochs 2..30, target ratio ~1 (a step copies one view per sample either way)
# Times are the ones cvtl prints (model load excluded: it is the same for every run); wall times
# including the 528 MB model load are listed too. Model and images live in build/bench-cache/.
set -euo pipefail

N=${1:-400} K=${2:-4} T=${3:-2}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/tools/bench
WORK=$ROOT/build/bench-cache
CVTL=$ROOT/build/bin/cvtl
PY=/usr/bin/python3
[ -x "$CVTL" ] || { echo "bench_cache: build cvtl first (tools/run-tests.sh or cmake --build build)" >&2; exit 1; }
export OMP_NUM_THREADS=$T OPENBLAS_NUM_THREADS=$T
mkdir -p "$WORK"
cd "$WORK"
[ -f vgg16.onnx ] || { $PY "$HERE/make_vgg16_onnx.py" vgg16.tmp.onnx && mv vgg16.tmp.onnx vgg16.onnx; }
rm -rf data extra full.h5 full.h5.* views.h5 run-*
$PY "$HERE/make_jpegs.py" data "$N" >/dev/null
$PY "$HERE/make_jpegs.py" extra $((N / 10 + 2)) >/dev/null   # replacement and new content

extract() {  # extract NAME ARGS... -> NAME.out; prints cvtl's own seconds
  local name=$1; shift
  local t0; t0=$(date +%s.%N)
  "$CVTL" extract vgg16.onnx data --taps pool4,pool5 --threads "$T" --batch 8 "$@" >"$name.out"
  awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}' >"$name.wall"
  sed -n 's/.* in \([0-9.]*\) s.*/\1/p' "$name.out" | head -1
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }

echo "(1) full extraction of $N images ..." >&2
full=$(extract full -o full.h5)

echo "(2) 10 % changed, cvtl extract --update ..." >&2
mapfile -t files < <(find data -name '*.jpg' | sort)
mapfile -t fresh < <(find extra -name '*.jpg' | sort)
changed=$((N / 20)) removed=$((N / 40)) added=$((N / 40))
for ((i = 0; i < changed; i++)); do cp "${fresh[$i]}" "${files[$((i * 7 % N))]}"; done
for ((i = 0; i < removed; i++)); do rm -f "${files[$((N - 1 - i * 5))]}"; done
for ((i = 0; i < added; i++)); do cp "${fresh[$((changed + i))]}" "data/class_a/added_$i.jpg"; done
update=$(extract update -o full.h5 --update)

echo "(3) cvtl extract --views $K ..." >&2
views=$(extract views -o views.h5 --views "$K")
rows=$(sed -n 's/^cache: .* images, \([0-9,]*\) tap rows.*/\1/p' views.out | tr -d ,)
images=$(sed -n 's/^cache: \([0-9,]*\) images.*/\1/p' views.out | tr -d ,)

echo "(4) training from each cache ..." >&2
train() {  # train NAME CACHE -> median images/s of epochs 2..30
  "$CVTL" train "$2" --tap pool5 --strategy classifier --head linear --epochs 30 --threads "$T" -o "run-$1" >"train-$1.out"
  awk '/^epoch / && !/^epoch 1\// {for (i = 1; i <= NF; i++) if ($(i + 1) == "images/s") print $i}' "train-$1.out" | sort -n |
    awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
plain_rate=$(train plain full.h5)
views_rate=$(train views views.h5)

echo
echo "N=$N K=$K threads=$T ($(nproc) CPUs), VGG-16 at 224, taps pool4+pool5, batch 8"
echo
echo "| run | cvtl s | wall s (with model load) | ratio |"
echo "|---|---|---|---|"
echo "| (1) full extraction, $N images | $full | $(cat full.wall) | 1 |"
echo "| (2) update after 10 % changed ($changed rewritten, $removed removed, $added added) | $update | $(cat update.wall) | $(ratio "$update" "$full") (target <= 0.20) |"
echo "| (3) --views $K: $rows tap rows for $images images | $views | $(cat views.wall) | $(ratio "$views" "$full") (rows: $(ratio "$rows" "$images")) |"
echo
echo "| training (linear probe on pool5, median of epochs 2-30) | images/s |"
echo "|---|---|"
echo "| from the plain cache | $plain_rate |"
echo "| from the cache with $K views | $views_rate (ratio $(ratio "$views_rate" "$plain_rate")) |"
grep -h "^updated" update.out || true
