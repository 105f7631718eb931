# Sourced by the benchmarks that run cvtl on Fashion-MNIST transfer tasks (train_defaults.sh,
# selection_rule.sh, keep_epoch.sh): their shared command line `SCRIPT OUT [BIN=build/bin]`.
#   transfer_task_env NAME "$@"   sets ROOT, OUT (absolute, created), BIN, CVTL, FMNIST and PY,
#                                 and stops with a one-line error when a binary is not built.
transfer_task_env() {
  local name=$1
  shift
  [ $# -ge 1 ] || { echo "usage: tools/bench/$name.sh OUT [BIN=build/bin]" >&2; exit 2; }
  ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  mkdir -p "$1"
  OUT=$(cd "$1" && pwd)
  BIN=${2:-build/bin}
  [[ $BIN = /* ]] || BIN=$ROOT/$BIN
  CVTL=$BIN/cvtl
  FMNIST=$BIN/cvtl-fashion-mnist
  PY=/usr/bin/python3
  local b
  for b in "$CVTL" "$FMNIST"; do [ -x "$b" ] || { echo "$name: $b is not built" >&2; exit 1; }; done
}
