"""Registering people (issue 4, point 1): create per role, CSV import with a per-row error
report (a file with errors imports nothing), deactivation, personal links that expire."""

from __future__ import annotations

from datetime import timedelta

from core.db.tables import AuditEntry, User
from core.interviews.people import import_people, issue_join_link, user_for_join_link
from core.tenancy import TenantScope
from tests.conftest import HTML, form_csrf, login

GOOD_CSV = "email,display_name,role,language\nsato@example.jp,佐藤,interviewee,ja\nlee@example.jp,Lee,expert,en\n"


async def test_a_csv_with_errors_imports_nothing_and_reports_each_row(make_tenant, make_user):
    tenant = await make_tenant()
    scope = TenantScope(tenant.id)
    existing = await make_user(tenant, "interviewer", email="taken@example.jp")
    csv = ("email,display_name,role,language\n"
           "ok@example.jp,OK,interviewee,ja\n"
           "not-an-address,Bad,interviewee,ja\n"
           f"{existing.email},Dup,expert,en\n"
           "ok@example.jp,Again,interviewer,fr\n"
           "x@example.jp,X,boss,ja\n")
    report = await import_people(scope, csv.encode())
    assert not report.ok and report.created == 0
    found = {(e.line, e.column) for e in report.errors}
    assert found == {(3, "email"), (4, "email"), (5, "email"), (5, "language"), (6, "role")}
    assert await scope.count(User) == 1


async def test_a_clean_csv_imports_every_row_without_passwords(make_tenant):
    tenant = await make_tenant()
    scope = TenantScope(tenant.id)
    report = await import_people(scope, ("\ufeff" + GOOD_CSV).encode())
    assert report.ok and report.created == 2
    rows = {u.email: u for u in await scope.objects(User)}
    assert rows["sato@example.jp"].role == "interviewee" and rows["sato@example.jp"].password_hash is None
    assert rows["lee@example.jp"].language == "en"


async def test_the_import_page_shows_the_error_report_in_japanese(client, make_tenant, make_user):
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    await login(client, tenant, admin)
    page = await client.get(f"/t/{tenant.slug}/people", headers=HTML)
    response = await client.post(
        f"/t/{tenant.slug}/people/import", headers=HTML,
        data={"_csrf_token": form_csrf(page.text)},
        files={"file": ("people.csv", b"email,display_name,role,language\nbad,Bad,interviewee,ja\n", "text/csv")})
    assert response.status_code == 400
    assert "取り込みませんでした" in response.text and "有効なメールアドレスではありません" in response.text
    assert await TenantScope(tenant.id).count(User) == 1
    assert await AuditEntry.count().where((AuditEntry.tenant == tenant.id)
                                          & (AuditEntry.action == "people.import_refused")) == 1


async def test_admin_creates_and_deactivates_users(client, make_tenant, make_user):
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    await login(client, tenant, admin)
    page = await client.get(f"/t/{tenant.slug}/people", headers=HTML)
    csrf = form_csrf(page.text)
    response = await client.post(f"/t/{tenant.slug}/people", headers=HTML, follow_redirects=False, data={
        "_csrf_token": csrf, "email": "Expert@Example.jp", "display_name": "Expert", "role": "expert",
        "language": "en", "password": "long-enough-pw"})
    assert response.status_code in (302, 303), response.text
    expert = await TenantScope(tenant.id).objects(User).where(User.email == "expert@example.jp").first()
    assert expert.role == "expert" and expert.password_hash
    response = await client.post(f"/t/{tenant.slug}/people/{expert.id}/active", headers=HTML,
                                 follow_redirects=False, data={"_csrf_token": csrf, "active": "0"})
    assert response.status_code in (302, 303)
    assert (await TenantScope(tenant.id).get(User, expert.id)).active is False
    actions = {r["action"] for r in await AuditEntry.select(AuditEntry.action).where(AuditEntry.tenant == tenant.id)}
    assert {"people.created", "people.deactivated"} <= actions


async def test_only_admins_manage_people(client, make_tenant, make_user):
    tenant = await make_tenant()
    interviewer = await make_user(tenant, "interviewer")
    await login(client, tenant, interviewer)
    response = await client.get(f"/t/{tenant.slug}/people", headers={"accept": "application/json"})
    assert response.status_code == 403


async def test_a_personal_link_expires_and_stops_working_for_deactivated_people(client, make_tenant, make_user):
    tenant = await make_tenant()
    scope = TenantScope(tenant.id)
    guest = await make_user(tenant, "interviewee", password=None)
    fresh = await issue_join_link(scope, guest)
    expired = await issue_join_link(scope, guest, lifetime=timedelta(seconds=-1))
    assert (await user_for_join_link(scope, fresh)).id == guest.id
    assert await user_for_join_link(scope, expired) is None
    response = await client.get(f"/t/{tenant.slug}/join/{expired}", headers=HTML)
    assert response.status_code == 410 and "有効期限" in response.text  # a clear page, nobody signed in
    other = await make_tenant()
    assert await user_for_join_link(TenantScope(other.id), fresh) is None
    await scope.update(User, {User.active: False}).where(User.id == guest.id)
    assert await user_for_join_link(scope, fresh) is None
