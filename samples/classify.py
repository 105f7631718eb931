#!/usr/bin/env python3
"""Classifies images with a model exported by `cvtl export`, using only OpenCV (cv2) and the
standard library.

    python3 classify.py MODEL.onnx IMAGE...

MODEL.json next to MODEL.onnx gives the class names and the preprocessing.
"""
import json
import math
import sys

import cv2


def to_blob(bgr, pre):
    """[1, 3, S, S] float32, as cvtl's presets define it."""
    size = pre["size"]
    if pre["resize"] == "stretch":
        img = cv2.resize(bgr, (size, size), interpolation=cv2.INTER_LINEAR)
    else:
        h, w = bgr.shape[:2]
        shorter = int(math.floor(size * 256.0 / 224.0 + 0.5))
        if h <= w:
            nh, nw = shorter, int(math.floor(w * shorter / h + 0.5))
        else:
            nh, nw = int(math.floor(h * shorter / w + 0.5)), shorter
        img = cv2.resize(bgr, (nw, nh), interpolation=cv2.INTER_LINEAR)
        y, x = (nh - size) // 2, (nw - size) // 2
        img = img[y:y + size, x:x + size]
    planes = cv2.split(img)
    if pre["channels"] == "RGB":
        planes = planes[::-1]
    scaled = [p.astype("float32") * (pre["scale"] / s) - m / s for p, m, s in zip(planes, pre["mean"], pre["std"])]
    return cv2.merge(scaled).transpose(2, 0, 1)[None].copy()


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: classify.py MODEL.onnx IMAGE...")
    model = sys.argv[1]
    with open(model.rsplit(".", 1)[0] + ".json") as f:
        meta = json.load(f)
    net = cv2.dnn.readNetFromONNX(model)
    status = 0
    for path in sys.argv[2:]:
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            print("classify.py: cannot read image " + path, file=sys.stderr)
            status = 1
            continue
        net.setInput(to_blob(image, meta["preprocess"]))
        prob = net.forward().reshape(-1)
        best = sorted(range(len(prob)), key=lambda i: -prob[i])[:3]
        print(path + ":" + "".join(" %s (%.4f)" % (meta["classes"][i], prob[i]) for i in best))
    sys.exit(status)


if __name__ == "__main__":
    main()
