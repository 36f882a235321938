#!/usr/bin/env bash
# Creates (or completes) the project's Python venv, .local/venv, with tests/python/requirements.txt;
# prints the venv's python. Idempotent and cheap once done: the requirements' checksum is stamped
# in the venv and pip runs only when it changed. Safe to run concurrently (test binaries do):
# runs hold a lock. `make fuzz` shares the venv (it installs schemathesis there itself).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
VENV=.local/venv
REQUIREMENTS=tests/python/requirements.txt
mkdir -p .local
exec 9>.local/venv.lock
flock 9
stamp="$VENV/.requirements.sha256"
want=$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV" >&2
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "venv: installing $REQUIREMENTS into $VENV" >&2
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQUIREMENTS" >&2
  echo "$want" > "$stamp"
fi
echo "$(pwd)/$VENV/bin/python"
