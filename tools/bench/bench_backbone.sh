#!/usr/bin/env bash
# ResNet-50 backbone benchmark (issue 24): cvtl vs PyTorch on the same images, same network, 2 threads.
#   tools/bench/bench_backbone.sh [N_IMAGES=64] [BATCH=8] [THREADS=2] [EPOCHS=5] [REPS=3]
# (1) extraction of taps block4 (layer3 out, [1024,14,14]) and block5 (layer4 out, [2048,7,7]):
#     cvtl extract (oneDNN fast path, f32; the images/s it prints: decode, forward, HDF5 write, model
#     load excluded) vs torch_backbone.py extract (self-timed, imports and model build excluded),
#     interleaved cvtl, torch, cvtl, torch, ... REPS times; the fastest run of each side is compared (the
#     least disturbed), and the medians too (a shared VM moves both by 20 % from run to run).
# (2) fine-tuning layer4 + a new head from the cached block4 tap, batch B (EPOCHS=0: not measured):
#     cvtl train --strategy finetune --from-block 5 (median images/s over epochs 2..EPOCHS, as ms/step =
#     1000 B / images/s) vs torch_backbone.py step (median ms/step after warm-up, Adam), interleaved REPS times.
# Model (torchvision ResNet-50, random weights: make_backbone_onnx.py) and images (make_jpegs.py) are
# cached in build/bench-backbone/ and only regenerated when missing.
set -euo pipefail

N=${1:-64} B=${2:-8} T=${3:-2} E=${4:-5} R=${5:-3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/tools/bench
WORK=$ROOT/build/bench-backbone
CVTL=$ROOT/build/bin/cvtl
PY=/usr/bin/python3
[ -x "$CVTL" ] || { echo "bench_backbone: $CVTL not built (cmake -B build && cmake --build build)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench_backbone: /usr/bin/time missing (Debian package: time)" >&2; exit 1; }
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD)
COMMAND="tools/bench/bench_backbone.sh $*"

# One thread budget for every runtime involved (OpenMP: torch/oneDNN; OpenBLAS; cv::setNumThreads via args).
export OMP_NUM_THREADS=$T OPENBLAS_NUM_THREADS=$T
mkdir -p "$WORK"
cd "$WORK"

# Generate into a temp name and rename, so an interrupted run never leaves a "present" but broken input.
[ -f resnet50.onnx ] || { $PY "$HERE/make_backbone_onnx.py" resnet50.tmp.onnx resnet50 && mv resnet50.tmp.onnx resnet50.onnx; }
[ -d "images-$N" ] || { rm -rf "images-$N.tmp" && $PY "$HERE/make_jpegs.py" "images-$N.tmp" "$N" >/dev/null &&
  mv "images-$N.tmp" "images-$N"; }  # class_a/, class_b/: the class-per-folder tree cvtl extract reads

timed() {  # timed NAME CMD...: stdout+stderr -> NAME.out, /usr/bin/time -v -> NAME.time
  local name=$1; shift
  /usr/bin/time -v -o "$name.time" "$@" >"$name.out" 2>&1 || { echo "bench_backbone: $name failed, see $WORK/$name.out" >&2; exit 1; }
}
rss_mb() { awk '/Maximum resident set size/ {printf "%.0f", $NF/1024}' "$1.time"; }
cvtl_rate() { sed -n 's/^extracted .* \([0-9.]*\) images\/s.*/\1/p' "$1.out"; }
json_field() { sed -n "s/.*\"$2\": \([0-9.]*\).*/\1/p" "$1.out"; }
best() { printf '%s\n' "$@" | sort -g | tail -1; }        # highest
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
least() { printf '%s\n' "$@" | sort -g | head -1; }       # lowest
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "" || b == "" || b == 0) print "n/a"; else printf "%.2f", a/b}'; }

# (1) extraction, ABAB
declare -a cx tx
for rep in $(seq 1 "$R"); do
  echo "(1) cvtl extract, run $rep ..." >&2
  rm -rf "cvtl-$rep.h5" "cvtl-$rep.h5".rows-*  # a cache of several segments maps them from its rows directory
  timed "cvtl-extract-$rep" "$CVTL" extract resnet50.onnx "images-$N" -o "cvtl-$rep.h5" --taps block4,block5 \
    --batch "$B" --threads "$T"
  cx+=("$(cvtl_rate "cvtl-extract-$rep")")
  echo "    $(tail -1 "cvtl-extract-$rep.out")" >&2
  echo "(1) torch extract, run $rep ..." >&2
  rm -f "torch-$rep.h5"
  timed "torch-extract-$rep" "$PY" "$HERE/torch_backbone.py" extract "images-$N" "torch-$rep.h5" --batch "$B" --threads "$T"
  tx+=("$(json_field "torch-extract-$rep" images_per_s)")
  echo "    ${tx[-1]} images/s" >&2
