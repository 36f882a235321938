#!/usr/bin/env bash
# The differential recurrence test's Python (crates/task-domain/tests/differential.rs): makes
# sure .local/venv (the venv `make fuzz` uses too) has the oracle's pinned packages
# (tests/differential/requirements.txt), then prints the venv's python. Installs only when the
# requirements changed since the last install; progress goes to stderr.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
VENV=.local/venv
REQUIREMENTS=tests/differential/requirements.txt
STAMP=$VENV/.differential-requirements

if ! [ -x "$VENV/bin/python" ] || ! cmp -s "$REQUIREMENTS" "$STAMP" 2>/dev/null; then
  echo "differential: installing the oracle's packages into $VENV" >&2
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQUIREMENTS" >&2
  cp "$REQUIREMENTS" "$STAMP"
fi
echo "$(pwd)/$VENV/bin/python"
