#!/usr/bin/env bash
# The multi-node model of docs/scaling.md: data-parallel time per epoch and speed-up of one strategy,
# from what bench_scaling.sh measured on one node.
#   tools/bench/scaling_model.sh NAME FB_SECONDS_PER_IMAGE OPTIMIZER_SECONDS_PER_STEP GRADIENT_BYTES
#                                [BATCH=256] [IMAGES=1000000] [GBIT=25] [LATENCY_US=5]
# Per step of a global batch B on P nodes (one rank per node, each node as fast as the measured one):
#   compute   = B / P x FB_SECONDS_PER_IMAGE        (forward + backward of the node's slice)
#   optimizer = OPTIMIZER_SECONDS_PER_STEP           (every rank takes the same full step: it does not shrink)
#   allreduce = 2 (P - 1) / P x GRADIENT_BYTES / bandwidth + 2 (P - 1) x latency   (ring; not overlapped:
#               an upper bound, cvtl sums buckets while backward runs below them)
# Epoch = IMAGES / B steps. Prints one markdown row per P in 1 8 64 512: local batch, seconds per
# step of each part, minutes per epoch, speed-up over one node and efficiency (speed-up / P).
set -euo pipefail
NAME=$1 C=$2 OPT=$3 G=$4 B=${5:-256} E=${6:-1000000} GBIT=${7:-25} LAT=${8:-5}
for P in 1 8 64 512; do
  awk -v n="$NAME" -v c="$C" -v opt="$OPT" -v g="$G" -v b="$B" -v e="$E" -v bw="$GBIT" -v lat="$LAT" -v p="$P" 'BEGIN {
    comp = b / p * c
    comm = (p > 1) ? 2 * (p - 1) / p * g / (bw * 1e9 / 8) + 2 * (p - 1) * lat * 1e-6 : 0
    step = comp + opt + comm
    one = b * c + opt
    epoch = e / b * step
    printf "| %s | %d | %.1f | %.4f | %.4f | %.4f | %.1f | %.1fx | %.0f%% |\n", n, p, b / p, comp, opt, comm, epoch / 60, one / step, 100 * one / step / p
  }'
done
