"""Unique rules over several columns, and the retry that goes with them.

Every "next number" (question-set versions, consent-text versions) and every "one per X"
(an evaluator's evaluation of an interview, a tenant's setting of a plugin, a consent to a text)
is a unique index in the database, created by a migration with `create_unique_index` (piccolo's
table classes declare single-column uniques only). Code that writes such a row does it in
`write_transaction()` and, where another writer can still win, under `retry_on_conflict`.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from piccolo.engine.base import Engine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from core.db.engine import current_engine

T = TypeVar("T")


class ConflictError(RuntimeError):
    """A write kept losing to concurrent writers of the same unique key (answer 409)."""


def is_unique_violation(exc: BaseException) -> bool:
    """True for a unique-index violation on SQLite or PostgreSQL (asyncpg)."""
    if isinstance(exc, sqlite3.IntegrityError):
        return "UNIQUE" in str(exc).upper()
    try:
        from asyncpg.exceptions import UniqueViolationError
    except ImportError:  # pragma: no cover - asyncpg comes with piccolo[postgres]
        return False
    return isinstance(exc, UniqueViolationError)


def write_transaction(engine: Engine | None = None) -> Any:
    """A transaction that will write: on SQLite it takes the write lock at BEGIN (IMMEDIATE), so
    a read-then-write inside it is serialised instead of failing with "database is locked"."""
    engine = engine or current_engine()
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


async def retry_on_conflict(operation: Callable[[], Awaitable[T]], attempts: int = 8) -> T:
    """Run `operation` (which opens its own transaction) again when a concurrent writer took the
    same unique key first; raises ConflictError after `attempts` losses."""
    for attempt in range(attempts):
        try:
            return await operation()
        except Exception as exc:
            if not is_unique_violation(exc):
                raise
            await asyncio.sleep(random.uniform(0, 0.01 * (attempt + 1)))  # let the winner commit
    raise ConflictError("the row was written concurrently; try again")


async def create_unique_index(table: str, columns: list[str], name: str | None = None) -> None:
    """CREATE UNIQUE INDEX IF NOT EXISTS on SQLite and PostgreSQL. Resolve duplicates first."""
    name = name or f"{table}_{'_'.join(columns)}_unique"
    quoted = ", ".join(f'"{column}"' for column in columns)
    await current_engine().run_ddl(f'CREATE UNIQUE INDEX IF NOT EXISTS "{name}" ON "{table}" ({quoted})')


async def drop_index(name: str) -> None:
    """The backwards step of `create_unique_index`."""
    await current_engine().run_ddl(f'DROP INDEX IF EXISTS "{name}"')
