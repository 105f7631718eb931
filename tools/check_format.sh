#!/usr/bin/env bash
# Every C++ source of the project follows .clang-format (clang-format --dry-run -Werror); prints the
# first offending lines and fails otherwise. Fix with: tools/check_format.sh --fix
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
command -v clang-format >/dev/null || { echo "check_format: clang-format is not installed (tools/install-deps.sh)" >&2; exit 1; }
mapfile -t files < <(find plugin pipeline tools samples tests -name '*.cpp' -o -name '*.hpp' -o -name '*.h' | grep -v '^tests/fixtures/' | sort)
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
  echo "check_format: formatted ${#files[@]} files"
  exit 0
fi
if ! out=$(clang-format --dry-run -Werror "${files[@]}" 2>&1); then
  echo "$out" | head -20 >&2
  echo "check_format: FAIL: $(echo "$out" | grep -c 'error:') lines differ from .clang-format (tools/check_format.sh --fix)" >&2
  exit 1
fi
echo "check_format: ok: ${#files[@]} files"
