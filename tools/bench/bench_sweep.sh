#!/usr/bin/env bash
# Times the complete default `cvtl sweep` on the demo's n = 100 coarse->fine cache (1000 images:
# 800 train, 200 validation, so candidates are scored on the validation split) and prints the time
# per candidate from sweep.csv. Issue 10's target: the whole sweep within 10 minutes on 2 cores.
# Run it on a quiet machine: OpenMP teams slow down many-fold when another process shares a core.
#   tools/bench/bench_sweep.sh [WORK_DIR] [THREADS]
set -euo pipefail
cd "$(dirname "$0")/../.."
work=${1:-build/bench-sweep}
threads=${2:-2}
bin=build/bin
mkdir -p "$work"
if [ ! -f "$work/data/.done" ]; then
  "$bin/cvtl-fashion-mnist" "$work/data" --scenario coarse-fine --n 100 --test-per-class 1 > /dev/null
  touch "$work/data/.done"
fi
"$bin/cvtl" extract samples/models/fmnist-vgg16-coarse-fine.onnx "$work/data/p2/train-n100" -o "$work/cache.h5" \
  --taps input,pool1,pool2,pool3,pool4,pool5 --preset raw --val-fraction 0.2 --threads "$threads" --force
start=$(date +%s.%N)
"$bin/cvtl" sweep "$work/cache.h5" -o "$work/sweep" --threads "$threads" --force
end=$(date +%s.%N)
echo
echo "complete default sweep: $(awk "BEGIN { printf \"%.1f\", $end - $start }") s wall (target: 600 s)"
echo "seconds per candidate (all its trainings), from $work/sweep/sweep.csv:"
awk -F, 'NR > 1 { printf "  %-28s %8.1f s  %s\n", $2, $14, $15 }' "$work/sweep/sweep.csv"
