"""Service hours (spec table 5-1) with a fixed clock: the weekday course, Japanese
holidays and substitute holidays, the 9:00 and 21:00 boundaries in JST, maintenance
windows, emergency stops and the always course; pages and APIs answer 503 with Retry-After."""

from datetime import datetime, timedelta

import pytest

from core.hookspecs import hookimpl
from core.hours import TOKYO, ServiceState, Window, closure
from core.plugins import PluginMeta
from litestar import get
from tenants.contracts import create_contract
from tenants.stops import plan_maintenance, resume_service, stop_service
from tenants.tables import MaintenanceWindow
from tests.conftest import HTML, login
from tests.interview_fixtures import open_link

WEEKDAY, ALWAYS = ServiceState(course="weekday"), ServiceState(course="always")


def jst(*args) -> datetime:
    return datetime(*args, tzinfo=TOKYO)


def test_weekday_course_is_open_on_a_weekday_afternoon():
    assert closure(WEEKDAY, "interactive", jst(2026, 12, 1, 14, 0)) is None  # Tuesday


def test_weekday_course_closes_on_saturday_until_monday_nine():
    closed = closure(WEEKDAY, "interactive", jst(2026, 12, 5, 12, 0))
    assert closed.reason == "hours"
    assert closed.reopens_at == jst(2026, 12, 7, 9, 0)


def test_weekday_course_closes_on_a_japanese_holiday():
    closed = closure(WEEKDAY, "interactive", jst(2026, 11, 3, 10, 0))  # Culture Day, a Tuesday
    assert closed.reason == "hours" and closed.reopens_at == jst(2026, 11, 4, 9, 0)


def test_weekday_course_closes_on_substitute_holidays():
    # Constitution Day 2026-05-03 is a Sunday: Wednesday 6 May is its substitute.
    closed = closure(WEEKDAY, "interactive", jst(2026, 5, 6, 10, 0))
    assert closed.reopens_at == jst(2026, 5, 7, 9, 0)
    # Vernal Equinox Day 2027-03-21 is a Sunday: Monday 22 March is its substitute.
    closed = closure(WEEKDAY, "interactive", jst(2027, 3, 22, 15, 0))
    assert closed.reopens_at == jst(2027, 3, 23, 9, 0)


def test_golden_week_reopens_after_the_last_holiday():
    # 2026-05-02 Saturday, then 3-6 May holidays: open again Thursday 7 May.
    assert closure(WEEKDAY, "interactive", jst(2026, 5, 2, 10, 0)).reopens_at == jst(2026, 5, 7, 9, 0)


def test_weekday_course_opens_at_nine_jst_exactly():
    before = closure(WEEKDAY, "interactive", jst(2026, 12, 1, 8, 59))
    assert before.reopens_at == jst(2026, 12, 1, 9, 0)
    assert before.retry_after(jst(2026, 12, 1, 8, 59)) == 60
    assert closure(WEEKDAY, "interactive", jst(2026, 12, 1, 9, 0)) is None


def test_weekday_course_closes_at_twenty_one_jst_exactly():
    assert closure(WEEKDAY, "interactive", jst(2026, 12, 1, 20, 59)) is None
    closed = closure(WEEKDAY, "interactive", jst(2026, 12, 1, 21, 0))
    assert closed.reopens_at == jst(2026, 12, 2, 9, 0)
    # Friday 21:00 reopens on Monday.
    assert closure(WEEKDAY, "interactive", jst(2026, 12, 4, 21, 0)).reopens_at == jst(2026, 12, 7, 9, 0)


def test_boundaries_are_japan_time_not_utc():
    # 00:30 UTC is 9:30 JST: open; 12:00 UTC is 21:00 JST: closed.
    from datetime import timezone
    assert closure(WEEKDAY, "interactive", datetime(2026, 12, 1, 0, 30, tzinfo=timezone.utc)) is None
    assert closure(WEEKDAY, "interactive", datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)) is not None


def test_batch_services_run_at_any_time_in_the_weekday_course():
    assert closure(WEEKDAY, "batch", jst(2026, 12, 5, 3, 0)) is None
    assert closure(WEEKDAY, "batch", jst(2027, 3, 22, 23, 0)) is None


def test_always_course_is_open_on_weekends_holidays_and_at_night():
    for at in (jst(2026, 12, 5, 3, 0), jst(2026, 11, 3, 23, 30), jst(2026, 5, 6, 8, 59)):
        assert closure(ALWAYS, "interactive", at) is None


