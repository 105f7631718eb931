#!/usr/bin/python3
"""Tables of tools/bench/keep_epoch.sh: per task and strategy, the test accuracy of `cvtl train` keeping
its best validation epoch and its last, and on held-out tasks the PyTorch peer's (final epoch). Every
sentence printed is computed from these numbers."""
import json
import os
import re
import sys

STRATEGIES = [("classifier", "classifier"), ("finetune-b5", "finetune5")]


def run(out, task, strategy, keep):
    base = os.path.join(out, task, "run-%s-%s" % (strategy, keep))
    test = json.load(open(base + "-eval.json"))["accuracy"]
    m = re.search(r"val accuracy ([0-9.]+) at epoch (\d+)", open(base + ".train.log").read())
    return {"test": test, "val": float(m.group(1)), "epoch": int(m.group(2))}


def rows(out, seeds):
    for seed in seeds:
        for scenario in ("disjoint", "coarse-fine"):
            task = "%s-s%s" % (scenario, seed)
            peer_path = os.path.join(out, task, "torch.json")
            peer = {}
            if os.path.exists(peer_path):
                peer = {r["strategy"]: r for r in json.load(open(peer_path))["results"]}
            for short, peer_name in STRATEGIES:
                yield (task, short, run(out, task, short, "best"), run(out, task, short, "last"),
                       peer.get(peer_name))


def table(title, items):
    print("### %s\n" % title)
    print("| task | strategy | best: epoch, val / test | last: val / test | last − best | PyTorch, final epoch: test |")
    print("|---|---|---|---|---|---|")
    for task, strategy, best, last, peer in items:
        print("| %s | %s | %d, %.4f / %.4f | %.4f / %.4f | %+.4f | %s |" % (
            task, strategy, best["epoch"], best["val"], best["test"], last["val"], last["test"],
            last["test"] - best["test"], "%.4f" % peer["test_acc"] if peer else "not run"))
    diffs = [last["test"] - best["test"] for _, _, best, last, _ in items]
    wins = sum(d > 0 for d in diffs)
    losses = sum(d < 0 for d in diffs)
    mean = sum(diffs) / len(diffs)
    print("\nKeeping the last epoch instead of the best: mean test difference %+.4f over %d runs (%d higher, %d "
          "lower, %d equal).\n" % (mean, len(diffs), wins, losses, len(diffs) - wins - losses))
    return mean


def peer_sentence(items, keep):
    pairs = [(r[3 if keep == "last" else 2]["test"], r[4]["test_acc"]) for r in items if r[4]]
    if not pairs:
        return
    gap = sum(c - p for c, p in pairs) / len(pairs)
    print("cvtl keeping its %s epoch against the PyTorch peer: mean test difference %+.4f over %d runs.\n" % (
        keep, gap, len(pairs)))


def main():
    out = sys.argv[1]
    tuning = os.environ["TUNING"].split()
    held_out = os.environ["HELD_OUT"].split()
    tune_items = list(rows(out, tuning))
    mean = table("Tuning tasks (seeds %s): the rule chooses on these" % ", ".join(tuning), tune_items)
    chosen = "last" if mean > 0 else "best"
    print("**The rule chooses `%s`** (the tuning tasks' mean difference is %s).\n" % (
        chosen, "positive" if mean > 0 else "not positive"))
    held_items = list(rows(out, held_out))
    table("Held-out tasks (seeds %s): measured once, after the choice" % ", ".join(held_out), held_items)
    peer_sentence(held_items, chosen)
    peer_sentence(held_items, "best" if chosen == "last" else "last")


if __name__ == "__main__":
    main()
