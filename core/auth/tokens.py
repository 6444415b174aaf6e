"""Secrets handed to people: API tokens and password-reset links. Only their hashes are stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta, timezone

from core.db.tables import ApiToken, PasswordReset, User

API_TOKEN_PREFIX = "mdn_"
RESET_LIFETIME = timedelta(hours=1)
# Each scope includes those before it: admin implies write implies read.
SCOPES = ("read", "write", "admin")
DEFAULT_TOKEN_LIFETIME = timedelta(days=90)
MAX_TOKEN_LIFETIME = timedelta(days=365)
TOKEN_ROLES = frozenset({"admin", "interviewer", "expert"})  # interviewees and operators never


class TokenRefused(ValueError):
    """A token that may not be made: the message (a msgid) says why."""


def scope_allows(granted: str, needed: str) -> bool:
    """True when a token with scope `granted` may do what needs `needed` (read < write < admin)."""
    if granted not in SCOPES or needed not in SCOPES:
        return False
    return SCOPES.index(granted) >= SCOPES.index(needed)


def highest_scope_for(role: str) -> str | None:
    """The widest scope a user of this role may hold: admin for admins, write for other staff."""
    if role not in TOKEN_ROLES:
        return None
    return "admin" if role == "admin" else "write"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_api_token(user: User, name: str, scope: str = "read",
                           lifetime: timedelta = DEFAULT_TOKEN_LIFETIME) -> str:
    """A new token for `user`, valid for `lifetime` (at most a year) with `scope` (read, write,
    admin); the plain value is returned once and never stored.

    Raises `TokenRefused` when the user's role may hold no token (interviewees, operators) or not
    this scope (admin only for admins), or the lifetime is not between a day and a year."""
    widest = highest_scope_for(user.role)
    if widest is None or not user.active:
        raise TokenRefused("Your role may not create API tokens.")
    if scope not in SCOPES:
        raise TokenRefused("Choose a scope: read, write or admin.")
    if not scope_allows(widest, scope):
        raise TokenRefused("A token may not do more than its user's role allows.")
    if not timedelta(days=1) <= lifetime <= MAX_TOKEN_LIFETIME:
        raise TokenRefused("A token is valid for at least a day and at most a year.")
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    await ApiToken.insert(ApiToken(tenant=user.tenant, user=user.id, name=name, token_hash=_hash(token),
                                   scope=scope, expires_at=datetime.now(timezone.utc) + lifetime))
    return token


async def token_and_user(token: str) -> tuple[ApiToken, User] | None:
    """The live token row and its active user, or None (unknown, revoked, expired, made before
    expiries existed, or the user is inactive). Notes the time of use."""
    if not token.startswith(API_TOKEN_PREFIX):
        return None
    now = datetime.now(timezone.utc)
    row = await ApiToken.objects().where(
        (ApiToken.token_hash == _hash(token)) & (ApiToken.revoked == False)  # noqa: E712
    ).first()
    if row is None or row.expires_at is None or row.expires_at <= now:
        return None
    user = await User.objects().where(User.id == row.user).first()
    if user is None or not user.active or highest_scope_for(user.role) is None:
        return None
    await ApiToken.update({ApiToken.last_used_at: now}).where(ApiToken.id == row.id)
    return row, user


async def revoke_user_credentials(user_id) -> None:
    """Revoke every API token of the user and void their outstanding reset links: after a password
    reset, a role change or a deactivation nothing issued before still works."""
    await ApiToken.update({ApiToken.revoked: True}).where(ApiToken.user == user_id)
    await void_password_resets(user_id)


async def void_password_resets(user_id) -> None:
    """Void the user's outstanding reset and invitation links (marked used now)."""
    await PasswordReset.update({PasswordReset.used_at: datetime.now(timezone.utc)}).where(
        (PasswordReset.user == user_id) & PasswordReset.used_at.is_null())


async def create_password_reset(user: User, lifetime: timedelta = RESET_LIFETIME) -> str:
    """A new single-use link token that sets `user`'s password within `lifetime` (an hour for a
    reset; a staff invitation's lasts longer). Only its hash is stored."""
    token = secrets.token_urlsafe(32)
    await PasswordReset.insert(
        PasswordReset(token_hash=_hash(token), user=user.id, expires_at=datetime.now(timezone.utc) + lifetime)
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
