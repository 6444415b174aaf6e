"""A new tenant's first admin (issue 20): the operator console and `mendan createtenant` create the
tenant with an admin who has no password and is mailed an invitation that sets one; a bad address
creates nothing; the operator sees the tenant's admins and sends an invitation again."""

from __future__ import annotations

import email
import os
import re
import secrets
import subprocess
import sys
from email import policy
from pathlib import Path

from core.db.json_columns import json_value
from core.db.tables import AuditEntry, Job, Tenant, User
from core.hours import TOKYO, now
from tenants.hours import current_contract
from tenants.tables import TenantProfile
from tests.conftest import HTML, form_csrf, login, wait_for_job

NEW_PASSWORD = "a-first-passphrase-42"
MENDAN = [sys.executable, "-c", "from mendan.cli import main; main()"]


async def _post(client, path: str, data: dict) -> object:
    page = await client.get("/ops/", headers=HTML)
    return await client.post(path, data={**data, "_csrf_token": form_csrf(page.text)}, headers=HTML,
                             follow_redirects=False)


def _form(slug: str, **changes: str) -> dict[str, str]:
    return {"slug": slug, "name": "株式会社サンプル", "region": "JP", "contact_name": "", "contact_email": "",
            "admin_email": "Hanako@Example.jp", "admin_name": "山田 花子", "admin_language": "ja",
            "course": "always", "starts_on": "2026-04-01", "ends_on": "", "retention_grace_days": "", **changes}


async def _invitations(tenant_id, address: str) -> list[tuple[Job, str]]:
    """The tenant's invitation mail jobs to `address`, oldest first, with each mail's text."""
    found = []
    for job in await Job.objects().where((Job.tenant == tenant_id) & (Job.actor == "core.send_mail")).order_by(
            Job.created_at):
        args = json_value(job.args)
        msg = email.message_from_string(args["message"], policy=policy.default)
        if args.get("kind") == "staff_invitation" and msg["To"] == address:
            found.append((job, msg.get_body(("plain",)).get_content()))
    return found


def _link(settings, body: str) -> str:
    return re.search(re.escape(settings.base_url) + r"(/t/\S+/password-reset/\S+)", body).group(1)


async def _operator(client, make_user):
    operator = await make_user(None, "operator")
    await login(client, None, operator)
    return operator


async def test_a_tenant_made_in_the_console_invites_its_admin_who_sets_a_password_and_signs_in(
        client, settings, make_user):
    operator = await _operator(client, make_user)
    slug = f"fa-{secrets.token_hex(4)}"
    before = now().astimezone(TOKYO).date().isoformat()
    form = await client.get("/ops/tenants/new", headers=HTML)
    assert 'name="admin_email"' in form.text and "最初の管理者" in form.text
    # The contract starts today in Japan unless changed, as the CLI's (either day at midnight).
    assert any(f'name="starts_on" type="date" required value="{day}"' in form.text
               for day in {before, now().astimezone(TOKYO).date().isoformat()})

    created = await _post(client, "/ops/tenants/new", _form(slug))
    assert created.status_code == 303 and created.headers["location"] == f"/ops/tenants/{slug}"
    tenant = await Tenant.objects().where(Tenant.slug == slug).first()
    admin = await User.objects().where(User.tenant == tenant.id).first()
    assert (admin.email, admin.display_name, admin.role, admin.language) == (
        "hanako@example.jp", "山田 花子", "admin", "ja")
    assert admin.password_hash is None and admin.active
    assert (await current_contract(tenant.id)).course == "always"
    assert await TenantProfile.count().where(TenantProfile.tenant == tenant.id) == 1
    audited = await AuditEntry.objects().where((AuditEntry.tenant == tenant.id)
                                               & (AuditEntry.action == "tenants.admin_invited")).first()
    assert audited.actor == operator.id and audited.target == str(admin.id)
    assert json_value(audited.detail)["first"] is True and "hanako" not in str(audited.detail)

    page = await client.get(f"/ops/tenants/{slug}", headers=HTML)
    flash = re.search(r'id="flash">([^<]+)<', page.text).group(1)
    assert "テナント「株式会社サンプル」を作成しました" in flash and "hanako@example.jp" in flash
    assert re.search(r"有効期限: \d{4}-\d\d-\d\d \d\d:\d\d", flash)
    admins = page.text[page.text.index('id="admins"'):page.text.index("</table>", page.text.index('id="admins"'))]
    assert "hanako@example.jp" in admins and "招待済み（パスワード未設定）" in admins and "招待メールを再送" in admins

    [(job, body)] = await _invitations(tenant.id, "hanako@example.jp")
    sent = await wait_for_job(job.id)
    assert sent.state == "done" and Path(sent.result_ref).is_file()  # in the outbox folder
    assert body.startswith("山田 花子 様") and "7日間" in body
    link = _link(settings, body)

    await client.post("/logout", data={"_csrf_token": client.cookies["csrftoken"]}, headers=HTML)
    choose = await client.get(link, headers=HTML)
    assert choose.status_code == 200
    applied = await client.post(link, headers=HTML, follow_redirects=False, data={
        "password": NEW_PASSWORD, "password_again": NEW_PASSWORD, "_csrf_token": form_csrf(choose.text)})
    assert applied.status_code == 302 and applied.headers["location"] == f"/t/{slug}/login"
    await login(client, tenant, admin, password=NEW_PASSWORD)
    people = await client.get(f"/t/{slug}/people/", headers=HTML)  # admins only
    assert people.status_code == 200 and "hanako@example.jp" in people.text
    mail_log = await client.get(f"/t/{slug}/mail/log", headers=HTML)
    assert "hanako@example.jp" in mail_log.text
    assert (await client.get(link, headers=HTML)).status_code == 404  # once only


