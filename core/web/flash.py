"""One-shot confirmation messages ("Interview scheduled.") shown on the page a form redirects to.

The message is kept in the server-side session (the browser holds only the session id, so it
cannot forge one) as an English msgid, translated when shown, and removed once shown. A request
without a session (an API token) keeps nothing.
"""

from __future__ import annotations

from typing import Any

from core.web import i18n

FLASH_KEY = "flash"


def flash(connection: Any, msgid: str, **values: Any) -> None:
    """Keep `msgid` (a gettext msgid, `%(name)s` placeholders filled from `values` after
    translation) for the next page this session shows."""
    session = connection.scope.get("session")
    if isinstance(session, dict):
        session[FLASH_KEY] = {"msgid": msgid, "values": {k: str(v) for k, v in values.items()}}


def take_flash(connection: Any) -> str:
    """The kept message in the current language, removed from the session; "" when none."""
    session = connection.scope.get("session")
    kept = session.pop(FLASH_KEY, None) if isinstance(session, dict) else None
    if not isinstance(kept, dict) or not kept.get("msgid"):
        return ""
    text = i18n.gettext(kept["msgid"])
    values = kept.get("values") or {}
    return text % values if values else text
