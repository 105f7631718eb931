#!/usr/bin/env bash
# Does an exported model run as fast in stock OpenCV as its source model? Full-size VGG-16
# (random weights), fine-tuned from block 5 on a few images, exported, then both timed in cv::dnn.
#   tools/bench/bench_export.sh [N_IMAGES=40] [BATCH=8] [THREADS=2]
set -euo pipefail
N=${1:-40} B=${2:-8} T=${3:-2}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/tools/bench
WORK=$ROOT/build/bench-export
CVTL=$ROOT/${BUILD_DIR:-build}/bin/cvtl
PY=/usr/bin/python3
[ -x "$CVTL" ] || { echo "bench_export: build cvtl first ($CVTL missing)" >&2; exit 1; }
mkdir -p "$WORK" && cd "$WORK"
[ -f vgg16.onnx ] || { $PY "$HERE/make_vgg16_onnx.py" vgg16.tmp.onnx && mv vgg16.tmp.onnx vgg16.onnx; }
[ -d images ] || { $PY "$HERE/make_jpegs.py" images.tmp 16 >/dev/null && mv images.tmp images; }
"$CVTL" extract vgg16.onnx images -o cache.h5 --taps pool4 --batch "$B" --threads "$T" --force
"$CVTL" train cache.h5 -o run --strategy finetune --from-block 5 --epochs 1 --batch "$B" --threads "$T" --force
"$CVTL" export run -o exported.onnx --force
echo "stock OpenCV $($PY -c 'import cv2; print(cv2.__version__)'), $N images, batch $B, $T threads:"
$PY "$HERE/opencv_model_speed.py" vgg16.onnx exported.onnx "$N" "$B" "$T"
