"""Inserting many rows quickly and in bounded statements (people imports, issue 21, 9).

piccolo's `Table.insert(*rows)` puts every row's values in one statement (PostgreSQL refuses more
than 32,767 bind parameters) and renders the SQL in Python while the transaction is open (on
SQLite, the write lock). `insert_rows` prepares the values first and then sends batches through
the driver's executemany, inside the caller's transaction or one of its own."""

from __future__ import annotations

from typing import Any, Sequence

from piccolo.table import Table

from core.db.engine import current_engine

BATCH_ROWS = 500


def _values(rows: Sequence[Table], names: list[str]) -> list[tuple[Any, ...]]:
    return [tuple(getattr(row, name) for name in names) for row in rows]


async def insert_rows(rows: Sequence[Table], batch_rows: int = BATCH_ROWS) -> int:
    """Insert `rows` (instances of one table, with plain column values: text, numbers, booleans,
    UUIDs, timestamps; not JSON) in statements of at most `batch_rows` rows, all in one
    transaction: the caller's if one is open, else a new one (all or nothing either way).
    Returns the number of rows inserted. Raises the driver's error (e.g. a unique violation),
    after which the transaction is rolled back."""
    if not rows:
        return 0
    table = type(rows[0])
    names = [column._meta.db_column_name for column in table._meta.columns]
    engine = current_engine()
    postgres = engine.engine_type in ("postgres", "cockroach")
    marks = ", ".join(f"${n}" if postgres else "?" for n in range(1, len(names) + 1))
    columns = ", ".join(f'"{name}"' for name in names)
    sql = f'INSERT INTO "{table._meta.tablename}" ({columns}) VALUES ({marks})'
    values = _values(rows, [column._meta.name for column in table._meta.columns])
    async with engine.transaction():
        connection = engine.current_transaction.get().connection
        for start in range(0, len(values), batch_rows):
            await connection.executemany(sql, values[start:start + batch_rows])
    return len(values)
