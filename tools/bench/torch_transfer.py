#!/usr/bin/python3
"""PyTorch peer of cvtl's transfer-learning defaults: the accuracy a standard PyTorch recipe reaches on
the same images, the same train/val split and the same source model, for comparison with `cvtl train`
as tools/demo.sh runs it.

It measures, per strategy, the validation accuracy of each learning rate and the test accuracy of the
rate chosen on validation:
  classifier   frozen features to pool5; trains the source's hidden fully connected layers + a new output
  finetune5    blocks 1-4 frozen; trains block 5 + the classifier (hidden layers from the source + a new output)
  probe-pool2  a new linear layer on the flattened pool2 activations
New output layers are nn.Linear with PyTorch's default initialisation. Recipe: Adam, no weight decay,
batch 32, cosine schedule per step over about --steps optimizer steps (epochs = clamp(round(steps /
steps per epoch), 4, 100)), each rate keeps its epoch with the best validation accuracy (--keep last: its
final epoch), seed 0.

Images and split come from a cvtl cache with an `input` tap (`--preset raw`); test images are read from
the PNG test tree and preprocessed as the raw preset does (gray to 3 channels, /255). Run with Debian's
python3-torch (tools/install-deps.sh --python), e.g. for the disjoint scenario at n = 50:

    build/bin/cvtl-fashion-mnist /tmp/peer/data --scenario disjoint --n 50
    build/bin/cvtl extract samples/models/fmnist-vgg16-disjoint.onnx /tmp/peer/data/p2/train-n50 \\
        -o /tmp/peer/n50.h5 --taps input,pool1,pool2,pool3,pool4,pool5 --preset raw
    /usr/bin/python3 tools/bench/torch_transfer.py --cache /tmp/peer/n50.h5 --test-dir /tmp/peer/data/p2/test

Prints a table and writes the results as JSON to --out.
"""
import argparse
import copy
import json
import math
import os
import time

import cv2
import h5py
import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import numpy_helper
from torchvision.models.vgg import VGG, make_layers

# The source model's layout, as tools/pretrain/pretrain.py --arch vgg16 builds it: VGG-16's configuration "D"
# at a quarter of the widths, global average pooling, a 128-256-256-K classifier.
CFG = [16, 16, "M", 32, 32, "M", 64, 64, 64, "M", 128, 128, 128, "M", 128, 128, 128, "M"]
HIDDEN = 256
SIZE = 32
TRAIN, VAL = 0, 1  # /samples/split values (pipeline/data/dataset.hpp)
# Each strategy and the pool it reads: everything up to that pool stays frozen.
STRATEGIES = {"classifier": 5, "finetune5": 4, "probe-pool2": 2}


# ----------------------------------------------------------------------------------------------- data

def print_structure(f):
    print("cache %s" % f.filename)
    for key, value in f.attrs.items():
        text = value.decode() if isinstance(value, bytes) else str(value)
        print("  @%-20s %s" % (key, text if len(text) <= 100 else text[:97] + "..."))

    def show(name, obj):
        if isinstance(obj, h5py.Dataset):
            print("  /%-25s %-22s %s" % (name, obj.shape, obj.dtype))
    f.visititems(show)


def as_str(value):
    return value.decode() if isinstance(value, bytes) else value


def read_cache(path):
    """The cache's classes, sample paths (absolute), labels, splits and preprocessed images."""
    with h5py.File(path, "r") as f:
        print_structure(f)
        root = as_str(f.attrs["dataset"])
        return {
            "classes": [as_str(c) for c in f["classes"][:]],
            "paths": [os.path.join(root, as_str(p)) for p in f["samples/path"][:]],
            "labels": f["samples/label"][:].astype(np.int64),
            "split": f["samples/split"][:],
            "x": f["taps/input"][:].astype(np.float32),
            "taps": {name: f["taps"][name][:].astype(np.float32) for name in f["taps"] if name.startswith("pool")},
            "model_file": as_str(f.attrs["model_file"]),
        }


