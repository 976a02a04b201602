#!/usr/bin/env bash
# Make benchmarks/.venv-baseline: the stock `ansible` package, for the baseline only.
# Idempotent: does nothing when the venv already holds exactly requirements.txt.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
VENV="$(cd "$HERE/.." && pwd)/.venv-baseline"
REQ="$HERE/requirements.txt"
PYTHON="${PYTHON:-python3}"
STAMP="$VENV/.installed"
if [ -f "$STAMP" ] && cmp -s "$REQ" "$STAMP"; then
  exit 0
fi
test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q --no-deps -r "$REQ"
"$VENV/bin/python" -m pip check
cp "$REQ" "$STAMP"
echo "baseline venv ready: $VENV ($("$VENV/bin/ansible-playbook" --version | sed -n 1p))"
