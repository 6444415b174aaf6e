"""The consent page states retention, withdrawal, the contact and the privacy policy, and
"I do not agree" keeps no consent, tells the interview's staff and shows the next steps."""

from __future__ import annotations

from datetime import date

from core.db.tables import Job
from core.db.json_columns import json_value
from core.tenancy import TenantScope
from tenants.consent import has_consented
from tenants.tables import ConsentRecord, Contract, TenantProfile
from tests.conftest import HTML, form_csrf, login
from tests.interview_fixtures import join, make_interview


async def test_the_consent_page_states_retention_withdrawal_contact_and_privacy_policy(client, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user, language="en")
    # Open at all hours: the weekday course (the column's default) closes the admin's form after 21:00 Japan time.
    await Contract.insert(Contract(tenant=tenant.id, course="always", starts_on=date(2026, 1, 1),
                                   ends_on=date(2027, 3, 31), retention_grace_days=30))
    await TenantScope(tenant.id).add(TenantProfile(contact_name="Jinji Bu", contact_email="hr@example.jp"))
    await login(client, tenant, setup["admin"])
    mail_page = await client.get(f"/t/{tenant.slug}/mail/", headers=HTML)
    bad = await client.post(f"/t/{tenant.slug}/mail/privacy", headers=HTML, data={
        "_csrf_token": form_csrf(mail_page.text), "privacy_policy_url": "javascript:alert(1)"})
    assert bad.status_code == 400 and "https://" in bad.text
    saved = await client.post(f"/t/{tenant.slug}/mail/privacy", headers=HTML, follow_redirects=False, data={
        "_csrf_token": form_csrf(mail_page.text), "privacy_policy_url": "https://example.jp/privacy"})
    assert saved.status_code in (302, 303)
    client.cookies.clear()

    await join(client, tenant, setup["interviewee"], setup["interview"])
    shown = await client.get(f"/t/{tenant.slug}/interviews/{setup['interview'].id}/consent", headers=HTML)
    assert shown.status_code == 200
    assert "2027-04-30" in shown.text  # the end plus 30 days
    assert "withdraw your consent" in shown.text
    assert "hr@example.jp" in shown.text and "Jinji Bu" in shown.text
    assert 'href="https://example.jp/privacy"' in shown.text
    assert "I do not agree" in shown.text


async def test_declining_keeps_no_consent_and_tells_the_staff(client, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user, language="ja")
    interview = setup["interview"]
    await join(client, tenant, setup["interviewee"], interview)
    shown = await client.get(f"/t/{tenant.slug}/interviews/{interview.id}/consent", headers=HTML)
    declined = await client.post(f"/t/{tenant.slug}/interviews/{interview.id}/consent/decline", headers=HTML,
                                 data={"_csrf_token": form_csrf(shown.text)})
    assert declined.status_code == 200
    assert "担当者" in declined.text and "記録されていません" in declined.text
    assert await TenantScope(tenant.id).count(ConsentRecord) == 0
    assert not await has_consented(tenant.id, setup["interviewee"].id, "recording")

    jobs = await Job.objects().where((Job.tenant == tenant.id) & (Job.actor == "core.send_mail"))
    recipients = {json_value(j.args)["message"].split("\nTo: ", 1)[1].split("\n", 1)[0].strip() for j in jobs}
    assert recipients == {setup["admin"].email, setup["interviewer"].email}
    again = await client.post(f"/t/{tenant.slug}/interviews/{interview.id}/consent/decline", headers=HTML,
                              data={"_csrf_token": form_csrf(shown.text)})
    assert again.status_code == 200
    assert await Job.count().where((Job.tenant == tenant.id) & (Job.actor == "core.send_mail")) == len(jobs)

    client.cookies.clear()
    await login(client, tenant, setup["interviewer"])
    staff_page = await client.get(f"/t/{tenant.slug}/interviews/{interview.id}", headers=HTML)
    assert 'id="consent-declined"' in staff_page.text
