#!/usr/bin/env bash
# The multi-node model of docs/scaling.md: data-parallel time per epoch and speed-up from a measured
# per-image compute time and the gradient bytes a step allreduces.
#   tools/bench/scaling_model.sh NAME SECONDS_PER_IMAGE GRADIENT_BYTES [BATCH=256] [IMAGES=20000000] [GBIT=25] [LATENCY_US=5]
# Per step of a global batch B on P nodes (one rank each, each as fast as the measured node):
#   compute  = B / P x SECONDS_PER_IMAGE
#   allreduce (ring) = 2 (P - 1) / P x GRADIENT_BYTES / bandwidth + 2 (P - 1) x latency, not overlapped
#   (an upper bound: cvtl starts buckets during backward, which hides part of it when lower layers train)
# Epoch = IMAGES / B steps. Prints one markdown row per P in 1 8 64 512.
set -euo pipefail
NAME=$1 C=$2 G=$3 B=${4:-256} E=${5:-20000000} GBIT=${6:-25} LAT=${7:-5}
for P in 1 8 64 512; do
  awk -v n="$NAME" -v c="$C" -v g="$G" -v b="$B" -v e="$E" -v bw="$GBIT" -v lat="$LAT" -v p="$P" 'BEGIN {
    comp = b / p * c
    comm = (p > 1) ? 2 * (p - 1) / p * g / (bw * 1e9 / 8) + 2 * (p - 1) * lat * 1e-6 : 0
    steps = e / b
    epoch = steps * (comp + comm)
    one = steps * b * c
    local = b / p; note = (local < 1) ? " (under 1 image per node per step)" : ""
    printf "| %s | %d | %.1f | %.3f | %.3f | %.2f h | %.1fx | %.0f%% |%s\n", n, p, local, comp, comm, epoch / 3600, one / epoch, 100 * one / epoch / p, note
  }'
done