done
ENGINE=$(sed -n 's/.*\[\(onednn[^,]*\),.*/\1/p' cvtl-extract-1.out)

# (2) fine-tuning step on the cvtl cache (block4 tap), ABAB; EPOCHS=0 skips it
declare -a cs ts
for rep in $(seq 1 "$R"); do
  [ "$E" -gt 0 ] || break
  echo "(2) cvtl train finetune, run $rep ..." >&2
  rm -rf "run-$rep"
  timed "cvtl-train-$rep" "$CVTL" train cvtl-1.h5 -o "run-$rep" --strategy finetune --from-block 5 --epochs "$E" \
    --batch "$B" --threads "$T"
  # "epoch 2/5 ... 4.7 s  11 images/s": median over epochs 2..E (epoch 1 builds the plans)
  rate=$(median $(sed -n 's/^epoch \([0-9]*\)\/.* \([0-9.]*\) images\/s.*/\1 \2/p' "cvtl-train-$rep.out" |
    awk '$1 >= 2 {print $2}'))
  cs+=("$(awk -v r="$rate" -v b="$B" 'BEGIN {printf "%.1f", 1000 * b / r}')")
  echo "    epochs: $(sed -n 's/^epoch .* \([0-9.]*\) images\/s.*/\1/p' "cvtl-train-$rep.out" | tr '\n' ' ')images/s -> ${cs[-1]} ms/step" >&2
  echo "(2) torch step, run $rep ..." >&2
  timed "torch-step-$rep" "$PY" "$HERE/torch_backbone.py" step --batch "$B" --threads "$T" --cache cvtl-1.h5 \
    --warmup 2 --steps 7
  ts+=("$(json_field "torch-step-$rep" ms_per_step)")
  echo "    ${ts[-1]} ms/step" >&2
done

CX=$(best "${cx[@]}") TX=$(best "${tx[@]}") CS=$(least "${cs[@]}") TS=$(least "${ts[@]}")
MCX=$(median "${cx[@]}") MTX=$(median "${tx[@]}") MCS=$(median "${cs[@]}") MTS=$(median "${ts[@]}")
[ "$E" -gt 0 ] && TRAIN_ROWS=$(sed -n 's/.* on \([0-9]*\) samples (\([0-9]*\) val).*/\1 train + \2 val rows/p' cvtl-train-1.out)
echo
echo "commit $COMMIT, command: $COMMAND"
echo "ResNet-50 (torchvision, random weights), N=$N images, batch=$B, threads=$T ($(nproc) CPUs), torch $($PY -c 'import torch; print(torch.__version__)'), cvtl $ENGINE"
echo
echo "| measurement | cvtl | PyTorch | cvtl / PyTorch |"
echo "|---|---|---|---|"
echo "| extract block4+block5, images/s (best of $R; runs) | $CX (${cx[*]}) | $TX (${tx[*]}) | $(ratio "$CX" "$TX") |"
echo "| extract, median of $R | $MCX | $MTX | $(ratio "$MCX" "$MTX") |"
[ "$E" -gt 0 ] && echo "| fine-tune layer4 + head from block4, ms/step at batch $B (best of $R; runs) | $CS (${cs[*]}) | $TS (${ts[*]}) | $(ratio "$CS" "$TS") (speed: $(ratio "$TS" "$CS")) |"
[ "$E" -gt 0 ] && echo "| fine-tune, median of $R | $MCS | $MTS | $(ratio "$MCS" "$MTS") (speed: $(ratio "$MTS" "$MCS")) |"
echo "| cvtl extract after its first batch (the rate it prints), ms/image; runs | $(for r in $(seq 1 "$R"); do sed -n 's/.* \([0-9.]*\) ms\/image after the first batch.*/\1/p' "cvtl-extract-$r.out"; done | tr '\n' ' ') | | |"
if [ "$E" -gt 0 ]; then
  echo "| peak RSS extract / train, MB (run 1) | $(rss_mb cvtl-extract-1) / $(rss_mb cvtl-train-1) | $(rss_mb torch-extract-1) / $(rss_mb torch-step-1) | |"
  echo
  echo "cvtl train: $E epochs on $TRAIN_ROWS (2 classes); torch step: 10 classes, Adam, train mode."
else
  echo "| peak RSS extract, MB (run 1) | $(rss_mb cvtl-extract-1) | $(rss_mb torch-extract-1) | |"
  echo
  echo "EPOCHS=0: fine-tuning not measured."
fi
$PY -c "
import h5py, numpy as np
a, b = h5py.File('cvtl-1.h5', 'r'), h5py.File('torch-1.h5', 'r')
for t in ('block4', 'block5'):
    x, y = a['taps/' + t][()], b['taps/' + t][()]
    print('%s: max |cvtl - torch| = %.2e (values up to %.1f)' % (t, np.abs(x - y).max(), np.abs(y).max()))
"
