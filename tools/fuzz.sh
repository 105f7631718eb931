#!/usr/bin/env bash
# Runs the libFuzzer harnesses (tests/fuzz/) under ASan + UBSan for SECONDS each, starting from the
# committed seed corpus in tests/fuzz/corpus/NAME. New inputs go to BUILD/fuzz/NAME (the seeds are
# never modified); a crash leaves BUILD/fuzz/crash-NAME-* and fails the script.
#   tools/fuzz.sh [SECONDS] [BUILD]        defaults: 30 s, build-san (built by tools/sanitize.sh)
#   tools/fuzz.sh 3600                     the long run docs/reliability.md reports
#   ONLY=cache_reader tools/fuzz.sh 600    chosen harnesses
#   HDF5_BYTES=1 tools/fuzz.sh 3600        also cache_bytes: raw bytes as an HDF5 file, which finds
#                                          the HDF5 library's own hangs and crashes; it runs in fork
#                                          mode, records each under BUILD/fuzz/ and goes on, and
#                                          never fails the script (docs/reliability.md lists them)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
build="${2:-build-san}"
names="${ONLY:-model_description dataset_scan cache_reader onnx_repair image_decode}"
[ "${HDF5_BYTES:-0}" = 1 ] && names="$names cache_bytes"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# OpenCV's own limit on declared image size (read when the library loads; default 1 gigapixel):
# lowered here so that a header declaring a huge image is refused instead of allocated.
export OPENCV_IO_MAX_IMAGE_PIXELS="${OPENCV_IO_MAX_IMAGE_PIXELS:-16777216}"
status=0
for name in $names; do
  binary="$build/tests/fuzz/fuzz_$name"
  if [ ! -x "$binary" ]; then
    echo "fuzz: $binary is not built; run tools/sanitize.sh 0 first" >&2
    exit 2
  fi
  work="$build/fuzz/$name"
  mkdir -p "$work"
  log="$build/fuzz/$name.log"
  # -seed fixes the mutation sequence, so a short CI run is repeatable; -max_len bounds one input.
  flags=(-max_total_time="$seconds" -seed=1 -timeout=20 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1
         -artifact_prefix="$build/fuzz/crash-$name-")
  if [ "$name" = cache_bytes ]; then
    flags+=(-fork=1 -ignore_timeouts=1 -ignore_crashes=1 -ignore_ooms=1)
    "$binary" "$work" "tests/fuzz/corpus/$name" "${flags[@]}" 2>&1 | grep -v -E '^(HDF5-DIAG|  #[0-9]{3}|    (major|minor): |$)' >"$log" || true
    found=$(ls "$build/fuzz/" | grep -c "^crash-$name-" || true)
    echo "fuzz: $name: ${seconds} s in fork mode, $found hang/crash inputs of the HDF5 library recorded (see $log)"
    continue
  fi
  # The decoders' own complaints about broken inputs ("libpng error: ...", OpenCV's imdecode
  # warnings) are dropped from the log: millions of them would fill the disk and say nothing.
  set +e
  "$binary" "$work" "tests/fuzz/corpus/$name" "${flags[@]}" 2>&1 | grep -v -E '^(libpng (error|warning): |imdecode_|$)' >"$log"
  rc=${PIPESTATUS[0]}
  set -e
  if [ "$rc" -eq 0 ]; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
    echo "fuzz: $name: ${seconds} s, $runs inputs, $cov, no failure"
  else
    echo "fuzz: $name FAILED (log: $log); the input is in $build/fuzz/crash-$name-*" >&2
    grep -E "ERROR|SUMMARY|#[0-9]+ 0x" "$log" | head -40 >&2
    status=1
  fi
done
exit $status
