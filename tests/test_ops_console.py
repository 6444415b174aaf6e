"""The operator console: operators only; creating a tenant, editing its contract (with
history), switching options, maintenance and stops; every action in the audit log."""

import json
import re

from core.db.tables import AuditEntry, Tenant
from core.hookspecs import hookimpl
from core.plugins import PluginMeta
from tenants.hours import current_contract
from tenants.tables import ContractChange, MaintenanceWindow, TenantProfile
from tests.conftest import HTML, eventually, form_csrf, login


class Summary:
    @hookimpl
    def mendan_plugin_meta(self):
        return PluginMeta(key="summary_x", name_ja="要約", name_en="Summary", version="1", kind="option",
                          hours="interactive")


async def _post(client, path, data):
    page = await client.get("/ops/", headers=HTML)
    return await client.post(path, data={**data, "_csrf_token": form_csrf(page.text)}, headers=HTML,
                             follow_redirects=False)


async def test_the_console_is_for_operators_only(client, make_tenant, make_user):
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    signed_out = await client.get("/ops/", headers=HTML, follow_redirects=False)
    assert signed_out.status_code in (302, 303) and signed_out.headers["location"].startswith("/login")
    await login(client, tenant, admin)
    assert (await client.get("/ops/", headers=HTML)).status_code == 403
    assert (await client.get(f"/ops/tenants/{tenant.slug}", headers=HTML)).status_code == 403


async def test_operator_actions_are_kept_in_the_audit_log(host, client, make_user):
    host.register(Summary(), key="summary_x")
    operator = await make_user(None, "operator")
    await login(client, None, operator)
    slug = f"ops-{operator.id.hex[:8]}"
    created = await _post(client, "/ops/tenants/new", {
        "slug": slug, "name": "面談商事", "region": "JP", "contact_name": "山田", "contact_email": "y@example.jp",
        "admin_email": f"admin@{slug}.example.jp", "admin_name": "", "admin_language": "ja", "course": "weekday", "starts_on": "2026-04-01", "ends_on": "", "retention_grace_days": "",
    })
    assert created.status_code == 303, created.text
    tenant = await Tenant.objects().where(Tenant.slug == slug).first()
    assert tenant.wrapped_data_key
    assert (await TenantProfile.objects().where(TenantProfile.tenant == tenant.id).first()).contact_name == "山田"
    contract = await current_contract(tenant.id)
    assert contract.course == "weekday"

    changed = await _post(client, f"/ops/tenants/{slug}/contract", {
        "contract_id": str(contract.id), "course": "always", "starts_on": "2026-04-01", "ends_on": "2027-03-31",
        "retention_grace_days": "", "status": "active", "confirm_course": "yes",
    })
    assert changed.status_code == 303
    history = await ContractChange.objects().where(ContractChange.contract == contract.id).order_by(ContractChange.id)
    assert history[-1].by == operator.id
    last = json.loads(history[-1].changes)
    assert last == {"course": ["weekday", "always"], "ends_on": [None, "2027-03-31"]}
    bad = await _post(client, f"/ops/tenants/{slug}/contract", {
        "contract_id": str(contract.id), "course": "always", "starts_on": "2026-04-01", "ends_on": "2026-01-01",
        "status": "active",
    })
    assert bad.status_code == 400

    assert (await _post(client, f"/ops/tenants/{slug}/options", {"plugin_key": "summary_x", "active": "on"})).status_code == 303
    assert "summary_x" in await host.enabled_keys(tenant.id)
    unconfirmed = await _post(client, f"/ops/tenants/{slug}/stop", {"message": "調査中"})
    assert unconfirmed.status_code == 400 and "確認" in unconfirmed.text
    assert (await Tenant.objects().where(Tenant.id == tenant.id).first()).status != "stopped"
    assert (await _post(client, f"/ops/tenants/{slug}/stop", {"message": "調査中", "confirm": "yes"})).status_code == 303
    assert (await Tenant.objects().where(Tenant.id == tenant.id).first()).status == "stopped"
    assert (await _post(client, f"/ops/tenants/{slug}/resume", {})).status_code == 303
    assert (await _post(client, "/ops/maintenance", {
        "starts_at": "2031-01-10T22:00", "ends_at": "2031-01-11T02:00", "message": "パッチ適用"})).status_code == 303
    window = await MaintenanceWindow.objects().where(MaintenanceWindow.message == "パッチ適用").first()
    assert window.ends_at.hour == 17  # 02:00 JST is 17:00 UTC
    assert (await _post(client, f"/ops/maintenance/{window.id}/cancel", {})).status_code == 303

    actions = [r["action"] for r in await AuditEntry.select(AuditEntry.action).where(
        (AuditEntry.actor == operator.id) & AuditEntry.action.like("tenants.%")).order_by(AuditEntry.id)]
    assert actions == [
        "tenants.tenant_created", "tenants.contract_created", "tenants.admin_invited", "tenants.contract_changed",
        "tenants.option_switched", "tenants.service_stopped", "tenants.service_resumed",
        "tenants.maintenance_planned", "tenants.maintenance_cancelled",
    ]
    home = await client.get("/ops/", headers=HTML)
    assert "tenants.option_switched" in home.text and operator.email in home.text
    detail = await client.get(f"/ops/tenants/{slug}", headers=HTML)
    assert detail.status_code == 200 and 'name="ends_on" type="date" value="2027-03-31"' in detail.text


