#!/usr/bin/python3
"""Write N synthetic 500x375 JPEGs (quality 90) in ImageFolder layout.

Usage: make_jpegs.py OUT_DIR N   -> OUT_DIR/class_a/*.jpg, OUT_DIR/class_b/*.jpg (half each)
"""
import os
import sys

import cv2
import numpy as np

W, H = 500, 375


def synth(rng):
    # Low-frequency colour blobs + random shapes + pixel noise: decodes like a
    # photo-sized JPEG (~50-100 KB) instead of a trivially compressible flat image.
    img = cv2.resize(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8), (W, H),
                     interpolation=cv2.INTER_CUBIC)
    for _ in range(rng.integers(5, 15)):
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        x, y = int(rng.integers(0, W)), int(rng.integers(0, H))
        if rng.random() < 0.5:
            cv2.circle(img, (x, y), int(rng.integers(10, 80)), color, -1)
        else:
            cv2.rectangle(img, (x, y), (x + int(rng.integers(10, 150)), y + int(rng.integers(10, 150))),
                          color, -1)
    noise = rng.normal(0, 12, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    out, n = sys.argv[1], int(sys.argv[2])
    rng = np.random.default_rng(0)
    for i in range(n):
        cls = "class_a" if i < (n + 1) // 2 else "class_b"
        os.makedirs(os.path.join(out, cls), exist_ok=True)
        path = os.path.join(out, cls, f"img_{i:06d}.jpg")
        if not cv2.imwrite(path, synth(rng), [cv2.IMWRITE_JPEG_QUALITY, 90]):
            sys.exit(f"failed to write {path}")
    print(f"wrote {n} images to {out}")


if __name__ == "__main__":
    main()
