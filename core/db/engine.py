"""The piccolo engine, chosen by DATABASE_URL: SQLite by default (kept connections, core.db.sqlite_lanes),
PostgreSQL (pooled, core.db.pools) in production."""

from __future__ import annotations

import atexit
import os
import sqlite3
from pathlib import Path
from urllib.parse import unquote, urlparse

from piccolo.engine.base import Engine
from piccolo.table import Table

from core.config import Settings, get_settings
from core.db.pools import PooledPostgresEngine
from core.db.sqlite_lanes import LaneSQLiteEngine


def make_engine(settings: Settings) -> Engine:
    if settings.database_kind == "postgres":
        dsn = settings.database_url.replace("postgresql+asyncpg://", "postgresql://")
        # Pools per event loop (core.db.pools): MENDAN_DB_POOL_MIN/MAX for the web loop's,
        # MENDAN_DB_SHARED_POOL_MAX for the one a process's worker threads and commands share.
        return PooledPostgresEngine(config={"dsn": dsn}, pool_min=settings.db_pool_min,
                                    pool_max=settings.db_pool_max, shared_max=settings.db_shared_pool_max)
    path = Path(unquote(urlparse(settings.database_url).path))
    path.parent.mkdir(parents=True, exist_ok=True)
    _enable_wal(path)
    # A generous busy timeout: web requests and in-process worker threads share the file.
    return LaneSQLiteEngine(path=str(path), timeout=30)


def _enable_wal(path: Path) -> None:
    """WAL lets readers go on while a worker thread writes; the mode is kept in the file."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")


def _all_tables(base: type[Table] = Table):
    for sub in base.__subclasses__():
        yield sub
        yield from _all_tables(sub)


_engine: Engine | None = None


def bind_engine(engine: Engine) -> Engine:
    """Make `engine` the process's database and point every table class imported so far at it.

    Tables remember the engine they first found, so a process that switches
    databases (tests, `mendan migrate --database-url`) must rebind them all. Tables
    imported later find it through piccolo's configuration (`core.db.piccolo_conf.DB`).
    """
    global _engine
    previous, _engine = _engine, engine
    if previous is not None and previous is not engine:
        close_kept_connections(previous)
    os.environ.setdefault("PICCOLO_CONF", "core.db.piccolo_conf")  # for tables imported later
    for table in _all_tables():
        table._meta.db = engine
    return engine


def current_engine() -> Engine:
    """The bound engine; before any binding, the one the environment's settings name."""
    global _engine
    if _engine is None:
        _engine = make_engine(get_settings())
    return _engine


async def start_loop_pool(engine: Engine, *_app) -> None:
    """Give the running event loop a connection pool of its own on PostgreSQL (the web process's
    start-up, as `functools.partial(start_loop_pool, engine)`: the app argument is ignored); nothing on SQLite."""
    if isinstance(engine, PooledPostgresEngine):
        await engine.start_connection_pool()


async def close_loop_pool(engine: Engine, *_app) -> None:
    """Close the running loop's own pool of `engine` (the web process's shutdown)."""
    if isinstance(engine, PooledPostgresEngine):
        await engine.close_connection_pool()


def close_kept_connections(engine: Engine | None = None) -> None:
    """Close the connections `engine` (default: the bound one) keeps beyond a loop's own pool: the
    PostgreSQL shared pool, the SQLite lanes; e.g. when a process rebinds or exits."""
    engine = engine if engine is not None else _engine
    if isinstance(engine, PooledPostgresEngine):
        engine.shared.close()
    elif isinstance(engine, LaneSQLiteEngine):
        engine.close_lanes()


atexit.register(close_kept_connections)
