#!/usr/bin/env bash
# Installs the Debian packages cvtl needs (if missing), configures and builds into build/.
#   tools/build.sh              every target (the tools, the samples, the tests, the benchmarks)
#   tools/build.sh T1 T2 ...    only these targets and what they need (the demo builds 2 of ~110)
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
if [ $# -gt 0 ]; then
  cmake --build build --target "$@"
else
  cmake --build build
fi
