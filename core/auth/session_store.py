"""A Litestar `Store` kept in the database, so server-side sessions survive restarts and
are shared by every web process."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

from litestar.stores.base import NamespacedStore

from core.auth.middleware import SESSION_USER_KEY
from core.db.tables import WebSession

# Litestar stores the session after every response and renews its expiry. A session that did not
# change and was renewed less than this long ago is left as it is: one write per page view would
# queue every reader behind SQLite's single write lock.
RENEW_AFTER = timedelta(minutes=5)


def _expiry(expires_in: int | timedelta | None) -> datetime | None:
    if expires_in is None:
        return None
    seconds = expires_in.total_seconds() if isinstance(expires_in, timedelta) else expires_in
    return datetime.now(timezone.utc) + timedelta(seconds=seconds)


def _session_user(raw: bytes) -> UUID | None:
    """The signed-in user of a Litestar session value (JSON), kept beside it; None otherwise."""
    try:
        data = json.loads(raw)
        return UUID(data[SESSION_USER_KEY]) if isinstance(data, dict) and data.get(SESSION_USER_KEY) else None
    except (ValueError, TypeError):
        return None


def _fresh(stored: datetime | None, wanted: datetime | None) -> bool:
    """True when the stored expiry is within RENEW_AFTER of the wanted one (or both are None)."""
    if stored is None or wanted is None:
        return stored is wanted
    return wanted - stored < RENEW_AFTER


async def end_sessions_of(user_id: Any) -> int:
    """Sign a user out everywhere (after a password reset); returns how many sessions ended."""
    return len(await WebSession.delete().where(WebSession.user_id == user_id).returning(WebSession.id))


class DatabaseStore(NamespacedStore):
    def __init__(self, namespace: str = "mendan") -> None:
        self.namespace = namespace

    def with_namespace(self, namespace: str) -> DatabaseStore:
        return DatabaseStore(f"{self.namespace}:{namespace}")

    def _key(self, key: str) -> str:
        return f"{self.namespace}:{key}"

    async def set(self, key: str, value: str | bytes, expires_in: int | timedelta | None = None) -> None:
        raw = value.encode() if isinstance(value, str) else value
        encoded = base64.b64encode(raw).decode()
        full = self._key(key)
        expires_at = _expiry(expires_in)
        stored = await WebSession.select(WebSession.value, WebSession.expires_at).where(WebSession.key == full).first()
        if stored is not None and stored["value"] == encoded and _fresh(stored["expires_at"], expires_at):
            return
        user_id = _session_user(raw)
        updated = await WebSession.update(
            {WebSession.value: encoded, WebSession.expires_at: expires_at, WebSession.user_id: user_id}
        ).where(WebSession.key == full).returning(WebSession.id)
        if not updated:
            await WebSession.insert(WebSession(key=full, value=encoded, expires_at=expires_at, user_id=user_id))

    async def _row(self, key: str) -> WebSession | None:
        row = await WebSession.objects().where(WebSession.key == self._key(key)).first()
        if row is None:
            return None
        if row.expires_at is not None and row.expires_at <= datetime.now(timezone.utc):
            await WebSession.delete().where(WebSession.id == row.id)
            return None
        return row

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        row = await self._row(key)
        if row is None:
            return None
        if renew_for is not None and row.expires_at is not None and not _fresh(row.expires_at, _expiry(renew_for)):
            await WebSession.update({WebSession.expires_at: _expiry(renew_for)}).where(WebSession.id == row.id)
        return base64.b64decode(row.value)

    async def delete(self, key: str) -> None:
        await WebSession.delete().where(WebSession.key == self._key(key))

    async def delete_all(self) -> None:
        await WebSession.delete().where(WebSession.key.like(f"{self.namespace}:%"))

    async def delete_expired(self) -> None:
        await WebSession.delete().where(WebSession.expires_at < datetime.now(timezone.utc))

    async def exists(self, key: str) -> bool:
        return await self._row(key) is not None

    async def expires_in(self, key: str) -> int | None:
        row = await self._row(key)
        if row is None or row.expires_at is None:
            return None
        return int((row.expires_at - datetime.now(timezone.utc)).total_seconds())
