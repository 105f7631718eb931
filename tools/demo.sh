#!/usr/bin/env bash
# The main job on the embedded default: build cvtl, show the bundled model's block map, extract
# its pool4/pool5/fc7 activations for the bundled sample images into an HDF5 cache, and show
# what the cache holds. (The Fashion-MNIST transfer-learning demo replaces this once it lands.)
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh
model=tests/fixtures/tiny_vgg16.onnx
images=tests/fixtures/images
out=build/demo
mkdir -p "$out"
set -x
build/bin/cvtl inspect "$model"
build/bin/cvtl extract "$model" "$images" -o "$out/cache.h5" --taps pool4,pool5,fc7 --force
build/bin/cvtl cache "$out/cache.h5"
