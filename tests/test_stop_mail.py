"""Tenant admins are mailed, in their own language (business Japanese first), when an operator
stops their tenant or the whole service, resumes it, or plans or cancels a maintenance window
(tenants/stop_mail.py through the core.send_mail job; spec 7.1)."""

from __future__ import annotations

from email import message_from_bytes, policy

from core.db.tables import Job
from tenants.tables import MaintenanceWindow
from tests.conftest import HTML, eventually, form_csrf, login


async def _post(client, path, data):
    page = await client.get("/ops/", headers=HTML)
    return await client.post(path, data={**data, "_csrf_token": form_csrf(page.text)}, headers=HTML,
                             follow_redirects=False)


async def mails_of(settings, tenants) -> dict[str, list]:
    """Address -> its mails in the outbox, once every mail job of `tenants` has run."""

    async def all_sent():
        jobs = await Job.objects().where(Job.tenant.is_in([t.id for t in tenants]) & (Job.actor == "core.send_mail"))
        return jobs and all(j.state == "done" for j in jobs)

    await eventually(all_sent, what="the mail jobs")
    found: dict[str, list] = {}
    for path in settings.outbox_dir.glob("*.eml"):
        msg = message_from_bytes(path.read_bytes(), policy=policy.default)
        found.setdefault(str(msg["To"]), []).append(msg)
    return found


async def test_admins_of_a_stopped_tenant_are_mailed_in_their_language(settings, client, make_tenant, make_user):
    operator = await make_user(None, "operator")
    stopped, other = await make_tenant(name="面談商事"), await make_tenant(name="Other KK")
    admin_ja = await make_user(stopped, "admin", display_name="山田 花子", language="ja")
    admin_en = await make_user(stopped, "admin", display_name="Hana Yamada", language="en")
    gone = await make_user(stopped, "admin", active=False)
    interviewer = await make_user(stopped, "interviewer")
    other_admin = await make_user(other, "admin")
    await login(client, None, operator)

    assert (await _post(client, f"/ops/tenants/{stopped.slug}/stop", {"message": "不正アクセスの調査", "confirm": "yes"})).status_code == 303
    mails = await mails_of(settings, [stopped, other])
    ja = mails[admin_ja.email]
    assert len(ja) == 1
    assert ja[0]["Subject"] == "【重要】サービス停止のお知らせ（面談商事）"
    body = ja[0].get_body().get_content()
    assert body.startswith("山田 花子様") and "平素より mendan をご利用いただき" in body
    assert "緊急の対応のため、面談商事様のサービスを停止いたしました。" in body and "理由：不正アクセスの調査" in body
    en = mails[admin_en.email]
    assert en[0]["Subject"] == "[Important] Service stopped: 面談商事"
    assert "Dear Hana Yamada," in en[0].get_body().get_content()
    # Only active admins of the stopped tenant.
    assert gone.email not in mails and interviewer.email not in mails and other_admin.email not in mails

    assert (await _post(client, f"/ops/tenants/{stopped.slug}/resume", {})).status_code == 303
    mails = await mails_of(settings, [stopped, other])
    assert [m["Subject"] for m in mails[admin_ja.email]].count("サービス再開のお知らせ（面談商事）") == 1


async def test_a_maintenance_window_is_announced_to_every_tenant_and_its_cancellation_too(settings, client, make_tenant,
                                                                                        make_user):
    operator = await make_user(None, "operator")
    one, two = await make_tenant(), await make_tenant()
    admin_one, admin_two = await make_user(one, "admin"), await make_user(two, "admin", language="en")
    await login(client, None, operator)
    planned = await _post(client, "/ops/maintenance", {
        "starts_at": "2031-01-10T22:00", "ends_at": "2031-01-11T02:00", "message": "OSのパッチ適用"})
    assert planned.status_code == 303
    mails = await mails_of(settings, [one, two])
    ja = mails[admin_one.email][0]
    assert ja["Subject"] == "計画メンテナンスのお知らせ（2031-01-10 (金) 22:00～2031-01-11 (土) 02:00）"
    body = ja.get_body().get_content()
    assert "日時：2031-01-10 (金) 22:00～2031-01-11 (土) 02:00（日本時間）" in body and "内容：OSのパッチ適用" in body
    assert mails[admin_two.email][0]["Subject"] == "Planned maintenance: 2031-01-10 (Fri) 22:00 to 2031-01-11 (Sat) 02:00"

    window = await MaintenanceWindow.objects().where(MaintenanceWindow.message == "OSのパッチ適用").first()
    assert (await _post(client, f"/ops/maintenance/{window.id}/cancel", {})).status_code == 303
    mails = await mails_of(settings, [one, two])
    subjects = [m["Subject"] for m in mails[admin_one.email]]
    assert "計画メンテナンス中止のお知らせ（2031-01-10 (金) 22:00～2031-01-11 (土) 02:00）" in subjects
    assert len(subjects) == 2
