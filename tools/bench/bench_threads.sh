#!/usr/bin/env bash
# Thread-policy benchmark (plugin/thread_policy.hpp): does decoding overlap the network without
# oversubscribing the cores, and which OpenMP wait policy suits cvtl's mix of OpenMP and oneTBB?
#   tools/bench/bench_threads.sh [N_IMAGES=64] [BATCH=8]
# For each OpenMP wait policy (libgomp's default, passive, active) and --threads 1 and 2:
#   cvtl extract (oneDNN fast path, f32; and stock cv::dnn at 2 threads): images/s and the network
#   stage's busy share (100% = decoding and writing fully hidden behind the network);
#   cvtl_bench_train_step (b) finetune block 5 and (c) linear probe: ms per image.
# Model and images are shared with bench_extract.sh (build/bench-extract/).
set -euo pipefail

N=${1:-64} B=${2:-8}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/tools/bench
WORK=$ROOT/build/bench-extract
CVTL=$ROOT/build/bin/cvtl
STEP=$ROOT/build/bin/cvtl_bench_train_step
PY=/usr/bin/python3
for exe in "$CVTL" "$STEP"; do
  [ -x "$exe" ] || { echo "bench_threads: $exe not built (cmake -S . -B build -G Ninja && ninja -C build)" >&2; exit 1; }
done
mkdir -p "$WORK"
cd "$WORK"
[ -f vgg16.onnx ] || { $PY "$HERE/make_vgg16_onnx.py" vgg16.tmp.onnx && mv vgg16.tmp.onnx vgg16.onnx; }
[ -d "images-$N" ] || { rm -rf "images-$N.tmp" && $PY "$HERE/make_jpegs.py" "images-$N.tmp" "$N" >/dev/null && mv "images-$N.tmp" "images-$N"; }

# with_policy POLICY CMD...: runs CMD with OMP_WAIT_POLICY unset (default) or set.
with_policy() {
  local policy=$1; shift
  if [ "$policy" = default ]; then env -u OMP_WAIT_POLICY "$@"; else OMP_WAIT_POLICY=$policy "$@"; fi
}

echo "| OpenMP wait policy | run | threads | images/s | network busy | train (b) ms/img | train (c) ms/img |"
echo "|---|---|---|---|---|---|---|"
for policy in default passive active; do
  for T in 1 2; do
    for engine in onednn opencv; do
      [ "$engine" = opencv ] && [ "$T" = 1 ] && continue
      rm -rf threads.h5 threads.h5.rows-*
      out=$(with_policy "$policy" "$CVTL" extract vgg16.onnx "images-$N" -o threads.h5 --taps pool4,pool5 --batch "$B" \
              --threads "$T" --engine "$engine" 2>/dev/null)
      rate=$(sed -n 's/.* \([0-9.]*\) images\/s.*/\1/p' <<<"$out")
      busy=$(sed -n 's/.*network busy \([0-9]*%\).*/\1/p' <<<"$out")
      b=- c=-
      if [ "$engine" = onednn ]; then
        steps=$(with_policy "$policy" "$STEP" --cases b,c --threads "$T" --reps 3)
        b=$(sed -n 's/.*"case":"b".*"ms_per_image":\([0-9.]*\).*/\1/p' <<<"$steps")
        c=$(sed -n 's/.*"case":"c".*"ms_per_image":\([0-9.]*\).*/\1/p' <<<"$steps")
      fi
      echo "| $policy | extract --engine $engine | $T | $rate | $busy | $b | $c |"
    done
  done
done
rm -rf threads.h5 threads.h5.rows-*
