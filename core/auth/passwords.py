"""Password hashing with argon2id."""

import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
MIN_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@cache
def _unusable_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def verify_password(password_hash: str | None, password: str) -> bool:
    """For unknown users (None) a hash is checked all the same, so the time taken
    does not tell whether an address is registered."""
    try:
        return _hasher.verify(password_hash or _unusable_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str) -> str | None:
    """A message id saying what is wrong with a new password, or None. Spaces count, but a
    password of spaces only is none at all."""
    if not password.strip():
        return "password_blank"
    if len(password) < MIN_LENGTH:
        return "password_too_short"
    return None
