"""Forms carry an idempotency key (static/forms.js) and API clients may send Idempotency-Key:
the same submission twice, one after the other or at once, does its work once (issue 19, 6)."""

from __future__ import annotations

import asyncio
import uuid

from core.interviews.tables import QuestionSet
from core.tenancy import TenantScope
from tests.conftest import HTML, form_csrf, login

FORM = {"name": "一次面接", "q_text_0": "自己紹介をお願いします。", "q_limit_0": "120", "i_name_0": "Clarity",
        "i_min_0": "1", "i_max_0": "5"}


async def _signed_in(client, make_tenant, make_user):
    tenant = await make_tenant()
    await login(client, tenant, await make_user(tenant, "admin"))
    page = await client.get(f"/t/{tenant.slug}/question-sets/new", headers=HTML)
    assert '<script src="/static/forms.js" defer></script>' in page.text  # every page adds the keys
    return tenant, form_csrf(page.text)


async def test_a_form_sent_twice_with_its_key_is_done_once(client, make_tenant, make_user):
    tenant, csrf = await _signed_in(client, make_tenant, make_user)
    data = {**FORM, "_csrf_token": csrf, "_idempotency_key": str(uuid.uuid4())}
    first = await client.post(f"/t/{tenant.slug}/question-sets", data=data, headers=HTML, follow_redirects=False)
    again = await client.post(f"/t/{tenant.slug}/question-sets", data=data, headers=HTML, follow_redirects=False)
    assert first.status_code in (302, 303) and again.status_code == 303
    assert again.headers["location"] == first.headers["location"]
    assert await TenantScope(tenant.id).count(QuestionSet) == 1
    other = await client.post(f"/t/{tenant.slug}/question-sets", headers=HTML, follow_redirects=False,
                              data={**data, "_idempotency_key": str(uuid.uuid4())})
    assert other.status_code in (302, 303)
    assert await TenantScope(tenant.id).count(QuestionSet) == 2


async def test_a_double_click_sends_both_at_once_and_one_is_done(client, make_tenant, make_user):
    tenant, csrf = await _signed_in(client, make_tenant, make_user)
    data = {**FORM, "_csrf_token": csrf, "_idempotency_key": str(uuid.uuid4())}
    answers = await asyncio.gather(*(client.post(f"/t/{tenant.slug}/question-sets", data=data, headers=HTML,
                                                 follow_redirects=False) for _ in range(3)))
    assert all(a.status_code in (302, 303, 409) for a in answers), [a.status_code for a in answers]
    assert await TenantScope(tenant.id).count(QuestionSet) == 1


async def test_an_error_releases_the_key_so_the_corrected_form_goes_through(client, make_tenant, make_user):
    tenant, csrf = await _signed_in(client, make_tenant, make_user)
    key = str(uuid.uuid4())
    wrong = await client.post(f"/t/{tenant.slug}/question-sets", headers=HTML, follow_redirects=False,
                              data={**FORM, "name": "", "_csrf_token": csrf, "_idempotency_key": key})
    assert wrong.status_code == 400
    fixed = await client.post(f"/t/{tenant.slug}/question-sets", headers=HTML, follow_redirects=False,
                              data={**FORM, "_csrf_token": csrf, "_idempotency_key": key})
    assert fixed.status_code in (302, 303)
    assert await TenantScope(tenant.id).count(QuestionSet) == 1


async def test_an_api_client_sends_the_key_as_a_header(client, make_tenant, make_user):
    tenant, csrf = await _signed_in(client, make_tenant, make_user)
    headers = {"accept": "application/json", "x-csrftoken": csrf, "idempotency-key": str(uuid.uuid4())}
    first = await client.post(f"/t/{tenant.slug}/question-sets", data=FORM, headers=headers, follow_redirects=False)
    again = await client.post(f"/t/{tenant.slug}/question-sets", data=FORM, headers=headers, follow_redirects=False)
    assert first.status_code in (302, 303) and again.status_code == 303
    assert await TenantScope(tenant.id).count(QuestionSet) == 1
