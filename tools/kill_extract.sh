#!/usr/bin/env bash
# Kill test for extraction's resume (issue 11): runs `cvtl extract` on a PNG tree, kills it with
# SIGKILL at a random moment, re-runs the same command (which must resume, never refuse the cache as
# damaged), and repeats until KILLS kills have been made; then lets it finish and compares the taps
# and labels with an uninterrupted extraction using h5dump (Debian's hdf5-tools).
#   tools/kill_extract.sh [KILLS=100] [WORK=build/kill-test] [SEED=1]
# Prints each refused resume and a summary; exits non-zero if any resume was refused, the final
# cache differs, or more than one rows directory is left beside it.
set -uo pipefail
cd "$(dirname "$0")/.."
kills=${1:-100}
work=${2:-build/kill-test}
seed=${3:-1}
bin=build/bin
model=samples/models/fmnist-vgg16-coarse-fine.onnx
mkdir -p "$work"
if [ ! -f "$work/data/.done" ]; then
  "$bin/cvtl-fashion-mnist" "$work/data" --scenario coarse-fine --n 300 --test-per-class 1 > /dev/null && touch "$work/data/.done"
fi
args=(extract "$model" "$work/data/p2/train-n300" --taps pool3,pool4,pool5 --preset raw --batch 8 --threads 2 --engine opencv)
# Small segments (every 2 batches) so that kills land while segments are written, sealed, renamed
# and assembled, not only inside one long segment.
export CVTL_TEST_SEGMENT_ROWS="${SEGMENT_ROWS:-16}"
t0=$(date +%s.%N)
"$bin/cvtl" "${args[@]}" -o "$work/whole.h5" --force > /dev/null || { echo "kill-test: the uninterrupted extraction failed"; exit 1; }
span=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')
clean() { rm -rf "$work/part.h5" "$work/part.h5.parts" "$work/part.h5.tmp" "$work"/part.h5.rows-*; }
clean
RANDOM=$seed
made=0 refused=0 finished_early=0 in_segment=0 in_assembly=0 in_cleanup=0 elsewhere=0
while [ "$made" -lt "$kills" ]; do
  "$bin/cvtl" "${args[@]}" -o "$work/part.h5" > "$work/last.out" 2> "$work/last.err" &
  pid=$!
  # A random moment within the time an uninterrupted extraction takes (assembly included).
  sleep "$(awk -v r=$RANDOM -v s="$span" 'BEGIN { printf "%.3f", 0.05 + s * r / 32767 }')"
  if kill -9 "$pid" 2> /dev/null; then
    wait "$pid" 2> /dev/null
    made=$((made + 1))
    # Where the kill landed, read off what it left behind.
    if [ -e "$work/part.h5.parts.old" ]; then in_cleanup=$((in_cleanup + 1))
    elif [ -e "$work/part.h5.tmp" ]; then in_assembly=$((in_assembly + 1))  # mapping the segments (or copying)
    elif ls "$work/part.h5.parts/"*.tmp > /dev/null 2>&1; then in_segment=$((in_segment + 1))
    else elsewhere=$((elsewhere + 1)); fi
  else
    wait "$pid"; rc=$?
    if [ "$rc" -ne 0 ]; then
      refused=$((refused + 1))
      echo "kill-test: run after kill $made exited $rc: $(cat "$work/last.err")"
      clean   # start over so the count goes on
    else
      finished_early=$((finished_early + 1))
      clean
    fi
  fi
done
"$bin/cvtl" "${args[@]}" -o "$work/part.h5" > "$work/last.out" 2> "$work/last.err"
rc=$?
same="unknown"
if [ "$rc" -eq 0 ] && command -v h5dump > /dev/null; then
  if cmp -s <(h5dump -d /taps/pool5 -d /samples/label "$work/whole.h5" | tail -n +2) <(h5dump -d /taps/pool5 -d /samples/label "$work/part.h5" | tail -n +2); then
    same="identical"; else same="DIFFERENT"; fi
fi
# A finished cache of several segments maps one rows directory; any other is a leak.
rows_dirs=$(find "$work" -maxdepth 1 -name 'part.h5.rows-*' | wc -l)
echo "kill-test: $made kills ($in_segment with a segment open, $in_assembly during the assembly, $in_cleanup while segments were removed, $elsewhere before the first write or between segments), $refused refused resumes (damaged cache), $finished_early runs finished before the kill; final run exit $rc, content vs uninterrupted: $same; rows directories left: $rows_dirs"
[ "$refused" -eq 0 ] && [ "$rc" -eq 0 ] && [ "$same" != "DIFFERENT" ] && [ "$rows_dirs" -le 1 ]
