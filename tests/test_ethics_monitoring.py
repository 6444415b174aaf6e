"""The monthly monitoring of predictions, on a fixed clock: two months of predictions with a
drift planted in the second give two immutable snapshots and one mail to the admins."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

import plugins.ai_model.plugin as ai_model_plugin
import plugins.ethics_prediction.plugin as ethics_prediction_plugin
from billing.tables import UsageRow
from core.interviews.attributes import define_attribute, set_attributes
from core.db.json_columns import json_value
from core.db.tables import Job
from core.hours import TOKYO
from core.interviews.question_sets import EvaluationItem, Question, create_question_set
from core.interviews.schedule import schedule_interview
from core.tenancy import TenantScope
from plugins.ai_model.tables import Prediction
from plugins.ethics_prediction.monitoring import monitor_all, month_bounds, next_run, previous_period, verify
from plugins.ethics_prediction.tables import Snapshot
from tenants.retention import purge_tenant
from tests.conftest import HTML, login, wait_for_job

PER_MONTH = 60


@pytest.fixture
def host(host):
    host.register(ai_model_plugin, key="ai_model")
    host.register(ethics_prediction_plugin, key="ethics_prediction")
    return host


def test_the_schedule_runs_on_the_first_of_each_month_in_tokyo():
    assert next_run(datetime(2027, 1, 15, tzinfo=timezone.utc)) == datetime(2027, 2, 1, 4, tzinfo=TOKYO)
    assert next_run(datetime(2027, 2, 1, 4, tzinfo=TOKYO)) == datetime(2027, 3, 1, 4, tzinfo=TOKYO)
    assert next_run(datetime(2027, 12, 31, 18, tzinfo=timezone.utc)) == datetime(2028, 1, 1, 4, tzinfo=TOKYO)
    assert next_run(datetime(2027, 12, 31, 20, tzinfo=timezone.utc)) == datetime(2028, 2, 1, 4, tzinfo=TOKYO)
    assert previous_period(datetime(2027, 3, 1, 4, tzinfo=TOKYO)) == "2027-02"
    assert month_bounds("2027-02") == (datetime(2027, 2, 1, tzinfo=TOKYO), datetime(2027, 3, 1, tzinfo=TOKYO))


async def predictions_over_two_months(tenant, make_user, admin):
    """PER_MONTH interviews a month, predicted mid-month; February's scores are shifted up."""
    scope = TenantScope(tenant.id)
    rng = np.random.default_rng(8)
    await define_attribute(scope, key="gender", name_ja="性別", name_en="Gender",
                           choices_text="female | 女性 | Female\nmale | 男性 | Male")
    version = await create_question_set(scope, name="Graduates", questions=[Question("自己紹介をお願いします。")],
                                        items=[EvaluationItem(key="overall", name="Overall")])
    for month, shift in ((8, 0.0), (9, 1.4)):
        for i in range(PER_MONTH):
            interviewee = await make_user(tenant, "interviewee", password=None)
            await set_attributes(scope, interviewee.id, {"gender": "female" if i % 2 else "male"}, actor=admin)
            interview = await schedule_interview(
                scope, kind="self", starts_at=datetime(2026, month, 10, 1, tzinfo=timezone.utc),
                ends_at=datetime(2026, month, 17, 1, tzinfo=timezone.utc), interviewee_id=interviewee.id, interviewer_id=None, expert_ids=[], version_id=version.id,
                check=False)  # predictions of interviews already held
            value = float(np.clip(rng.normal(2.8 + shift, 0.5), 1, 5))
            await Prediction.insert(Prediction(tenant=tenant.id, interview_id=interview.id, item_key="overall",
                                               source="v1", value=value,
                                               created_at=datetime(2026, month, 1 + i % 27, 3, tzinfo=TOKYO)))


