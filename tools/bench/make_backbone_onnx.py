#!/usr/bin/python3
"""Export a torchvision residual backbone to ONNX for the benchmarks (random weights, nothing downloaded).

Usage: make_backbone_onnx.py OUT.onnx [resnet50|resnet18|mobilenet_v2]   (default resnet50)

torchvision's architecture with 1000 classes, seed 0, then batch-norm running statistics, batch-norm
affine parameters and conv/linear biases randomised as tests/fixtures/make_fixtures.py (`randomize`)
does, eval mode. Exported at 224x224, opset 11, TrainingMode.PRESERVE (BatchNormalization nodes kept),
input "input", output "logits", dynamic batch. torch_backbone.py builds the same network (build_model).
Speed does not depend on the weights.
"""
import os
import sys

import onnx
import torch
import torchvision

# One randomisation for the fixtures and the benchmarks.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures"))
from make_fixtures import randomize  # noqa: E402

ARCHS = {"resnet50": torchvision.models.resnet50, "resnet18": torchvision.models.resnet18,
         "mobilenet_v2": torchvision.models.mobilenet_v2}


def build_model(arch):
    if arch not in ARCHS:
        sys.exit(f"make_backbone_onnx: unknown architecture {arch!r} (expected one of {', '.join(ARCHS)})")
    torch.manual_seed(0)
    return randomize(ARCHS[arch]())


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    out = sys.argv[1]
    arch = sys.argv[2] if len(sys.argv) == 3 else "resnet50"
    model = build_model(arch)
    dummy = torch.zeros(1, 3, 224, 224)
    torch.onnx.export(model, dummy, out, opset_version=11, input_names=["input"],
                      training=torch.onnx.TrainingMode.PRESERVE,
                      output_names=["logits"], dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
    graph = onnx.load(out)
    onnx.checker.check_model(graph)
    identities = [n.name for n in graph.graph.node if n.op_type == "Identity"]
    if identities:
        sys.exit(f"make_backbone_onnx: the exporter merged initializers into {identities[:3]}")
    print(f"wrote {out} ({arch}, {sum(p.numel() for p in model.parameters())} parameters)")


if __name__ == "__main__":
    main()
