"""Finding the tenant's people by a few typed letters, for the searchable pickers on the
interview pages (issue 20/21): a page never loads every user of the tenant."""

from __future__ import annotations

import re
from typing import Any

from piccolo.columns.combination import WhereRaw

from core.csv_input import normalise_email
from core.db.tables import User
from core.tenancy import TenantScope

SEARCH_LIMIT = 20
MAX_QUERY_CHARS = 100
_ANGLED_EMAIL = re.compile(r"<([^<>]+)>\s*$")


def _like_pattern(text: str) -> str:
    """`%text%` with LIKE's wildcards and the escape character taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def search_people(scope: TenantScope, query: str, roles: tuple[str, ...],
                        limit: int = SEARCH_LIMIT) -> list[User]:
    """Active users of the tenant with one of `roles` whose display name or e-mail contains
    `query` (case-insensitive for ASCII), ordered by name then e-mail, at most `limit` (1 to
    SEARCH_LIMIT) rows. An empty query finds nobody; a query is cut to MAX_QUERY_CHARS."""
    text = query.strip().lower()[:MAX_QUERY_CHARS]
    if not text or not roles:
        return []
    pattern = _like_pattern(text)
    matches = WhereRaw("(lower(display_name) LIKE {} ESCAPE '\\' OR lower(email) LIKE {} ESCAPE '\\')",
                       pattern, pattern)
    limit = max(1, min(limit, SEARCH_LIMIT))
    return await (scope.objects(User)
                  .where(User.active == True, User.role.is_in(list(roles)), matches)  # noqa: E712
                  .order_by(User.display_name, User.email).limit(limit))


def email_in(typed: str) -> str:
    """The e-mail address in what a picker's text field holds without JavaScript: either the
    address itself or "name <address>" as the picker shows it; normalised, "" for nothing."""
    match = _ANGLED_EMAIL.search(typed or "")
    return normalise_email(match.group(1) if match else (typed or ""))


async def person_id(scope: TenantScope, chosen_id: Any, typed: str) -> Any:
    """The id a picker chose, else the id of the tenant's user whose e-mail address was typed
    (`email_in`), else None (the caller's checks then say "choose an active ...")."""
    if chosen_id:
        return chosen_id
    email = email_in(typed)
    if not email:
        return None
    row = await scope.select(User, User.id).where(User.email == email).first()
    return row["id"] if row else None


def person_label(user: User) -> str:
    """How a picker shows a person: "name <email>", or the address alone for a nameless one."""
    return f"{user.display_name} <{user.email}>" if user.display_name else user.email
