#!/usr/bin/env bash
# The folders of the library depend on each other one way: from the sources' #include lines, an edge
# "A B" for every file in folder A that includes a header of folder B (A != B); a cycle among the
# folders fails (tsort names the folders of the loop). Prints the folder graph with edge counts.
#   tools/check_layers.sh [ROOT=the repository]
set -euo pipefail
ROOT=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$ROOT"
edges=$(grep -rHo --include='*.cpp' --include='*.hpp' '^#include "\(plugin\|pipeline\)/[^"]*"' plugin pipeline |
  sed -E 's|^(.*)/[^/]*:#include "(.*)/[^/]*"$|\1 \2|' | awk '$1 != $2')
echo "$edges" | sort | uniq -c | awk '{printf "  %-22s -> %-22s %3d includes\n", $2, $3, $1}'
if ! loops=$(echo "$edges" | sort -u | tsort 2>&1 >/dev/null) || [ -n "$loops" ]; then
  echo "check_layers: FAIL: include cycle between folders:" >&2
  echo "$loops" | sed 's/^tsort: /  /' >&2
  exit 1
fi
echo "check_layers: ok: no cycle between $(echo "$edges" | tr ' ' '\n' | sort -u | wc -l) folders"
