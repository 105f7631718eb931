#!/usr/bin/env bash
# tools/check_doc_paths.sh on the repository (every path exists) and on a copy of the docs with a
# moved file named on purpose (it must fail and name it).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/tools/check_doc_paths.sh" "$ROOT" >/dev/null
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree/docs" "$tree/pipeline/cache"
touch "$tree/pipeline/cache/cache_writer.cpp"
printf 'The writer is `pipeline/cache/cache_writer`; see docs/architecture.md.\n' >"$tree/README.md"
printf 'Moved: pipeline/cache_writer.cpp, at 25,000 samples/s.\n' >"$tree/docs/architecture.md"
if out=$("$ROOT/tools/check_doc_paths.sh" "$tree" 2>&1); then
  echo "check_doc_paths_test: the planted stale path passed the check" >&2
  exit 1
fi
grep -q "docs/architecture.md:1: names pipeline/cache_writer.cpp" <<<"$out" && ! grep -q "README" <<<"$out" ||
  { echo "check_doc_paths_test: the failure does not name exactly the stale path: $out" >&2; exit 1; }
echo "check_doc_paths_test: ok"
