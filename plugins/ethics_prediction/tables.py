"""The ethics_prediction plugin's table: monthly snapshots, immutable once made.

A database trigger (see the migrations) refuses every UPDATE of a snapshot, on SQLite and
PostgreSQL alike; rows are only inserted, and deleted with their tenant.
"""

from piccolo.columns import JSON, UUID, Boolean, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from core.tables import Tenant


class Snapshot(Table, tablename="ethics_prediction_snapshot"):
    id = UUID(primary_key=True)
    tenant = ForeignKey(references=Tenant, index=True)
    period = Varchar(length=7, index=True)  # "2026-02": the Tokyo calendar month analysed
    since = Timestamptz()
    until = Timestamptz()
    made_at = Timestamptz(default=TimestamptzNow())
    n_predictions = Integer(default=0)
    risk = Varchar(length=8)  # low | medium | high
    alerted = Boolean(default=False)  # a threshold was crossed and the admins were mailed
    histograms = JSON(default={})  # item key -> {"scale_min", "scale_max", "counts"}: next month's baseline
    report = JSON(default={})  # core.fairness_report's shape
    digest = Varchar(length=64)  # SHA-256 of the canonical JSON of report and histograms
