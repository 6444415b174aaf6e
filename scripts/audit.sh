#!/usr/bin/env bash
# pip-audit over every package installed in .venv (the product and its test tools), against PyPI's
# advisory data (the OSV entries PyPI shows per release). Exits 1 when a package has a known
# vulnerability, naming it and the fixed version. A package whose advisory data cannot be fetched
# (a machine without the internet, a private mirror) is listed as not audited, with a warning:
# nothing can be said of it there, and the run does not pretend otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
[ -x .venv-audit/bin/pip-audit ] || { "$PYTHON" -m venv .venv-audit && .venv-audit/bin/python -m pip install -q pip-audit==2.10.1; }

site="$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
report="$(mktemp)"
status=0
.venv-audit/bin/pip-audit --path "$site" --skip-editable --progress-spinner off --desc on 2>&1 | tee "$report" \
  || status=$?
unaudited="$(grep -c 'could not be audited' "$report" || true)"
if [ "$unaudited" -gt 0 ]; then
  echo "warning: pip-audit could not fetch advisory data for $unaudited packages (listed above); they are not audited" >&2
fi
rm -f "$report"
exit "$status"
