#!/usr/bin/env bash
# Extraction speed guard (issue 26): the oneDNN fast path against stock cv::dnn on the same images,
# in one run, interleaved. A ratio of two engines measured side by side survives a noisy or slower
# machine where an absolute time does not; a change that slows the fast path lowers it.
#
#   tools/bench/guard_extract.sh [--cvtl BIN] [--model M.onnx] [--images DIR] [--size S] [--batch B]
#                                [--threads T] [--reps R] [--expect X] [--drop F]
#
# Each rep runs `cvtl extract --taps pool5` once per engine and reads the network's steady time
# ("ms/image after the first batch": the first batch pays one-off costs, plan building and weight
# reorders, that say nothing about the network's speed). The guard's figure is the ratio over reps
# the fastest stock rep's ms / the fastest fast-path rep's ms. It exits 1 when that figure is below (1 - F) x the expected ratio.
#
# Defaults are CI's small input, which needs nothing but the repository and a build: a half-width
# VGG-16 with random weights (cvtl_make_vgg16) at 224 pixels, on 64 copies of the test fixture images.
# Half width, not the demo's quarter-width model: at a quarter width direct convolution beats
# Winograd, so that model would not see the fast path lose its Winograd layers.
# The expected ratio is the line of tools/bench/guard_extract.expected for this CPU model (recorded
# in docs/benchmarks.md, "Extraction speed guard"), or --expect; a CPU with none gets a warning.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CVTL=$ROOT/build/bin/cvtl MODEL="" IMAGES="" SIZE=224 B=8 T=2 REPS=7 EXPECT="" DROP=0.20
while [ $# -gt 0 ]; do
  case "$1" in
    --cvtl) CVTL=$2 ;; --model) MODEL=$2 ;; --images) IMAGES=$2 ;; --size) SIZE=$2 ;; --batch) B=$2 ;;
    --threads) T=$2 ;; --reps) REPS=$2 ;; --expect) EXPECT=$2 ;; --drop) DROP=$2 ;;
    *) echo "guard_extract: unknown option $1 (see the header of $0)" >&2; exit 2 ;;
  esac
  shift 2
done
[ -x "$CVTL" ] || { echo "guard_extract: $CVTL not built (tools/build.sh cvtl)" >&2; exit 2; }
[ -z "$MODEL" ] || [ -f "$MODEL" ] || { echo "guard_extract: model $MODEL not found" >&2; exit 2; }
# The expected ratio depends on the processor (oneDNN picks other kernels on other CPUs: Winograd
# F(4,3) on this project's Intel hosts, F(2,3) on its AMD ones), so it is recorded per CPU model.
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
if [ -z "$EXPECT" ]; then
  EXPECT=$(awk -F'\t' -v cpu="$CPU" '$1 == cpu {print $2}' "$ROOT/tools/bench/guard_extract.expected" | head -1)
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
if [ -z "$MODEL" ]; then  # half-width VGG-16, random weights, written by cvtl's exporter
  MODEL=$WORK/vgg16-half.onnx
  "$(dirname "$CVTL")/cvtl_make_vgg16" "$MODEL" --width 0.5 --size "$SIZE"
fi
if [ -z "$IMAGES" ]; then  # 64 images: copies of the 12 fixture images, their classes kept
  IMAGES=$WORK/images
  for k in 1 2 3 4 5 6; do
    for f in "$ROOT"/tests/fixtures/images/*/*; do
      cls=$(basename "$(dirname "$f")")
      mkdir -p "$IMAGES/$cls"
      [ "$(find "$IMAGES" -type f | wc -l)" -lt 64 ] && cp "$f" "$IMAGES/$cls/$k-$(basename "$f")"
    done
  done
fi

steady_ms() {  # steady_ms ENGINE: the network's ms/image after the first batch
  local out
  rm -rf "$WORK/guard.h5" "$WORK"/guard.h5.rows-*
  out=$("$CVTL" extract "$MODEL" "$IMAGES" -o "$WORK/guard.h5" --taps pool5 --size "$SIZE" --batch "$B" --threads "$T" \
    --engine "$1" 2>&1) || { echo "guard_extract: cvtl extract --engine $1 failed: $out" >&2; exit 2; }
  sed -n 's/.*, \([0-9.]*\) ms\/image after the first batch.*/\1/p' <<<"$out"
}

stocks=() fasts=()
for r in $(seq "$REPS"); do
  stock=$(steady_ms opencv) fast=$(steady_ms onednn)
  [ -n "$stock" ] && [ -n "$fast" ] || { echo "guard_extract: no steady time in cvtl's output (too few batches?)" >&2; exit 2; }
  echo "rep $r: stock cv::dnn $stock ms/image, fast path $fast ms/image"
  stocks+=("$stock") fasts+=("$fast")
done
# The fastest rep of each engine: a busy machine only ever adds time, so minima are the stable figures.
fastest() { printf '%s\n' "$@" | sort -g | head -1; }
ratio=$(awk -v s="$(fastest "${stocks[@]}")" -v f="$(fastest "${fasts[@]}")" 'BEGIN {printf "%.3f", s / f}')
if [ -z "$EXPECT" ]; then
  echo "guard_extract: warning: no expected ratio recorded for the CPU '$CPU'; measured ${ratio}x. Record it in tools/bench/guard_extract.expected"
  exit 0
fi
floor=$(awk -v e="$EXPECT" -v d="$DROP" 'BEGIN {printf "%.3f", e * (1 - d)}')
if awk -v m="$ratio" -v f="$floor" 'BEGIN {exit !(m < f)}'; then
  echo "guard_extract: FAIL: the fast path is ${ratio}x stock cv::dnn, below ${floor} (expected ${EXPECT}, at most $DROP lower)"
  exit 1
fi
echo "guard_extract: ok: the fast path is ${ratio}x stock cv::dnn (expected ${EXPECT}, floor ${floor})"