def load_png(path):
    """cvtl's raw preset on the demo's PNGs: already 32x32, gray copied to 3 channels, divided by 255."""
    gray = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    if gray is None or gray.shape != (SIZE, SIZE):
        raise SystemExit("%s: not a %dx%d image" % (path, SIZE, SIZE))
    return np.repeat(gray[None].astype(np.float32) / 255.0, 3, axis=0)


def read_test_tree(root, classes):
    """The class-per-folder test tree, labelled in the cache's class order (folder names sorted)."""
    folders = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    if folders != classes:
        raise SystemExit("%s: classes %s differ from the cache's %s" % (root, folders, classes))
    x, y = [], []
    for label, name in enumerate(folders):
        for file in sorted(os.listdir(os.path.join(root, name))):
            x.append(load_png(os.path.join(root, name, file)))
            y.append(label)
    return np.stack(x), np.array(y, np.int64)


# ---------------------------------------------------------------------------------------------- model

def build_source(classes):
    model = VGG(make_layers(CFG), num_classes=classes, init_weights=False)
    model.avgpool = nn.AdaptiveAvgPool2d((1, 1))
    model.classifier = nn.Sequential(nn.Linear(CFG[-2], HIDDEN), nn.ReLU(True), nn.Dropout(),
                                     nn.Linear(HIDDEN, HIDDEN), nn.ReLU(True), nn.Dropout(),
                                     nn.Linear(HIDDEN, classes))
    return model.eval()


def load_source(onnx_path):
    """The source model with the ONNX file's initializers copied in order onto its parameters."""
    inits = [numpy_helper.to_array(t) for t in onnx.load(onnx_path).graph.initializer]
    model = build_source(classes=inits[-1].shape[0])
    params = list(model.named_parameters())
    if len(inits) != len(params):
        raise SystemExit("%s: %d initializers for %d parameters" % (onnx_path, len(inits), len(params)))
    with torch.no_grad():
        for (name, p), w in zip(params, inits):
            if tuple(p.shape) != w.shape:
                raise SystemExit("%s: %s is %s in torch, %s in ONNX" % (onnx_path, name, tuple(p.shape), w.shape))
            p.copy_(torch.from_numpy(w.copy()))
    return model


def check_against_opencv(model, onnx_path, x):
    net = cv2.dnn.readNetFromONNX(onnx_path)
    net.setInput(x)
    with torch.no_grad():
        diff = float(np.abs(net.forward() - model(torch.from_numpy(x)).numpy()).max())
    print("torch vs cv2.dnn logits on %d test images: max abs diff %.2e" % (len(x), diff))
    if diff >= 1e-4:
        raise SystemExit("the torch model does not reproduce %s" % onnx_path)


def pool_ends(features):
    """Index just past each max-pool in `features`: features[:pool_ends[k-1]] ends at pool k."""
    return [i + 1 for i, m in enumerate(features) if isinstance(m, nn.MaxPool2d)]


def frozen_taps(features, x, cuts, batch=500):
    """features[:cut](x) for every cut, in one pass. The frozen part has no dropout or batch norm, so
    running it once is the same as running it inside every training step."""
    out = {cut: [] for cut in cuts}
    with torch.no_grad():
        for i in range(0, len(x), batch):
            h = torch.from_numpy(x[i:i + batch])
            for j, layer in enumerate(features[:max(cuts)]):
                h = layer(h)
                if j + 1 in out:
                    out[j + 1].append(h)
    return {cut: torch.cat(parts) for cut, parts in out.items()}


def cut_of(source, strategy):
    """Index in source.features just past the pool the strategy reads."""
    return pool_ends(source.features)[STRATEGIES[strategy] - 1]


