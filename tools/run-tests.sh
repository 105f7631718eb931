#!/usr/bin/env bash
# The test command: build (installing dependencies first) and run the doctest suite through CTest.
#   tools/run-tests.sh            everything
#   tools/run-tests.sh -L unit    one label: unit, parity, gradcheck, slow, mpi, install
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh
ctest --test-dir build --output-on-failure -j "$(nproc)" "$@"
