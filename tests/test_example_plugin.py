"""The third-party example plugin in examples/mendan-hello, installed as a distribution:
discovered by its entry point, and present only for a tenant that enabled it."""

from __future__ import annotations

import asyncio
import uuid
from importlib.metadata import PackageNotFoundError, distribution, entry_points

import pytest

from core.interviews.analysis import enabled_extractors
from core.db.tables import Job
from core.features import ExtractionInput
from core.plugins import PluginHost
from tests.conftest import HTML, login

try:
    distribution("mendan-hello")
except PackageNotFoundError:
    pytest.skip("examples/mendan-hello is not installed: run `.venv/bin/pip install -e examples/mendan-hello`",
                allow_module_level=True)

GREETING_JA = "こんにちは、"


def _hello_entry_point():
    [ep] = [ep for ep in entry_points(group="mendan.plugins") if ep.name == "hello"]
    return ep


def test_the_installed_entry_point_is_discovered():
    host = PluginHost()
    host.load_entry_points()
    meta = host.metas["hello"]
    assert (meta.kind, meta.hours, meta.name_ja, meta.name_en) == ("option", "interactive", "こんにちは", "Hello")
    assert _hello_entry_point().value == "mendan_hello.plugin"
    assert "hello.count_words" in host.actors()
    assert "hello" in host.route_handlers()
    assert any(d.endswith("mendan_hello/templates") for d in host.template_dirs())


@pytest.fixture
def hello(host):
    host.register(_hello_entry_point().load(), key="hello")
    return host


async def test_route_nav_and_extractor_only_for_a_tenant_that_enabled_it(hello, client, make_tenant, make_user):
    with_hello, without = await make_tenant(name="Hello KK"), await make_tenant(name="Plain KK")
    await hello.set_enabled(with_hello.id, "hello", True)

    await login(client, with_hello, await make_user(with_hello, "interviewer"))
    page = await client.get(f"/t/{with_hello.slug}/hello/", headers=HTML)
    assert page.status_code == 200
    assert GREETING_JA + "Hello KK" in page.text
    home = await client.get(f"/t/{with_hello.slug}/", headers=HTML)
    assert f'href="/t/{with_hello.slug}/hello/"' in home.text
    assert [e.name for e in await enabled_extractors(with_hello.id, "transcript")] == ["hello_words"]

    await client.post("/logout", data={"_csrf_token": client.cookies["csrftoken"]}, headers=HTML)
    await login(client, without, await make_user(without, "interviewer"))
    refused = await client.get(f"/t/{without.slug}/hello/", headers=HTML)
    assert refused.status_code == 404
    assert "このサービスはご契約に含まれていません。" in refused.text
    home = await client.get(f"/t/{without.slug}/", headers=HTML)
    assert home.status_code == 200 and "/hello/" not in home.text
    assert await enabled_extractors(without.id, "transcript") == []


async def test_the_page_follows_the_language(hello, client, make_tenant, make_user):
    tenant = await make_tenant(name="Lang KK")
    await hello.set_enabled(tenant.id, "hello", True)
    await login(client, tenant, await make_user(tenant, "admin"))
    client.cookies.set("lang", "en", domain="testserver.local")
    page = await client.get(f"/t/{tenant.slug}/hello/", headers=HTML)
    assert "Hello, Lang KK" in page.text and 'lang="en"' in page.text


async def test_the_actor_runs_through_the_embedded_broker(hello, app, client, make_tenant):
    tenant = await make_tenant()
    text = "the quick brown fox jumps over the lazy dog " * 300
    job_id = await app.state.tasks.enqueue("hello.count_words", tenant_id=tenant.id, text=text)
    for _ in range(150):
        job = await Job.objects().where(Job.id == job_id).first()
        if job.state in ("done", "failed"):
            break
        await asyncio.sleep(0.1)
    assert (job.state, job.error) == ("done", "")
    assert job.result_ref == "2700 words"
    assert (job.progress, job.message) == (100, "2700 / 2700")
    assert job.tenant == tenant.id


def test_the_extractor_measures_a_transcript():
    extractor = next(e for _k, exts in _host_with_hello().call_each("mendan_feature_extractors") for e in exts)
    seen = []
    source = ExtractionInput(tenant_id=uuid.uuid4(), interview_id=uuid.uuid4(), text="one three fives")
    features = extractor.extract(source, lambda percent, message: seen.append(percent))
    assert features == {"word_count": 3.0, "mean_word_length": 13 / 3}
    assert seen == [100]
    empty = extractor.extract(ExtractionInput(tenant_id=uuid.uuid4(), interview_id=uuid.uuid4(), text=""),
                              lambda *_: None)
    assert empty == {"word_count": 0.0}


def _host_with_hello() -> PluginHost:
    host = PluginHost()
    host.register(_hello_entry_point().load(), key="hello")
    return host
