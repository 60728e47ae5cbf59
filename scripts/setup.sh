#!/usr/bin/env bash
# Create or reuse the one virtual environment at <repo>/.venv, with the pinned dependencies.
# Sourced by demo.sh and test.sh; run it alone to set up without doing anything else.
# The install is skipped when pyproject.toml and setup.cfg are unchanged since the last one.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$repo_root/.venv"
stamp="$venv/.recovery_platform-install"

pick_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3.11 python3.12 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 13))'; then
      echo "$candidate"
      return 0
    fi
  done
  echo "error: Python 3.11 or 3.12 is needed (set PYTHON=/path/to/python3.11)" >&2
  return 1
}

if [ ! -x "$venv/bin/python" ]; then
  python=$(pick_python)
  echo "Creating $venv with $($python --version)"
  "$python" -m venv "$venv"
fi

wanted=$(cat "$repo_root/pyproject.toml" "$repo_root/setup.cfg" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$wanted" ]; then
  echo "Installing recovery_platform and its pinned dependencies into .venv (quiet; errors show)"
  (cd "$repo_root" && "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -e ".[dev]")
  echo "$wanted" > "$stamp"
fi
