#!/usr/bin/env bash
# Installs every Debian 12 package cvtl needs to build, test and run its demo.
# Idempotent: packages already present are left alone.
#   tools/install-deps.sh            build + tests + demo
#   tools/install-deps.sh --python   also the Python packages used to regenerate
#                                    fixtures and run peer benchmarks (never needed by cvtl itself)
#   tools/install-deps.sh --sanitize clang and its sanitizer/libFuzzer runtimes, for tools/sanitize.sh
set -euo pipefail

packages=(
  build-essential cmake pkg-config ninja-build
  clang-format           # tools/check_format.sh, a unit test
  libopencv-dev
  libhdf5-dev
  libboost-filesystem-dev
  libtbb-dev
  doctest-dev
  libonnx-dev libprotobuf-dev protobuf-compiler
  libdnnl-dev ocl-icd-opencl-dev
  nlohmann-json3-dev libcli11-dev libssl-dev zlib1g-dev
  libplplot-dev          # charts (pipeline/report/chart); its built-in "mem" driver suffices
  plplot-driver-cairo    # anti-aliased charts through its "memcairo" driver (dlopened: not a link dependency)
  dataset-fashion-mnist
  python3-opencv         # samples/classify.py runs in the tests
  hdf5-tools             # h5dump, for tools/kill_extract.sh
  openmpi-bin libopenmpi-dev  # cvtl links Open MPI always; mpirun runs sharded extraction and data-parallel training
  file dpkg-dev          # CPack's .deb: dpkg-shlibdeps finds its Depends
)
if [ "${1:-}" = "--sanitize" ]; then
  packages+=(clang libclang-rt-14-dev libomp-dev)
fi
if [ "${1:-}" = "--python" ]; then
  # OpenMP OpenBLAS: with --no-install-recommends torch would fall back to the reference BLAS.
  packages+=(python3-torch python3-torchvision python3-onnx python3-h5py python3-numpy libopenblas0-openmp time)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
