"""Protected attributes (gender, age band, nationality, disability, ...): public API.

A tenant defines which attributes it collects and their values; "prefer not to say"
(`core.fairness.UNDISCLOSED`) is always offered. Answers are entered per interviewee by a
permitted role or self-declared by the interviewee with consent. They are stored apart from
features (table `mendan_person_attributes`, one sealed row per person, AES-GCM under a key
derived from the tenant's data key), never reach a model's training matrix, and are seen
only by roles in `ATTRIBUTE_ROLES`; everyone else gets 404 on their pages and on reports
built from them.

Plugins (the AI-ethics options) read them with `groups_for_interviews` and check access
with `can_see_attributes` / the guard `requires_attribute_access`.
"""

from __future__ import annotations

import base64
import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException

from core.interviews.attributes.tables import AttributeDefinition, PersonAttributes
from core.db.tables import Tenant, User
from core.fairness import UNDISCLOSED
from core.text_input import TextProblem, clean_text
from core.tenancy import TenantScope
from core.web.i18n import gettext as _

# The permission "protected attributes": seeing and entering attributes, and reading the
# AI-ethics reports made from them. Admins only; interviewers, experts and interviewees never
# (an interviewee sees and changes only their own self-declaration).
ATTRIBUTE_ROLES = frozenset({"admin"})
_KEY_RE = re.compile(r"[a-z][a-z0-9_]{0,62}")
_VALUE_RE = re.compile(r"[a-z0-9][a-z0-9_]{0,62}")


class AttributeProblem(ValueError):
    """An attribute definition or answer that cannot be stored; the message says why."""


def can_see_attributes(user: Any) -> bool:
    """Whether `user` holds the protected-attributes permission."""
    return user is not None and getattr(user, "role", None) in ATTRIBUTE_ROLES


def requires_attribute_access(connection: ASGIConnection, _handler: Any) -> None:
    """Route guard: 404 (not 403) for anyone without the permission, so nothing shows they exist."""
    if not can_see_attributes(connection.user):
        raise NotFoundException()


@dataclass(frozen=True)
class Choice:
    key: str
    ja: str
    en: str

    def label(self, language: str) -> str:
        return self.ja if language == "ja" else self.en


UNDISCLOSED_CHOICE = Choice(UNDISCLOSED, "回答しない", "Prefer not to say")


def choices_of(definition: AttributeDefinition) -> list[Choice]:
    """The definition's values, with "prefer not to say" always last."""
    raw = definition.choices if isinstance(definition.choices, list) else json.loads(definition.choices or "[]")
    return [Choice(c["key"], c["ja"], c["en"]) for c in raw] + [UNDISCLOSED_CHOICE]


def parse_choices(text: str) -> list[dict[str, str]]:
    """Values from a text area, one a line: `key | 日本語 | English` (English may be left out).

    Raises AttributeProblem for a malformed line or a repeated key."""
    out: list[dict[str, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) < 2 or not _VALUE_RE.fullmatch(parts[0]) or not parts[1]:
            raise AttributeProblem(_("line %(line)s: write \"key | 日本語 | English\" with a lower-case key "
                                     "(letters, digits, _)") % {"line": number})
        if parts[0] == UNDISCLOSED or any(c["key"] == parts[0] for c in out):
            raise AttributeProblem(_("line %(line)s: the value key %(key)s is used twice or reserved")
                                   % {"line": number, "key": parts[0]})
        out.append({"key": parts[0], "ja": parts[1], "en": parts[2] if len(parts) > 2 and parts[2] else parts[1]})
    if len(out) < 2:
        raise AttributeProblem(_("an attribute needs at least two values"))
    return out


async def definitions(scope: TenantScope) -> list[AttributeDefinition]:
    """The tenant's active attribute definitions, in their order."""
    return await scope.objects(AttributeDefinition).where(AttributeDefinition.active == True).order_by(  # noqa: E712
        AttributeDefinition.position)


def report_names(found: list[AttributeDefinition]) -> dict[str, Any]:
    """How AI-ethics reports name the attributes and their values, in both languages (the
    analyses work on keys): {"attributes": {key: [ja, en]}, "groups": {key: {value key: [ja, en]}}}."""
    return {"attributes": {d.key: [d.name_ja, d.name_en or d.name_ja] for d in found},
            "groups": {d.key: {c.key: [c.ja, c.en] for c in choices_of(d)} for d in found}}


async def define_attribute(scope: TenantScope, *, key: str, name_ja: str, name_en: str,
                           choices_text: str) -> AttributeDefinition:
    """Add an attribute, or replace the values of the one with this key. Raises AttributeProblem."""
    key = key.strip()
    if not _KEY_RE.fullmatch(key):
        raise AttributeProblem(_("the key must start with a lower-case letter and use letters, digits and _"))
    try:
        name_ja = clean_text(name_ja, label=_("Name (Japanese)"))
        name_en = clean_text(name_en, label=_("Name (English)"))
        choices_text = clean_text(choices_text, label=_("Values"), max_length=4000, multiline=True)
    except TextProblem as exc:
        raise AttributeProblem(str(exc)) from exc
    if not name_ja:
        raise AttributeProblem(_("the Japanese name is required"))
    choices = parse_choices(choices_text)
    existing = await scope.objects(AttributeDefinition).where(AttributeDefinition.key == key).first()
    if existing is not None:
        await scope.update(AttributeDefinition, {
            AttributeDefinition.name_ja: name_ja, AttributeDefinition.name_en: name_en or name_ja,
            AttributeDefinition.choices: choices, AttributeDefinition.active: True,
        }).where(AttributeDefinition.id == existing.id)
        return await scope.get(AttributeDefinition, existing.id)
    position = await scope.count(AttributeDefinition)
    return await scope.add(AttributeDefinition(tenant=scope.tenant_id, key=key, name_ja=name_ja,
                                               name_en=name_en or name_ja, choices=choices,
                                               position=position))


# -- sealing -----------------------------------------------------------------------


def _cipher(data_key: bytes) -> AESGCM:
    return AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"mendan-attributes").derive(data_key))


