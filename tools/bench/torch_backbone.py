#!/usr/bin/python3
"""The PyTorch peer of `cvtl extract --taps block4,block5` and `cvtl train --strategy finetune --from-block 5`
on a torchvision ResNet (the network make_backbone_onnx.py exports: same seed, same randomisation).

Usage: torch_backbone.py extract IMAGE_DIR OUT.h5 [--arch resnet50] [--batch 8] [--threads 2]
       torch_backbone.py step [--arch resnet50] [--batch 8] [--threads 2] [--cache OUT.h5]
                              [--warmup 2] [--steps 5] [--classes 10]
       torch_backbone.py profile [--arch resnet50] [--batch 8] [--threads 2] [--warmup 2] [--steps 5]

extract: decode the JPEGs (ImageFolder layout, sorted classes and files) with cv2, preprocess as torchvision
  (resize the short side to 256, bilinear; center crop 224; RGB, /255, ImageNet mean/std; one DataLoader
  worker, as torch_extract.py), run the model up to layer3 (block4, [1024,14,14] on a ResNet-50) and layer4
  (block5) in batches, write taps/block4 and taps/block5 to HDF5. Self-timed from the first batch to the
  last write (imports and model build excluded): {"images_per_s": ...}.
step: one fine-tuning step of layer4 + avgpool + flatten + a new fc (-> CLASSES outputs) on a cached
  block4 batch (the first BATCH rows of --cache's taps/block4, else uniform random activations), train
  mode, Adam(lr 1e-3), cross-entropy: median ms/step over --steps steps after --warmup.
profile: the extraction's forward (stem to layer4) on random batches under torch.profiler, --steps batches
  after --warmup: ms per batch in all, and the self CPU time of the convolution kernels among it, the part
  a runtime with the same oneDNN kernels cannot shorten (what bounds cvtl's ratio; docs/benchmarks.md).
"""
import argparse
import copy
import json
import os
import statistics
import sys
import time

import cv2
import h5py
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_backbone_onnx import build_model  # noqa: E402  (same architecture, seed and randomisation)

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


class JpegFolder(torch.utils.data.Dataset):
    def __init__(self, root):
        classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
        self.files = [os.path.join(root, c, f) for c in classes for f in sorted(os.listdir(os.path.join(root, c)))
                      if f.lower().endswith((".jpg", ".jpeg", ".png"))]

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        img = cv2.imread(self.files[i], cv2.IMREAD_COLOR)
        h, w = img.shape[:2]
        s = 256 / min(h, w)
        img = cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_LINEAR)
        h, w = img.shape[:2]
        y, x = (h - 224) // 2, (w - 224) // 2
        img = img[y:y + 224, x:x + 224, ::-1].astype(np.float32) / 255  # BGR -> RGB
        return torch.from_numpy(((img - MEAN) / STD).transpose(2, 0, 1).copy())


def extract(args):
    model = build_model(args.arch)
    t0 = time.perf_counter()
    data = JpegFolder(args.image_dir)
    loader = torch.utils.data.DataLoader(data, batch_size=args.batch, num_workers=1)
    n = len(data)
    with h5py.File(args.out, "w") as f, torch.inference_mode():
        block4 = block5 = None
        row = 0
        for x in loader:
            h = model.maxpool(model.relu(model.bn1(model.conv1(x))))
            b4 = model.layer3(model.layer2(model.layer1(h)))
            b5 = model.layer4(b4)
            if block4 is None:
                block4 = f.create_dataset("taps/block4", (n, *b4.shape[1:]), "f4")
                block5 = f.create_dataset("taps/block5", (n, *b5.shape[1:]), "f4")
            block4[row:row + len(x)] = b4.numpy()
            block5[row:row + len(x)] = b5.numpy()
            row += len(x)
    dt = time.perf_counter() - t0
    print(json.dumps({"name": "torch_backbone extract", "arch": args.arch, "batch": args.batch,
                      "threads": torch.get_num_threads(), "images": n, "images_per_s": round(n / dt, 3),
                      "ms_per_image": round(1000 * dt / n, 2)}))


def step(args):
    model = build_model(args.arch)
    fc = nn.Linear(model.fc.in_features, args.classes)
    top = nn.Sequential(copy.deepcopy(model.layer4), copy.deepcopy(model.avgpool), nn.Flatten(), fc).train()
    optimizer = torch.optim.Adam(top.parameters(), lr=1e-3)
    if args.cache:
        with h5py.File(args.cache, "r") as f:
            x = torch.from_numpy(f["taps/block4"][:args.batch])
    else:
        x = torch.rand(args.batch, model.layer4[0].conv1.in_channels, 14, 14)
    y = torch.randint(0, args.classes, (len(x),))
    times = []
    for i in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        loss = F.cross_entropy(top(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if i >= args.warmup:
            times.append(1000 * (time.perf_counter() - t0))
    ms = statistics.median(times)
    print(json.dumps({"name": "torch_backbone step", "arch": args.arch, "batch": len(x),
                      "input": list(x.shape[1:]), "threads": torch.get_num_threads(),
                      "ms_per_step": round(ms, 2), "images_per_s": round(1000 * len(x) / ms, 2),
                      "ms_per_step_all": [round(t, 1) for t in times]}))


def profile(args):
    model = build_model(args.arch).eval()
    x = torch.rand(args.batch, 3, 224, 224)

    def forward():
        h = model.maxpool(model.relu(model.bn1(model.conv1(x))))
        return model.layer4(model.layer3(model.layer2(model.layer1(h))))

    with torch.inference_mode():
        for _ in range(args.warmup):
            forward()
        t0 = time.perf_counter()
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            for _ in range(args.steps):
                forward()
        wall = 1000 * (time.perf_counter() - t0) / args.steps
    self_ms = {}
    for e in prof.key_averages():
        self_ms[e.key] = self_ms.get(e.key, 0.0) + e.self_cpu_time_total / 1000 / args.steps
    conv = sum(v for k, v in self_ms.items() if "convolution" in k)
    top = sorted(self_ms.items(), key=lambda kv: -kv[1])[:8]
    print(json.dumps({"name": "torch_backbone profile", "arch": args.arch, "batch": args.batch,
                      "threads": torch.get_num_threads(), "ms_per_batch": round(wall, 1),
                      "convolution_self_ms_per_batch": round(conv, 1),
                      "top_self_ms_per_batch": {k: round(v, 1) for k, v in top}}))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("mode", choices=["extract", "step", "profile"])
    p.add_argument("image_dir", nargs="?")
    p.add_argument("out", nargs="?")
    p.add_argument("--arch", default="resnet50", choices=["resnet50", "resnet18"])
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--cache", help="step: HDF5 file with taps/block4 (e.g. the extract output)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--classes", type=int, default=10)
    args = p.parse_args()
    if args.mode == "extract" and not (args.image_dir and args.out):
        p.error("extract needs IMAGE_DIR and OUT.h5")
    torch.set_num_threads(args.threads)
    {"extract": extract, "step": step, "profile": profile}[args.mode](args)


if __name__ == "__main__":
    main()
