"""Large people imports (issue 21, 9): over 32,767 rows on PostgreSQL (its bind-parameter limit)
in bounded batches, still all or nothing."""

from __future__ import annotations

import os

from core.db.bulk import BATCH_ROWS, insert_rows
from core.db.tables import User
from core.interviews.people import import_people
from core.tenancy import TenantScope

# PostgreSQL gets the size that used to fail there; SQLite a size that still crosses batches.
ROWS = 40_000 if os.environ.get("MENDAN_TEST_POSTGRES") else 3 * BATCH_ROWS + 7


def people_csv(rows: int, last: str = "") -> bytes:
    lines = ["email,display_name,role,language"]
    lines += [f"p{n}@example.jp,鈴木 {n},interviewee,ja" for n in range(rows)]
    return ("\n".join(lines + ([last] if last else [])) + "\n").encode()


async def test_a_large_import_goes_in_whole(make_tenant):
    tenant = await make_tenant()
    scope = TenantScope(tenant.id)
    refused = await import_people(scope, people_csv(ROWS, last="p0@example.jp,重複,interviewee,ja"))
    assert not refused.ok and [(e.line, e.column) for e in refused.errors] == [(ROWS + 2, "email")]
    assert await scope.count(User) == 0
    report = await import_people(scope, people_csv(ROWS))
    assert report.ok and report.created == ROWS
    assert await scope.count(User) == ROWS
    last = await scope.objects(User).where(User.email == f"p{ROWS - 1}@example.jp").first()
    assert last.display_name == f"鈴木 {ROWS - 1}" and last.active and last.password_hash is None


async def test_a_failing_batch_rolls_back_the_batches_before_it(make_tenant):
    tenant = await make_tenant()
    rows = [User(tenant=tenant.id, email=f"b{n}@example.jp", role="expert") for n in range(BATCH_ROWS + 3)]
    rows[-1].id = rows[0].id  # the second batch repeats a primary key of the first
    try:
        await insert_rows(rows)
    except Exception as exc:  # the driver's own error class (sqlite3 or asyncpg)
        assert "unique" in str(exc).lower() or "duplicate" in str(exc).lower()
    else:
        raise AssertionError("a repeated primary key was inserted")
    assert await TenantScope(tenant.id).count(User) == 0