def test_maintenance_window_closes_interactive_services_of_both_courses():
    window = Window(jst(2026, 12, 1, 22, 0), jst(2026, 12, 2, 2, 0), "OS patches")
    at = jst(2026, 12, 1, 23, 0)
    closed = closure(ServiceState(course="always", maintenance=(window,)), "interactive", at)
    assert (closed.reason, closed.reopens_at, closed.message) == ("maintenance", window.ends_at, "OS patches")
    assert closed.retry_after(at) == 3 * 3600
    # The weekday course, closed at 2:00 anyway, reopens at 9:00.
    closed = closure(ServiceState(course="weekday", maintenance=(window,)), "interactive", at)
    assert closed.reason == "maintenance" and closed.reopens_at == jst(2026, 12, 2, 9, 0)
    assert closure(ServiceState(course="always", maintenance=(window,)), "batch", at) is None
    assert closure(ServiceState(course="always", maintenance=(window,)), "interactive", window.ends_at) is None


def test_an_emergency_stop_closes_batch_services_too():
    stopped = ServiceState(course="always", stop_message="incident")
    closed = closure(stopped, "batch", jst(2026, 12, 1, 10, 0))
    assert closed.reason == "stopped" and closed.reopens_at is None and closed.message == "incident"


# -- over HTTP ----------------------------------------------------------------


@get("/")
async def interview_room() -> dict:
    return {"room": "open"}


@get("/")
async def training_status() -> dict:
    return {"training": "running"}


class LiveInterview:
    @hookimpl
    def mendan_plugin_meta(self):
        return PluginMeta(key="live_x", name_ja="面談", name_en="Interview", version="1", kind="basic",
                          hours="interactive")

    @hookimpl
    def mendan_route_handlers(self):
        return [interview_room]


class ModelBuilding:
    @hookimpl
    def mendan_plugin_meta(self):
        return PluginMeta(key="train_x", name_ja="学習", name_en="Training", version="1", kind="basic",
                          hours="batch")

    @hookimpl
    def mendan_route_handlers(self):
        return [training_status]


@pytest.fixture
def plugins(host):
    host.register(LiveInterview(), key="live_x")
    host.register(ModelBuilding(), key="train_x")


@pytest.fixture
def clock(monkeypatch):
    def fix(at: datetime) -> None:
        monkeypatch.setattr("core.hours.now", lambda: at)
    return fix


async def _weekday_tenant(make_tenant, make_user):
    tenant = await make_tenant()
    await create_contract(tenant.id, by=None, course="weekday", starts_on=jst(2026, 1, 1).date())
    return tenant, await make_user(tenant, "interviewer", language="ja")


async def test_outside_hours_the_page_says_when_service_opens_and_the_api_answers_503(
    plugins, client, make_tenant, make_user, clock
):
    tenant, user = await _weekday_tenant(make_tenant, make_user)
    await login(client, tenant, user)
    saturday = jst(2026, 12, 5, 12, 0)
    clock(saturday)
    page = await client.get(f"/t/{tenant.slug}/live_x/", headers=HTML)
    assert page.status_code == 503
    assert int(page.headers["retry-after"]) == int((jst(2026, 12, 7, 9, 0) - saturday).total_seconds())
    assert "サービス時間外" in page.text and "2026-12-07 09:00" in page.text
    api = await client.get(f"/t/{tenant.slug}/live_x/")
    assert api.status_code == 503 and api.json()["reason"] == "hours"
    assert api.headers["content-type"].startswith("application/problem+json")
    assert api.headers["retry-after"] == page.headers["retry-after"]
    home = await client.get(f"/t/{tenant.slug}/", headers=HTML)
    assert home.status_code == 503
    # Batch services and the job list run at any time.
    assert (await client.get(f"/t/{tenant.slug}/train_x/")).status_code == 200
    assert (await client.get(f"/t/{tenant.slug}/jobs", headers=HTML)).status_code == 200
    clock(jst(2026, 12, 7, 9, 0))
    assert (await client.get(f"/t/{tenant.slug}/live_x/")).json() == {"room": "open"}


async def test_the_closed_page_follows_the_users_language(plugins, client, make_tenant, make_user, clock):
    tenant = await make_tenant()
    await create_contract(tenant.id, by=None, course="weekday", starts_on=jst(2026, 1, 1).date())
    user = await make_user(tenant, "interviewer", language="en")
    await login(client, tenant, user)
    clock(jst(2026, 11, 3, 10, 0))
    page = await client.get(f"/t/{tenant.slug}/live_x/", headers={**HTML, "accept-language": "en"})
    assert page.status_code == 503 and "Outside service hours" in page.text


