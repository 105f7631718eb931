#!/usr/bin/env bash
# Start-up on a large model: `cvtl inspect MODEL` (the whole command: load, hash, block map, print)
# against stock OpenCV's cv2.dnn.readNetFromONNX(MODEL) alone (timed inside Python, so Python's own
# start-up is not counted against OpenCV). Interleaved, REPS rounds, medians; target ratio <= 1.1.
#   tools/bench/bench_startup.sh [MODEL=build/bench-export/vgg16.onnx] [REPS=5]
# The default model is the full torchvision VGG-16 layout (528 MB, random weights), made if missing.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/tools/bench
CVTL=$ROOT/${BUILD_DIR:-build}/bin/cvtl
PY=/usr/bin/python3
MODEL=${1:-$ROOT/build/bench-export/vgg16.onnx} REPS=${2:-5}
[ -x "$CVTL" ] || { echo "bench_startup: build cvtl first ($CVTL missing)" >&2; exit 1; }
if [ ! -f "$MODEL" ]; then
  mkdir -p "$(dirname "$MODEL")"
  $PY "$HERE/make_vgg16_onnx.py" "$MODEL.tmp" && mv "$MODEL.tmp" "$MODEL"
fi
cat "$MODEL" >/dev/null  # both read it from the page cache

stock=() ours=()
for ((r = 1; r <= REPS; r++)); do
  s=$($PY -c 'import cv2, sys, time
t = time.perf_counter(); cv2.dnn.readNetFromONNX(sys.argv[1]); print("%.3f" % (time.perf_counter() - t))' "$MODEL")
  t0=$(date +%s.%N)
  "$CVTL" inspect "$MODEL" >/dev/null
  o=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.3f", b - a}')
  printf 'round %d: stock readNetFromONNX %.2f s, cvtl inspect %.2f s\n' "$r" "$s" "$o"
  stock+=("$s") ours+=("$o")
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
ms=$(median "${stock[@]}") mo=$(median "${ours[@]}")
ratio=$(awk -v a="$mo" -v b="$ms" 'BEGIN {print a / b}')
printf 'bench_startup: %s (%s bytes), medians of %d: stock %.2f s, cvtl inspect %.2f s, ratio %.2f (target <= 1.1)\n' \
  "$(basename "$MODEL")" "$(stat -c %s "$MODEL")" "$REPS" "$ms" "$mo" "$ratio"
