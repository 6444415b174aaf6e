"""In Debian's chromium: an admin edits a mail template, previews it with sample values and saves
it (the preview is rendered by the server: the page runs no inline script)."""

from __future__ import annotations

import pytest

from core.db.tables import MailTemplate
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


async def test_an_admin_previews_and_saves_a_template(live_server, browser, make_tenant, make_user):
    tenant = await make_tenant(name="株式会社ブラウザ")
    admin = await make_user(tenant, "admin")
    context = await browser.new_context(locale="ja-JP")
    page = await context.new_page()
    await page.goto(f"{live_server}/t/{tenant.slug}/login")
    await page.fill("#email", admin.email)
    await page.fill("#password", PASSWORD)
    await page.click("form.card button[type=submit]")
    await page.wait_for_load_state()
    await page.goto(f"{live_server}/t/{tenant.slug}/mail/templates/")
    await page.click(f"a[href='/t/{tenant.slug}/mail/templates/interview_reminder/ja']")

    await page.fill("#subject", "【{{ company }}】明日の面接について")
    await page.fill("#body", "{{ name }} 様\n明日 {{ date }} にお待ちしております。\n{{ contact }}\n")
    await page.click("button[value=preview]")
    await page.locator("#preview-subject").wait_for()
    assert await page.text_content("#preview-subject") == "【株式会社ブラウザ】明日の面接について"
    assert "山田 花子 様" in await page.text_content("#preview-body")
    assert await MailTemplate.count().where(MailTemplate.tenant == tenant.id) == 0

    await page.click("button[value=save]")
    await page.locator("p.notice[role=status]").wait_for()
    row = await MailTemplate.objects().where(MailTemplate.tenant == tenant.id).first()
    assert row.kind == "interview_reminder" and row.subject == "【{{ company }}】明日の面接について"
    await context.close()
