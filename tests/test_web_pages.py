"""The shared layout: current navigation item, skip link, labelled forms, and the readable 404
for a service outside the tenant's contract."""

from __future__ import annotations

import re

import pytest
from litestar import get

from core.hookspecs import hookimpl
from core.plugins import NavItem, PluginMeta
from core.web.rendering import nav_current
from tests.conftest import HTML, login


@get("/")
async def notes_page() -> str:
    return "notes"


class Notes:
    @hookimpl
    def mendan_plugin_meta(self):
        return PluginMeta(key="notes_x", name_ja="メモ", name_en="Notes", version="1.0", kind="option",
                          hours="batch")

    @hookimpl
    def mendan_route_handlers(self):
        return [notes_page]

    @hookimpl
    def mendan_nav_items(self, tenant, user):
        return [NavItem(path="notes_x/", label_ja="メモ", label_en="Notes", order=50)]


@pytest.fixture
def notes(host):
    host.register(Notes(), key="notes_x")
    return host


def current_links(html: str) -> dict[str, str]:
    return dict(re.findall(r'<a href="([^"]+)" aria-current="([^"]+)"', html))


def test_nav_current_ignores_the_trailing_slash_and_marks_sections():
    assert nav_current("/t/acme/", "/t/acme") == "page"
    assert nav_current("/t/acme/", "/t/acme/") == "page"
    assert nav_current("/t/acme/jobs", "/t/acme/jobs/7f0c") == "true"
    assert nav_current("/t/acme/", "/t/acme/jobs") is None
    assert nav_current("/t/acme/jobs", "/t/acme/jobsx") is None


async def test_the_home_link_is_the_current_page_on_the_tenant_home(client, make_tenant, make_user):
    tenant = await make_tenant()
    await login(client, tenant, await make_user(tenant, "admin"))
    home = await client.get(f"/t/{tenant.slug}/", headers=HTML)
    assert home.status_code == 200
    assert current_links(home.text) == {f"/t/{tenant.slug}/": "page"}
    jobs = await client.get(f"/t/{tenant.slug}/jobs", headers=HTML)
    assert current_links(jobs.text) == {f"/t/{tenant.slug}/jobs": "page"}


async def test_the_language_switch_comes_back_to_the_same_address(client, make_tenant, make_user):
    tenant = await make_tenant()
    await login(client, tenant, await make_user(tenant, "admin"))
    home = await client.get(f"/t/{tenant.slug}/", headers=HTML)
    assert f'href="/lang/en?next=/t/{tenant.slug}/"' in home.text
    jobs = await client.get(f"/t/{tenant.slug}/jobs?page_number=2", headers=HTML)
    assert f'href="/lang/en?next=/t/{tenant.slug}/jobs%3Fpage_number%3D2"' in jobs.text


async def test_the_layout_has_a_skip_link_language_names_and_labelled_fields(client):
    page = (await client.get("/login", headers=HTML)).text
    assert '<a class="skip" href="#main">' in page and '<main id="main"' in page
    assert 'name="viewport"' in page
    assert 'hreflang="en" lang="en">English</a>' in page
    for field in re.findall(r'<input id="(\w+)"', page):
        assert f'<label for="{field}">' in page, field


async def test_a_service_outside_the_contract_gets_a_readable_404(notes, client, make_tenant, make_user):
    tenant = await make_tenant()
    await login(client, tenant, await make_user(tenant, "interviewer"))
    home = await client.get(f"/t/{tenant.slug}/", headers=HTML)
    assert "メモ" not in home.text

    page = await client.get(f"/t/{tenant.slug}/notes_x/", headers=HTML)
    assert page.status_code == 404
    assert "<h1>ご契約外のサービスです</h1>" in page.text
    assert "このサービスはご契約に含まれていません。" in page.text and "「メモ」" in page.text
    assert f'href="/t/{tenant.slug}/"' in page.text

    client.cookies.set("lang", "en", domain="testserver.local")
    page = await client.get(f"/t/{tenant.slug}/notes_x/", headers=HTML)
    assert "<h1>Not part of your contract</h1>" in page.text and "does not include Notes." in page.text

    api = await client.get(f"/t/{tenant.slug}/notes_x/")
    assert api.status_code == 404 and api.json()["detail"] == "This service is not part of your contract."


async def test_an_enabled_service_appears_in_the_navigation(notes, client, make_tenant, make_user):
    tenant = await make_tenant()
    await notes.set_enabled(tenant.id, "notes_x", True)
    await login(client, tenant, await make_user(tenant, "interviewer"))
    page = await client.get(f"/t/{tenant.slug}/notes_x/", headers=HTML)
    assert page.status_code == 200 and page.text == "notes"
    home = await client.get(f"/t/{tenant.slug}/", headers=HTML)
    assert f'<a href="/t/{tenant.slug}/notes_x/">メモ</a>' in home.text


async def test_job_pages_show_state_and_progress_in_the_users_language(client, make_tenant, make_user):
    from core.db.tables import Job

    tenant = await make_tenant()
    job = Job(tenant=tenant.id, actor="hello.count_words", state="running", progress=40, message="3/7")
    await job.save()
    await login(client, tenant, await make_user(tenant, "admin"))
    listing = await client.get(f"/t/{tenant.slug}/jobs", headers=HTML)
    assert "実行中" in listing.text and 'value="40"' in listing.text
    assert current_links(listing.text) == {f"/t/{tenant.slug}/jobs": "page"}
    detail = await client.get(f"/t/{tenant.slug}/jobs/{job.id}", headers=HTML)
    assert detail.status_code == 200
    assert '<label for="job-progress">進捗</label>' in detail.text and "3/7" in detail.text
    assert current_links(detail.text) == {f"/t/{tenant.slug}/jobs": "true"}


async def test_an_error_page_escapes_what_the_request_said(client, make_tenant, make_user):
    tenant = await make_tenant()
    await login(client, tenant, await make_user(tenant, "admin"))
    page = await client.get(f"/t/{tenant.slug}/jobs?page_number=<b>50%25</b>", headers=HTML)
    assert page.status_code == 400
    assert "<b>" not in page.text and "リクエストを処理できませんでした" in page.text
