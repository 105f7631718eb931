#!/usr/bin/env bash
# Checks an exported model against a second runtime: ONNX Runtime (onnxruntime-node) and stock OpenCV
# (python3-opencv, no cvtl code) on the same deterministic input must agree within 1e-4.
#   tools/check_onnxruntime.sh MODEL.onnx SIZE [BATCH=2]
# Needs Node.js and `npm install --ignore-scripts onnxruntime-node` in $ORT_DIR (default /tmp/ort).
# A hand-run check (CI has no npm registry); the exports it was run on are listed in docs/benchmarks.md.
set -euo pipefail
MODEL=$1 SIZE=$2 N=${3:-2}
ORT_DIR=${ORT_DIR:-/tmp/ort}
HERE=$(cd "$(dirname "$0")" && pwd)
[ -d "$ORT_DIR/node_modules/onnxruntime-node" ] ||
  { echo "check_onnxruntime: no onnxruntime-node in $ORT_DIR; run: (cd $ORT_DIR && npm install --ignore-scripts onnxruntime-node)" >&2; exit 1; }
ORT_JSON=$(NODE_PATH="$ORT_DIR/node_modules" node "$HERE/check_onnxruntime.js" "$MODEL" "$N" 3 "$SIZE" "$SIZE")
ORT_JSON="$ORT_JSON" /usr/bin/python3 - "$MODEL" "$N" "$SIZE" <<'PY'
import json, os, sys
import cv2
import numpy as np
model, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
count = n * 3 * size * size
x = (np.sin(0.37 * np.arange(count, dtype=np.float64)) * 0.5).astype(np.float32).reshape(n, 3, size, size)
net = cv2.dnn.readNet(model)
net.setInput(x)
opencv = net.forward().reshape(n, -1)
ort = json.loads(os.environ["ORT_JSON"])
ort = np.array(ort["data"], np.float32).reshape(n, -1)
d = float(np.abs(opencv - ort).max())
print("check_onnxruntime: %s: max |OpenCV - ONNX Runtime| = %.3g over %d outputs" % (model, d, opencv.size))
sys.exit(0 if d <= 1e-4 else 1)
PY
