#!/usr/bin/python3
"""Copy a class-per-folder tree of small images as SIZE x SIZE colour JPEGs (quality 90), the shape of
the photos a user brings to a pretrained VGG-16 (tools/bench/real_scale.sh upscales Fashion-MNIST's
28x28 grey images to 224x224, grey replicated to three channels).

Usage: upscale_images.py SRC DST [SIZE=224]
"""
import os
import sys

import cv2


def main():
    if len(sys.argv) not in (3, 4):
        raise SystemExit(__doc__)
    src, dst = sys.argv[1], sys.argv[2]
    size = int(sys.argv[3]) if len(sys.argv) == 4 else 224
    count = 0
    for cls in sorted(os.listdir(src)):
        if not os.path.isdir(os.path.join(src, cls)):
            continue
        os.makedirs(os.path.join(dst, cls), exist_ok=True)
        for name in sorted(os.listdir(os.path.join(src, cls))):
            image = cv2.imread(os.path.join(src, cls, name), cv2.IMREAD_COLOR)
            if image is None:
                raise SystemExit(f"upscale_images: cannot read {os.path.join(src, cls, name)}")
            image = cv2.resize(image, (size, size), interpolation=cv2.INTER_CUBIC)
            out = os.path.join(dst, cls, os.path.splitext(name)[0] + ".jpg")
            cv2.imwrite(out, image, [cv2.IMWRITE_JPEG_QUALITY, 90])
            count += 1
    print(f"upscale_images: {count} images of {size}x{size} in {dst}")


if __name__ == "__main__":
    main()