@pytest.fixture
async def cleanup_windows():
    yield
    await MaintenanceWindow.delete().where(MaintenanceWindow.starts_at >= jst(2030, 1, 1))


async def test_a_maintenance_window_closes_every_tenant_but_not_ops_or_batch(
    plugins, app, make_tenant, make_user, clock, cleanup_windows
):
    from litestar.testing import AsyncTestClient

    operator = await make_user(None, "operator")
    start = jst(2030, 1, 8, 10, 0)  # a Tuesday, inside weekday hours
    await plan_maintenance(start, start + timedelta(hours=2), "定期メンテナンス", by=operator)
    clock(start + timedelta(minutes=30))
    for _ in range(2):
        tenant = await make_tenant()
        user = await make_user(tenant, "admin")
        async with AsyncTestClient(app, base_url="http://testserver.local") as client:
            await login(client, tenant, user)
            page = await client.get(f"/t/{tenant.slug}/live_x/", headers=HTML)
            assert page.status_code == 503 and "定期メンテナンス" in page.text
            assert page.headers["retry-after"] == str(90 * 60)
            assert (await client.get(f"/t/{tenant.slug}/train_x/")).status_code == 200
    async with AsyncTestClient(app, base_url="http://testserver.local") as client:
        await login(client, None, operator)
        assert (await client.get("/ops/", headers=HTML)).status_code == 200


async def test_an_emergency_stop_of_one_tenant_leaves_another_open(plugins, app, client, make_tenant, make_user):
    stopped, running = await make_tenant(), await make_tenant()
    operator = await make_user(None, "operator")
    await stop_service(stopped.id, "障害対応中", by=operator)
    try:
        user = await make_user(stopped, "admin")
        await login(client, stopped, user)
        response = await client.get(f"/t/{stopped.slug}/train_x/")
        assert response.status_code == 503 and response.json()["message"] == "障害対応中"
        other = await make_user(running, "admin")
        from litestar.testing import AsyncTestClient
        async with AsyncTestClient(app, base_url="http://testserver.local") as second:
            await login(second, running, other)
            assert (await second.get(f"/t/{running.slug}/train_x/")).status_code == 200
    finally:
        await resume_service(stopped.id, by=operator)
    assert (await client.get(f"/t/{stopped.slug}/train_x/")).status_code == 200


async def test_a_whole_service_stop_closes_every_tenant_but_not_ops(plugins, app, client, make_tenant, make_user):
    from litestar.testing import AsyncTestClient

    tenant = await make_tenant()
    operator = await make_user(None, "operator")
    await stop_service(None, "全サービス緊急停止", by=operator)
    try:
        await login(client, tenant, await make_user(tenant, "admin"))
        page = await client.get(f"/t/{tenant.slug}/", headers=HTML)
        assert page.status_code == 503 and "全サービス緊急停止" in page.text
        assert page.headers["retry-after"] == "600"
        assert (await client.get(f"/t/{tenant.slug}/train_x/")).status_code == 503
        async with AsyncTestClient(app, base_url="http://testserver.local") as ops:
            await login(ops, None, operator)
            console = await ops.get("/ops/", headers=HTML)
            assert console.status_code == 200 and "サービス全体を停止しています" in console.text
    finally:
        await resume_service(None, by=operator)
    assert (await client.get(f"/t/{tenant.slug}/train_x/")).status_code == 200


async def test_a_personal_link_opened_outside_hours_says_when_service_opens(
    plugins, client, make_tenant, make_user, clock
):
    from core.interviews.people import issue_join_link
    from core.tenancy import TenantScope

    tenant, _user = await _weekday_tenant(make_tenant, make_user)
    interviewee = await make_user(tenant, "interviewee", password=None)
    token = await issue_join_link(TenantScope(tenant.id), interviewee)
    saturday = jst(2026, 12, 5, 12, 0)
    clock(saturday)
    closed = await client.get(f"/t/{tenant.slug}/join/{token}", headers=HTML, follow_redirects=False)
    assert closed.status_code == 503 and "2026-12-07 09:00" in closed.text
    assert int(closed.headers["retry-after"]) == int((jst(2026, 12, 7, 9, 0) - saturday).total_seconds())
    clock(jst(2026, 12, 7, 9, 0))
    opened = await open_link(client, f"/t/{tenant.slug}/join/{token}")
    assert opened.status_code in (302, 303)  # signed in and on the way to the interview
