#!/usr/bin/env bash
# Does cross-validated selection pick better models than single-split selection on small data?
#   tools/bench/selection_rule.sh OUT [BIN=build/bin]
#
# For each scenario (disjoint, coarse-fine) and draw seed (1, 2), the labelled set is Fashion-MNIST's
# P2 train-n50 (50 images per class). One activation cache is extracted from it (taps input, pool1..5,
# raw preset, validation fraction 0.1), and `cvtl sweep` picks and exports a winner from it twice:
#   cv     --folds 5   stratified 5-fold cross-validation over train+val with successive halving
#   split  --folds 1   the cache's single validation split (5 images per class: 25 rows disjoint, 50 coarse-fine)
# Each winner (best.onnx) is then evaluated once on a HOLDOUT set, and the two rules are compared on it.
#
# Why the holdout is not the test set: cvtl-fashion-mnist draws train-n50 and train-n1000 nested from
# Fashion-MNIST's 60,000 TRAINING images (the n50 images are a subset of the n1000 ones). The holdout is
# train-n1000 minus train-n50: 950 training images per class that the task never labelled, so neither
# sweep saw them, and they come from the same distribution as unseen data. The 10,000-image test split
# (OUT/*/data/p2/test) is written by the generator but never read here, so this measurement spends
# nothing of it and a later test-set report stays unbiased by the choice of selection rule.
#
# Records per (scenario, seed, rule): the winner, its validation score (mean over the folds it was
# scored on), its holdout accuracy and the sweep's wall seconds (training, the winner's retraining and
# export; one thread). Prints a markdown table and a one-line mean per rule (also OUT/selection_rule.md).
#
# Environment:
#   CONFIGS="disjoint:1 disjoint:2 coarse-fine:1 coarse-fine:2"   scenario:seed pairs, run in this order
#   MAX_MINUTES=70   a configuration not yet done is skipped (and said so) when the minutes spent so far
#                    plus the mean minutes per configuration run so far would exceed this (0: no limit)
# Re-running skips finished steps (data, holdout, cache, finished sweeps, evaluations); an interrupted
# sweep resumes from its sweep.json, and its seconds then cover only the resumed part.
set -euo pipefail

# shellcheck source=tools/bench/transfer_task_env.sh
source "$(dirname "$0")/transfer_task_env.sh"
transfer_task_env selection_rule "$@"
CONFIGS=${CONFIGS:-"disjoint:1 disjoint:2 coarse-fine:1 coarse-fine:2"}
MAX_MINUTES=${MAX_MINUTES:-70}
TAPS=input,pool1,pool2,pool3,pool4,pool5
START=$(date +%s)
ran=0 ran_seconds=0
SKIPPED=()

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

# The holdout: every train-n1000 image whose file (named by its Fashion-MNIST index) is not in
# train-n50, as symlinks in a class-per-folder tree. Checks that n50 is inside n1000, byte for byte.
make_holdout() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import filecmp, os, shutil, sys
p2, dst = sys.argv[1:]
small, big, tmp = os.path.join(p2, "train-n50"), os.path.join(p2, "train-n1000"), dst + ".tmp"
shutil.rmtree(tmp, ignore_errors=True)
if sorted(os.listdir(small)) != sorted(os.listdir(big)):
    sys.exit("selection_rule: %s and %s have different classes" % (small, big))
n = 0
for cls in sorted(os.listdir(big)):
    labelled = set(os.listdir(os.path.join(small, cls)))
    for f in labelled:
        if not filecmp.cmp(os.path.join(small, cls, f), os.path.join(big, cls, f), shallow=False):
            sys.exit("selection_rule: %s/%s differs from train-n1000's (the draws are not nested)" % (cls, f))
    os.makedirs(os.path.join(tmp, cls))
    for f in sorted(os.listdir(os.path.join(big, cls))):
        if f not in labelled:
            os.symlink(os.path.join(big, cls, f), os.path.join(tmp, cls, f))
            n += 1
os.rename(tmp, dst)
print("holdout: %d images (%d classes) in %s" % (n, len(os.listdir(dst)), dst), file=sys.stderr)
PY
}

# One sweep + its holdout evaluation; writes DIR/result-RULE.tsv.
sweep_and_evaluate() {
  local dir=$1 scenario=$2 seed=$3 rule=$4 folds=$5
  local sw=$dir/sw-$rule res=$dir/result-$rule.tsv
  [ -f "$res" ] && return
  if ! grep -q '^winner:' "$dir/sweep-$rule.log" 2>/dev/null || [ ! -f "$sw/best.onnx" ]; then
    log "$scenario seed $seed: cvtl sweep --folds $folds"
    local t0 t1
    t0=$(date +%s.%N)
    "$CVTL" sweep "$dir/cache.h5" -o "$sw" --folds "$folds" --threads 1 >"$dir/sweep-$rule.log" 2>"$dir/sweep-$rule.err"
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f\n", b - a}' >"$dir/sweep-$rule.seconds"
    grep -E '^(swept|winner)' "$dir/sweep-$rule.log" >&2
  fi
  log "$scenario seed $seed: evaluate $rule winner on the holdout"
  "$CVTL" evaluate "$sw/best.onnx" "$dir/holdout" --threads 1 --report "$dir/holdout-$rule.json" >"$dir/holdout-$rule.log" 2>&1
  tail -n 1 "$dir/holdout-$rule.log" >&2
  # winner line: "winner: NAME (reads TAP), validation score S over F fold(s), ..."
  /usr/bin/python3 - "$dir" "$rule" "$scenario" "$seed" >"$res.tmp" <<'EOF'
import json, re, sys
d, rule, scenario, seed = sys.argv[1:]
w = re.search(r"^winner: (\S+) \(reads (\S+)\), validation score ([0-9.]+) over (\d+) fold", open("%s/sweep-%s.log" % (d, rule)).read(), re.M)
acc = json.load(open("%s/holdout-%s.json" % (d, rule)))["accuracy"]
images = json.load(open("%s/holdout-%s.json" % (d, rule)))["images"]
secs = open("%s/sweep-%s.seconds" % (d, rule)).read().strip()
print("\t".join([scenario, seed, rule, w.group(1), w.group(2), w.group(3), w.group(4), "%.4f" % acc, str(images), secs]))
EOF
  mv "$res.tmp" "$res"
}

