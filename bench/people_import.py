"""A large people CSV import: total time, the longest single statement and the longest write
transaction (on SQLite the time the database's write lock is held; other tenants wait that long).

    python bench/people_import.py --rows 50000   [--database-url postgresql://postgres@127.0.0.1/mendan_bench]

A fresh SQLite database in a temporary folder unless --database-url is given. The last line is
JSON: rows, seconds, longest_statement_s, longest_transaction_s, database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import tempfile
import time
from contextlib import asynccontextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.config import Settings  # noqa: E402
from core.db.engine import current_engine  # noqa: E402
from core.interviews.people import import_people  # noqa: E402
from core.plugins import PluginHost  # noqa: E402
from core.storage import BlobStore  # noqa: E402
from core.tenancy import TenantScope, create_tenant  # noqa: E402
from mendan.app import create_app  # noqa: E402
from mendan.assembly import migrate  # noqa: E402


def people_csv(rows: int) -> bytes:
    lines = ["email,display_name,role,language"]
    lines += [f"bench{n}@example.jp,山田 太郎{n},interviewee,ja" for n in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def timed(engine) -> dict[str, float]:
    """Wrap the statements (piccolo's and the drivers' executemany) and transactions of this
    process's one engine, at class level (the instances take no attributes); returns the longest
    of each, in seconds, as they happen."""
    import aiosqlite
    import asyncpg.connection

    longest = {"statement": 0.0, "transaction": 0.0}

    def statement(cls: type, name: str) -> None:
        original = getattr(cls, name)

        async def run_timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                longest["statement"] = max(longest["statement"], time.perf_counter() - started)

        setattr(cls, name, run_timed)

    statement(type(engine), "run_querystring")
    statement(aiosqlite.Connection, "executemany")
    statement(asyncpg.connection.Connection, "executemany")
    transaction = type(engine).transaction

    @asynccontextmanager
    async def transaction_timed(*args, **kwargs):
        async with transaction(*args, **kwargs) as inner:
            started = time.perf_counter()
            try:
                yield inner
            finally:
                longest["transaction"] = max(longest["transaction"], time.perf_counter() - started)

    type(engine).transaction = transaction_timed
    return longest


async def bench(rows: int, database_url: str | None) -> dict:
    data_dir = Path(tempfile.mkdtemp(prefix="mendan-bench-people-"))
    settings = Settings(data_dir=data_dir, database_url=database_url or f"sqlite:///{data_dir / 'mendan.sqlite'}",
                        secret_key="bench-" + "x" * 40)
    await migrate(settings)
    create_app(settings, host=PluginHost())  # binds the database, as the service does
    tenant = await create_tenant(BlobStore.from_settings(settings), slug=f"bench-{secrets.token_hex(3)}",
                                 name="Bench")
    data = people_csv(rows)
    longest = timed(current_engine())
    started = time.perf_counter()
    report = await import_people(TenantScope(tenant.id), data)
    seconds = time.perf_counter() - started
    assert report.ok and report.created == rows, report.errors[:3]
    print(f"imported {rows} people in {seconds:.2f} s", flush=True)
    return {"rows": rows, "seconds": round(seconds, 3), "longest_statement_s": round(longest["statement"], 3),
            "longest_transaction_s": round(longest["transaction"], 3), "database": settings.database_kind}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(bench(args.rows, args.database_url))))


if __name__ == "__main__":
    main()
