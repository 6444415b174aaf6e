#!/usr/bin/env bash
# Refreshes core/web/locale/messages.pot and the English catalogue from the code and templates.
# The Japanese catalogue is kept by hand (new entries appended at its end); tests/test_i18n.py
# lists every msgid that still lacks a Japanese translation.
set -euo pipefail
cd "$(dirname "$0")/.."
PYBABEL=.venv/bin/pybabel
LOCALE=core/web/locale
"$PYBABEL" extract -F babel.cfg --no-location --sort-output --project mendan -o "$LOCALE/messages.pot" .
if [ -f "$LOCALE/en/LC_MESSAGES/messages.po" ]; then
  "$PYBABEL" update -i "$LOCALE/messages.pot" -d "$LOCALE" -l en --ignore-obsolete
else
  "$PYBABEL" init -i "$LOCALE/messages.pot" -d "$LOCALE" -l en
fi
