#!/usr/bin/env bash
# Every repository path that README.md and docs/*.md name exists: a word starting with one of the
# top-level folders (plugin/, pipeline/, tools/, samples/, tests/, docs/) is a file, a folder, or a
# source named without its extension (pipeline/cache/cache_writer for .cpp/.hpp). Words with a
# wildcard or a placeholder (* { < ...) are patterns, not paths, and are skipped.
#   tools/check_doc_paths.sh [ROOT=the repository]
set -euo pipefail
ROOT=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$ROOT"
missing=0
while IFS=: read -r file line word; do
  case $word in *'*'* | *'{'* | *'<'* | *'...'* | *'NAME'* | *'N.'* | */s) continue ;; esac  # */s: a rate
  word=${word%/}
  [ -e "$word" ] && continue
  compgen -G "$word.*" >/dev/null && continue
  echo "$file:$line: names $word, which is not in the repository" >&2
  missing=$((missing + 1))
done < <(grep -noE '(^|[^A-Za-z0-9_./-])(plugin|pipeline|tools|samples|tests|docs)/[A-Za-z0-9_./*{}<>-]*[A-Za-z0-9_/*}-]' \
  README.md docs/*.md | sed -E 's/^([^:]*):([0-9]*):[^a-z]*/\1:\2:/')
if [ "$missing" -gt 0 ]; then
  echo "check_doc_paths: FAIL: $missing path(s) named in the docs do not exist" >&2
  exit 1
fi
echo "check_doc_paths: ok: every path named in README.md and docs/*.md exists"
