"""Retention: purging a tenant leaves zero rows and zero blobs of it, leaves another tenant
untouched, asks plugins to purge their own data, and keeps a report with counts only."""

import json
from datetime import date, datetime, timezone

import pytest

from core.db.tables import AuditEntry, FeatureValue, Job, PasswordReset, PluginSetting, Tenant
from core.hookspecs import hookimpl
from core.plugins import PluginMeta
from core.tenancy import TenantScope
from tenants.consent import record_consent, current_consent
from tenants.contracts import create_contract
from tenants.retention import PurgeIncomplete, expired_tenants, purge_expired, purge_tenant, tenant_tables
from tenants.tables import DeletionReport, TenantProfile


class ModelStore:
    """A plugin that keeps model files of its own, outside the tenant-scoped tables."""

    def __init__(self):
        self.files: dict[str, list[str]] = {}

    @hookimpl
    def mendan_plugin_meta(self):
        return PluginMeta(key="models_x", name_ja="モデル", name_en="Models", version="1", kind="option", hours="batch")

    @hookimpl
    async def mendan_purge_tenant(self, tenant_id):
        return {"model_files": len(self.files.pop(str(tenant_id), []))}


async def _fill(tenant, make_user, storage):
    user = await make_user(tenant, "interviewee", email=f"taro.{tenant.slug}@example.jp")
    scope = TenantScope(tenant.id)
    await scope.add(Job(actor="models_x.train", state="done"))
    await scope.add(PluginSetting(plugin_key="models_x", active=True))
    await scope.add(FeatureValue(interview_id="5b0c8f0e-7a52-4f33-9a4e-0b9a1c2d3e4f", extractor="face",
                                 extractor_version="1", name="smile", value=0.5))
    await scope.add(TenantProfile(contact_name="山田太郎", contact_email="yamada@example.jp"))
    await AuditEntry(tenant=tenant.id, actor=user.id, action="auth.login", ip="192.0.2.7").save()
    await PasswordReset(token_hash=f"h-{tenant.slug}", user=user.id, expires_at=datetime(2030, 1, 1, tzinfo=timezone.utc)).save()
    text = await current_consent(tenant.id, "recording")
    await record_consent(tenant.id, user.id, "recording", text.version, "192.0.2.7")
    await create_contract(tenant.id, by=None, course="weekday", starts_on=date(2025, 4, 1), ends_on=date(2026, 1, 31))
    tk = storage.tenant_key(tenant)
    for key in ("recordings/a.webm", "models/m1.cbm"):
        with storage.writer(tk, key) as out:
            out.write(b"x" * 70_000)
    return user


async def _rows(tenant_id) -> dict[str, int]:
    scope = TenantScope(tenant_id)
    return {t._meta.tablename: await scope.count(t) for t in tenant_tables()}


async def test_purge_leaves_nothing_of_the_tenant_and_nothing_missing_of_another(
    host, app, make_tenant, make_user, storage
):
    models = ModelStore()
    host.register(models, key="models_x")
    gone, kept = await make_tenant(), await make_tenant()
    user = await _fill(gone, make_user, storage)
    await _fill(kept, make_user, storage)
    models.files = {str(gone.id): ["a.cbm", "b.cbm"], str(kept.id): ["c.cbm"]}
    kept_rows, kept_blobs = await _rows(kept.id), storage.count(kept.id)
    assert all(kept_rows[t] > 0 for t in ("mendan_user", "mendan_job", "tenants_consent_record", "tenants_contract"))

    report = await purge_tenant(gone.id, reason="request")

    assert set((await _rows(gone.id)).values()) == {0}
    assert storage.count(gone.id) == 0
    assert await Tenant.count().where(Tenant.id == gone.id) == 0
    assert await PasswordReset.count().where(PasswordReset.user == user.id) == 0
    assert str(gone.id) not in models.files
    assert await _rows(kept.id) == kept_rows and storage.count(kept.id) == kept_blobs == 2
    assert models.files == {str(kept.id): ["c.cbm"]}
    stored = await DeletionReport.objects().where(DeletionReport.id == report.id).first()
    assert stored.tenant_slug == gone.slug
    counts = json.loads(stored.counts)
    assert counts["blobs"] == 2 and counts["models_x.model_files"] == 2 and counts["mendan_user"] == 1
    assert counts["tenants_consent_record"] == 1 and counts["mendan_password_reset"] == 1
    assert "example.jp" not in json.dumps(counts) and "山田" not in json.dumps(counts)
    purged = await AuditEntry.objects().where(
        (AuditEntry.action == "tenants.tenant_purged") & (AuditEntry.target == gone.slug)
    ).first()
    assert purged is not None


