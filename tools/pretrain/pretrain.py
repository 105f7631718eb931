#!/usr/bin/python3
"""Pretrains one of the demo's source models on problem P1 of Fashion-MNIST, then exports it to ONNX
with a model card. Seeded; run with Debian's python3-torch:

    /usr/bin/python3 tools/pretrain/pretrain.py --arch vgg16 --scenario coarse-fine --out samples/models

--arch vgg16: a VGG-16-layout network (13 conv + 3 fully connected layers, five max-pools) at a
quarter of VGG-16's widths. --arch resnet18: torchvision's ResNet-18 (stem, four residual stages,
global average pooling, one fully connected layer) at a quarter of its widths, so the two sources
have about the same number of parameters and see the same images.

P1 (coarse-fine): 4 coarse classes over all 60,000 training images. P1 (disjoint): T-shirt/top,
Trouser, Pullover, Dress, Coat. Inputs are what cvtl's `raw` preset at size 32 gives for the PNGs
written by cvtl-fashion-mnist: the 28x28 image padded to 32x32, gray copied to 3 channels, /255.
Nothing in cvtl's build or tests runs this script.
"""
import argparse
import gzip
import hashlib
import os
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
from torchvision.models.resnet import BasicBlock
from torchvision.models.vgg import VGG, make_layers

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures"))
from make_fixtures import TinyResNet  # noqa: E402  (torchvision's ResNet with chosen stage widths)

FINE = ["T-shirt_top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle_boot"]
COARSE = ["tops", "bottoms", "tops", "tops", "tops", "footwear", "tops", "footwear", "bags", "footwear"]
DISJOINT_P1 = [0, 1, 2, 3, 4]
# VGG-16's configuration "D" at a quarter of the widths.
CFG = [16, 16, "M", 32, 32, "M", 64, 64, 64, "M", 128, 128, 128, "M", 128, 128, 128, "M"]
HIDDEN = 256
# ResNet-18's stage widths 64/128/256/512 at a quarter.
RESNET_WIDTHS = [16, 32, 64, 128]


