#!/usr/bin/python3
"""Bare cv::dnn forward loop: the ceiling for `cvtl extract` (no decode, no resize, no HDF5).

Usage: opencv_forward.py MODEL.onnx N BATCH THREADS
Forwards pool4 and pool5, as the extractor does for --taps pool4,pool5. Times every batch from
a cold net (no untimed warm-up), as an extraction pays its first batch too.
"""
import json
import sys
import time

import cv2
import numpy as np


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    model, n, batch, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    cv2.setNumThreads(threads)
    net = cv2.dnn.readNetFromONNX(model)

    # ONNX max-pools import as type "Pooling" named like onnx_node!/features/features.23/MaxPool;
    # in VGG-16 the 4th and 5th are pool4 and pool5.
    names = net.getLayerNames()
    maxpools = [nm for i, nm in enumerate(names, 1)
                if net.getLayer(i).type == "Pooling" and "MaxPool" in nm]
    outs = [maxpools[3], maxpools[4]]

    blob = np.random.default_rng(0).standard_normal((batch, 3, 224, 224), dtype=np.float32)
    t0 = time.perf_counter()
    for start in range(0, n, batch):
        net.setInput(blob[:min(batch, n - start)])
        net.forward(outs)
    dt = time.perf_counter() - t0
    print(json.dumps({"name": "opencv_forward", "images_per_s": round(n / dt, 3),
                      "ms_per_image": round(1000 * dt / n, 2)}))


if __name__ == "__main__":
    main()
