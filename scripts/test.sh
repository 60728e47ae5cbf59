#!/usr/bin/env bash
# Command 2: set up .venv, then lint, type-check and run the whole test suite (Spark included).
# Extra arguments go to pytest. All three steps always run, so one pass shows every problem;
# exits non-zero if any failed, and when pytest collected no test (pytest's exit status 5).
set -euo pipefail
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$repo_root/scripts/setup.sh"
source "$repo_root/scripts/java.sh"
cd "$repo_root"
bin="$repo_root/.venv/bin"
failed=()

echo "== ruff check ."
"$bin/ruff" check . || failed+=(ruff)
echo "== mypy (the whole package)"
"$bin/mypy" || failed+=(mypy)
echo "== pytest"
status=0
"$bin/pytest" "$@" || status=$?
if [ "$status" -eq 5 ]; then
  echo "error: pytest collected no tests; a test that does not run counts as gone" >&2
fi
[ "$status" -eq 0 ] || failed+=("pytest (exit $status)")

if [ "${#failed[@]}" -gt 0 ]; then
  echo "FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "All passed: ruff, mypy, pytest"