async def test_monthly_monitoring_snapshots_twice_and_mails_once_on_drift(app, client, make_tenant, make_user):
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    expert = await make_user(tenant, "expert")
    await app.state.plugin_host.set_enabled(tenant.id, "ethics_prediction", True)
    await predictions_over_two_months(tenant, make_user, admin)

    def mine(snapshots):
        return [s for s in snapshots if s.tenant == tenant.id]

    august = mine(await monitor_all(at=datetime(2026, 9, 1, 4, tzinfo=TOKYO)))
    assert [(s.period, s.n_predictions, s.risk, s.alerted) for s in august] == [("2026-08", PER_MONTH, "low", False)]
    september = mine(await monitor_all(at=datetime(2026, 10, 1, 4, tzinfo=TOKYO)))
    assert [(s.period, s.alerted) for s in september] == [("2026-09", True)]
    report = json_value(september[0].report)
    assert report["drift"]["previous"] == "2026-08" and report["drift"]["items"]["overall"]["psi"] > 0.2
    assert report["risk"] != "low"
    # Run again (a restart, or cron every day): nothing new, nobody mailed twice.
    assert mine(await monitor_all(at=datetime(2026, 10, 1, 5, tzinfo=TOKYO))) == []

    monitorings = await UsageRow.objects().where(
        (UsageRow.tenant == tenant.id) & (UsageRow.meter == "ethics_prediction.monitorings"))
    assert sorted(u.occurred_at.astimezone(TOKYO).month for u in monitorings) == [9, 10]

    mails = await Job.objects().where((Job.tenant == tenant.id) & (Job.actor == "core.send_mail"))
    assert len(mails) == 1
    message = json_value(mails[0].args)["message"]
    assert admin.email in message and "2026-09" in message
    assert (await wait_for_job(mails[0].id)).state == "done"

    # Immutable: the database refuses any change, and each snapshot still matches its digest.
    snapshots = await Snapshot.objects().where(Snapshot.tenant == tenant.id).order_by(Snapshot.period)
    assert [s.period for s in snapshots] == ["2026-08", "2026-09"] and all(verify(s) for s in snapshots)
    with pytest.raises(Exception, match="immutable"):
        await Snapshot.update({Snapshot.risk: "low"}).where(Snapshot.id == snapshots[1].id)
    with pytest.raises(Exception, match="immutable"):
        await Snapshot.update({Snapshot.report: {}}).where(Snapshot.tenant == tenant.id)
    assert all(verify(s) for s in await Snapshot.objects().where(Snapshot.tenant == tenant.id))

    # Browsable by the admin, 404 for a role without the permission.
    await login(client, tenant, admin)
    listing = await client.get(f"/t/{tenant.slug}/ethics_prediction/", headers=HTML)
    assert listing.status_code == 200 and "2026-08" in listing.text and "2026-09" in listing.text
    page = await client.get(f"/t/{tenant.slug}/ethics_prediction/snapshots/{snapshots[1].id}", headers=HTML)
    assert page.status_code == 200 and "PSI" in page.text
    window = await client.get(f"/t/{tenant.slug}/ethics_prediction/window?since=2026-09-01&until=2026-09-30",
                              headers=HTML)
    assert window.status_code == 200
    bad = await client.get(f"/t/{tenant.slug}/ethics_prediction/window?since=2026-09-31", headers=HTML)
    assert bad.status_code == 400
    client.cookies.clear()
    await login(client, tenant, expert)
    for path in ("", f"snapshots/{snapshots[1].id}", f"snapshots/{snapshots[1].id}/pdf", "window"):
        assert (await client.get(f"/t/{tenant.slug}/ethics_prediction/{path}", headers=HTML)).status_code == 404

    # Immutable is not undeletable: the tenant's retention end takes snapshots and attributes too.
    report = await purge_tenant(tenant.id, reason="request")
    counts = json_value(report.counts)
    assert counts["ethics_prediction_snapshot"] == 2 and counts["mendan_person_attributes"] == 2 * PER_MONTH
    assert not await Snapshot.exists().where(Snapshot.tenant == tenant.id)


async def test_the_embedded_scheduler_keeps_the_monthly_job(app, client):
    # The client started the app: on the embedded default one timer per plugin job is running.
    jobs = app.state.plugin_host.call_each("mendan_scheduled_jobs")
    assert [job.actor for _key, listed in jobs for job in listed] == ["ethics_prediction.monitor"]
    timers = app.state.scheduled_jobs
    assert len(timers) == 1 and not timers[0].done()
    assert "ethics_prediction.monitor" in app.state.tasks.actors


def test_ethics_monitor_command_refuses_a_malformed_month():
    from click.testing import CliRunner

    from plugins.ethics_prediction.cli import ethics_monitor_command

    result = CliRunner().invoke(ethics_monitor_command, ["--month", "2026-13"])
    assert result.exit_code == 2 and "YYYY-MM" in result.output
