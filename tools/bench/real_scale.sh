#!/usr/bin/env bash
# The cache at real scale (issue 22): the full VGG-16 (torchvision layout, 138 M parameters, random
# weights: no model hub is reachable) at 224 px on 2,000 labelled photos-sized images (Fashion-MNIST,
# 10 classes x 200, upscaled to 224 in three channels), as a new user runs it from the README:
#
#   extract      cvtl extract MODEL train/ -o cache.h5            (default taps pool4,pool5)
#   sweep        cvtl sweep cache.h5 -o sweep-default             (default budget; prints its plan first)
#   sweep-b10    cvtl sweep cache.h5 -o sweep-b10 --budget 10
#   probes       cvtl train --strategy classifier --head linear --tap pool4 / pool5, defaults; the one
#                with the better validation accuracy is the "best single probe"
#   export       cvtl export of the default sweep's retrained winner (the sweep exports it too; timed alone here)
#   evaluate     cvtl evaluate on 500 held-out images (50 per class, never seen by any choice), once per
#                chosen model: the default sweep's, the --budget 10 sweep's, the best probe's
#   peer         PyTorch doing the work each sweep did, the frozen layers re-run under no_grad at every
#                step (tools/bench/torch_sweep_peer.py: measured per-image rates x the sweep's images)
#
# Each phase: wall seconds, peak memory (max RSS), and the peak size of its output (polled every 2 s).
# Prints the acceptance checks at the end and keeps everything in WORK (results.md, phases.tsv, logs).
#   tools/bench/real_scale.sh
# Environment:
#   WORK=build/real-scale  MODEL=WORK/vgg16.onnx (made by make_vgg16_onnx.py when missing)
#   PER_CLASS=200 TEST_PER_CLASS=50 THREADS=2
#   PHASES="extract sweep sweep-b10 probes export evaluate peer"   a subset re-runs only those (inputs must exist)
#   SWEEP_ARGS=            more options for both sweeps, after theirs (a smoke test: "--budget 1 --steps 20")
# Takes about an hour on 2 cores: run it on a quiet machine.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/tools/bench
BUILD=${BUILD_DIR:-build}
[[ $BUILD = /* ]] || BUILD=$ROOT/$BUILD
CVTL=$BUILD/bin/cvtl
PY=/usr/bin/python3
WORK=${WORK:-$BUILD/real-scale}
MODEL=${MODEL:-$WORK/vgg16.onnx}
PER_CLASS=${PER_CLASS:-200} TEST_PER_CLASS=${TEST_PER_CLASS:-50} T=${THREADS:-2}
PHASES=${PHASES:-"extract sweep sweep-b10 probes export evaluate peer"}
read -r -a sweep_args <<<"${SWEEP_ARGS:-}"
[ -x "$CVTL" ] || { echo "real_scale: build cvtl first ($CVTL missing)" >&2; exit 1; }
# The commit the binaries were built from is the one checked out now (build first, then run this).
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD)
[ -z "$(git -C "$ROOT" status --porcelain -- plugin pipeline tools CMakeLists.txt)" ] || COMMIT="$COMMIT + local changes"
mkdir -p "$WORK"
cd "$WORK"
wants() { [[ " $PHASES " == *" $1 "* ]]; }

# Inputs: the model and the images (made once).
if [ ! -f "$MODEL" ]; then
  $PY "$HERE/make_vgg16_onnx.py" "$MODEL.tmp" && mv "$MODEL.tmp" "$MODEL"
fi
if [ ! -f data/.done ]; then
  rm -rf data fm
  "$BUILD/bin/cvtl-fashion-mnist" fm --scenario coarse-fine --n "$PER_CLASS" --test-per-class "$TEST_PER_CLASS" >/dev/null
  $PY "$HERE/upscale_images.py" "fm/p2/train-n$PER_CLASS" data/train 224
  $PY "$HERE/upscale_images.py" fm/p2/test data/test 224
  rm -rf fm
  touch data/.done
fi

# phase NAME WATCHED_PATH COMMAND...: runs it with its output in NAME.log, records
# "NAME seconds max_rss_bytes peak_bytes_of_WATCHED_PATH" in phases.tsv.
phase() {
  local name=$1 watched=$2
  shift 2
  echo "== $name: $*" >&2
  local peak_file; peak_file=$(mktemp)
  echo 0 >"$peak_file"
  ( peak=0; while sleep 2; do
      b=$(du -sb "$watched" 2>/dev/null | cut -f1 || echo 0)
      [ "${b:-0}" -gt "$peak" ] && peak=$b && echo "$peak" >"$peak_file"
    done ) &
  local poller=$!
  local start; start=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$name.rss" "$@" >"$name.log" 2>"$name.err" || { kill $poller; echo "real_scale: $name failed, see $WORK/$name.err" >&2; tail -3 "$name.err" >&2; exit 1; }
  local end; end=$(date +%s.%N)
  kill $poller 2>/dev/null; wait $poller 2>/dev/null || true
  local final; final=$(du -sb "$watched" 2>/dev/null | cut -f1 || echo 0)
  local peak; peak=$(cat "$peak_file"); rm -f "$peak_file"
  [ "$final" -gt "$peak" ] && peak=$final
  local secs; secs=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.1f", b - a}')
  sed -i "/^$name\t/d" phases.tsv 2>/dev/null || true
  printf '%s\t%s\t%s\t%s\n' "$name" "$secs" "$(( $(tail -1 "$name.rss") * 1024 ))" "$peak" >>phases.tsv
  cat "$name.log" >&2
}

wants extract && phase extract cache.h5 "$CVTL" extract "$MODEL" data/train -o cache.h5 --threads "$T" --force
# Each sweep starts in an empty directory: its peak size must not count an earlier run's files.
wants sweep && rm -rf sweep-default && phase sweep sweep-default "$CVTL" sweep cache.h5 -o sweep-default --threads "$T" --force ${sweep_args[@]+"${sweep_args[@]}"}
wants sweep-b10 && rm -rf sweep-b10 && phase sweep-b10 sweep-b10 "$CVTL" sweep cache.h5 -o sweep-b10 --budget 10 --threads "$T" --force ${sweep_args[@]+"${sweep_args[@]}"}
if wants probes; then
  for tap in pool4 pool5; do
    phase "probe-$tap" "probe-$tap" "$CVTL" train cache.h5 -o "probe-$tap" --strategy classifier --head linear --tap "$tap" \
      --threads "$T" --force
  done
fi
# The best single probe, chosen on validation only.
best_probe=$($PY - <<'EOF'
import json
score = {t: max(e["val_accuracy"] for e in json.load(open(f"probe-{t}/metrics.json"))) for t in ("pool4", "pool5")}
print(max(score, key=lambda t: (score[t], t == "pool5")))
EOF
)
if wants export; then
  winner=$($PY -c 'import csv; print(next(r["candidate"] for r in csv.DictReader(open("sweep-default/sweep.csv")) if r["rank"] == "1"))')
  phase export exported.onnx "$CVTL" export "sweep-default/runs/$winner/all" -o exported.onnx --force
  "$CVTL" export "probe-$best_probe" -o probe.onnx --force >/dev/null
fi
if wants evaluate; then
  phase evaluate-sweep eval-sweep.json "$CVTL" evaluate sweep-default/best.onnx data/test --report eval-sweep.json
  phase evaluate-b10 eval-b10.json "$CVTL" evaluate sweep-b10/best.onnx data/test --report eval-b10.json
  phase evaluate-probe eval-probe.json "$CVTL" evaluate probe.onnx data/test --report eval-probe.json
fi
if wants peer; then
  phase peer-sweep peer-sweep.json $PY "$HERE/torch_sweep_peer.py" --sweep sweep-default --cache cache.h5 --threads "$T" --out peer-sweep.json
  phase peer-b10 peer-b10.json $PY "$HERE/torch_sweep_peer.py" --sweep sweep-b10 --cache cache.h5 --threads "$T" --out peer-b10.json
fi

# The checks, computed from the files above.
BEST_PROBE=$best_probe COMMIT=$COMMIT CPU="$(lscpu | sed -n 's/^Model name: *//p')" \
  $PY "$HERE/real_scale_report.py" | tee results.md
