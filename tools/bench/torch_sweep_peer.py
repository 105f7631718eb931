#!/usr/bin/python3
"""PyTorch peer of a finished `cvtl sweep` on a VGG-16 cache at 224 px (tools/bench/real_scale.sh).

For every candidate the sweep trained, the same work done the way PyTorch's transfer-learning
tutorials do it, without a cache: every training step re-runs the frozen layers under no_grad on the
images, then trains the candidate's layers (Adam, batch 32); every validation pass runs the whole
network. The work is the sweep's own: per fold, the epochs it ran (the length of its validation
curve in sweep.json) over the fold's training and validation rows; plus the winner's retraining on
every labelled row.

Running that in PyTorch would take hours (which is the point of the cache), so the peer's time is
measured per image on the real shapes and multiplied by the images the sweep processed:
  train seconds/image: one warm-up step, then --steps timed steps of --batch images (mean);
  eval seconds/image:  one warm-up batch, then 2 timed batches under no_grad (mean).
The model is torchvision's VGG-16 layout with random weights (speed does not depend on them).

Prints a table and writes JSON (--out): per candidate its trainings, epochs, cvtl seconds (sweep.csv),
the peer's projected seconds and the ratio, and the totals.

    /usr/bin/python3 tools/bench/torch_sweep_peer.py --sweep DIR --cache CACHE.h5 --threads 2 --out peer.json
"""
import argparse
import csv
import json
import os
import re
import time

import h5py
import numpy as np
import torch
import torch.nn as nn
import torchvision

TAPS = ["input", "pool1", "pool2", "pool3", "pool4", "pool5"]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sweep", required=True, help="a finished cvtl sweep directory")
    p.add_argument("--cache", required=True, help="the cache it swept (for its split)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=3, help="timed training steps per candidate")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--out", required=True)
    return p.parse_args()


def cut_after(features, tap):
    """Index in vgg.features just after `tap` (pool k = the k-th MaxPool2d)."""
    if tap == "input":
        return 0
    pools = [i for i, m in enumerate(features) if isinstance(m, nn.MaxPool2d)]
    return pools[TAPS.index(tap) - 1] + 1


def build(row, classes):
    """(frozen, trained) modules for a sweep.csv row: family, tap, cut."""
    torch.manual_seed(0)
    vgg = torchvision.models.vgg16()
    vgg.classifier[-1] = nn.Linear(4096, classes)
    family, tap = row["family"], row["tap"]
    head = nn.Sequential(vgg.avgpool, nn.Flatten(), vgg.classifier)
    if family == "scratch":
        return nn.Identity(), nn.Sequential(vgg.features, head)
    if family == "classifier":
        return vgg.features, head
    cut = cut_after(vgg.features, tap)
    frozen = vgg.features[:cut]
    if family == "finetune":
        return frozen, nn.Sequential(vgg.features[cut:], head)
    if family == "probe":
        with torch.no_grad():
            width = frozen(torch.zeros(1, 3, SIZE, SIZE)).numel()
        return frozen, nn.Sequential(nn.Flatten(), nn.Linear(width, classes))
    raise SystemExit(f"torch_sweep_peer: unknown family {family!r} in sweep.csv")