async def test_a_tenant_outside_the_allowed_regions_is_refused_emotion_inference(app, client, make_tenant, make_user):
    from core.interviews.analysis import emotion_allowed

    japan, abroad = await make_tenant(), await make_tenant(region="US")
    assert japan.region == "JP" and emotion_allowed(japan) and not emotion_allowed(abroad)
    operator = await make_user(None, "operator")
    await login(client, None, operator)
    page = await client.get(f"/ops/tenants/{abroad.slug}", headers=HTML)
    assert "この地域では感情推定を利用できません" in page.text
    page = await client.get(f"/ops/tenants/{japan.slug}", headers=HTML)
    assert "この地域では感情推定を利用できます" in page.text


async def test_an_operator_deletes_a_tenant_at_once_after_confirming_its_slug(client, make_tenant, make_user):
    from tenants.tables import DeletionReport

    tenant = await make_tenant()
    await make_user(tenant, "admin")
    operator = await make_user(None, "operator")
    await login(client, None, operator)
    wrong = await _post(client, f"/ops/tenants/{tenant.slug}/delete", {"confirm": "not-the-slug"})
    assert wrong.status_code == 400 and await Tenant.count().where(Tenant.id == tenant.id) == 1
    done = await _post(client, f"/ops/tenants/{tenant.slug}/delete", {"confirm": tenant.slug})
    assert done.status_code == 303
    # The purge job writes the report, deletes the tenant and files the audit entry one after the
    # other: each is waited for by itself.
    report = await eventually(lambda: DeletionReport.objects().where(DeletionReport.tenant_id == tenant.id).first(),
                              what="the deletion report")
    assert report.reason == "request" and report.requested_by == operator.id

    async def purged_and_audited():
        actions = {r["action"] for r in await AuditEntry.select(AuditEntry.action).where(
            AuditEntry.actor == operator.id)}
        gone = await Tenant.count().where(Tenant.id == tenant.id) == 0
        return gone and {"tenants.deletion_requested", "tenants.tenant_purged"} <= actions

    await eventually(purged_and_audited, what="the tenant gone and the purge in the audit log")
    home = await client.get("/ops/", headers=HTML)
    assert home.status_code == 200 and f"<td>{tenant.slug}</td>" in home.text and "mendan_user: 1" in home.text


