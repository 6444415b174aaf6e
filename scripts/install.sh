#!/usr/bin/env bash
# Creates .venv with Python 3.11 and installs mendan (with its test extras) into it; with
# --with-examples (scripts/test.sh) also the example plugin examples/mendan-hello, which the tests
# use and a service must not have. start.sh and test.sh call this; it reinstalls only when a
# pyproject changed. Without --with-examples an installed example plugin is removed again.
set -euo pipefail
cd "$(dirname "$0")/.."

EXAMPLES=0
if [ "${1:-}" = "--with-examples" ]; then
  EXAMPLES=1
fi

PYTHON="${PYTHON:-python3.11}"
if ! command -v "$PYTHON" >/dev/null; then
  echo "mendan needs Python 3.11 ($PYTHON not found). On Debian 12: apt-get install -y python3.11 python3.11-venv" >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -m venv .venv 2>/dev/null; then
    # Debian ships the venv module separately.
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      rm -rf .venv
      apt-get update && apt-get install -y python3.11-venv
      "$PYTHON" -m venv .venv
    else
      echo "could not create .venv: install python3.11-venv (as root: apt-get install -y python3.11-venv)" >&2
      exit 1
    fi
  fi
fi

stamp=.venv/.mendan-installed
wanted="$( (cat pyproject.toml examples/mendan-hello/pyproject.toml; echo "examples=$EXAMPLES") | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  .venv/bin/python -m pip install -e '.[test,insightface]'
  # insightface itself without its dependencies: it asks for opencv-python, which would replace
  # mediapipe's opencv-contrib-python (the same cv2 folder).
  .venv/bin/python -m pip install --no-deps insightface==2.1
  if [ "$EXAMPLES" = 1 ]; then
    .venv/bin/python -m pip install -e examples/mendan-hello
  else
    .venv/bin/python -m pip uninstall -y mendan-hello >/dev/null 2>&1 || true
  fi
  echo "$wanted" > "$stamp"
fi
