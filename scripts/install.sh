#!/usr/bin/env bash
# Creates .venv with Python 3.11 and installs mendan (with its test extras) and the example
# plugin into it. start.sh and test.sh call this; it reinstalls only when a pyproject changed.
set -euo pipefail
cd "$(dirname "$0")/.."

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
wanted="$(cat pyproject.toml examples/mendan-hello/pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  .venv/bin/python -m pip install -e '.[test,insightface]'
  # insightface itself without its dependencies: it asks for opencv-python, which would replace
  # mediapipe's opencv-contrib-python (the same cv2 folder).
  .venv/bin/python -m pip install --no-deps insightface==2.1
  .venv/bin/python -m pip install -e examples/mendan-hello
  echo "$wanted" > "$stamp"
fi