def read_idx(source, prefix):
    with gzip.open(os.path.join(source, prefix + "-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(os.path.join(source, prefix + "-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
    padded = np.zeros((len(images), 32, 32), np.uint8)
    padded[:, 2:30, 2:30] = images
    x = np.repeat(padded[:, None], 3, axis=1).astype(np.float32) / 255.0
    return x, labels


def p1_problem(scenario, x, fine):
    """P1's images and labels; class indices follow cvtl's order (class folder names sorted)."""
    if scenario == "coarse-fine":
        names = sorted(set(COARSE))
        return x, np.array([names.index(COARSE[y]) for y in fine]), names
    keep = np.isin(fine, DISJOINT_P1)
    names = sorted(FINE[i] for i in DISJOINT_P1)
    return x[keep], np.array([names.index(FINE[y]) for y in fine[keep]]), names


def build_vgg16(classes):
    # torchvision's VGG initialisation: He (fan-out) for convolutions, zero biases, N(0, 0.01) for
    # fully connected layers -- the latter scaled by sqrt(4096 / fan_in), which is what 0.01 amounts
    # to on VGG-16's 4096-wide layers; at a 256-wide classifier a plain 0.01 shrinks the logits
    # a thousandfold and the network never leaves chance (as PyTorch's default init does).
    model = VGG(make_layers(CFG), num_classes=classes, init_weights=False)
    model.avgpool = nn.AdaptiveAvgPool2d((1, 1))
    model.classifier = nn.Sequential(nn.Linear(CFG[-2], HIDDEN), nn.ReLU(True), nn.Dropout(),
                                     nn.Linear(HIDDEN, HIDDEN), nn.ReLU(True), nn.Dropout(),
                                     nn.Linear(HIDDEN, classes))
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01 * (4096.0 / m.in_features) ** 0.5)
            nn.init.zeros_(m.bias)
    return model


def build_resnet18(classes):
    # torchvision's ResNet initialisation: He (fan-out) convolutions, BN weight 1 and bias 0, and
    # PyTorch's default for the fully connected layer.
    model = TinyResNet(BasicBlock, [2, 2, 2, 2], RESNET_WIDTHS, classes)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return model


def describe(arch, model, classes):
    """The model card's first paragraph."""
    if arch == "vgg16":
        return ("A VGG-16-layout network (13 convolutions in five blocks, each block ending in a 2x2 max-pool, global\n"
                "average pooling, then fully connected {c5}-{h}-{h}-{k} with ReLU and dropout 0.5), a quarter of "
                "VGG-16's\nwidths").format(c5=CFG[-2], h=HIDDEN, k=classes)
    return ("A ResNet-18-layout network (torchvision's ResNet-18: a 7x7 stride-2 convolution, batch norm, ReLU and\n"
            "3x3 max-pool, then four stages of two residual blocks at widths {w}, global average\n"
            "pooling and one fully connected layer to {k} classes; batch norm kept as its own nodes), a quarter of "
            "ResNet-18's widths").format(
                w="/".join(str(w) for w in RESNET_WIDTHS), k=classes)


def split_shared_initializers(path):
    """Gives each parameter its own initializer again.

    In a residual block, the second batch norm's beta and the downsample's batch norm's beta are
    added into the same sum, so they get the same gradient from the same zero start and stay equal.
    PyTorch's exporter then stores one tensor and reads the other through an Identity node, which
    stock OpenCV 4.6 cannot import. Each such Identity becomes a copy of the tensor under its name.
    """
    model = onnx.load(path)
    inits = {t.name: t for t in model.graph.initializer}
    for node in [n for n in model.graph.node if n.op_type == "Identity" and n.input[0] in inits]:
        copy = onnx.TensorProto()
        copy.CopyFrom(inits[node.input[0]])
        copy.name = node.output[0]
        model.graph.initializer.append(copy)
        model.graph.node.remove(node)
    onnx.save(model, path)


def accuracy(model, x, y, batch=500):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (model(torch.from_numpy(x[i:i + batch])).argmax(1).numpy() == y[i:i + batch]).sum()
    return correct / len(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", choices=["vgg16", "resnet18"], default="vgg16")
    ap.add_argument("--scenario", choices=["coarse-fine", "disjoint"], default="coarse-fine")
    ap.add_argument("--source", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--out", default="samples/models")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0, help="train on the first N images only (smoke tests)")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(args.threads)

    x_train, fine_train = read_idx(args.source, "train")
    x_test, fine_test = read_idx(args.source, "t10k")
    x_train, y_train, names = p1_problem(args.scenario, x_train, fine_train)
    x_test, y_test, _ = p1_problem(args.scenario, x_test, fine_test)
    if args.limit:
        x_train, y_train = x_train[:args.limit], y_train[:args.limit]

    model = build_vgg16(len(names)) if args.arch == "vgg16" else build_resnet18(len(names))
    # Adam (for both sources, so they differ only in architecture): the plain 13-convolution stack shrinks the signal tenfold by pool5 at initialisation,
    # which SGD takes an epoch to climb out of; Adam's per-parameter scaling does not care.
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps = args.epochs * ((len(x_train) + args.batch - 1) // args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps, pct_start=0.15)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(args.seed)
    start = time.time()
    for epoch in range(args.epochs):
        model.train()
        order = rng.permutation(len(x_train))
        total = 0.0
        for i in range(0, len(order), args.batch):
            idx = order[i:i + args.batch]
            opt.zero_grad()
            loss = loss_fn(model(torch.from_numpy(x_train[idx])), torch.from_numpy(y_train[idx]))
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        print("epoch %d/%d  loss %.4f  test acc %.4f  %.0f s" % (epoch + 1, args.epochs, total / len(x_train),
                                                               accuracy(model, x_test, y_test), time.time() - start), flush=True)
    test_acc = accuracy(model, x_test, y_test)

    os.makedirs(args.out, exist_ok=True)
    name = "fmnist-%s-%s" % (args.arch, args.scenario)
    stem = os.path.join(args.out, name)
    model.eval()
    # A ResNet keeps its BatchNormalization nodes (PRESERVE, in eval mode: running statistics), as a
    # Keras or ONNX-zoo model does, so fine-tuning can train them or keep them frozen (--bn); the
    # default export would fold them into the convolutions. VGG has none, and exports as it always did.
    keep_bn = {"training": torch.onnx.TrainingMode.PRESERVE} if args.arch == "resnet18" else {}
    torch.onnx.export(model, torch.zeros(1, 3, 32, 32), stem + ".onnx", opset_version=11, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, **keep_bn)
    split_shared_initializers(stem + ".onnx")
    with open(stem + ".labels.txt", "w") as f:
        f.write("\n".join(names) + "\n")
    # The exported file must give PyTorch's logits in stock OpenCV.
    import cv2
    net = cv2.dnn.readNetFromONNX(stem + ".onnx")
    net.setInput(x_test[:64])
    with torch.no_grad():
        diff = np.abs(net.forward() - model(torch.from_numpy(x_test[:64])).numpy()).max()
    assert diff < 1e-4, "OpenCV and PyTorch disagree by %g" % diff
    sha = hashlib.sha256(open(stem + ".onnx", "rb").read()).hexdigest()
    params = sum(p.numel() for p in model.parameters())
    init = ("torchvision's VGG initialisation (fully connected N(0, 0.01) scaled to this width)" if args.arch == "vgg16"
            else "torchvision's ResNet initialisation")
    with open(stem + ".md", "w") as f:
        f.write("""# {name}: cvtl's demo source model

{description}, {params:,} parameters, trained from scratch on problem P1 of Fashion-MNIST.

- P1 ({scenario}): {names} ({n_train:,} training images)
- Input: `input` [N, 3, 32, 32] float32: the 28x28 image padded to 32x32, gray copied to 3 channels,
  divided by 255 (cvtl's `raw` preset at size 32 on the PNGs written by `cvtl-fashion-mnist`).
- Output: `logits` [N, {k}], classes in the order of `{name}.labels.txt`.
- Recipe: {init}, Adam,
  batch {batch}, one-cycle learning rate peaking at {lr}, {epochs} epochs, no augmentation, seed {seed}, {threads} threads
  (`tools/pretrain/pretrain.py --arch {arch} --scenario {scenario}`), {minutes:.0f} minutes on this machine.
- P1 test accuracy (10,000-image test set{subset}): **{acc:.4f}**; `cvtl evaluate` on the PNG test tree
  reproduces it.
- OpenCV 4.6 `readNetFromONNX` matches PyTorch's logits within {diff:.1e}.
- sha256: `{sha}`
""".format(name=name, description=describe(args.arch, model, len(names)), arch=args.arch, init=init,
           scenario=args.scenario, k=len(names), params=params, names=", ".join(names),
           n_train=len(x_train), batch=args.batch, lr=args.lr, epochs=args.epochs, seed=args.seed, threads=args.threads,
           minutes=(time.time() - start) / 60, acc=test_acc, diff=diff, sha=sha,
           subset=" restricted to P1's classes" if args.scenario == "disjoint" else ""))
    print("P1 test accuracy %.4f; wrote %s.onnx (sha256 %s)" % (test_acc, stem, sha[:16]))


if __name__ == "__main__":
    main()
