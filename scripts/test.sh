#!/usr/bin/env bash
# Installs everything the tests need and runs them; arguments go to pytest (e.g. -k, a path).
# The browser tests drive Debian's chromium; as root it is installed when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install.sh --with-examples  # the example plugin is for the tests only

if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update && apt-get install -y chromium fonts-noto-cjk
  else
    echo "warning: chromium is missing (as root: apt-get install -y chromium); browser tests will be skipped" >&2
  fi
fi

# The browser tests check each page's accessibility with axe-core, the npm package pinned in
# tests/a11y/package-lock.json (node and npm from Debian install it; without it those tests fail, saying so).
if [ ! -f tests/a11y/node_modules/axe-core/axe.min.js ]; then
  if ! command -v npm >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update && apt-get install -y --no-install-recommends nodejs npm
  fi
  if command -v npm >/dev/null; then
    npm ci --prefix tests/a11y --no-audit --no-fund
  else
    echo "warning: npm is missing (as root: apt-get install -y nodejs npm); the accessibility checks will fail" >&2
  fi
fi

# The AI-ethics report tests render PDFs to PNG with poppler and check their Japanese fonts.
if ! command -v pdftoppm >/dev/null || ! fc-list 2>/dev/null | grep -q "Noto Sans CJK JP"; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y poppler-utils fonts-noto-cjk
  else
    echo "warning: poppler-utils or fonts-noto-cjk is missing; the PDF report tests will be skipped or fail" >&2
  fi
fi

# The pipeline tests make phone-style media (variable frame rate, rotated, fragmented MP4, QuickTime)
# with Debian's ffmpeg; without it they skip.
if ! command -v ffmpeg >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y --no-install-recommends ffmpeg
  else
    echo "warning: ffmpeg is missing; the phone-style media tests will be skipped" >&2
  fi
fi

# The model files of the installed plugins (face analysis, Whisper), fetched once into a cache the tests share (verified by SHA-256).
export MENDAN_MODELS_DIR="${MENDAN_MODELS_DIR:-$PWD/.models}"
.venv/bin/mendan models fetch

mkdir -p test-artifacts
# pytest exits non-zero on failures, errors and when no test was collected (5).
exec .venv/bin/python -m pytest "$@"
