"""The hello plugin's own tests, written only with mendan's shipped fixtures (mendan/pytest_plugin.py):
`host`, `app`, `client`, `make_tenant`, `make_user`, `login`. Run them from this folder:
`python -m pytest -q`. docs/plugins.md ("Testing your plugin") includes the marked regions."""

from __future__ import annotations

import uuid

import pytest

from core.features import ExtractionInput
from mendan_hello import plugin

HTML = {"accept": "text/html"}


# [start:register]
@pytest.fixture
def hello(host):
    """The app's plugin host with this plugin registered (the host starts empty)."""
    host.register(plugin, key="hello")
    return host
# [end:register]


# [start:page]
async def test_the_page_greets_a_tenant_that_enabled_hello(hello, client, make_tenant, make_user, login):
    tenant = await make_tenant(name="Hello KK")
    await hello.set_enabled(tenant.id, "hello", True)
    await login(client, tenant, await make_user(tenant, "interviewer"))

    page = await client.get(f"/t/{tenant.slug}/hello/", headers=HTML)

    assert page.status_code == 200
    assert "こんにちは、Hello KK の皆さん" in page.text
# [end:page]


async def test_a_tenant_without_hello_gets_404_and_no_link(hello, client, make_tenant, make_user, login):
    tenant = await make_tenant()
    await login(client, tenant, await make_user(tenant, "interviewer"))
    refused = await client.get(f"/t/{tenant.slug}/hello/", headers=HTML)
    assert refused.status_code == 404
    home = await client.get(f"/t/{tenant.slug}/", headers=HTML)
    assert home.status_code == 200 and f"/t/{tenant.slug}/hello/" not in home.text


# [start:settings]
async def test_the_admin_changes_the_greeting(hello, client, make_tenant, make_user, login):
    tenant = await make_tenant(name="Hello KK")
    await hello.set_enabled(tenant.id, "hello", True)
    await login(client, tenant, await make_user(tenant, "admin"))

    saved = await client.post(
        f"/t/{tenant.slug}/services/hello/settings",
        data={"greeting_ja": "ようこそ", "greeting_en": "Welcome", "exclamations": "2",
              "_csrf_token": client.cookies["csrftoken"]},
        headers=HTML, follow_redirects=False)
    assert saved.status_code == 303

    settings = await hello.settings_for(tenant.id, "hello")
    assert (settings.greeting_ja, settings.exclamations) == ("ようこそ", 2)
    page = await client.get(f"/t/{tenant.slug}/hello/", headers=HTML)
    assert "ようこそ、Hello KK の皆さん！！" in page.text
# [end:settings]


async def test_a_bad_value_is_refused_next_to_its_field(hello, client, make_tenant, make_user, login):
    tenant = await make_tenant()
    await hello.set_enabled(tenant.id, "hello", True)
    await login(client, tenant, await make_user(tenant, "admin"))
    refused = await client.post(
        f"/t/{tenant.slug}/services/hello/settings",
        data={"greeting_ja": "やあ", "greeting_en": "Hi", "exclamations": "9",
              "_csrf_token": client.cookies["csrftoken"]}, headers=HTML)
    assert refused.status_code == 400
    assert 'data-error-for="exclamations"' in refused.text and "0 から 5" in refused.text
    assert (await hello.settings_for(tenant.id, "hello")).greeting_ja == "こんにちは"  # nothing stored


def test_the_extractor_counts_words(hello):
    [extractor] = hello.feature_extractors({"hello"})
    source = ExtractionInput(tenant_id=uuid.uuid4(), interview_id=uuid.uuid4(), text="one three fives")
    assert extractor.extract(source, lambda percent, message: None) == {"word_count": 3.0,
                                                                        "mean_word_length": 13 / 3}
