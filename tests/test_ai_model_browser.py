"""In Debian's chromium: an interviewer opens a predicted interview, reads why the AI gave
its score, and confirms it."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugins.ai_model.synthetic import synthetic_interviews
from plugins.ai_model.tables import Prediction
from tests.conftest import PASSWORD, wait_for_job
from tests.test_ai_model_flow import build_through_the_job_queue, host, populate  # noqa: F401  (host: with ai_model)

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


async def test_an_interviewer_reads_the_explanation_and_confirms_the_ai_score(
    app, live_server, browser, make_tenant, make_user
):
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    features, labels = synthetic_interviews(31, noise_features=4, seed=8)
    await populate(tenant, make_user, features.iloc[:30], labels.iloc[:30])
    await build_through_the_job_queue(app, tenant, admin)
    reviewer, _experts, (interview,) = await populate(tenant, make_user, features.iloc[30:], None)
    job = await wait_for_job(await app.state.tasks.enqueue(
        "ai_model.predict", tenant_id=tenant.id, interview_id=str(interview.id)))
    assert job.state == "done", job.error

    page = await browser.new_page(locale="ja-JP")
    await page.goto(f"{live_server}/t/{tenant.slug}/login")
    await page.fill("#email", reviewer.email)
    await page.fill("#password", PASSWORD)
    await page.click("form.card button[type=submit]")
    await page.goto(f"{live_server}/t/{tenant.slug}/interviews/{interview.id}")
    warmth = page.locator('article.prediction[data-item="warmth"]')
    await warmth.wait_for()
    assert await warmth.get_attribute("data-status") == "unconfirmed"
    assert "未確認" in await warmth.locator(".status").inner_text()
    explanation = await warmth.locator("ul.explanation li").all_inner_texts()
    assert len(explanation) == 5 and explanation[0].startswith("synthetic.")
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "ai_model_prediction.png"), full_page=True)

    await warmth.locator("button[value=confirm]").click()
    await page.wait_for_load_state()
    warmth = page.locator('article.prediction[data-item="warmth"]')
    assert await warmth.get_attribute("data-status") == "confirmed"
    assert "確認済み" in await warmth.locator(".status").inner_text()
    row = await Prediction.objects().where(
        (Prediction.interview_id == interview.id) & (Prediction.item_key == "warmth")).first()
    assert row.status == "confirmed" and row.reviewed_by == reviewer.id
