"""Secrets handed to people: API tokens and password-reset links. Only their hashes are stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta, timezone

from core.db.tables import ApiToken, PasswordReset, User

API_TOKEN_PREFIX = "mdn_"
RESET_LIFETIME = timedelta(hours=1)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_api_token(user: User, name: str) -> str:
    """A new token for `user`; the plain value is returned once and never stored."""
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    await ApiToken.insert(ApiToken(tenant=user.tenant, user=user.id, name=name, token_hash=_hash(token)))
    return token


async def user_for_api_token(token: str) -> User | None:
    if not token.startswith(API_TOKEN_PREFIX):
        return None
    row = await ApiToken.objects().where(
        (ApiToken.token_hash == _hash(token)) & (ApiToken.revoked == False)  # noqa: E712
    ).first()
    if row is None:
        return None
    await ApiToken.update({ApiToken.last_used_at: datetime.now(timezone.utc)}).where(ApiToken.id == row.id)
    user = await User.objects().where(User.id == row.user).first()
    return user if user is not None and user.active else None


async def create_password_reset(user: User) -> str:
    token = secrets.token_urlsafe(32)
    await PasswordReset.insert(
        PasswordReset(token_hash=_hash(token), user=user.id, expires_at=datetime.now(timezone.utc) + RESET_LIFETIME)
    )
    return token


async def valid_password_reset(token: str) -> PasswordReset | None:
    row = await PasswordReset.objects().where(PasswordReset.token_hash == _hash(token)).first()
    if row is None or row.used_at is not None or row.expires_at <= datetime.now(timezone.utc):
        return None
    return row


async def use_password_reset(row: PasswordReset) -> bool:
    """Mark the link used; False when another request used it first, so it works once only."""
    claimed = await PasswordReset.update({PasswordReset.used_at: datetime.now(timezone.utc)}).where(
        (PasswordReset.id == row.id) & PasswordReset.used_at.is_null()
    ).returning(PasswordReset.id)
    return bool(claimed)
