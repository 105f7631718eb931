#!/usr/bin/python3
"""Where a cvtl fast-path run spends its time, from oneDNN's own log: run cvtl with ONEDNN_VERBOSE=1 and
give the log here. Prints, per primitive kind and implementation, the milliseconds per batch over the
batches after the first (which packs weights and builds plans), and the total.

    ONEDNN_VERBOSE=1 build/bin/cvtl extract MODEL IMAGES -o /tmp/c.h5 --taps block4,block5 --batch 8 > log
    tools/bench/onednn_profile.py log

A batch is recognised by its first primitive (the first `exec` line's kind, implementation and shape
recurring), so the log must come from one plan: one batch size, one set of taps.
"""
import collections
import json
import sys


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: onednn_profile.py ONEDNN_VERBOSE_LOG")
    execs = []
    for line in open(sys.argv[1], errors="replace"):
        f = line.rstrip("\n").split(",")
        if len(f) > 4 and f[0] == "onednn_verbose" and f[1] == "exec":
            execs.append(((f[3], f[4]), f[-2], float(f[-1])))
    # Batches start where the plan's first step recurs; weight packing before the first batch runs once.
    steady = [i for i, (kind, shape, _) in enumerate(execs) if kind[0] == "convolution"]
    if not steady:
        sys.exit("onednn_profile: no convolution in %s (was ONEDNN_VERBOSE=1 set?)" % sys.argv[1])
    first = execs[steady[0]][:2]
    starts = [i for i, e in enumerate(execs) if e[:2] == first]
    if len(starts) < 3:
        sys.exit("onednn_profile: fewer than 3 batches in %s; give the run more images" % sys.argv[1])
    # Batches after the first, and not the last (which may be partial).
    spans = list(zip(starts[1:-1], starts[2:]))
    per = collections.defaultdict(float)
    for a, b in spans:
        for kind, _, ms in execs[a:b]:
            per[kind] += ms / len(spans)
    total = sum(per.values())
    rows = sorted(per.items(), key=lambda kv: -kv[1])
    for (prim, impl), ms in rows:
        print("%-14s %-28s %8.1f ms/batch  %5.1f %%" % (prim, impl, ms, 100 * ms / total))
    print("%-43s %8.1f ms/batch over %d batches" % ("total", total, len(spans)))
    print(json.dumps({"batches": len(spans), "ms_per_batch": round(total, 1),
                      "by_kind": {"%s %s" % k: round(v, 1) for k, v in rows}}))


if __name__ == "__main__":
    main()
