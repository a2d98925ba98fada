#!/usr/bin/env bash
# Set up a virtual environment (if missing) with the locked versions of the app and its test
# extra (requirements/test.lock, through scripts/install.sh) and run the whole test suite.
# Usage: scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh test
exec .venv/bin/python -m pytest "$@"
