#!/usr/bin/python3
"""Export torchvision VGG-16 to ONNX: random weights (seed 0) for the benchmarks, or pretrained
weights from a state_dict file already on this machine (nothing is downloaded).

Usage: make_vgg16_onnx.py OUT.onnx [STATE_DICT.pth]
  e.g. make_vgg16_onnx.py vgg16.onnx ~/.cache/torch/hub/checkpoints/vgg16-397923af.pth
"""
import sys

import cv2
import onnx
import torch
import torchvision
from onnx import numpy_helper


def inline_identity_initializers(model):
    """Replace every Identity(initializer) node by a copy of that initializer.

    PyTorch 1.13's exporter deduplicates identical initializers (torchvision's
    init sets all conv/linear biases to 0, so same-shaped biases collide) and
    re-exposes them through Identity nodes, which OpenCV 4.6's ONNX importer
    rejects. Copying keeps the weights bit-identical to the PyTorch model, so
    torch_extract.py (same seed) computes the same features.
    """
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    for node in [n for n in graph.node if n.op_type == "Identity" and n.input[0] in inits]:
        copy = numpy_helper.from_array(numpy_helper.to_array(inits[node.input[0]]), node.output[0])
        graph.initializer.append(copy)
        graph.node.remove(node)
    return model


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    out = sys.argv[1]
    torch.manual_seed(0)
    net = torchvision.models.vgg16().eval()
    if len(sys.argv) == 3:  # ImageNet weights the user already has (torchvision's file, or their own)
        net.load_state_dict(torch.load(sys.argv[2], map_location="cpu"))
    dummy = torch.zeros(1, 3, 224, 224)
    torch.onnx.export(net, dummy, out, opset_version=11,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    model = inline_identity_initializers(onnx.load(out))
    onnx.checker.check_model(model)
    onnx.save(model, out)
    cv2.dnn.readNetFromONNX(out)  # raises if OpenCV cannot import it
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
