#!/usr/bin/env bash
# Scaling on this machine (issue 14): 2 ranks x 1 thread against 1 process x 2 threads, in one run.
#   tools/bench/bench_scaling.sh [N_IMAGES=128] [EPOCHS=3]
# (1) extraction of N images, VGG-16 at 224, taps input + pool4 + pool5 (the scratch, fine-tuning and
#     classifier strategies' inputs): cvtl's own seconds (model load excluded; for 2 ranks including
#     the merge) and wall seconds.
# (2) training from that cache, each strategy: linear probe on pool5, the source classifier on pool5
#     (fc6-fc8, ~120 M parameters), fine-tuning block 5 + classifier on pool4, scratch on input
#     (scratch: 2 epochs): median images/s over epochs 2..E as cvtl prints it (global rows per second),
#     and the gradient bytes each rank sums per step (cvtl's "each step summed" line); then, per run, the
#     median seconds per epoch spent in forward+backward, waiting for the gradient sums, the optimizer.
#   ONLY_TRAIN=1 reuses build/bench-scaling/one.h5 and skips (1).
# docs/scaling.md turns these into the multi-node model. Model and images live in build/bench-scaling/.
set -euo pipefail

N=${1:-128} E=${2:-3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/tools/bench
WORK=$ROOT/build/bench-scaling
CVTL=$ROOT/build/bin/cvtl
PY=/usr/bin/python3
MPIRUN=(mpirun --allow-run-as-root --oversubscribe -np 2)
[ -x "$CVTL" ] || { echo "bench_scaling: build cvtl first (tools/build.sh)" >&2; exit 1; }
command -v mpirun >/dev/null || { echo "bench_scaling: mpirun not found (tools/install-deps.sh installs openmpi-bin)" >&2; exit 1; }
mkdir -p "$WORK"
cd "$WORK"
if [ ! -f vgg16.onnx ]; then
  if [ -f "$ROOT/build/bench-cache/vgg16.onnx" ]; then ln -s "$ROOT/build/bench-cache/vgg16.onnx" vgg16.onnx
  else $PY "$HERE/make_vgg16_onnx.py" vgg16.tmp.onnx && mv vgg16.tmp.onnx vgg16.onnx; fi
fi
seconds() { sed -n 's/.* in \([0-9.]*\) s.*/\1/p' "$1" | head -1; }
wall() {  # wall NAME CMD...: runs CMD > NAME.out, prints wall seconds
  local name=$1; shift
  local t0; t0=$(date +%s.%N)
  "$@" >"$name.out"
  awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
median_rate() {  # median images/s of epochs 2.. in a train output
  awk '/^epoch / && !/^epoch 1\// {for (i = 1; i <= NF; i++) if ($(i + 1) == "images/s") print $i}' "$1" | sort -n |
    awk '{v[NR] = $1} END {if (NR == 0) print "nan"; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

rm -rf run-*
echo "| run | epoch s | compute s | waiting for gradient sums s | optimizer s |" >breakdown.md
echo "|---|---|---|---|---|" >>breakdown.md
if [ "${ONLY_TRAIN:-0}" != 1 ]; then
rm -rf data one.h5* two.h5*
$PY "$HERE/make_jpegs.py" data "$N" >/dev/null
echo "(1) extraction, 1 x 2 threads then 2 ranks x 1 thread ..." >&2
args=(extract vgg16.onnx data --taps input,pool4,pool5 --batch 8)
w1=$(wall ext-one "$CVTL" "${args[@]}" -o one.h5 --threads 2)
w2=$(wall ext-two "${MPIRUN[@]}" "$CVTL" "${args[@]}" -o two.h5 --threads 1)
s1=$(seconds ext-one.out) s2=$(seconds ext-two.out)
fi

echo
echo "N=$N images, $(nproc) CPUs, VGG-16 at 224, batch 8 (extraction) / 32 (training)"
echo
echo "| job | 1 process x 2 threads | 2 ranks x 1 thread | ratio 2 ranks / 1 process (time) |"
echo "|---|---|---|---|"
[ "${ONLY_TRAIN:-0}" = 1 ] ||
  echo "| extraction, cvtl s (wall s) | $s1 ($w1) | $s2 ($w2) | $(ratio "$s2" "$s1") ($(ratio "$w2" "$w1")) |"

strategy() {  # strategy NAME EPOCHS ARGS...
  local name=$1 epochs=$2; shift 2
  echo "(2) training: $name ..." >&2
  local targs=(train one.h5 --batch 32 --epochs "$epochs" --seed 1 "$@")
  "$CVTL" "${targs[@]}" -o "run-$name-one" --threads 2 >"train-$name-one.out"
  "${MPIRUN[@]}" "$CVTL" "${targs[@]}" -o "run-$name-two" --threads 1 >"train-$name-two.out"
  local r1 r2 bytes
  r1=$(median_rate "train-$name-one.out") r2=$(median_rate "train-$name-two.out")
  bytes=$(sed -n 's/.*each step summed \(.*\) of gradients.*/\1/p' "train-$name-two.out")
  echo "| train $name: images/s (allreduce per step: $bytes) | $r1 | $r2 | $(ratio "$r1" "$r2") |"
  breakdown "run-$name-one" "$name, 1 x 2" >>breakdown.md
  breakdown "run-$name-two" "$name, 2 x 1 (rank 0)" >>breakdown.md
}
breakdown() {  # breakdown RUN LABEL: median seconds per epoch (epochs 2..) of compute, gradient-sum wait, optimizer
  awk -F, -v label="$2" 'NR > 2 {c[++n] = $9; r[n] = $10; o[n] = $11; s[n] = $7}
    function med(a,   i, j, t, m) {m = n; for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) {t = a[i]; a[i] = a[j]; a[j] = t}
                                    return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2}
    END {if (n) printf "| %s | %.3f | %.3f | %.3f | %.3f |\n", label, med(s), med(c), med(r), med(o)}' "$1/metrics.csv"
}
strategy probe-pool5 "$E" --strategy classifier --head linear --tap pool5
strategy classifier-pool5 "$E" --strategy classifier --head source
strategy finetune-block5 "$E" --strategy finetune --from-block 5
strategy scratch 2 --strategy scratch
echo
echo "Median seconds per epoch (epochs 2..E) and where the steps' time went:"
echo
cat breakdown.md
