"""Unique (tenant, purpose, version) for consent texts and (user, consent_text) for consent
records, after resolving duplicates that concurrent requests may have left:

- consent texts of one purpose with the same version are renumbered 1..n in the order they were
  published (created_at, then id), and each consent record's `version` follows its text (records
  point at the text by id, so what was accepted does not change);
- of several records of one user accepting one text (a double click), the earliest is kept: it
  is when the consent was given.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.querystring import QueryString

from core.db.constraints import create_unique_index, drop_index
from core.db.engine import current_engine

ID = "2026-11-29T19:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique consent versions and one record per acceptance"

TEXT_INDEX = "tenants_consent_text_version_unique"
RECORD_INDEX = "tenants_consent_record_user_text_unique"


async def _query(sql: str, *args):
    return await current_engine().run_querystring(QueryString(sql, *args))


async def _renumber_texts() -> None:
    rows = await _query("SELECT id, tenant, purpose, version, created_at FROM tenants_consent_text")
    groups: dict = {}
    for row in rows:
        groups.setdefault((str(row["tenant"]), row["purpose"]), []).append(row)
    for texts in groups.values():
        if len({t["version"] for t in texts}) == len(texts):
            continue
        texts.sort(key=lambda t: (t["version"], str(t["created_at"]), str(t["id"])))
        for n, t in enumerate(texts, start=1):
            await _query("UPDATE tenants_consent_text SET version = {} WHERE id = {}", -n, t["id"])
        for n, t in enumerate(texts, start=1):
            await _query("UPDATE tenants_consent_text SET version = {} WHERE id = {}", n, t["id"])
            await _query("UPDATE tenants_consent_record SET version = {} WHERE consent_text = {}", n, t["id"])


async def _one_record_each() -> None:
    rows = await _query('SELECT id, "user", consent_text, accepted_at FROM tenants_consent_record')
    groups: dict = {}
    for row in rows:
        groups.setdefault((str(row["user"]), str(row["consent_text"])), []).append(row)
    for found in groups.values():
        found.sort(key=lambda r: (str(r["accepted_at"]), str(r["id"])))
        for row in found[1:]:
            await _query("DELETE FROM tenants_consent_record WHERE id = {}", row["id"])


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="mendan_tenants", description=DESCRIPTION)

    async def add_constraints():
        await _renumber_texts()
        await create_unique_index("tenants_consent_text", ["tenant", "purpose", "version"], TEXT_INDEX)
        await _one_record_each()
        await create_unique_index("tenants_consent_record", ["user", "consent_text"], RECORD_INDEX)

    async def remove_constraints():
        await drop_index(TEXT_INDEX)
        await drop_index(RECORD_INDEX)

    manager.add_raw(add_constraints)
    manager.add_raw_backwards(remove_constraints)
    return manager
