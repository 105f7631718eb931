#!/usr/bin/python3
"""The PyTorch peer of cvtl_bench_train_step: the same training steps, as a PyTorch user writes them.

Usage: torch_train_step.py [--cases a,b,c] [--batch-a 32] [--batch-b 16] [--batch-c 32] [--threads 2]
                           [--warmup 3] [--reps 5] [--min-steps 2] [--min-rep-s 1] [--profile]
                           [--frozen] [--frozen-batch 16] [--frozen-reps 3] [--foreach]

One step: model.train() forward, F.cross_entropy, zero_grad(set_to_none=True), backward,
torch.optim.SGD(lr, momentum=0.9, weight_decay=5e-4).step(). Layers are torchvision vgg16()'s
(random weights), channels-first, oneDNN (mkldnn) enabled as by default.
  (a) classifier  pool5 [512, 7, 7] -> flatten -> vgg16().classifier with a new 4096->10 output
  (b) finetune5   pool4 [512, 14, 14] -> vgg16().features[24:] (block 5) -> avgpool -> flatten -> (a)
  (c) probe       fc7 [4096] -> Linear(4096, 10)
--frozen adds case "frozen": vgg16().features[:24] (blocks 1-4, to pool4) and features[:31] (blocks
1-5, to pool5) forward, eval and inference_mode, at 224x224.
Prints one JSON line per case, as cvtl_bench_train_step does ("impl": "torch").
"""
import argparse
import copy
import json
import os
import statistics
import time

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

CLASSES = 10
LEARNING_RATE = 1e-3


def blas_in_use():
    """The BLAS library this process mapped (torch links libblas.so.3, which the loader resolves)."""
    with open("/proc/self/maps") as maps:
        libs = {line.split()[-1] for line in maps if "blas" in line.lower() and "/" in line}
    return sorted(libs)


class CpuSample:
    """CPU ticks used by the whole machine and by this process: their difference over a measurement is what
    other processes took, which marks a disturbed measurement (the machine is shared)."""

    def __init__(self):
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:9]]
        self.machine = sum(ticks) - ticks[3] - ticks[4]  # all but idle and iowait (steal counts: the host took it)
        with open("/proc/self/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        self.own = int(fields[11]) + int(fields[12])  # utime, stime
        self.at = time.perf_counter()

    def foreign_percent(self, later):
        """Percent of the machine used by other processes since self; None under a second (ticks too coarse)."""
        seconds = later.at - self.at
        if seconds < 1:
            return None
        capacity = seconds * os.sysconf("SC_CLK_TCK") * os.cpu_count()
        return round(max(0.0, 100 * ((later.machine - self.machine) - (later.own - self.own)) / capacity), 1)


def build_cases(args, vgg):
    classifier = copy.deepcopy(vgg.classifier)
    classifier[6] = nn.Linear(4096, CLASSES)
    cases = {
        "a": ("classifier on pool5", args.batch_a, (512, 7, 7),
              lambda: nn.Sequential(nn.Flatten(), copy.deepcopy(classifier))),
        "b": ("finetune block5 on pool4", args.batch_b, (512, 14, 14),
              lambda: nn.Sequential(copy.deepcopy(vgg.features[24:]), copy.deepcopy(vgg.avgpool), nn.Flatten(),
                                    copy.deepcopy(classifier))),
        "c": ("linear probe on fc7", args.batch_c, (4096,), lambda: nn.Linear(4096, CLASSES)),
    }
    chosen = [c for c in args.cases.split(",") if c]
    unknown = [c for c in chosen if c not in cases]
    if unknown:
        raise SystemExit(f"torch_train_step: --cases expects a comma-separated list of a, b, c; found {unknown[0]!r}")
    return [(c, *cases[c]) for c in chosen]


def train_step(model, optimizer, x, y):
    t0 = time.perf_counter()
    loss = F.cross_entropy(model(x), y)
    t1 = time.perf_counter()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    t2 = time.perf_counter()
    optimizer.step()
    t3 = time.perf_counter()
    return {"forward": 1000 * (t1 - t0), "backward": 1000 * (t2 - t1), "optimizer": 1000 * (t3 - t2)}


def time_case(case, what, batch, model, optimizer, x, y, args):
    for _ in range(args.warmup):
        train_step(model, optimizer, x, y)
    per_image, steps = [], []
    before = CpuSample()
    for _ in range(args.reps):
        start = time.perf_counter()
        n = 0
        while n < args.min_steps or time.perf_counter() - start < args.min_rep_s:
            steps.append(train_step(model, optimizer, x, y))
            n += 1
        per_image.append(1000 * (time.perf_counter() - start) / (n * batch))
    foreign = before.foreign_percent(CpuSample())
    ms = statistics.median(per_image)
    return {"impl": "torch", "case": case, "what": what, "batch": batch, "threads": torch.get_num_threads(),
            "ms_per_image": round(ms, 3), "images_per_s": round(1000 / ms, 2),
            "ms_per_image_reps": [round(v, 3) for v in per_image], "steps": len(steps),
            "foreign_cpu_percent": foreign,
            "phase_ms_per_step": {k: round(statistics.median(s[k] for s in steps), 3) for k in steps[0]}}


def profile_case(case, batch, model, optimizer, x, y, args):
    """aten operators by self CPU time over a few steps (torch.profiler)."""
    steps = max(3, args.min_steps)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            train_step(model, optimizer, x, y)
    ops = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)[:12]
    return {"impl": "torch", "case": case, "batch": batch, "threads": torch.get_num_threads(),
            "profile_self_ms_per_step": [{"op": e.key, "calls_per_step": e.count / steps,
                                          "self_ms": round(e.self_cpu_time_total / 1000 / steps, 3)} for e in ops]}


