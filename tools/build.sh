#!/usr/bin/env bash
# Installs the Debian packages cvtl needs (if missing), configures and builds into build/.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build
