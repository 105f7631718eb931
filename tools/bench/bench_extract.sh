#!/usr/bin/env bash
# Extraction benchmark: cvtl extract vs a bare cv::dnn forward loop vs the PyTorch equivalent.
#   tools/bench/bench_extract.sh [N_IMAGES=200] [BATCH=8] [THREADS=2]
# (a) cvtl extract     its own images/s (pipeline start to end: decode, forward, HDF5 write; model
#                      load excluded): (a1) --engine opencv, (a2) the oneDNN fast path in f32 (also
#                      at 2N images: peak RSS should not grow with N), (a3) --precision bf16
# (b) opencv_forward   forward only on pre-made blobs, same OpenCV library: cvtl's ceiling
# (c) torch_extract    end-to-end wall time; its self-timed rate (excl. imports + model build) in brackets
# Model and images are cached in build/bench-extract/ and only regenerated when missing.
set -euo pipefail

N=${1:-200} B=${2:-8} T=${3:-2}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/tools/bench
WORK=$ROOT/build/bench-extract
CVTL=$ROOT/build/bin/cvtl
PY=/usr/bin/python3
[ -x /usr/bin/time ] || { echo "bench_extract: /usr/bin/time missing (Debian package: time)" >&2; exit 1; }

# One thread budget for every runtime involved (OpenMP: torch/oneDNN; OpenBLAS; cv::setNumThreads via args).
export OMP_NUM_THREADS=$T OPENBLAS_NUM_THREADS=$T
mkdir -p "$WORK"
cd "$WORK"

# Generate into a temp name and rename, so an interrupted run never leaves a "present" but broken input.
[ -f vgg16.onnx ] || { $PY "$HERE/make_vgg16_onnx.py" vgg16.tmp.onnx && mv vgg16.tmp.onnx vgg16.onnx; }
images() {  # images DIR COUNT
  [ -d "$1" ] || { rm -rf "$1.tmp" && $PY "$HERE/make_jpegs.py" "$1.tmp" "$2" >/dev/null && mv "$1.tmp" "$1"; }
}
images "images-$N" "$N"

# timed NAME CMD...: runs CMD under /usr/bin/time -v; stdout -> NAME.out, timing -> NAME.time
timed() {
  local name=$1; shift
  /usr/bin/time -v -o "$name.time" "$@" >"$name.out"
}
wall_s() {  # "Elapsed (wall clock) time (h:mm:ss or m:ss): 1:02.5" -> seconds
  sed -n 's/.*Elapsed (wall clock).*: //p' "$1.time" | awk -F: '{s=0; for (i=1;i<=NF;i++) s=s*60+$i; print s}'
}
rss_mb() { awk '/Maximum resident set size/ {printf "%.0f", $NF/1024}' "$1.time"; }
json_rate() { sed -n 's/.*"images_per_s": \([0-9.]*\).*/\1/p' "$1.out"; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN {printf "%.2f", n/s}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "" || b == "") print "n/a"; else printf "%.2f", a/b}'; }

# cvtl extract, one run per engine/precision, fresh cache each time (an existing one would be reused).
run_cvtl() {  # run_cvtl NAME N ARGS...
  local name=$1 n=$2; shift 2
  rm -rf "$name.h5" "$name.h5".rows-*  # and the rows directory of a cache of several segments
  echo "(a) cvtl extract $name, $n images ..." >&2
  timed "$name" "$CVTL" extract vgg16.onnx "images-$n" -o "$name.h5" --taps pool4,pool5 --batch "$B" --threads "$T" "$@" ||
    { echo "cvtl extract failed, see $WORK/$name.*" >&2; exit 1; }
}
cvtl_rate() { sed -n 's/.* \([0-9.]*\) images\/s.*/\1/p' "$1.out"; }
declare -A a_rate
if [ -x "$CVTL" ]; then
  images "images-$((2 * N))" $((2 * N))
  run_cvtl opencv-engine "$N" --engine opencv
  run_cvtl onednn-f32 "$N"
  run_cvtl onednn-bf16 "$N" --precision bf16
  run_cvtl onednn-f32-2n $((2 * N))
  for v in opencv-engine onednn-f32 onednn-bf16; do a_rate[$v]=$(cvtl_rate "$v"); done
else
  echo "(a) skipped: $CVTL not built yet (cmake -B build && cmake --build build)" >&2
fi

echo "(b) opencv_forward ..." >&2
timed opencv "$PY" "$HERE/opencv_forward.py" vgg16.onnx "$N" "$B" "$T"
b_rate=$(json_rate opencv)

echo "(c) torch_extract ..." >&2
rm -f torch.h5
timed torch "$PY" "$HERE/torch_extract.py" vgg16.onnx "images-$N" torch.h5 "$B" "$T"
c_rate=$(rate "$N" "$(wall_s torch)") c_self=$(json_rate torch)

echo
echo "N=$N batch=$B threads=$T  ($(nproc) CPUs, OpenCV $($PY -c 'import cv2; print(cv2.__version__)'))"
echo
echo "| run | images/s | peak RSS (MB) |"
echo "|---|---|---|"
if [ -x "$CVTL" ]; then
  echo "| (a1) cvtl extract --engine opencv | ${a_rate[opencv-engine]} | $(rss_mb opencv-engine) |"
  echo "| (a2) cvtl extract (oneDNN fast path, f32) | ${a_rate[onednn-f32]} | $(rss_mb onednn-f32) (N) / $(rss_mb onednn-f32-2n) (2N) |"
  echo "| (a3) cvtl extract --precision bf16 | ${a_rate[onednn-bf16]} | $(rss_mb onednn-bf16) |"
else
  echo "| (a) cvtl extract | not built | - |"
fi
echo "| (b) opencv_forward, forward only | $b_rate | $(rss_mb opencv) |"
echo "| (c) torch_extract, wall [self-timed] | $c_rate [$c_self] | $(rss_mb torch) |"
echo
echo "a1/b = $(ratio "${a_rate[opencv-engine]:-}" "$b_rate") (stock path: decode and writing hidden behind the network)"
echo "a2/c = $(ratio "${a_rate[onednn-f32]:-}" "$c_self") (fast path vs PyTorch's extraction, self-timed)"
echo "a3/c = $(ratio "${a_rate[onednn-bf16]:-}" "$c_self") (bf16 vs PyTorch f32)"
# Max |fast - stock| over the cached taps (f32 fast path vs stock cv::dnn on the same images).
[ -f onednn-f32.h5 ] && $PY -c "
import h5py, numpy as np
a, b = h5py.File('onednn-f32.h5'), h5py.File('opencv-engine.h5')
for t in ('pool4', 'pool5'):
    x, y = a['taps/' + t][()], b['taps/' + t][()]
    print('%s: max |fast - stock| = %.2e (values up to %.1f)' % (t, np.abs(x - y).max(), np.abs(y).max()))
"
