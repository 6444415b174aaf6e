"""Scheduling rules (issue 19, 4): a slot outside the tenant's service hours for interactive
services is refused with the next open slot suggested (weekday course: the 2026-05-06
substitute holiday, nights, a slot running past 21:00, maintenance windows), a past date is
refused, and a double booking of the interviewer or interviewee is said and kept only when the
admin confirms."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from core.hours import TOKYO, ServiceState, Window, next_open_slot, slot_closure
from core.interviews.question_sets import EvaluationItem, Question, create_question_set
from core.interviews.tables import Interview
from core.tenancy import TenantScope
from tenants.contracts import create_contract
from tests.conftest import HTML, form_csrf, login

WEEKDAY = ServiceState(course="weekday")
NOW = datetime(2026, 4, 30, 10, 0, tzinfo=TOKYO)  # a Thursday, in service hours


def jst(*args) -> datetime:
    return datetime(*args, tzinfo=TOKYO)


@pytest.mark.parametrize("start, minutes, suggested", [
    (jst(2026, 5, 6, 10, 0), 60, jst(2026, 5, 7, 9, 0)),    # substitute holiday (Constitution Day on a Sunday)
    (jst(2026, 5, 7, 22, 0), 60, jst(2026, 5, 8, 9, 0)),    # night
    (jst(2026, 5, 7, 20, 30), 60, jst(2026, 5, 8, 9, 0)),   # runs past 21:00
    (jst(2026, 5, 8, 7, 0), 30, jst(2026, 5, 8, 9, 0)),     # early morning
    (jst(2026, 5, 9, 13, 0), 60, jst(2026, 5, 11, 9, 0)),   # Saturday
])
def test_a_slot_outside_the_weekday_hours_is_closed_and_the_next_open_slot_found(start, minutes, suggested):
    length = timedelta(minutes=minutes)
    assert slot_closure(WEEKDAY, start, start + length).reason == "hours"
    assert next_open_slot(WEEKDAY, start, length) == suggested
    assert slot_closure(WEEKDAY, suggested, suggested + length) is None


def test_a_maintenance_window_closes_the_slots_it_overlaps():
    state = ServiceState(course="always", maintenance=(Window(jst(2026, 5, 7, 12, 0), jst(2026, 5, 7, 14, 0)),))
    start = jst(2026, 5, 7, 11, 30)
    assert slot_closure(state, start, start + timedelta(hours=1)).reason == "maintenance"
    assert next_open_slot(state, start, timedelta(hours=1)) == jst(2026, 5, 7, 14, 0)
    assert slot_closure(state, jst(2026, 5, 7, 11, 0), jst(2026, 5, 7, 12, 0)) is None


@pytest.fixture
async def weekday_setup(client, make_tenant, make_user, monkeypatch):
    monkeypatch.setattr("core.hours.now", lambda: NOW)
    tenant = await make_tenant()
    await create_contract(tenant.id, by=None, course="weekday", starts_on=jst(2026, 1, 1).date())
    admin = await make_user(tenant, "admin")
    people = {"interviewer": await make_user(tenant, "interviewer"),
              "interviewee": await make_user(tenant, "interviewee", password=None),
              "other": await make_user(tenant, "interviewee", password=None)}
    version = await create_question_set(TenantScope(tenant.id), name="Basics", author=admin,
                                        items=[EvaluationItem(key="", name="Clarity")],
                                        questions=[Question(text="自己紹介をお願いします。")])
    await login(client, tenant, admin)
    return tenant, people, version


async def _schedule(client, tenant, people, version, starts_at, interviewee="interviewee", browser=True, **extra):
    page = await client.get(f"/t/{tenant.slug}/interviews/new", headers=HTML)
    token = form_csrf(page.text)
    data = {"kind": "live", "starts_at": starts_at, "duration_minutes": "60", "title": "一次面接",
            "interviewee": str(people[interviewee].id), "interviewer": str(people["interviewer"].id),
            "version": str(version.id), **extra}
    if browser:
        return await client.post(f"/t/{tenant.slug}/interviews", data={**data, "_csrf_token": token},
                                 headers=HTML, follow_redirects=False)
    return await client.post(f"/t/{tenant.slug}/interviews", data=data,
                             headers={"accept": "application/json", "x-csrftoken": token}, follow_redirects=False)


async def test_the_form_refuses_a_holiday_or_night_and_suggests_the_next_slot(client, weekday_setup):
    tenant, people, version = weekday_setup
    holiday = await _schedule(client, tenant, people, version, "2026-05-06T10:00")
    assert holiday.status_code == 400 and holiday.headers["content-type"].startswith("text/html")
    assert "サービス時間外" in holiday.text and "2026-05-07 09:00" in holiday.text
    assert 'value="2026-05-06T10:00"' in holiday.text  # the form keeps what was typed
    night = await _schedule(client, tenant, people, version, "2026-05-07T22:00", browser=False)
    assert night.status_code == 400 and night.headers["content-type"].startswith("application/problem+json")
    assert "2026-05-08 09:00" in night.json()["detail"]
    past = await _schedule(client, tenant, people, version, "2020-01-01T10:00")
    assert past.status_code == 400 and "過去" in past.text
    assert await TenantScope(tenant.id).count(Interview) == 0


async def test_a_double_booking_is_said_and_kept_only_when_confirmed(client, weekday_setup):
    tenant, people, version = weekday_setup
    first = await _schedule(client, tenant, people, version, "2026-05-07T10:00")
    assert first.status_code in (302, 303), first.text
    clash = await _schedule(client, tenant, people, version, "2026-05-07T10:30", interviewee="other")
    assert clash.status_code == 409 and "2026-05-07 10:00" in clash.text and 'name="allow_overlap"' in clash.text
    assert await TenantScope(tenant.id).count(Interview) == 1
    confirmed = await _schedule(client, tenant, people, version, "2026-05-07T10:30", interviewee="other",
                                allow_overlap="1")
    assert confirmed.status_code in (302, 303)
    after = await _schedule(client, tenant, people, version, "2026-05-07T11:30", interviewee="other")
    assert after.status_code in (302, 303)  # back to back is no overlap
    assert await TenantScope(tenant.id).count(Interview) == 3


@pytest.mark.parametrize("minutes", ["1441", "99999999999999"])
async def test_a_duration_longer_than_a_day_is_refused_not_a_500(client, weekday_setup, minutes):
    tenant, people, version = weekday_setup
    answer = await _schedule(client, tenant, people, version, "2026-05-07T10:00", duration_minutes=minutes)
    assert answer.status_code == 400 and "面談の所要時間は 1440 分までです。" in answer.text
    assert await TenantScope(tenant.id).count(Interview) == 0
