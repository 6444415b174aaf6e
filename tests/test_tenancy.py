"""Tenancy: every tenant URL answers 404 to another tenant's users, and data access needs a tenant."""

import pytest

from core.db.tables import Job
from core.tenancy import TenantRequired, TenantScope
from tests.conftest import HTML, login

TENANT_PAGES = ["/", "/jobs", "/tokens"]


async def test_tenant_a_user_gets_404_on_every_tenant_b_url(client, make_tenant, make_user):
    a, b = await make_tenant(), await make_tenant()
    user_a = await make_user(a, "admin")
    await login(client, a, user_a)
    assert (await client.get(f"/t/{a.slug}/", headers=HTML)).status_code == 200
    job_b = Job(tenant=b.id, actor="core.send_mail")
    await job_b.save()
    urls = [f"/t/{b.slug}{p}" for p in TENANT_PAGES] + [f"/t/{b.slug}/jobs/{job_b.id}"]
    for url in urls:
        response = await client.get(url, headers=HTML)
        assert response.status_code == 404, url
    # and B's job is not reachable through A's URL either
    assert (await client.get(f"/t/{a.slug}/jobs/{job_b.id}", headers=HTML)).status_code == 404


async def test_unknown_tenant_is_a_404_page(client):
    response = await client.get("/t/no-such-tenant/login", headers=HTML)
    assert response.status_code == 404
    assert "<html" in response.text


async def test_signed_out_user_is_sent_to_the_tenant_sign_in(client, make_tenant):
    tenant = await make_tenant()
    response = await client.get(f"/t/{tenant.slug}/jobs", headers=HTML, follow_redirects=False)
    assert response.status_code in (302, 303, 307)
    assert response.headers["location"].startswith(f"/t/{tenant.slug}/login?next=")


def test_data_access_without_a_tenant_is_refused():
    with pytest.raises(TenantRequired):
        TenantScope(None)


async def test_scope_only_sees_its_own_tenant_rows(make_tenant):
    a, b = await make_tenant(), await make_tenant()
    await Job(tenant=a.id, actor="x.y").save()
    await Job(tenant=b.id, actor="x.y").save()
    assert await TenantScope(a.id).count(Job) == 1
    rows = await TenantScope(b.id).objects(Job)
    assert [r.tenant for r in rows] == [b.id]