def time_frozen(vgg, args):
    features = vgg.features.eval()
    blocks1to4, block5 = features[:24], features[24:]
    x = torch.randn(args.frozen_batch, 3, 224, 224)
    pool4_ms, pool5_ms = [], []
    before = CpuSample()
    with torch.inference_mode():
        block5(blocks1to4(x))  # warm-up
        for _ in range(args.frozen_reps):
            t0 = time.perf_counter()
            pool4 = blocks1to4(x)
            t1 = time.perf_counter()
            block5(pool4)
            t2 = time.perf_counter()
            pool4_ms.append(1000 * (t1 - t0) / args.frozen_batch)
            pool5_ms.append(1000 * (t2 - t0) / args.frozen_batch)
    return {"impl": "torch", "case": "frozen", "engine": f"torch {torch.__version__}", "batch": args.frozen_batch,
            "threads": torch.get_num_threads(),
            "pool4_ms_per_image": round(statistics.median(pool4_ms), 3),
            "pool4_ms_per_image_reps": [round(v, 3) for v in pool4_ms],
            "pool5_ms_per_image": round(statistics.median(pool5_ms), 3),
            "pool5_ms_per_image_reps": [round(v, 3) for v in pool5_ms],
            "foreign_cpu_percent": before.foreign_percent(CpuSample())}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", default="a,b,c")
    p.add_argument("--batch-a", type=int, default=32)
    p.add_argument("--batch-b", type=int, default=16)
    p.add_argument("--batch-c", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--min-steps", type=int, default=2)
    p.add_argument("--min-rep-s", type=float, default=1.0)
    p.add_argument("--profile", action="store_true", help="also print the top aten ops by self CPU time")
    p.add_argument("--frozen", action="store_true", help="also time the frozen VGG-16 forward to pool4 and pool5")
    p.add_argument("--frozen-batch", type=int, default=16)
    p.add_argument("--frozen-reps", type=int, default=3)
    p.add_argument("--foreach", action="store_true", help="SGD(foreach=True): multi-tensor update (off by default in 1.13)")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    vgg = torchvision.models.vgg16()
    print(json.dumps({"impl": "torch", "case": "config", "torch": torch.__version__, "threads": torch.get_num_threads(),
                      "mkldnn": torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled,
                      "blas": blas_in_use(), "sgd_foreach": args.foreach}), flush=True)

    for case, what, batch, shape, make in build_cases(args, vgg):
        model = make().train()
        optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE, momentum=0.9, weight_decay=5e-4,
                                    foreach=args.foreach)
        x = torch.rand(batch, *shape)  # a cached activation batch: post-ReLU/max-pool, as cvtl's bench
        y = torch.randint(0, CLASSES, (batch,))
        print(json.dumps(time_case(case, what, batch, model, optimizer, x, y, args)), flush=True)
        if args.profile:
            print(json.dumps(profile_case(case, batch, model, optimizer, x, y, args)), flush=True)
    if args.frozen:
        print(json.dumps(time_frozen(vgg, args)), flush=True)


if __name__ == "__main__":
    main()