async def test_a_bad_admin_address_creates_nothing_and_keeps_what_was_typed(client, make_user):
    await _operator(client, make_user)
    slug = f"fa-{secrets.token_hex(4)}"
    for typed, message in (("hanako.example.jp", "管理者のメールアドレスが正しくありません: hanako.example.jp"),
                           ("", "管理者のメールアドレスを入力してください。")):
        refused = await _post(client, "/ops/tenants/new", _form(slug, admin_email=typed, admin_language="en"))
        assert refused.status_code == 400
        assert re.search(r'class="error"[^>]*>([^<]+)<', refused.text).group(1) == message
        assert re.search(f'name="slug" required pattern="[^"]*" value="{slug}"', refused.text)
        assert 'value="株式会社サンプル"' in refused.text and 'value="山田 花子"' in refused.text
        assert f'value="{typed}"' in refused.text and '<option value="en" selected>' in refused.text
    await client.get("/lang/en", params={"next": "/ops/"})
    english = await _post(client, "/ops/tenants/new", _form(slug, admin_email="hanako.example.jp"))
    assert english.status_code == 400 and "The admin&#39;s e-mail address is not valid: hanako.example.jp" in english.text
    assert await Tenant.count().where(Tenant.slug == slug) == 0
    assert await AuditEntry.count().where(AuditEntry.target == slug) == 0


async def test_the_operator_sends_the_invitation_again_until_the_admin_has_a_password(
        client, settings, make_tenant, make_user):
    operator = await _operator(client, make_user)
    slug = f"fa-{secrets.token_hex(4)}"
    assert (await _post(client, "/ops/tenants/new", _form(slug, admin_language="en"))).status_code == 303
    tenant = await Tenant.objects().where(Tenant.slug == slug).first()
    admin = await User.objects().where(User.tenant == tenant.id).first()

    again = await _post(client, f"/ops/tenants/{slug}/admins/{admin.id}/invitation", {})
    assert again.status_code == 303
    page = await client.get(f"/ops/tenants/{slug}", headers=HTML)
    assert "hanako@example.jp に招待メールを再送しました" in re.search(r'id="flash">([^<]+)<', page.text).group(1)
    invitations = await _invitations(tenant.id, "hanako@example.jp")
    assert len(invitations) == 2 and invitations[1][1].startswith("Dear 山田 花子")  # in the admin's language
    assert _link(settings, invitations[0][1]) != _link(settings, invitations[1][1])
    resent = await AuditEntry.objects().where((AuditEntry.tenant == tenant.id)
                                              & (AuditEntry.action == "tenants.admin_invitation_resent")).first()
    assert resent.actor == operator.id and resent.target == str(admin.id)

    other = await make_tenant()
    stranger = await make_user(other, "admin", password=None)
    assert (await _post(client, f"/ops/tenants/{slug}/admins/{stranger.id}/invitation", {})).status_code == 404

    # The first mail's link no longer works: a re-sent invitation voids the earlier one.
    first = await client.get(_link(settings, invitations[0][1]), headers=HTML)
    assert 'name="password"' not in first.text

    link = _link(settings, invitations[1][1])
    choose = await client.get(link, headers=HTML)
    assert (await client.post(link, headers=HTML, follow_redirects=False, data={
        "password": NEW_PASSWORD, "password_again": NEW_PASSWORD,
        "_csrf_token": form_csrf(choose.text)})).status_code == 302
    await login(client, None, operator)
    page = await client.get(f"/ops/tenants/{slug}", headers=HTML)
    assert "パスワード設定済み" in page.text and "招待メールを再送" not in page.text
    refused = await _post(client, f"/ops/tenants/{slug}/admins/{admin.id}/invitation", {})
    assert refused.status_code == 400 and "招待は不要です" in refused.text
    assert len(await _invitations(tenant.id, "hanako@example.jp")) == 2


