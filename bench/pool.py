"""Statements per second and their p95 latency on PostgreSQL with and without connection pools.

    python bench/pool.py [--server postgresql://postgres@127.0.0.1:5432] [--seconds 10] [--concurrency 20]

Runs `--concurrency` coroutines, each selecting a user row by id through piccolo, for `--seconds`
in three ways: piccolo's plain engine (a new connection per statement, as before the pools), the
event loop's own pool (the web process), and the shared pool from a loop without one (job worker
threads, commands). Makes and drops a database of its own. Target: the loop pool at least 5 times
the unpooled statements per second (speedup) on the project's 2-core machines.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import time

import asyncpg
from piccolo.columns import Varchar
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

from core.db.pools import PooledPostgresEngine


class BenchRow(Table, tablename="bench_pool_row"):
    name = Varchar(length=40)


async def drive(engine, seconds: float, concurrency: int) -> dict[str, float]:
    BenchRow._meta.db = engine
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds

    async def one_user() -> None:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            await BenchRow.select(BenchRow.name).where(BenchRow.id == 1).first()
            latencies.append(time.perf_counter() - started)

    began = time.perf_counter()
    await asyncio.gather(*(one_user() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    cuts = statistics.quantiles(latencies, n=100)
    return {"statements": len(latencies), "per_s": round(len(latencies) / elapsed, 1),
            "p50_ms": round(cuts[49] * 1000, 2), "p95_ms": round(cuts[94] * 1000, 2)}


async def pooled_on_loop(dsn: str, seconds: float, concurrency: int, pool_max: int) -> dict[str, float]:
    engine = PooledPostgresEngine({"dsn": dsn}, pool_min=pool_max, pool_max=pool_max, shared_max=pool_max)
    await engine.start_connection_pool()
    try:
        return await drive(engine, seconds, concurrency)
    finally:
        await engine.close_connection_pool()


async def pooled_shared(dsn: str, seconds: float, concurrency: int, pool_max: int) -> dict[str, float]:
    engine = PooledPostgresEngine({"dsn": dsn}, pool_min=1, pool_max=pool_max, shared_max=pool_max)
    try:
        return await drive(engine, seconds, concurrency)
    finally:
        engine.shared.close()


async def admin(server: str, statement: str) -> None:
    conn = await asyncpg.connect(f"{server}/postgres")
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--pool-max", type=int, default=10, help="each pool's connections")
    args = parser.parse_args()
    name = f"mendan_bench_pool_{secrets.token_hex(4)}"
    dsn = f"{args.server.rstrip('/')}/{name}"
    asyncio.run(admin(args.server, f"CREATE DATABASE {name}"))
    try:
        async def prepare() -> None:
            BenchRow._meta.db = PostgresEngine({"dsn": dsn})
            await BenchRow.create_table()
            await BenchRow.insert(BenchRow(name="bench"))

        asyncio.run(prepare())
        results = {
            "no_pool": asyncio.run(drive(PostgresEngine({"dsn": dsn}), args.seconds, args.concurrency)),
            "loop_pool": asyncio.run(pooled_on_loop(dsn, args.seconds, args.concurrency, args.pool_max)),
            "shared_pool": asyncio.run(pooled_shared(dsn, args.seconds, args.concurrency, args.pool_max)),
        }
    finally:
        asyncio.run(admin(args.server, f"DROP DATABASE {name} WITH (FORCE)"))
    for way, figures in results.items():
        print(f"{way:12s} {figures['per_s']:9.1f} statements/s  p50 {figures['p50_ms']:7.2f} ms  "
              f"p95 {figures['p95_ms']:7.2f} ms  ({figures['statements']} statements)")
    print(json.dumps({**results, "seconds": args.seconds, "concurrency": args.concurrency,
                      "pool_max": args.pool_max, "speedup": round(results["loop_pool"]["per_s"]
                                                                  / results["no_pool"]["per_s"], 1)}))


if __name__ == "__main__":
    main()
