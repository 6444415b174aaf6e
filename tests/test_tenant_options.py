"""Options per contract: switching writes the plugin setting, a history row and an audit entry,
and the history gives the periods each option was on (for billing's pro-rating)."""

from datetime import datetime, timezone

from core.db.tables import AuditEntry
from core.plugins import PluginMeta
from core.hookspecs import hookimpl
from tenants.options import option_intervals, set_option


class VideoOption:
    @hookimpl
    def mendan_plugin_meta(self):
        return PluginMeta(key="video_x", name_ja="映像", name_en="Video", version="1", kind="option", hours="batch")


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


async def test_set_option_enables_records_history_and_audits(host, app, make_tenant, make_user):
    host.register(VideoOption(), key="video_x")
    tenant, operator = await make_tenant(), await make_user(None, "operator")
    assert "video_x" not in await host.enabled_keys(tenant.id)
    await set_option(tenant.id, "video_x", True, by=operator)
    assert "video_x" in await host.enabled_keys(tenant.id)
    await set_option(tenant.id, "video_x", False, by=operator)
    assert "video_x" not in await host.enabled_keys(tenant.id)
    entries = await AuditEntry.select(AuditEntry.action, AuditEntry.actor, AuditEntry.detail).where(
        AuditEntry.tenant == tenant.id
    ).order_by(AuditEntry.id).output(load_json=True)
    assert [(e["action"], e["actor"], e["detail"]["active"]) for e in entries] == [
        ("tenants.option_switched", operator.id, True),
        ("tenants.option_switched", operator.id, False),
    ]


async def test_option_intervals_clip_to_the_period(host, app, make_tenant, make_user):
    host.register(VideoOption(), key="video_x")
    tenant, operator = await make_tenant(), await make_user(None, "operator")
    await set_option(tenant.id, "video_x", True, by=operator, at=utc(2026, 10, 20))
    await set_option(tenant.id, "video_x", False, by=operator, at=utc(2026, 11, 10, 12))
    await set_option(tenant.id, "video_x", True, by=operator, at=utc(2026, 11, 20))
    intervals = await option_intervals(tenant.id, utc(2026, 11, 1), utc(2026, 12, 1))
    assert intervals == {
        "video_x": [(utc(2026, 11, 1), utc(2026, 11, 10, 12)), (utc(2026, 11, 20), utc(2026, 12, 1))]
    }
    assert await option_intervals(tenant.id, utc(2026, 9, 1), utc(2026, 10, 1)) == {}
    assert await option_intervals(tenant.id, utc(2026, 11, 12), utc(2026, 11, 15)) == {"video_x": []}


async def test_option_intervals_of_one_tenant_ignore_another(host, app, make_tenant, make_user):
    host.register(VideoOption(), key="video_x")
    a, b = await make_tenant(), await make_tenant()
    operator = await make_user(None, "operator")
    await set_option(a.id, "video_x", True, by=operator, at=utc(2026, 11, 5))
    assert await option_intervals(b.id, utc(2026, 11, 1), utc(2026, 12, 1)) == {}
