#!/usr/bin/env bash
# `cvtl train` with NO hyper-parameter flags (its defaults: Adam 1e-3, cosine per step, about 800 steps)
# against the PyTorch peer tools/bench/torch_transfer.py (Adam, cosine, same step budget, learning rate
# chosen on validation from 1e-3 and 3e-4), on the same images, split and source model.
#   tools/bench/train_defaults.sh OUT [BIN=build/bin]
# Tasks: disjoint n = 50 (seed 0, validation fraction 0.1) and coarse-fine n = 100 (seed 0, validation
# fraction 0.2). Strategies: classifier on pool5, finetune from block 5, linear probe on pool2.
# Each cvtl run is exported and evaluated once on the P2 test tree; nothing is chosen from test accuracy
# (cvtl keeps its default epoch, the last since 2026-12-04; the peer its best validation epoch and rate).
# Everything runs with one thread. Finished steps are skipped on a re-run (delete OUT/<task> to redo one).
# Prints a markdown table (also written to OUT/train_defaults.md).
set -euo pipefail

# shellcheck source=tools/bench/transfer_task_env.sh
source "$(dirname "$0")/transfer_task_env.sh"
transfer_task_env train_defaults "$@"
TAPS=input,pool1,pool2,pool3,pool4,pool5
START=$(date +%s)

# task: name scenario n val-fraction
TASKS=("disjoint-n50 disjoint 50 0.1" "coarse-fine-n100 coarse-fine 100 0.2")
# strategy: short name | cvtl flags | torch_transfer.py strategy
STRATEGIES=("classifier|--strategy classifier|classifier"
            "finetune-b5|--strategy finetune --from-block 5|finetune5"
            "probe-pool2|--strategy classifier --head linear --tap pool2|probe-pool2")

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

for task in "${TASKS[@]}"; do
  read -r name scenario n vf <<<"$task"
  dir=$OUT/$name
  model=$ROOT/samples/models/fmnist-vgg16-$scenario.onnx
  mkdir -p "$dir"
  if [ ! -f "$dir/data.done" ]; then
    log "$name: writing images"
    rm -rf "$dir/data"
    "$FMNIST" "$dir/data" --scenario "$scenario" --n "$n" --seed 0 >"$dir/data.log" 2>&1
    touch "$dir/data.done"
  fi
  train_dir=$dir/data/p2/train-n$n test_dir=$dir/data/p2/test cache=$dir/cache.h5
  log "$name: extract"
  "$CVTL" extract "$model" "$train_dir" -o "$cache" --taps "$TAPS" --preset raw \
    --val-fraction "$vf" --seed 0 --threads 1 >"$dir/extract.log" 2>&1
  for s in "${STRATEGIES[@]}"; do
    IFS='|' read -r sname flags _ <<<"$s"
    run=$dir/run-$sname
    if [ ! -f "$run-eval.json" ]; then
      log "$name: cvtl train $flags"
      # shellcheck disable=SC2086  # flags are words
      "$CVTL" train "$cache" -o "$run" $flags --model "$model" --threads 1 --force >"$run.train.log" 2>&1
      "$CVTL" export "$run" -o "$run.onnx" --model "$model" --force >"$run.export.log" 2>&1
      "$CVTL" evaluate "$run.onnx" "$test_dir" --threads 1 --report "$run-eval.tmp.json" >"$run.eval.log" 2>&1
      mv "$run-eval.tmp.json" "$run-eval.json"
      tail -n 1 "$run.train.log" >&2
      tail -n 1 "$run.eval.log" >&2
    fi
  done
  if [ ! -f "$dir/torch.json" ]; then
    log "$name: PyTorch peer"
    "$PY" "$ROOT/tools/bench/torch_transfer.py" --cache "$cache" --test-dir "$test_dir" --model "$model" \
      --threads 1 --seed 0 --out "$dir/torch.tmp.json" >"$dir/torch.log" 2>&1
    mv "$dir/torch.tmp.json" "$dir/torch.json"
  fi
done

STRATS=$(printf '%s\n' "${STRATEGIES[@]}") TASKNAMES=$(printf '%s\n' "${TASKS[@]}" | cut -d' ' -f1) \
"$PY" - "$OUT" <<'EOF' | tee "$OUT/train_defaults.md"
import json, os, re, sys
out = sys.argv[1]
strats = [line.split("|") for line in os.environ["STRATS"].splitlines()]
print("| task | strategy | cvtl defaults: val / test | PyTorch: lr, val / test | test difference (cvtl - torch) |")
print("|---|---|---|---|---|")
diffs = []
for task in os.environ["TASKNAMES"].splitlines():
    torch = {r["strategy"]: r for r in json.load(open(os.path.join(out, task, "torch.json")))["results"]}
    for short, flags, tname in strats:
        run = os.path.join(out, task, "run-" + short)
        test = json.load(open(run + "-eval.json"))["accuracy"]
        m = re.search(r"val accuracy ([0-9.]+) at epoch (\d+)", open(run + ".train.log").read())
        val = "%.4f (ep %s)" % (float(m.group(1)), m.group(2)) if m else "?"
        t = torch[tname]
        diffs.append(test - t["test_acc"])
        print("| %s | %s | %s / %.4f | %g, %.4f (ep %d) / %.4f | %+.4f |" % (
            task, flags.strip(), val, test, t["lr"], t["val_acc"], t["best_epoch"], t["test_acc"], diffs[-1]))
print()
print("mean test difference (cvtl - torch) over %d cells: %+.4f" % (len(diffs), sum(diffs) / len(diffs)))
EOF
echo "train_defaults: $(( $(date +%s) - START )) s" >&2