async def test_a_failing_plugin_purge_deletes_nothing_so_the_next_run_retries(host, app, make_tenant, make_user, storage):
    class Broken(ModelStore):
        @hookimpl
        async def mendan_purge_tenant(self, tenant_id):
            raise OSError("disk unavailable")

    host.register(Broken(), key="models_x")
    tenant = await make_tenant()
    await _fill(tenant, make_user, storage)
    before = await _rows(tenant.id)
    with pytest.raises(PurgeIncomplete):
        await purge_tenant(tenant.id, reason="expired")
    assert await _rows(tenant.id) == before and storage.count(tenant.id) == 2


async def test_expired_tenants_are_purged_one_month_after_the_end(app, make_tenant, make_user, storage):
    ended, renewed, custom = await make_tenant(), await make_tenant(), await make_tenant()
    await _fill(ended, make_user, storage)  # ends 2026-01-31: purged on 2026-02-28
    await _fill(renewed, make_user, storage)
    await create_contract(renewed.id, by=None, course="always", starts_on=date(2026, 2, 1))
    await create_contract(custom.id, by=None, course="always", starts_on=date(2025, 1, 1),
                          ends_on=date(2026, 1, 31), retention_grace_days=5)
    assert ended.id not in await expired_tenants(date(2026, 2, 27))
    assert custom.id in await expired_tenants(date(2026, 2, 5))
    assert custom.id not in await expired_tenants(date(2026, 2, 4))
    reports = await purge_expired(date(2026, 2, 28))
    purged = {r.tenant_id for r in reports}
    assert {ended.id, custom.id} <= purged and renewed.id not in purged
    assert {r.reason for r in reports} == {"expired"}
    assert await Tenant.count().where(Tenant.id == renewed.id) == 1


async def test_the_purge_expired_command_deletes_expired_tenants(app, settings, make_tenant, monkeypatch):
    import asyncio

    from click.testing import CliRunner

    from mendan.cli import main

    tenant = await make_tenant()
    await create_contract(tenant.id, by=None, course="always", starts_on=date(2024, 1, 1), ends_on=date(2024, 12, 31))
    env = {"MENDAN_DATA_DIR": str(settings.data_dir), "DATABASE_URL": settings.database_url,
           "MENDAN_SECRET_KEY": settings.secret_key}
    result = await asyncio.to_thread(CliRunner().invoke, main, ["purge-expired"], env=env)
    assert result.exit_code == 0, result.output
    assert f"deleted tenant {tenant.slug}" in result.output
    assert await Tenant.count().where(Tenant.id == tenant.id) == 0


def test_the_embedded_schedule_runs_daily_at_three_japan_time():
    from core.hours import TOKYO
    from tenants.retention import _seconds_until_next_run

    assert _seconds_until_next_run(datetime(2026, 12, 1, 2, 0, tzinfo=TOKYO)) == 3600
    assert _seconds_until_next_run(datetime(2026, 12, 1, 3, 0, tzinfo=TOKYO)) == 86400
    # 18:30 UTC is 03:30 JST on 1 December: the next run is 2 December 03:00 JST.
    assert _seconds_until_next_run(datetime(2026, 11, 30, 18, 30, tzinfo=timezone.utc)) == 23.5 * 3600
