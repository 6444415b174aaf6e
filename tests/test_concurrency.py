"""Every "next number" and "one per X" rule holds under concurrent requests, on SQLite and
PostgreSQL (MENDAN_TEST_POSTGRES): a unique index plus a retry or an upsert (issue 19, 6)."""

from __future__ import annotations

import asyncio
import importlib
import json

from core.db.constraints import create_unique_index, drop_index
from core.db.tables import AuditEntry, PluginSetting
from core.hookspecs import hookimpl
from core.interviews.evaluations import save_evaluation
from core.interviews.question_sets import EvaluationItem, Question, add_version, create_question_set, items_of
from core.interviews.schedule import advance, reschedule
from core.interviews.tables import Evaluation, QuestionSetVersion
from core.plugins import PluginMeta
from core.tenancy import TenantScope
from tenants.consent import current_consent, publish_consent, record_consent
from tenants.tables import ConsentRecord
from tests.interview_fixtures import make_interview

ITEMS = [EvaluationItem(key="clarity", name="Clarity")]
QUESTIONS = [Question(text="自己紹介をお願いします。")]


async def test_six_simultaneous_saves_of_a_question_set_get_six_distinct_numbers(make_tenant):
    tenant = await make_tenant()
    scope = TenantScope(tenant.id)
    first = await create_question_set(scope, name="一次面接", questions=QUESTIONS, items=ITEMS)
    saved = await asyncio.gather(*(add_version(scope, first.question_set, questions=QUESTIONS, items=ITEMS)
                                   for _ in range(6)))
    assert sorted(v.number for v in saved) == [2, 3, 4, 5, 6, 7]
    stored = await scope.select(QuestionSetVersion, QuestionSetVersion.number).where(
        QuestionSetVersion.question_set == first.question_set)
    assert sorted(r["number"] for r in stored) == [1, 2, 3, 4, 5, 6, 7]


async def test_a_double_click_on_save_evaluation_stores_one_evaluation(app, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    await advance(setup["scope"], setup["interview"], "recorded")
    scores = {item.key: "4" for item in items_of(setup["version"])}
    clicks = await asyncio.gather(*(save_evaluation(setup["scope"], setup["interview"], setup["interviewer"],
                                                    scores, f"click {n}") for n in range(4)))
    assert len({str(row.id) for row in clicks}) == 1
    rows = await setup["scope"].objects(Evaluation).where(Evaluation.interview == setup["interview"].id)
    assert len(rows) == 1


async def test_consent_versions_stay_distinct_and_a_second_click_keeps_one_record(make_tenant, make_user):
    tenant = await make_tenant()
    user = await make_user(tenant, "interviewee")
    await current_consent(tenant.id, "recording")
    published = await asyncio.gather(*(publish_consent(tenant.id, "recording", f"本文 {n}", f"text {n}")
                                       for n in range(4)))
    assert sorted(t.version for t in published) == [2, 3, 4, 5]
    latest = await current_consent(tenant.id, "recording")
    await asyncio.gather(*(record_consent(tenant.id, user.id, "recording", latest.version) for _ in range(3)))
    assert await TenantScope(tenant.id).count(ConsentRecord).where(ConsentRecord.user == user.id) == 1


class Option:
    @hookimpl
    def mendan_plugin_meta(self):
        return PluginMeta(key="opt_race", name_ja="オプション", name_en="Option", version="1", kind="option",
                          hours="batch")


async def test_switching_a_plugin_twice_at_once_leaves_one_setting(host, make_tenant):
    host.register(Option(), key="opt_race")
    tenant = await make_tenant()
    await asyncio.gather(*(host.set_enabled(tenant.id, "opt_race", n % 2 == 0) for n in range(5)))
    rows = await PluginSetting.objects().where((PluginSetting.tenant == tenant.id)
                                               & (PluginSetting.plugin_key == "opt_race"))
    assert len(rows) == 1


async def test_two_moves_at_once_give_two_icalendar_sequence_numbers(app, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    interview = setup["interview"]
    other = await setup["scope"].get(type(interview), interview.id)
    moved = await asyncio.gather(reschedule(setup["scope"], interview, interview.starts_at),
                                 reschedule(setup["scope"], other, interview.starts_at))
    assert sorted(m.sequence for m in moved) == [1, 2]


async def test_the_migration_resolves_duplicates_made_before_the_constraints(app, make_tenant, make_user):
    """Versions numbered alike are renumbered in the order they were made, duplicate evaluations
    leave one row (the removed ones' scores go to the audit log), then the indexes hold."""
    migration = importlib.import_module("core.interviews.migrations.mendan_interviews_2026_11_29t19_00_00_000000")
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    scope = setup["scope"]
    await drop_index(migration.VERSION_INDEX)
    await drop_index(migration.EVALUATION_INDEX)
    try:
        version = setup["version"]
        for _ in range(2):
            await scope.add(QuestionSetVersion(question_set=version.question_set, number=1, questions=[], items=[]))
        for n in range(3):
            await scope.add(Evaluation(interview=setup["interview"].id, evaluator=setup["interviewer"].id,
                                       evaluator_role="interviewer", question_set_version=version.id,
                                       scores={"clarity": n + 1}, comment=f"take {n}"))
    finally:
        await migration._renumber_versions()
        await create_unique_index("mendan_question_set_version", ["question_set", "number"], migration.VERSION_INDEX)
        await migration._one_evaluation_each()
        await create_unique_index("mendan_evaluation", ["interview", "evaluator"], migration.EVALUATION_INDEX)
    numbers = await scope.select(QuestionSetVersion, QuestionSetVersion.number).where(
        QuestionSetVersion.question_set == version.question_set)
    assert sorted(r["number"] for r in numbers) == [1, 2, 3]
    assert await scope.count(Evaluation).where(Evaluation.interview == setup["interview"].id) == 1
    removed = await AuditEntry.objects().where((AuditEntry.tenant == tenant.id)
                                               & (AuditEntry.action == "evaluation.duplicate_removed"))
    assert len(removed) == 2
    details = [r.detail if isinstance(r.detail, dict) else json.loads(r.detail) for r in removed]
    assert {d["comment"] for d in details} <= {"take 0", "take 1", "take 2"}


async def test_two_closings_at_once_close_each_month_once(host, make_tenant):
    from datetime import datetime, timezone

    from billing.invoice import close_due_periods
    from billing.tables import ClosedPeriod

    tenant = await make_tenant()
    later = datetime(2027, 6, 1, tzinfo=timezone.utc)
    counts = await asyncio.gather(*(close_due_periods(host, now=later, tenant_ids=[tenant.id]) for _ in range(3)))
    rows = await ClosedPeriod.select(ClosedPeriod.month).where(ClosedPeriod.tenant == tenant.id)
    months = [r["month"] for r in rows]
    assert len(months) == len(set(months)) == sum(counts) > 0
