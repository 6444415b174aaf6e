"""PostgreSQL connection pools under asyncpg's rule that a pool serves only the event loop it was made on.

The web process's event loop opens a pool of its own at start-up (`PooledPostgresEngine.start_connection_pool`,
closed at shutdown). Every other loop (a job worker thread's `asyncio.run`, piccolo's `run_sync`, a command)
borrows from the process's shared pool instead: it lives on a database thread of its own, and each statement
is run there (`asyncio.run_coroutine_threadsafe`). A worker thread therefore holds no connection of its own,
none is left behind when it ends, and a process never holds more than its two pools' limits.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any

import asyncpg
from piccolo.engine.postgres import PostgresEngine

CLOSE_TIMEOUT_S = 10.0
# The pools' names in pg_stat_activity.application_name, so an operator sees who holds what.
LOOP_POOL_NAME = "mendan-loop"
SHARED_POOL_NAME = "mendan-shared"


def _named(config: dict[str, Any], name: str) -> dict[str, Any]:
    return {**config, "server_settings": {**config.get("server_settings", {}), "application_name": name}}


class SharedPool:
    """An asyncpg pool on a daemon thread's event loop, usable from any other loop or thread.

    Offers the part of `asyncpg.Pool` piccolo uses (`fetch`, `acquire`, `release`); the connections
    it hands out run every call on the pool's thread. Nothing connects before the first statement.
    """

    def __init__(self, config: dict[str, Any], min_size: int, max_size: int) -> None:
        self._config = {**config, "min_size": min_size, "max_size": max_size}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._creating: asyncio.Future | None = None  # the asyncpg pool being made, or made, on the thread

    def _thread_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="mendan-db-pool", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    async def _pool(self) -> asyncpg.Pool:
        """The asyncpg pool (on the pool's thread); made at the first call, made again after a failed try."""
        if self._creating is None:
            self._creating = asyncio.ensure_future(asyncpg.create_pool(**self._config))
        creating = self._creating
        try:
            return await asyncio.shield(creating)
        except Exception:
            if self._creating is creating:
                self._creating = None
            raise

    def _submit(self, call: Callable[[asyncpg.Pool], Awaitable[Any]]) -> Future:
        async def on_thread() -> Any:
            return await call(await self._pool())

        return asyncio.run_coroutine_threadsafe(on_thread(), self._thread_loop())

    async def run(self, call: Callable[[asyncpg.Pool], Awaitable[Any]]) -> Any:
        """`await call(pool)` on the pool's thread; cancelling the caller cancels it there too."""
        return await asyncio.wrap_future(self._submit(call))

    async def fetch(self, query: str, *args: Any) -> list:
        return await self.run(lambda pool: pool.fetch(query, *args))

    async def acquire(self) -> RemoteConnection:
        future = self._submit(lambda pool: pool.acquire())
        try:
            connection = await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            # The caller gave up while the thread may have got the connection: give it back.
            future.add_done_callback(self._release_orphan)
            raise
        return RemoteConnection(self, connection)

    def _release_orphan(self, future: Future) -> None:
        if not future.cancelled() and future.exception() is None:
            connection = future.result()
            self._submit(lambda pool: pool.release(connection))

    async def release(self, connection: RemoteConnection) -> None:
        await self.run(lambda pool: pool.release(connection.inner))

    def close(self) -> None:
        """Close the connections and stop the thread (blocks up to CLOSE_TIMEOUT_S); a later statement
        starts them again."""
        with self._lock:
            loop, thread, self._loop, self._thread = self._loop, self._thread, None, None
        if loop is None:
            return

        async def shut() -> None:
            if self._creating is not None:
                creating, self._creating = self._creating, None
                try:
                    pool = await creating
                except Exception:
                    return
                try:
                    await asyncio.wait_for(pool.close(), CLOSE_TIMEOUT_S)
                except (asyncio.TimeoutError, OSError):
                    pool.terminate()  # a connection still borrowed: closed by force

        try:
            asyncio.run_coroutine_threadsafe(shut(), loop).result(CLOSE_TIMEOUT_S + 1)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(CLOSE_TIMEOUT_S)
            if not thread.is_alive():
                loop.close()


def _on_pool_thread(name: str) -> Callable[..., Awaitable[Any]]:
    async def call(self: RemoteConnection, *args: Any, **kwargs: Any) -> Any:
        return await self.shared.run(lambda _pool: getattr(self.inner, name)(*args, **kwargs))

    call.__name__ = name
    call.__doc__ = f"`asyncpg.Connection.{name}`, run on the pool's thread."
    return call


class RemoteConnection:
    """A connection of a `SharedPool` seen from another loop: the calls piccolo (statements,
    transactions, savepoints) and `core.db.bulk` (executemany) make, each run on the pool's thread."""

    def __init__(self, shared: SharedPool, inner: Any) -> None:
        self.shared = shared
        self.inner = inner

    fetch = _on_pool_thread("fetch")
    fetchrow = _on_pool_thread("fetchrow")
    fetchval = _on_pool_thread("fetchval")
    execute = _on_pool_thread("execute")
    executemany = _on_pool_thread("executemany")

    def transaction(self, **kwargs: Any) -> RemoteTransaction:
        return RemoteTransaction(self.shared, self.inner.transaction(**kwargs))


class RemoteTransaction:
    """`asyncpg.transaction.Transaction` of a `RemoteConnection`: start, commit, rollback on the pool's thread."""

    def __init__(self, shared: SharedPool, inner: Any) -> None:
        self.shared = shared
        self.inner = inner

    async def start(self) -> None:
        await self.shared.run(lambda _pool: self.inner.start())

    async def commit(self) -> None:
        await self.shared.run(lambda _pool: self.inner.commit())

    async def rollback(self) -> None:
        await self.shared.run(lambda _pool: self.inner.rollback())


class PooledPostgresEngine(PostgresEngine):
    """piccolo's PostgreSQL engine with a pool for every event loop: the loop's own when it has
    started one (`start_connection_pool`), else the process's `SharedPool`.

    piccolo reads `engine.pool` for every statement outside a transaction and for every
    transaction's connection, so answering per running loop is all it takes to route them.
    `pool_min`/`pool_max` bound each loop's own pool, `shared_max` the shared one (connections).
    """

    def __init__(self, config: dict[str, Any], *, pool_min: int, pool_max: int, shared_max: int) -> None:
        if not 0 <= pool_min <= pool_max or pool_max < 1 or shared_max < 1:
            raise ValueError(f"database pool limits need 0 <= min <= max, max >= 1 and a shared max >= 1; "
                             f"got min {pool_min}, max {pool_max}, shared max {shared_max}")
        self.pool_min, self.pool_max = pool_min, pool_max
        self.shared = SharedPool(_named(config, SHARED_POOL_NAME), 0, shared_max)
        self._loop_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncpg.Pool] = (
            weakref.WeakKeyDictionary())
        super().__init__(config=config)

    @property
    def pool(self) -> asyncpg.Pool | SharedPool | None:
        """The running loop's own pool, else the shared one (None outside a running loop)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return None
        own = self._loop_pools.get(loop)
        return own if own is not None else self.shared

    @pool.setter
    def pool(self, value: None) -> None:
        # piccolo's constructor sets `pool = None`; the pools are kept per loop above.
        if value is not None:
            raise AttributeError("start pools with start_connection_pool()")

    def own_pool(self) -> asyncpg.Pool | None:
        """The running loop's own pool, None when it borrows from the shared one."""
        return self._loop_pools.get(asyncio.get_running_loop())

    async def start_connection_pool(self, **kwargs: Any) -> None:
        """Give the running loop a pool of its own (pool_min..pool_max connections); a second call
        on the same loop does nothing."""
        loop = asyncio.get_running_loop()
        if loop in self._loop_pools:
            return
        config = {**_named(self.config, LOOP_POOL_NAME), "min_size": self.pool_min, "max_size": self.pool_max,
                  **kwargs}
        self._loop_pools[loop] = await asyncpg.create_pool(**config)

    async def close_connection_pool(self) -> None:
        """Close the running loop's own pool, if it has one."""
        pool = self._loop_pools.pop(asyncio.get_running_loop(), None)
        if pool is not None:
            await pool.close()

    async def _run_in_pool(self, query: str, args: Any = None) -> list:
        # One call instead of acquire, fetch and release: one hop when the pool is the shared one.
        return await self.pool.fetch(query, *(args or ()))

    async def run_querystring(self, querystring: Any, in_pool: bool = True) -> list:
        # piccolo's `run_sync` asks for no pool, since an asyncpg pool serves one loop only; `pool`
        # above always answers with one the running loop may use, so every statement is pooled.
        return await super().run_querystring(querystring, in_pool=True)

    async def run_ddl(self, ddl: str, in_pool: bool = True) -> list:
        return await super().run_ddl(ddl, in_pool=True)