def make_trainable(strategy, source, classes):
    """The module a strategy trains: from its pool's activations to the new classes' logits. Source
    layers are copies, so every trial starts from the source weights."""
    hidden = copy.deepcopy(source.classifier[:-1])  # Linear, ReLU, Dropout, Linear, ReLU, Dropout
    if strategy == "classifier":
        return nn.Sequential(source.avgpool, nn.Flatten(), hidden, nn.Linear(HIDDEN, classes))
    if strategy == "finetune5":
        block5 = copy.deepcopy(source.features[cut_of(source, "finetune5"):])
        return nn.Sequential(block5, source.avgpool, nn.Flatten(), hidden, nn.Linear(HIDDEN, classes))
    pool2_width = [c for c in CFG if c != "M"][3]  # block 2's channels, at a quarter of the input size
    return nn.Sequential(nn.Flatten(), nn.Linear(pool2_width * (SIZE // 4) ** 2, classes))


# ------------------------------------------------------------------------------------------- training

def accuracy(module, x, y, batch=1000):
    module.eval()
    with torch.no_grad():
        correct = sum(int((module(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum()) for i in range(0, len(x), batch))
    return correct / len(x)


def epochs_for(train_rows, batch, steps):
    """Epochs for about `steps` optimizer steps, as tools/demo.sh chooses them."""
    rounded = math.floor(steps / math.ceil(train_rows / batch) + 0.5)  # half away from zero, as std::lround
    return min(max(rounded, 4), 100)


def train(module, data, lr, epochs, batch, seed, keep="best"):
    """Trains `module` in place; returns (val accuracy, epoch, state) of the kept epoch: the best on
    validation, or the last (as a plain PyTorch loop keeps it)."""
    x, y = data["train"]
    generator = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(module.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * math.ceil(len(x) / batch))
    best = (-1.0, 0, None)
    for epoch in range(1, epochs + 1):
        module.train()
        # The last, partial batch is kept, as a DataLoader does by default.
        for idx in torch.randperm(len(x), generator=generator).split(batch):
            loss = F.cross_entropy(module(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        val = accuracy(module, *data["val"])
        if val > best[0] or keep == "last":
            best = (val, epoch, copy.deepcopy(module.state_dict()))
    return best


def run_strategy(name, source, classes, feats, labels, args):
    """Every learning rate on one strategy; the rate with the best val accuracy is tested."""
    cut = cut_of(source, name)
    data = {part: (feats[part][cut], labels[part]) for part in ("train", "val", "test")}
    epochs = epochs_for(len(labels["train"]), args.batch, args.steps)
    trials, chosen = [], None
    start = time.perf_counter()
    for lr in args.lrs:
        # The same seed for every rate, so the new output layer starts from the same weights.
        torch.manual_seed(args.seed)
        module = make_trainable(name, source, classes)
        t = time.perf_counter()
        val, epoch, state = train(module, data, lr, epochs, args.batch, args.seed, args.keep)
        trials.append({"lr": lr, "val_acc": val, "best_epoch": epoch, "seconds": round(time.perf_counter() - t, 2)})
        print("  %-12s lr %-7g %3d epochs: val %.4f (best epoch %d, %.1f s)" % (
            name, lr, epochs, val, epoch, trials[-1]["seconds"]), flush=True)
        if chosen is None or val > chosen[0]["val_acc"]:  # ties keep the earlier rate, as the demo does
            chosen = (trials[-1], module, state)
    trial, module, state = chosen
    module.load_state_dict(state)
    return {"strategy": name, "lr": trial["lr"], "best_epoch": trial["best_epoch"], "epochs": epochs,
            "val_acc": trial["val_acc"], "test_acc": accuracy(module, *data["test"]),
            "trained_parameters": sum(p.numel() for p in module.parameters()),
            "seconds": round(time.perf_counter() - start, 2), "chosen_seconds": trial["seconds"], "trials": trials}


# ----------------------------------------------------------------------------------------------- main

def check_preprocessing(cache):
    """Our preprocessing of the cache's own files must give the cache's `input` rows."""
    mine = np.stack([load_png(p) for p in cache["paths"]])
    diff = float(np.abs(mine - cache["x"]).max())
    print("preprocessing vs the cache's input tap (%d images): max abs diff %.2e" % (len(mine), diff))
    if diff > 1e-6:
        raise SystemExit("the PNG preprocessing does not match the cache")


def check_taps(source, cache):
    """cvtl's cached pool taps against torch's, on the same inputs (information: cvtl trains from them)."""
    ends = pool_ends(source.features)
    names = sorted(cache["taps"])
    taps = frozen_taps(source.features, cache["x"], [ends[int(n[4:]) - 1] for n in names])
    for name in names:
        diff = float(np.abs(taps[ends[int(name[4:]) - 1]].numpy() - cache["taps"][name]).max())
        print("  cache %s vs torch: max abs diff %.2e" % (name, diff))


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", default="/tmp/peer/n50.h5", help="cvtl cache with an input tap (--preset raw)")
    ap.add_argument("--test-dir", default="/tmp/peer/data/p2/test", help="class-per-folder PNG test tree")
    ap.add_argument("--model", help="source ONNX model (default: the file the cache was made from)")
    ap.add_argument("--strategies", default=",".join(STRATEGIES))
    ap.add_argument("--steps", type=int, default=800, help="optimizer steps the epoch count aims at")
    ap.add_argument("--lrs", default="1e-3,3e-4")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", choices=("best", "last"), default="best",
                    help="the epoch each rate keeps: best on validation, or the last")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="/tmp/peer/torch_transfer.json")
    args = ap.parse_args()
    args.lrs = [float(v) for v in args.lrs.split(",")]
    args.strategies = args.strategies.split(",")
    unknown = [s for s in args.strategies if s not in STRATEGIES]
    if unknown:
        ap.error("unknown strategies %s (choose from %s)" % (unknown, ", ".join(STRATEGIES)))
    return args


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    cache = read_cache(args.cache)
    model_path = args.model or cache["model_file"]
    check_preprocessing(cache)
    x_test, y_test = read_test_tree(args.test_dir, cache["classes"])
    source = load_source(model_path)
    check_against_opencv(source, model_path, x_test[::max(1, len(x_test) // 16)][:16])
    check_taps(source, cache)

    parts = {"train": cache["split"] == TRAIN, "val": cache["split"] == VAL}
    labels = {part: torch.from_numpy(cache["labels"][mask]) for part, mask in parts.items()}
    labels["test"] = torch.from_numpy(y_test)
    cuts = sorted({cut_of(source, s) for s in args.strategies})
    t = time.perf_counter()
    feats = {part: frozen_taps(source.features, cache["x"][mask], cuts) for part, mask in parts.items()}
    feats["test"] = frozen_taps(source.features, x_test, cuts)
    frozen_s = time.perf_counter() - t
    print("train %d, val %d, test %d images, %d classes; frozen forward %.1f s" % (
        len(labels["train"]), len(labels["val"]), len(y_test), len(cache["classes"]), frozen_s), flush=True)

    results = [run_strategy(s, source, len(cache["classes"]), feats, labels, args) for s in args.strategies]

    print("\n%-12s %-8s %-10s %-8s %-8s %-8s %s" % ("strategy", "lr", "epoch", "val", "test", "params", "all trials s"))
    for r in results:
        print("%-12s %-8g %3d/%-6d %.4f   %.4f   %-8d %.1f" % (
            r["strategy"], r["lr"], r["best_epoch"], r["epochs"], r["val_acc"], r["test_acc"],
            r["trained_parameters"], r["seconds"]))
    report = {"cache": os.path.abspath(args.cache), "test_dir": os.path.abspath(args.test_dir), "model": model_path,
              "torch": torch.__version__, "threads": args.threads, "seed": args.seed, "batch": args.batch,
              "steps": args.steps, "lrs": args.lrs, "keep": args.keep, "frozen_forward_seconds": round(frozen_s, 2),
              "total_seconds": round(time.perf_counter() - start, 2), "results": results}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2)
    print("wrote %s (%.0f s in all)" % (args.out, report["total_seconds"]))


if __name__ == "__main__":
    main()
