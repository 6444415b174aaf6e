"""Unique rules over several columns, and the retry that goes with them.

Every "next number" (question-set versions, consent-text versions) and every "one per X"
(an evaluator's evaluation of an interview, a tenant's setting of a plugin, a consent to a text)
is a unique index in the database, created by a migration with `create_unique_index` (piccolo's
table classes declare single-column uniques only). Code that writes such a row does it in
`write_transaction()` and, where another writer can still win, under `retry_on_conflict`.

What must happen only once the writes are durable (sending a job's message to the broker)
registers with `on_commit` inside a `write_transaction()`: it runs after the outermost one
committed, and never when it rolled back.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
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


_after_commit: ContextVar[list[Callable[[], Awaitable[Any]]] | None] = ContextVar("after_commit", default=None)


@asynccontextmanager
async def write_transaction(engine: Engine | None = None) -> AsyncIterator[None]:
    """A transaction that will write: on SQLite it takes the write lock at BEGIN (IMMEDIATE), so
    a read-then-write inside it is serialised instead of failing with "database is locked".
    Nested in another, it joins the outer one; the outermost runs the `on_commit` callbacks
    once it committed."""
    engine = engine or current_engine()
    if isinstance(engine, SQLiteEngine):
        transaction = engine.transaction(transaction_type=TransactionType.immediate)
    else:
        transaction = engine.transaction()
    if _after_commit.get() is not None or in_transaction(engine):
        async with transaction:
            yield
        return
    callbacks: list[Callable[[], Awaitable[Any]]] = []
    token = _after_commit.set(callbacks)
    try:
        async with transaction:
            yield
    finally:
        _after_commit.reset(token)
    for callback in callbacks:
        await callback()


def on_commit(callback: Callable[[], Awaitable[Any]]) -> bool:
    """Run `callback()` once the enclosing `write_transaction()` committed (dropped if it rolls
    back). False, and nothing registered, outside one."""
    callbacks = _after_commit.get()
    if callbacks is None:
        return False
    callbacks.append(callback)
    return True


def in_transaction(engine: Engine | None = None) -> bool:
    """Whether this task's queries run inside a transaction (not yet committed)."""
    return (engine or current_engine()).current_transaction.get() is not None


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
