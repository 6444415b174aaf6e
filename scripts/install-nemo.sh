#!/usr/bin/env bash
# The optional NeMo backend of the speech plugin in its own environment, .venv-nemo (2.2 GB):
# CPU torch 2.13.0 first (the local wheel in /opt/wheels where there is one, else PyTorch's CPU
# index), then mendan with the `nemo` and `test` extras. Reinstalls only when pyproject changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
[ -x .venv-nemo/bin/python ] || "$PYTHON" -m venv .venv-nemo
stamp=.venv-nemo/.mendan-installed
wanted="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  wheel="$(ls /opt/wheels/torch-2.13.0+cpu-*.whl 2>/dev/null | head -1 || true)"
  if [ -n "$wheel" ]; then
    .venv-nemo/bin/python -m pip install "$wheel"
  else
    .venv-nemo/bin/python -m pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
  fi
  .venv-nemo/bin/python -m pip install -e '.[nemo,test]'
  echo "$wanted" > "$stamp"
fi
