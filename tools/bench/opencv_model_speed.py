#!/usr/bin/python3
"""Times stock OpenCV (cv2.dnn, the library cvtl links) running two models on the same blobs,
interleaved so that both see the same machine state.

Usage: opencv_model_speed.py SOURCE.onnx EXPORTED.onnx N BATCH THREADS
Prints one JSON line: ms/image of each, and exported/source.
"""
import json
import sys
import time

import cv2
import numpy as np


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    paths, n, batch, threads = sys.argv[1:3], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    cv2.setNumThreads(threads)
    nets = [cv2.dnn.readNetFromONNX(p) for p in paths]
    blob = np.random.default_rng(0).standard_normal((batch, 3, 224, 224), dtype=np.float32)
    for net in nets:  # first forward: allocations and weight packing, not timed
        net.setInput(blob)
        net.forward()
    seconds = [0.0, 0.0]
    for _ in range(0, n, batch):
        for k, net in enumerate(nets):
            net.setInput(blob)
            t = time.perf_counter()
            net.forward()
            seconds[k] += time.perf_counter() - t
    ms = [1000 * s / n for s in seconds]
    print(json.dumps({"source_ms_per_image": round(ms[0], 2), "exported_ms_per_image": round(ms[1], 2),
                      "exported_over_source": round(ms[1] / ms[0], 3)}))


if __name__ == "__main__":
    main()
