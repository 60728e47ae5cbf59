#!/usr/bin/env bash
# Command 2: set up .venv, then lint, type-check and run the whole test suite (Spark included).
# Extra arguments go to pytest. Exits non-zero on any failure, and when no test was collected.
set -euo pipefail
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$repo_root/scripts/setup.sh"
source "$repo_root/scripts/java.sh"
cd "$repo_root"
bin="$repo_root/.venv/bin"

echo "== ruff"
"$bin/ruff" check .
echo "== mypy"
"$bin/mypy"
echo "== pytest"
status=0
"$bin/pytest" "$@" || status=$?
if [ "$status" -eq 5 ]; then
  echo "error: pytest collected no tests; a test that does not run counts as gone" >&2
fi
exit "$status"
