"""Japanese (default) and English, from gettext catalogues under core/web/locale.

The .po files are the source; they are compiled in memory at start-up, so no
binary .mo file is kept in the repository. The language of a request lives in
a context variable that the Jinja i18n extension and `gettext` read.
"""

from __future__ import annotations

import gettext as _gettext
from contextvars import ContextVar
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES = ("ja", "en")
DEFAULT_LANGUAGE = "ja"
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"

current_language: ContextVar[str] = ContextVar("current_language", default=DEFAULT_LANGUAGE)


@cache
def translations(language: str) -> _gettext.NullTranslations:
    po_path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po_path.exists():
        return _gettext.NullTranslations()
    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale=language)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def gettext(message: str) -> str:
    return translations(current_language.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_language.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks a msgid for extraction whose text is chosen at run time, as in `_(user.role)`."""
    return message


# Shown through `_(value)`: listing them here is what puts them in the catalogue.
ROLE_NAMES = (N_("operator"), N_("admin"), N_("interviewer"), N_("expert"), N_("interviewee"))
JOB_STATES = (N_("queued"), N_("running"), N_("done"), N_("failed"))


def pick_language(cookie: str | None, user_language: str | None, accept_language: str | None) -> str:
    """The cookie set by the language switch wins, then the user's setting, then the browser."""
    for candidate in (cookie, user_language):
        if candidate in LANGUAGES:
            return candidate
    for code in _by_preference(accept_language or ""):
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


def _by_preference(accept_language: str) -> list[str]:
    """The header's two-letter language codes, most wanted first (RFC 9110 `q` weights, ties in
    the order sent); those with `q=0` (not wanted) and malformed weights are left out."""
    weighted = []
    for position, part in enumerate(accept_language.split(",")):
        code, *params = (p.strip() for p in part.split(";"))
        weight = 1.0
        for param in params:
            name, _sep, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if weight > 0:
            weighted.append((-weight, position, code.lower()[:2]))
    return [code for _w, _p, code in sorted(weighted)]
