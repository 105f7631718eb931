#!/usr/bin/python3
"""The pool4/pool5 extraction as a PyTorch user would write it (peer for `cvtl extract`).

Usage: torch_extract.py MODEL_UNUSED IMAGE_DIR OUT.h5 BATCH THREADS
MODEL_UNUSED keeps the argument list parallel to cvtl's; the weights come from
torchvision vgg16() with the same seed as make_vgg16_onnx.py, i.e. the same network.
"""
import json
import sys
import time

import h5py
import torch
import torchvision
from torchvision import transforms


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    _, _, image_dir, out, batch, threads = sys.argv
    batch, threads = int(batch), int(threads)
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torchvision.models.vgg16().eval()

    t0 = time.perf_counter()
    taps = {}
    model.features[23].register_forward_hook(lambda m, i, o: taps.__setitem__("pool4", o))
    model.features[30].register_forward_hook(lambda m, i, o: taps.__setitem__("pool5", o))
    tf = transforms.Compose([
        transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    data = torchvision.datasets.ImageFolder(image_dir, tf)
    loader = torch.utils.data.DataLoader(data, batch_size=batch, num_workers=1)
    n = len(data)
    with h5py.File(out, "w") as f, torch.inference_mode():
        pool4 = f.create_dataset("taps/pool4", (n, 512, 14, 14), "f4")
        pool5 = f.create_dataset("taps/pool5", (n, 512, 7, 7), "f4")
        row = 0
        for x, _ in loader:
            model(x)
            pool4[row:row + len(x)] = taps["pool4"].numpy()
            pool5[row:row + len(x)] = taps["pool5"].numpy()
            row += len(x)
    dt = time.perf_counter() - t0
    print(json.dumps({"name": "torch_extract", "images_per_s": round(n / dt, 3),
                      "ms_per_image": round(1000 * dt / n, 2)}))


if __name__ == "__main__":
    main()
