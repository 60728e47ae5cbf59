#!/usr/bin/env bash
# Command 1: set up .venv, then sync a demo CRM for five simulated days through Dagster.
# Options go to the demo CLI: --days N, --scale N, --root DIR (see --help).
set -euo pipefail
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$repo_root/scripts/setup.sh"
cd "$repo_root"
exec "$repo_root/.venv/bin/python" -m recovery_platform.demo "$@"
