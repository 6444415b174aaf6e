"""SQLite's kept connections (core.db.sqlite_lanes): two per calling thread (reads, writes),
statements never interleave, a forked child gets its own, a transaction's writes are seen at its commit, a write waits on
another connection's lock without stopping the event loop or the reads, and a thread's
connections go when the thread ends."""

from __future__ import annotations

import asyncio
import gc
import os
import sqlite3
import threading
import time

import pytest
from piccolo.querystring import QueryString

from core.db.sqlite_lanes import LaneSQLiteEngine


@pytest.fixture
def engine(tmp_path):
    path = tmp_path / "lanes.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    made = LaneSQLiteEngine(path=str(path), timeout=30)
    yield made
    made.close_lanes()


def sql(template: str, *args) -> QueryString:
    return QueryString(template, *args)


async def count(engine: LaneSQLiteEngine) -> int:
    [row] = await engine.run_querystring(sql("SELECT count(*) AS n FROM note"))
    return row["n"]


async def test_many_coroutines_share_a_thread_s_connection_without_mixing_their_rows(engine):
    await asyncio.gather(*(engine.run_querystring(sql("INSERT INTO note (body) VALUES ({})", f"メモ{i}"))
                           for i in range(200)))
    rows = await asyncio.gather(*(engine.run_querystring(sql("SELECT body FROM note WHERE id = {}", i))
                                  for i in range(1, 201)))
    assert sorted(r[0]["body"] for r in rows) == sorted(f"メモ{i}" for i in range(200))
    assert len(engine._lanes) == 2  # this thread's two connections (reads, writes), not one per statement


async def test_a_transaction_s_writes_are_seen_by_the_lane_at_commit_and_not_before(engine):
    async with engine.transaction():
        await engine.run_querystring(sql("INSERT INTO note (body) VALUES ({})", "下書き"))
        outside = await asyncio.create_task(_count_outside_transaction(engine))
        assert outside == 0
    assert await count(engine) == 1


async def _count_outside_transaction(engine: LaneSQLiteEngine) -> int:
    engine.current_transaction.set(None)  # this task's own context: a statement outside the transaction
    return await count(engine)


async def test_a_lane_waits_for_another_connection_s_write_lock_and_the_loop_goes_on(engine):
    blocker = sqlite3.connect(engine.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    blocker.execute("INSERT INTO note (body) VALUES ('先に')")
    write = asyncio.create_task(engine.run_querystring(sql("INSERT INTO note (body) VALUES ({})", "後で")))
    ticks = 0
    started = time.monotonic()
    while time.monotonic() - started < 0.5:
        await asyncio.sleep(0.01)
        ticks += 1
    assert not write.done() and ticks > 10  # the write waits on SQLite's lock, the event loop does not
    assert await count(engine) == 0  # and reads go on meanwhile, beside the waiting write
    blocker.execute("COMMIT")
    blocker.close()
    await asyncio.wait_for(write, 30)
    assert [r["body"] for r in await engine.run_querystring(sql("SELECT body FROM note ORDER BY id"))] == ["先に", "後で"]


async def test_an_error_reaches_the_caller_and_the_connection_goes_on(engine):
    await engine.run_querystring(sql("INSERT INTO note (id, body) VALUES (1, {})", "一"))
    with pytest.raises(sqlite3.IntegrityError):
        await engine.run_querystring(sql("INSERT INTO note (id, body) VALUES (1, {})", "二"))
    assert await count(engine) == 1


def test_each_thread_has_its_own_connection_and_it_goes_when_the_thread_ends(engine):
    def worker(n: int) -> None:
        asyncio.run(engine.run_querystring(sql("INSERT INTO note (body) VALUES ({})", f"スレッド{n}")))
        asyncio.run(engine.run_querystring(sql("SELECT 1")))  # a second loop on the thread: the same lane

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert asyncio.run(count(engine)) == 3
    gc.collect()
    # The three workers' lanes went with their threads; this thread's reader (the count above) remains.
    assert len(engine._lanes) == 1


def test_closed_lanes_end_their_threads_and_later_statements_open_new_ones(engine):
    asyncio.run(engine.run_querystring(sql("INSERT INTO note (body) VALUES ({})", "前")))
    assert asyncio.run(count(engine)) == 1
    lane_threads = [thread for lane in engine._lanes for thread in lane._executor._threads]
    assert len(lane_threads) == 2
    engine.close_lanes()
    for thread in lane_threads:
        thread.join(10)
        assert not thread.is_alive()
    assert asyncio.run(count(engine)) == 1


def test_a_forked_child_runs_statements_on_lanes_of_its_own(engine):
    asyncio.run(engine.run_querystring(sql("INSERT INTO note (body) VALUES ({})", "親")))
    assert asyncio.run(count(engine)) == 1  # the parent's reader lane exists before the fork
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: the parent's lane threads do not exist here
        try:
            rows = asyncio.run(asyncio.wait_for(engine.run_querystring(sql("SELECT body FROM note")), 10))
            os.write(write, rows[0]["body"].encode())
        finally:
            os._exit(0)
    os.close(write)
    _, status = os.waitpid(child, 0)
    with os.fdopen(read, "rb") as answer:
        assert answer.read().decode() == "親" and status == 0
