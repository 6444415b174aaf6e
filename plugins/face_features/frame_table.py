"""The per-frame table of one recording: Parquet, kept encrypted in the tenant's blob store.

One blob per recording and extractor version, under a fixed key, written through
a temporary file and an atomic rename: a retried job overwrites it with the same
rows. Frames without a face hold nulls, not zeros.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any
from uuid import UUID

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from core.storage import BlobStore, TenantKey


def blob_key(interview_id: UUID, version: str, recording_id: UUID | None = None) -> str:
    """Where a recording's table is kept (`recording_id` None: a file analysed outside an interview's recordings)."""
    if recording_id is None:
        return f"face_features/{interview_id}/frames-v{version}.parquet"
    return f"face_features/{interview_id}/{recording_id}/frames-v{version}.parquet"


def to_arrow(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> pa.Table:
    arrays = {}
    for name in columns:
        values = [row[name] for row in rows]
        if name == "frame":
            arrays[name] = pa.array(values, pa.int64())
        elif name == "face":
            arrays[name] = pa.array(values, pa.bool_())
        else:
            # from_pandas: NaN (no face, no measurement) becomes null.
            arrays[name] = pa.array(np.asarray(values, dtype=np.float32), pa.float32(), from_pandas=True)
    return pa.table(arrays)


def to_columns(table: pa.Table) -> dict[str, np.ndarray]:
    """Numpy columns with NaN for nulls, the shape `aggregates.aggregate` takes."""
    out = {}
    for name in table.column_names:
        column = table.column(name)
        if name == "face":
            out[name] = column.to_numpy(zero_copy_only=False).astype(bool)
        else:
            out[name] = column.to_numpy(zero_copy_only=False).astype(np.float64)
    return out


def store(storage: BlobStore, tk: TenantKey, key: str, table: pa.Table) -> int:
    with tempfile.TemporaryDirectory(prefix="mendan-frames-") as tmp:
        path = Path(tmp) / "frames.parquet"
        pq.write_table(table, path, compression="zstd")
        return storage.write_file(tk, key, path)


def load(storage: BlobStore, tk: TenantKey, key: str) -> pa.Table:
    buffer = io.BytesIO()
    for block in storage.read(tk, key):
        buffer.write(block)
    buffer.seek(0)
    return pq.read_table(buffer)
