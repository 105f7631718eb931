#!/usr/bin/env bash
# Builds cvtl's .deb with CPack from BUILD and checks what it holds and what it depends on
# (dpkg-shlibdeps computes Depends from the libraries libcvtl and the tool link). Prints both lists.
#   tests/consumer/check_deb.sh BUILD
set -euo pipefail
build=$(cd "$1" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$build" && cpack -G DEB -B "$work" > "$work/cpack.log") || { cat "$work/cpack.log" >&2; exit 1; }
deb=$(ls "$work"/*.deb)
dpkg-deb -c "$deb" | awk '{ print $6 }' > "$work/contents"
depends=$(dpkg-deb -f "$deb" Depends)
echo "$(basename "$deb"): $(wc -l < "$work/contents") entries; Depends: $depends"
status=0
for f in ./usr/bin/cvtl ./usr/lib/libcvtl.so ./usr/include/cvtl/plugin/onednn_convolution_layer.hpp \
         ./usr/include/cvtl/pipeline/cache/cache_reader.hpp ./usr/include/cvtl/version.hpp \
         ./usr/lib/cmake/cvtl/cvtlConfig.cmake ./usr/lib/cmake/cvtl/cvtlTargets.cmake ./usr/lib/pkgconfig/cvtl.pc; do
  grep -qx "$f" "$work/contents" || { echo "missing from the package: $f" >&2; status=1; }
done
grep -q '^./usr/lib/libcvtl.so.0' "$work/contents" || { echo "missing from the package: the versioned libcvtl.so.0*" >&2; status=1; }
for d in libopencv-dnn libhdf5 libtbb libdnnl libc6; do
  echo "$depends" | grep -q "$d" || { echo "Depends lacks $d" >&2; status=1; }
done
# Would dpkg install it here (its Depends satisfied by what is installed)? Only root may ask dpkg.
if [ "$(id -u)" -eq 0 ]; then
  dpkg --dry-run -i "$deb" > "$work/dpkg.log" 2>&1 || { echo "dpkg --dry-run -i refuses the package:" >&2; cat "$work/dpkg.log" >&2; status=1; }
  [ $status -eq 0 ] && echo "dpkg --dry-run -i: the package would install on this system"
fi
exit $status
