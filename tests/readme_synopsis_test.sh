#!/usr/bin/env bash
# tools/readme_synopsis.sh --check on the repository's README (it is the CLI's synopsis) and on a copy
# with one option taken out of it on purpose (it must fail and show the difference).
#   tests/readme_synopsis_test.sh CVTL
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CVTL=$1
"$ROOT/tools/readme_synopsis.sh" --check "$ROOT/README.md" "$CVTL" >/dev/null
copy=$(mktemp)
trap 'rm -f "$copy"' EXIT
sed 's/ \[--test-fraction FLOAT\]//' "$ROOT/README.md" >"$copy"
cmp -s "$copy" "$ROOT/README.md" && { echo "readme_synopsis_test: could not plant the error" >&2; exit 1; }
if out=$("$ROOT/tools/readme_synopsis.sh" --check "$copy" "$CVTL" 2>&1); then
  echo "readme_synopsis_test: a synopsis without --test-fraction passed the check" >&2
  exit 1
fi
grep -q "test-fraction" <<<"$out" || { echo "readme_synopsis_test: the failure does not show the option: $out" >&2; exit 1; }
echo "readme_synopsis_test: ok"