def time_candidate(row, classes, args):
    frozen, trained = build(row, classes)
    frozen.eval()
    for p in frozen.parameters():
        p.requires_grad_(False)
    optimizer = torch.optim.Adam(trained.parameters(), lr=1e-3)
    x = torch.randn(args.batch, 3, args.size, args.size)
    y = torch.randint(0, classes, (args.batch,))

    def train_step():
        with torch.no_grad():
            f = frozen(x)
        trained.train()
        loss = nn.functional.cross_entropy(trained(f), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def eval_batch():
        trained.eval()
        with torch.no_grad():
            trained(frozen(x))

    train_step()
    start = time.perf_counter()
    for _ in range(args.steps):
        train_step()
    train = (time.perf_counter() - start) / (args.steps * args.batch)
    eval_batch()
    start = time.perf_counter()
    for _ in range(2):
        eval_batch()
    evaluate = (time.perf_counter() - start) / (2 * args.batch)
    return train, evaluate


def stopped_epochs(name, state, row):
    """Epochs of the candidate's trainings that were stopped early (the epoch gate, the budget): no fold
    result, but the work was done. sweep.json keeps them per candidate; older sweeps only in the note."""
    record = state.get("abandoned", {}).get(name)
    if isinstance(record, dict):
        return int(record.get("epochs", 0))
    m = re.match(r"stopped at epoch (\d+) of|stopped by the time budget after (\d+) of", row.get("note", ""))
    return int(m.group(1) or m.group(2)) if m else 0


def fold_rows(cache, folds):
    """(train rows, val rows) of one fold: the cache's split, or a K-fold partition of train+val."""
    with h5py.File(cache, "r") as f:
        split = np.asarray(f["samples/split"])
    train, val = int((split == 0).sum()), int((split == 1).sum())
    if folds <= 1:
        return train, val, train + val
    labelled = train + val
    return labelled - labelled // folds, labelled // folds, labelled


def main():
    global SIZE
    args = parse_args()
    SIZE = args.size
    torch.set_num_threads(args.threads)
    state = json.load(open(os.path.join(args.sweep, "sweep.json")))
    rows = {r["candidate"]: r for r in csv.DictReader(open(os.path.join(args.sweep, "sweep.csv")))}
    with h5py.File(args.cache, "r") as f:
        classes = len(f["classes"])
    train_rows, val_rows, labelled = fold_rows(args.cache, int(state["settings"]["folds"]))
    rates = {}  # per candidate base (the learning rate does not change the speed)
    results, winner = [], None
    for name, folds in state["trials"].items():
        row = rows[name]
        if row["rank"] == "1":
            winner = name
        epochs = sum(len(f["val_accuracy"]) for f in folds) + stopped_epochs(name, state, row)
        if epochs == 0:
            continue
        base = (row["family"], row["tap"], row["cut"])
        if base not in rates:
            rates[base] = time_candidate(row, classes, args)
        train, evaluate = rates[base]
        peer = epochs * (train_rows * train + val_rows * evaluate)
        results.append({"candidate": name, "trainings": len(folds) + (1 if stopped_epochs(name, state, row) else 0), "epochs": epochs, "cvtl_seconds": float(row["seconds"]),
                        "peer_seconds": peer, "peer_train_ms_per_image": 1e3 * train, "peer_eval_ms_per_image": 1e3 * evaluate})
    final = None
    if winner:
        all_run = os.path.join(args.sweep, "runs", winner, "all", "metrics.json")
        epochs = len(json.load(open(all_run))) if os.path.exists(all_run) else 0
        row = rows[winner]
        train, _ = rates.get((row["family"], row["tap"], row["cut"])) or time_candidate(row, classes, args)
        final = {"candidate": winner, "epochs": epochs, "peer_seconds": epochs * labelled * train}
    total_cvtl = sum(r["cvtl_seconds"] for r in results)
    total_peer = sum(r["peer_seconds"] for r in results) + (final["peer_seconds"] if final else 0)
    print(f"{'candidate':32} {'trainings':>9} {'epochs':>6} {'cvtl s':>9} {'PyTorch s':>10} {'ratio':>7}")
    for r in results:
        ratio = f"{r['peer_seconds'] / r['cvtl_seconds']:7.1f}" if r["cvtl_seconds"] > 0 else "      -"
        print(f"{r['candidate']:32} {r['trainings']:9d} {r['epochs']:6d} {r['cvtl_seconds']:9.1f} {r['peer_seconds']:10.1f} {ratio}")
    if final:
        print(f"{'(winner retrained: ' + final['candidate'] + ')':42} {final['epochs']:6d} {'':9} {final['peer_seconds']:10.1f}")
    json.dump({"train_rows": train_rows, "val_rows": val_rows, "labelled_rows": labelled, "threads": args.threads,
               "torch": torch.__version__, "candidates": results, "final": final,
               "candidates_cvtl_seconds": total_cvtl, "peer_seconds": total_peer}, open(args.out, "w"), indent=1)


if __name__ == "__main__":
    main()
