#!/usr/bin/env bash
# Install edge_app into .venv (created if missing) with the locked versions of everything it
# needs: requirements/app.lock (the app) or requirements/test.lock (the app and its tests),
# exact versions checked by their hashes, then edge_app itself (editable, no dependencies).
# Why locked, and how to move the locks forward: docs/dependencies.md (scripts/lock.py).
# Usage: scripts/install.sh [app|test]     (default: app)
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-app}
case "$which" in app|test) ;; *) echo "usage: scripts/install.sh [app|test]" >&2; exit 2 ;; esac
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --require-hashes -r "requirements/$which.lock"
.venv/bin/python -m pip install -q --no-deps -e .
