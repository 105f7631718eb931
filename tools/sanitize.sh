#!/usr/bin/env bash
# The sanitizer job (CI runs it after the test command): builds cvtl with clang under AddressSanitizer
# and UndefinedBehaviorSanitizer into build-san/, runs the unit tests there, then runs every libFuzzer
# harness for a short fixed time from its committed seed corpus.
#   tools/sanitize.sh [FUZZ_SECONDS]     default 30 s per harness
#   tools/sanitize.sh 0                  unit tests only
# For long fuzzing runs, see tools/fuzz.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
tools/install-deps.sh --sanitize
flags="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined -fsanitize=fuzzer-no-link"
cmake -S . -B build-san -G Ninja -DCMAKE_BUILD_TYPE=None \
      -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
      -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
      -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
      -DCVTL_BUILD_BENCH=OFF -DCVTL_FUZZ=ON -DCVTL_INSTALL=OFF >/dev/null
cmake --build build-san

# Third-party libraries were not built with ASan: leaks they keep for the process's life (OpenCV's
# and TBB's singletons) are not cvtl's, so leak reports are limited to the suppressions file's complement.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
ctest --test-dir build-san --output-on-failure -j "$(nproc)" -L unit

if [ "$seconds" -gt 0 ]; then
  tools/fuzz.sh "$seconds" build-san
fi