def _aad(tenant_id: Any, person_id: Any) -> bytes:
    # Binds a sealed row to its tenant and person, so rows cannot be swapped between people.
    return f"{tenant_id}:{person_id}".encode()


def seal(data_key: bytes, tenant_id: Any, person_id: Any, values: dict[str, str]) -> str:
    nonce = os.urandom(12)
    sealed = _cipher(data_key).encrypt(nonce, json.dumps(values, sort_keys=True).encode(), _aad(tenant_id, person_id))
    return base64.b64encode(nonce + sealed).decode()


def unseal(data_key: bytes, tenant_id: Any, person_id: Any, sealed: str) -> dict[str, str]:
    raw = base64.b64decode(sealed)
    return json.loads(_cipher(data_key).decrypt(raw[:12], raw[12:], _aad(tenant_id, person_id)))


async def _data_key(tenant_id: Any) -> bytes:
    from core.runtime import runtime

    tenant = await Tenant.objects().where(Tenant.id == tenant_id).first()
    return runtime().storage.tenant_key(tenant).data_key


# -- answers -------------------------------------------------------------------------


async def attributes_of(scope: TenantScope, person_id: Any) -> dict[str, str]:
    """One person's answers ({attribute key: value key}); {} when none were given."""
    row = await scope.objects(PersonAttributes).where(PersonAttributes.person == person_id).first()
    if row is None:
        return {}
    return unseal(await _data_key(scope.tenant_id), scope.tenant_id, person_id, row.sealed)


async def set_attributes(scope: TenantScope, person_id: Any, answers: dict[str, str], *, actor: Any,
                         self_declared: bool = False, consent: bool = False) -> dict[str, str]:
    """Store a person's answers (blank answers are dropped). A self-declaration needs consent.

    Raises AttributeProblem for an unknown attribute or value, or a self-declaration without
    consent; the stored answers are then unchanged."""
    person = await scope.get(User, person_id)
    if person.role != "interviewee":
        raise AttributeProblem(_("attributes are kept for interviewees only"))
    if self_declared and not consent:
        raise AttributeProblem(_("please agree to the use described above before declaring"))
    known = {d.key: {c.key for c in choices_of(d)} for d in await definitions(scope)}
    values: dict[str, str] = {}
    for key, value in answers.items():
        if not value:
            continue
        if key not in known:
            raise AttributeProblem(_("unknown attribute %(key)s") % {"key": key})
        if value not in known[key]:
            raise AttributeProblem(_("unknown value %(value)s for %(key)s") % {"value": value, "key": key})
        values[key] = value
    sealed = seal(await _data_key(scope.tenant_id), scope.tenant_id, person.id, values)
    now = datetime.now(timezone.utc)
    fields = {PersonAttributes.sealed: sealed, PersonAttributes.source: "self" if self_declared else "admin",
              PersonAttributes.consent_at: now if self_declared else None,
              PersonAttributes.updated_by: getattr(actor, "id", actor), PersonAttributes.updated_at: now}
    existing = await scope.objects(PersonAttributes).where(PersonAttributes.person == person.id).first()
    if existing is None:
        await scope.add(PersonAttributes(tenant=scope.tenant_id, person=person.id, sealed=sealed,
                                         source="self" if self_declared else "admin",
                                         consent_at=now if self_declared else None,
                                         updated_by=getattr(actor, "id", actor)))
    else:
        await scope.update(PersonAttributes, fields).where(PersonAttributes.id == existing.id)
    return values


async def attributes_by_person(scope: TenantScope) -> dict[str, dict[str, str]]:
    """Every person's answers, by person id (str). Decrypted here; keep the result in memory only."""
    data_key = await _data_key(scope.tenant_id)
    rows = await scope.select(PersonAttributes, PersonAttributes.person, PersonAttributes.sealed)
    return {str(r["person"]): unseal(data_key, scope.tenant_id, r["person"], r["sealed"]) for r in rows}


async def groups_for_interviews(scope: TenantScope, interview_ids: list[str]):
    """A pandas DataFrame: one row per interview id (str), one column per active attribute key,
    holding the interviewee's value key, UNDISCLOSED, or None when never entered."""
    import pandas as pd

    from core.interviews.tables import Interview

    keys = [d.key for d in await definitions(scope)]
    answers = await attributes_by_person(scope)
    wanted = {str(i) for i in interview_ids}
    rows = await scope.select(Interview, Interview.id, Interview.interviewee)
    interviewee = {str(r["id"]): str(r["interviewee"]) for r in rows if str(r["id"]) in wanted}
    records = {i: {k: answers.get(interviewee.get(i, ""), {}).get(k) for k in keys} for i in interview_ids}
    return pd.DataFrame.from_dict(records, orient="index", columns=keys).reindex([str(i) for i in interview_ids])


def uuid_or_404(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError as exc:
        raise NotFoundException() from exc