async def test_a_tenant_without_an_admin_gets_one_from_its_ops_page(client, make_tenant, make_user):
    await _operator(client, make_user)
    tenant = await make_tenant()
    page = await client.get(f"/ops/tenants/{tenant.slug}", headers=HTML)
    assert "このテナントにはまだ管理者がいません" in page.text
    bad = await _post(client, f"/ops/tenants/{tenant.slug}/admins", {"admin_email": "taro@", "admin_name": "太郎"})
    assert bad.status_code == 400 and 'value="taro@"' in bad.text and 'value="太郎"' in bad.text
    invited = await _post(client, f"/ops/tenants/{tenant.slug}/admins",
                          {"admin_email": "taro@example.jp", "admin_name": "", "admin_language": "ja"})
    assert invited.status_code == 303
    admin = await User.objects().where(User.tenant == tenant.id).first()
    assert (admin.role, admin.display_name, admin.password_hash) == ("admin", "taro@example.jp", None)
    assert len(await _invitations(tenant.id, "taro@example.jp")) == 1
    twice = await _post(client, f"/ops/tenants/{tenant.slug}/admins", {"admin_email": "taro@example.jp"})
    assert twice.status_code == 400 and await User.count().where(User.tenant == tenant.id) == 1


def _createtenant(settings, *args: str) -> subprocess.CompletedProcess:
    """`mendan createtenant` as an operator runs it: a process of its own on the tests' database."""
    env = {**os.environ, "MENDAN_DATA_DIR": str(settings.data_dir), "DATABASE_URL": settings.database_url,
           "MENDAN_SECRET_KEY": settings.secret_key or "", "MENDAN_BASE_URL": settings.base_url}
    for name in ("BROKER_URL", "MENDAN_ENV", "SMTP_URL", "MENDAN_MASTER_KEY"):
        env.pop(name, None)
    return subprocess.run([*MENDAN, "createtenant", *args], env=env, capture_output=True, text=True, timeout=300)


async def test_createtenant_makes_the_tenant_and_sends_its_admin_the_invitation(client, settings):
    slug = f"cli-{secrets.token_hex(4)}"
    done = _createtenant(settings, "--slug", slug, "--name", "株式会社コマンド", "--admin-email", "Ops-Admin@Example.jp",
                         "--language", "en")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"tenant {slug} (株式会社コマンド) created with a weekday contract" in done.stdout
    assert "admin ops-admin@example.jp invited: the mail was sent" in done.stdout
    assert re.search(r"the link works until \d{4}-\d\d-\d\d \d\d:\d\d Japan time", done.stdout)

    tenant = await Tenant.objects().where(Tenant.slug == slug).first()
    contract = await current_contract(tenant.id)
    assert (contract.course, contract.starts_on, contract.ends_on) == ("weekday", now().astimezone(TOKYO).date(), None)
    admin = await User.objects().where(User.tenant == tenant.id).first()
    assert (admin.email, admin.display_name, admin.role, admin.language, admin.password_hash) == (
        "ops-admin@example.jp", "ops-admin@example.jp", "admin", "en", None)
    actions = {r["action"] for r in await AuditEntry.select(AuditEntry.action).where(AuditEntry.tenant == tenant.id)}
    assert {"tenants.tenant_created", "tenants.contract_created", "tenants.admin_invited"} <= actions
    # Sent by the command itself: a job left to this process's in-memory broker would never go out.
    [(job, body)] = await _invitations(tenant.id, "ops-admin@example.jp")
    assert job.state == "done" and Path(job.result_ref).is_file()
    assert (await client.get(_link(settings, body), headers=HTML)).status_code == 200

    taken = _createtenant(settings, "--slug", slug, "--name", "別会社", "--admin-email", "other@example.jp")
    assert taken.returncode == 2 and "That slug is taken." in taken.stderr
    bad = _createtenant(settings, "--slug", f"{slug}-2", "--name", "別会社", "--admin-email", "not-an-address")
    assert bad.returncode == 2 and "The admin's e-mail address is not valid: not-an-address" in bad.stderr
    assert await Tenant.count().where(Tenant.slug == f"{slug}-2") == 0
    assert await User.count().where(User.tenant == tenant.id) == 1