for config in $CONFIGS; do
  scenario=${config%:*} seed=${config#*:}
  dir=$OUT/$scenario-s$seed
  if [ -f "$dir/result-cv.tsv" ] && [ -f "$dir/result-split.tsv" ]; then continue; fi
  elapsed=$(( $(date +%s) - START ))
  if [ "$MAX_MINUTES" != 0 ] && [ "$ran" -gt 0 ] && [ $(( elapsed + ran_seconds / ran )) -gt $(( MAX_MINUTES * 60 )) ]; then
    log "$scenario seed $seed: SKIPPED (${elapsed}s spent + ~$(( ran_seconds / ran ))s per configuration > ${MAX_MINUTES} min)"
    SKIPPED+=("$scenario seed $seed")
    continue
  fi
  c0=$(date +%s)
  model=$ROOT/samples/models/fmnist-vgg16-$scenario.onnx
  mkdir -p "$dir"
  if [ ! -f "$dir/data.done" ]; then
    log "$scenario seed $seed: writing images"
    rm -rf "$dir/data" "$dir/holdout"
    "$FMNIST" "$dir/data" --scenario "$scenario" --n 50,1000 --seed "$seed" >"$dir/data.log" 2>&1
    touch "$dir/data.done"
  fi
  [ -d "$dir/holdout" ] || make_holdout "$dir/data/p2" "$dir/holdout"
  log "$scenario seed $seed: extract"
  "$CVTL" extract "$model" "$dir/data/p2/train-n50" -o "$dir/cache.h5" --taps "$TAPS" --preset raw --threads 1 \
    >"$dir/extract.log" 2>&1
  tail -n 1 "$dir/extract.log" >&2
  sweep_and_evaluate "$dir" "$scenario" "$seed" cv 5
  sweep_and_evaluate "$dir" "$scenario" "$seed" split 1
  ran=$((ran + 1)) ran_seconds=$((ran_seconds + $(date +%s) - c0))
done

CONFIGS_LIST=$CONFIGS SKIPPED_LIST=$(printf '%s\n' ${SKIPPED[@]+"${SKIPPED[@]}"}) \
/usr/bin/python3 - "$OUT" <<'EOF' | tee "$OUT/selection_rule.md"
import os, sys
out = sys.argv[1]
rows = []
for config in os.environ["CONFIGS_LIST"].split():
    scenario, seed = config.rsplit(":", 1)
    for rule in ("cv", "split"):
        path = os.path.join(out, "%s-s%s" % (scenario, seed), "result-%s.tsv" % rule)
        if os.path.exists(path):
            rows.append(open(path).read().strip().split("\t"))
print("| scenario | seed | rule | winner (tap) | validation score (folds) | holdout accuracy (images) | sweep s |")
print("|---|---|---|---|---|---|---|")
for scenario, seed, rule, winner, tap, score, folds, acc, images, secs in rows:
    print("| %s | %s | %s | %s (%s) | %s (%s) | %s (%s) | %.0f |" % (
        scenario, seed, "cv (--folds 5)" if rule == "cv" else "split (--folds 1)", winner, tap, score, folds, acc, images, float(secs)))
print()
by = {}
for r in rows:
    by.setdefault(r[2], []).append(r)
for rule in ("cv", "split"):
    rs = by.get(rule, [])
    if rs:
        n = len(rs)
        print("mean %-5s over %d draws: holdout accuracy %.4f, validation score %.4f, sweep %.0f s" % (
            rule, n, sum(float(r[7]) for r in rs) / n, sum(float(r[5]) for r in rs) / n, sum(float(r[9]) for r in rs) / n))
cv = {(r[0], r[1]): float(r[7]) for r in by.get("cv", [])}
sp = {(r[0], r[1]): float(r[7]) for r in by.get("split", [])}
both = sorted(set(cv) & set(sp))
if both:
    d = [cv[k] - sp[k] for k in both]
    print("cv - split holdout accuracy per draw: %s; mean %+.4f (cv better on %d of %d, ties %d)" % (
        ", ".join("%s/%s %+.4f" % (k[0], k[1], x) for k, x in zip(both, d)), sum(d) / len(d),
        sum(x > 0 for x in d), len(d), sum(x == 0 for x in d)))
skipped = [s for s in os.environ.get("SKIPPED_LIST", "").splitlines() if s]
if skipped:
    print("skipped for time: %s" % ", ".join(skipped))
EOF
echo "selection_rule: $(( $(date +%s) - START )) s" >&2
