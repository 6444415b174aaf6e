"""SQLite connections kept open per calling thread for the statements outside a transaction.

piccolo's SQLiteEngine opens a connection, and aiosqlite a thread for it, for every statement: a
page runs 8 to 21 of them, and the embedded server managed about 16 pages a second on 2 cores
(bench/load.py --db sqlite). `LaneSQLiteEngine` keeps two connections for each thread that runs
statements (the web event loop's, each worker thread's), each held by a thread of its own (a lane)
so that an event loop never waits on SQLite's file lock: one for SELECTs, which WAL never makes
wait, and one for the rest, which may wait for the write lock (up to the busy timeout) without
holding up a page's reads behind them. A statement is executed and fetched in one call on its lane,
so the statements of several coroutines never interleave. Transactions keep piccolo's connection
each, so a transaction sees only its own statements.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from piccolo.engine.sqlite import SQLiteEngine, dict_factory

# RETURNING came with SQLite 3.35; piccolo reads inserted keys another way before it.
RETURNING_SINCE = 3.35


class Lane:
    """One SQLite connection and the thread that uses it; made on that thread at the first statement."""

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect
        self._connection: sqlite3.Connection | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mendan-sqlite-lane")

    def _statement(self, query: str, args: list[Any]) -> list[dict[str, Any]]:
        if self._connection is None:
            self._connection = self._connect()
        cursor = self._connection.execute(query, args)
        try:
            return cursor.fetchall()
        finally:
            cursor.close()  # leaves no read transaction open between statements

    async def run(self, query: str, args: list[Any]) -> list[dict[str, Any]]:
        """Rows of `query` as dicts; raises what sqlite3 raises (e.g. `sqlite3.IntegrityError`)."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._statement, query, args)

    def close(self) -> None:
        """Close the connection after the statements already queued, and let the thread end."""
        def shut() -> None:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

        try:
            self._executor.submit(shut)
        except RuntimeError:  # already shut down
            return
        self._executor.shutdown(wait=False)


class LaneSQLiteEngine(SQLiteEngine):
    """piccolo's SQLite engine, with kept connections per calling thread (a `Lane` for SELECTs, one
    for other statements) outside a transaction; same constructor (`path`, sqlite3.connect's keyword
    arguments)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._local = threading.local()
        self._lanes: weakref.WeakSet[Lane] = weakref.WeakSet()
        _ENGINES.add(self)

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(**self.connection_kwargs, check_same_thread=False)
        connection.row_factory = dict_factory
        connection.execute("PRAGMA foreign_keys = 1")
        return connection

    def _lane(self, query: str) -> Lane:
        kind = "reader" if query.lstrip()[:6].upper() == "SELECT" else "writer"
        lane = getattr(self._local, kind, None)
        if lane is None:
            # A thread that ends drops its lanes: their connections close and their threads end.
            lane = Lane(self._connect)
            setattr(self._local, kind, lane)
            self._lanes.add(lane)
        return lane

    async def _run_in_new_connection(self, query: str, args: list[Any] | None = None, query_type: str = "generic",
                                     table: Any = None) -> list[dict[str, Any]]:
        if query_type == "insert" and self.get_version_sync() < RETURNING_SINCE:
            return await super()._run_in_new_connection(query, args, query_type, table)
        return await self._lane(query).run(query, args or [])

    def forget_lanes(self) -> None:
        """Drop the lanes without using them: in a forked child, whose copies of the connections
        belong to the parent and whose copies of the lanes' threads do not run."""
        self._lanes = weakref.WeakSet()
        self._local = threading.local()

    def close_lanes(self) -> None:
        """Close every thread's kept connection (when a process rebinds or exits); later statements open new ones."""
        for lane in list(self._lanes):
            lane.close()
        self._lanes = weakref.WeakSet()
        self._local = threading.local()


# A process forked after statements ran (dramatiq's worker processes) starts with lanes of its own.
_ENGINES: weakref.WeakSet[LaneSQLiteEngine] = weakref.WeakSet()


def _forget_all_lanes() -> None:
    for engine in list(_ENGINES):
        engine.forget_lanes()


os.register_at_fork(after_in_child=_forget_all_lanes)
