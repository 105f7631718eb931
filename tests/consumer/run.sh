#!/usr/bin/env bash
# Installs the cvtl of BUILD into a temporary prefix, then builds the consumer app against it
# (MODE cmake: find_package(cvtl); MODE pkg-config: `pkg-config --cflags --libs cvtl`) and runs it on
# MODEL at input size SIZE. CTest runs both modes (label "install").
#   tests/consumer/run.sh BUILD MODE MODEL SIZE
set -euo pipefail
build=$1 mode=$2 model=$3 size=$4
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" > /dev/null
lib=$(find "$work/prefix" -name 'libcvtl.so.*' -type f | head -1)
soname=$(objdump -p "$lib" | awk '/SONAME/ { print $2 }')
echo "installed $(basename "$lib") (SONAME $soname)"
case "$mode" in
  cmake)
    cmake -S "$here" -B "$work/app" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$work/prefix" > /dev/null
    cmake --build "$work/app" > "$work/build.log" || { cat "$work/build.log" >&2; exit 1; }
    app="$work/app/consumer" ;;
  pkg-config)
    pcdir=$(dirname "$(find "$work/prefix" -name cvtl.pc | head -1)")
    flags=$(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags --libs cvtl)
    # shellcheck disable=SC2086
    g++ -std=c++17 -O1 "$here/consumer.cpp" -o "$work/consumer" $flags
    app="$work/consumer" ;;
  *) echo "unknown mode $mode" >&2; exit 2 ;;
esac
# The app finds the installed libcvtl, not the build tree's: through the prefix only.
LD_LIBRARY_PATH="$(dirname "$lib")" "$app" "$model" "$size"
LD_LIBRARY_PATH="$(dirname "$lib")" ldd "$app" > "$work/ldd"
grep -q "$(dirname "$lib")/$soname" "$work/ldd" || { echo "consumer did not load the installed $soname:" >&2; grep cvtl "$work/ldd" >&2; exit 1; }