async def test_saving_the_contract_form_keeps_the_course_in_effect_unless_a_change_is_confirmed(client, make_tenant,
                                                                                                  make_user):
    tenant = await make_tenant()  # no contract: served around the clock
    operator = await make_user(None, "operator")
    await login(client, None, operator)
    page = await client.get(f"/ops/tenants/{tenant.slug}", headers=HTML)
    assert '<option value="always" selected>' in page.text and 'id="course-now"' in page.text
    # The form sent as shown keeps 24/365.
    kept = await _post(client, f"/ops/tenants/{tenant.slug}/contract", {
        "course": "always", "starts_on": "2026-04-01", "ends_on": "", "retention_grace_days": "", "status": "active"})
    assert kept.status_code == 303
    assert (await current_contract(tenant.id)).course == "always"
    # A switch to the weekday course is refused without the confirmation, nothing changed...
    contract = await current_contract(tenant.id)
    switched = await _post(client, f"/ops/tenants/{tenant.slug}/contract", {
        "contract_id": str(contract.id), "course": "weekday", "starts_on": "2026-04-01", "status": "active"})
    assert switched.status_code == 400 and "24時間" in switched.text and "確認" in switched.text
    assert (await current_contract(tenant.id)).course == "always"
    # ...and made with it.
    confirmed = await _post(client, f"/ops/tenants/{tenant.slug}/contract", {
        "contract_id": str(contract.id), "course": "weekday", "starts_on": "2026-04-01", "status": "active",
        "confirm_course": "yes"})
    assert confirmed.status_code == 303 and (await current_contract(tenant.id)).course == "weekday"


async def test_stop_buttons_are_red_last_and_the_whole_service_stop_needs_a_confirmation(client, make_user):
    from tenants.stops import service_wide_stop

    operator = await make_user(None, "operator")
    await login(client, None, operator)
    home = (await client.get("/ops/", headers=HTML)).text
    stop_form = home[home.index('action="/ops/stop"'):]
    assert stop_form.index('<button type="submit" class="danger">') < stop_form.index("</form>")
    # Below every other form of the page, in its own zone, the one red button there.
    actions = re.findall(r'<form method="post" action="([^"]+)"', home)
    assert actions[-1] == "/ops/stop" and len(actions) > 1
    assert home.count('class="danger"') == 1 and home.count('class="danger-zone"') == 1
    refused = await _post(client, "/ops/stop", {"message": "障害対応"})
    assert refused.status_code == 400 and await service_wide_stop() is None
    stopped = await _post(client, "/ops/stop", {"message": "障害対応", "confirm": "yes"})
    assert stopped.status_code == 303 and await service_wide_stop() is not None
    assert (await _post(client, "/ops/resume", {})).status_code == 303 and await service_wide_stop() is None


async def test_odd_numbers_and_a_missing_course_get_a_message_and_change_nothing(client, make_tenant, make_user):
    tenant = await make_tenant()
    operator = await make_user(None, "operator")
    await login(client, None, operator)
    form = {"course": "always", "starts_on": "2026-04-01", "status": "active"}
    for odd in ({"retention_grace_days": "99999999999999999999"}, {"course": ""}, {"course": None}):
        data = {k: v for k, v in {**form, **odd}.items() if v is not None}
        answer = await _post(client, f"/ops/tenants/{tenant.slug}/contract", data)
        assert answer.status_code == 400 and "Project-Id-Version" not in answer.text, odd
        assert await current_contract(tenant.id) is None
    for quota in ("inf", "1e400", "-inf", "nan", "-1", "0.0000001", "1e9"):  # 100 bytes, an exabyte: typos
        answer = await _post(client, f"/ops/tenants/{tenant.slug}/storage-quota", {"quota_gb": quota})
        assert answer.status_code == 400 and "GB" in answer.text, quota
        assert (await Tenant.objects().where(Tenant.id == tenant.id).first()).storage_quota_bytes is None


