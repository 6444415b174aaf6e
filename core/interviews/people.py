"""Registering the tenant's people (spec 4.1.1 (1)): one by one, by CSV import, deactivation,
and personal join links for interviewees who have no password."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from core.auth.passwords import hash_password, password_problem
from core.auth.tokens import revoke_user_credentials
from core.csv_input import CsvUnreadable, normalise_email, read_csv
from core.db.bulk import BATCH_ROWS, insert_rows
from core.db.tables import User
from core.interviews.tables import JoinLink
from core.tenancy import TenantScope
from core.text_input import TextProblem, clean_text
from core.web.i18n import LANGUAGES
from core.web.i18n import gettext as _

TENANT_ROLES = ("admin", "interviewer", "expert", "interviewee")
CSV_COLUMNS = ("email", "display_name", "role", "language")
JOIN_LINK_LIFETIME = timedelta(days=14)
# Control characters (NUL included) are no part of an address, and PostgreSQL text refuses NUL.
EMAIL_RE = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+")


class PersonProblem(ValueError):
    """A user could not be registered; the message is for the admin, `field` names the value."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass
class RowError:
    line: int
    column: str
    message: str


@dataclass
class ImportReport:
    errors: list[RowError] = field(default_factory=list)
    created: int = 0
    users: list[User] = field(default_factory=list)  # the people registered, none when any row was refused

    @property
    def ok(self) -> bool:
        return not self.errors


def role_label(role: str) -> str:
    return {"admin": _("Administrator"), "interviewer": _("Interviewer"), "expert": _("Expert interviewer"),
            "interviewee": _("Interviewee")}.get(role, role)


def _check(email: str, role: str, language: str) -> list[tuple[str, str]]:
    problems = []
    if not EMAIL_RE.fullmatch(email):
        problems.append(("email", _("Not a valid e-mail address.")))
    if role not in TENANT_ROLES:
        problems.append(("role", _("Unknown role; use admin, interviewer, expert or interviewee.")))
    if language not in LANGUAGES:
        problems.append(("language", _("Unknown language; use ja or en.")))
    return problems


async def _taken(scope: TenantScope, emails: list[str]) -> set[str]:
    # In batches: PostgreSQL refuses more than 32,767 bind parameters in one statement.
    taken: set[str] = set()
    for batch in (emails[start:start + BATCH_ROWS] for start in range(0, len(emails), BATCH_ROWS)):
        rows = await scope.select(User, User.email).where(User.email.is_in(batch))
        taken.update(row["email"] for row in rows)
    return taken


async def create_person(scope: TenantScope, *, email: str, display_name: str, role: str, language: str = "ja",
                        password: str = "") -> User:
    email = normalise_email(email)
    problems = _check(email, role, language)
    if problems:
        raise PersonProblem(problems[0][1], problems[0][0])
    try:
        display_name = clean_text(display_name, label=_("Display name"))
    except TextProblem as exc:
        raise PersonProblem(str(exc), "display_name") from exc
    if await _taken(scope, [email]):
        raise PersonProblem(_("A user with this e-mail address already exists."), "email")
    problem = password_problem(password) if password else None
    if problem == "password_blank":
        raise PersonProblem(_("The password cannot be spaces only."), "password")
    if problem:
        raise PersonProblem(_("The password must be at least 10 characters long."), "password")
    user = User(email=email, display_name=display_name, role=role, language=language,
                password_hash=hash_password(password) if password else None)
    return await scope.add(user)


async def import_people(scope: TenantScope, data: bytes) -> ImportReport:
    """Import people from a CSV file's bytes (any encoding and line end `core.csv_input` reads).

    Check every row first; a file with any error imports nothing, and the report lists every
    error with its line. The rows go in `core.db.bulk.insert_rows` batches, all in one
    transaction (all or nothing). On SQLite that transaction holds the database's write lock
    until the last batch: measured by bench/people_import.py (docs/interviews.md)."""
    report = ImportReport()
    try:
        table = read_csv(data)
    except CsvUnreadable as exc:
        report.errors.append(RowError(1, "", str(exc)))
        return report
    missing = [c for c in CSV_COLUMNS if c not in table.header]
    if missing:
        report.errors.append(RowError(1, ", ".join(missing), _("Missing columns in the header line.")))
        return report
    rows: list[tuple[int, dict[str, str]]] = []
    seen: dict[str, int] = {}
    for line, row in table.rows:
        values = {c: row.get(c, "") for c in CSV_COLUMNS}
        values["email"] = normalise_email(values["email"])
        values["language"] = values["language"].lower() or "ja"
        try:
            values["display_name"] = clean_text(values["display_name"], label=_("Display name"))
        except TextProblem as exc:
            report.errors.append(RowError(line, "display_name", str(exc)))
        for column, message in _check(values["email"], values["role"], values["language"]):
            report.errors.append(RowError(line, column, message))
        if values["email"] in seen:
            report.errors.append(RowError(line, "email", _("Same e-mail address as line %(line)s.")
                                          % {"line": seen[values["email"]]}))
        seen.setdefault(values["email"], line)
        rows.append((line, values))
    if not rows and not report.errors:
        report.errors.append(RowError(1, "", _("The file has no rows.")))
    taken = await _taken(scope, [values["email"] for _line, values in rows])
    for line, values in rows:
        if values["email"] in taken:
            report.errors.append(RowError(line, "email", _("A user with this e-mail address already exists.")))
    if report.errors:
        report.errors.sort(key=lambda e: e.line)
        return report
    users = [User(tenant=scope.tenant_id, email=values["email"], display_name=values["display_name"],
                  role=values["role"], language=values["language"], password_hash=None) for _line, values in rows]
    await insert_rows(users)
    report.created, report.users = len(rows), users
    return report


async def set_active(scope: TenantScope, user_id: Any, active: bool) -> User:
    """(De)activate a user of the tenant. Deactivating revokes their API tokens and reset links,
    which reactivating does not bring back."""
    user = await scope.get(User, user_id)
    await scope.update(User, {User.active: active}).where(User.id == user.id)
    if not active:
        await revoke_user_credentials(user.id)
    user.active = active
    return user


async def change_role(scope: TenantScope, user_id: Any, role: str) -> User:
    """Give a user of the tenant another role; their API tokens and reset links are revoked (a
    token must never carry a role its user no longer has). Raises PersonProblem (field `role`)."""
    if role not in TENANT_ROLES:
        raise PersonProblem(_("Unknown role; use admin, interviewer, expert or interviewee."), "role")
    user = await scope.get(User, user_id)
    if user.role != role:
        await scope.update(User, {User.role: role}).where(User.id == user.id)
        await revoke_user_credentials(user.id)
        user.role = role
    return user


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_join_link(scope: TenantScope, user: User, lifetime: timedelta = JOIN_LINK_LIFETIME) -> str:
    """A new personal link token for `user`; only its hash is stored, the token is returned once."""
    token = secrets.token_urlsafe(32)
    await scope.add(JoinLink(user=user.id, token_hash=_hash(token),
                             expires_at=datetime.now(timezone.utc) + lifetime))
    return token


async def user_for_join_link(scope: TenantScope, token: str) -> User | None:
    link = await scope.objects(JoinLink).where(JoinLink.token_hash == _hash(token)).first()
    if link is None or link.expires_at <= datetime.now(timezone.utc):
        return None
    user = await scope.objects(User).where(User.id == link.user).first()
    return user if user is not None and user.active else None