async def test_every_operator_action_is_confirmed_on_the_next_page(host, client, make_tenant, make_user):
    """Issue 20: a confirmation after every create, save and send; here in the operator's Japanese."""
    host.register(Summary(), key="summary_x")
    tenant = await make_tenant()
    operator = await make_user(None, "operator", language="ja")
    await login(client, None, operator)
    here = f"/ops/tenants/{tenant.slug}"
    contract = {"course": "weekday", "starts_on": "2026-04-01", "status": "active", "confirm_course": "yes"}
    steps = [
        (f"{here}/profile", {"name": "確認株式会社", "region": "JP"}, "テナントの基本情報を保存しました。"),
        (f"{here}/contract", contract, "契約を保存しました。"),
        (f"{here}/storage-quota", {"quota_gb": "5"}, "保存容量の上限を保存しました。"),
        (f"{here}/options", {"plugin_key": "summary_x", "active": "on"}, "要約を有効にしました。"),
        (f"{here}/options", {"plugin_key": "summary_x"}, "要約を無効にしました。"),
        (f"{here}/stop", {"confirm": "yes", "message": "点検"}, "テナントを停止し、管理者にメールで知らせました。"),
        (f"{here}/resume", {}, "テナントを再開し、管理者にメールで知らせました。"),
        ("/ops/maintenance", {"starts_at": "2031-01-10T22:00", "ends_at": "2031-01-11T02:00", "message": "点検"},
         "メンテナンスを予定し、全テナントの管理者にメールで知らせました。"),
    ]
    for path, data, said in steps:
        answer = await _post(client, path, data)
        assert answer.status_code == 303, (path, answer.text)
        page = await client.get(answer.headers["location"], headers=HTML)
        assert f'id="flash">{said}</p>' in page.text, path
        # Said once: the next page has no message left over.
        assert 'id="flash"' not in (await client.get(answer.headers["location"], headers=HTML)).text
    window = await MaintenanceWindow.objects().order_by(MaintenanceWindow.id, ascending=False).first()
    cancelled = await _post(client, f"/ops/maintenance/{window.id}/cancel", {})
    assert "メンテナンスを取り消しました。" in (await client.get(cancelled.headers["location"], headers=HTML)).text
    deleted = await _post(client, f"{here}/delete", {"confirm": tenant.slug})
    assert f"{tenant.slug} の削除を始めました。" in (await client.get(deleted.headers["location"], headers=HTML)).text


async def test_a_tenant_profile_with_a_wrong_value_is_refused_and_keeps_what_was_stored(client, make_tenant,
                                                                                        make_user):
    """The profile's contact is whom candidates are told to ask: a typo must not be kept."""
    tenant = await make_tenant(name="面談商事")
    await login(client, None, await make_user(None, "operator"))
    here = f"/ops/tenants/{tenant.slug}/profile"
    good = {"name": "面談商事", "region": "JP", "contact_name": "人事部"}
    saved = await _post(client, here, {**good, "contact_email": "ｊｉｎｊｉ＠ｍｅｎｄａｎ．ｅｘａｍｐｌｅ "})
    assert saved.status_code == 303
    profile = await TenantProfile.objects().where(TenantProfile.tenant == tenant.id).first()
    assert profile.contact_email == "jinji@mendan.example"  # full-width and spaces normalised as people's are
    for field, value, message in [("contact_email", "notanemail", "連絡先のメールアドレスが正しくありません"),
                                  ("contact_email", "<script>alert(1)</script>", "連絡先のメールアドレス"),
                                  ("region", "ZZZZZZZZZZZZ", "国コード"), ("name", "", "名称を入力")]:
        refused = await _post(client, here, {**good, "contact_email": "", field: value})
        assert refused.status_code == 400, (field, value)
        assert refused.headers["content-type"].startswith("text/html") and message in refused.text, (field, value)
    profile = await TenantProfile.objects().where(TenantProfile.tenant == tenant.id).first()
    stored = await Tenant.objects().where(Tenant.id == tenant.id).first()
    assert (stored.name, stored.region, profile.contact_email) == ("面談商事", "JP", "jinji@mendan.example")
