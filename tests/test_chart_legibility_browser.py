"""AI explanations HR can read (issue 20): in Debian's chromium, on a PC and on a 390x844 phone,
every label of the feature-importance charts, of the metric explanations and of a score's
explanation is drawn at 12 px or more (read from the rendered page; SVG text as scaled on screen)."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugins.ai_model.synthetic import synthetic_interviews
from tests.conftest import PASSWORD, wait_for_job
from tests.test_ai_model_flow import build_through_the_job_queue, host, populate  # noqa: F401  (host: with ai_model)

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
SMALLEST_PX = 12
VIEWPORTS = {"pc": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
CHARTS = {"ai_model/": ("figure.importance", "dl.metric-help"),
          "interview": ("#ai-predictions ul.explanation", "#ai-predictions .fairness-note")}

# Every piece of text under the selectors, with the size it is drawn at in CSS pixels.
FONT_SIZES = """(selectors) => {
  const found = [];
  for (const selector of selectors) {
    for (const root of document.querySelectorAll(selector)) {
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const text = node.textContent.trim();
        if (!text) continue;
        const element = node.parentElement;
        let size = parseFloat(getComputedStyle(element).fontSize);
        if (element instanceof SVGElement && element.getScreenCTM()) size *= element.getScreenCTM().a;
        found.push([selector, text.slice(0, 40), size]);
      }
    }
  }
  return found;
}"""


async def test_chart_and_explanation_labels_are_at_least_12_px_on_a_pc_and_a_phone(
    app, live_server, browser, make_tenant, make_user
):
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    features, labels = synthetic_interviews(25, noise_features=4, seed=8)
    await populate(tenant, make_user, features.iloc[:24], labels.iloc[:24])
    await build_through_the_job_queue(app, tenant, admin)
    _reviewer, _experts, (interview,) = await populate(tenant, make_user, features.iloc[24:], None)
    job = await wait_for_job(await app.state.tasks.enqueue("ai_model.predict", tenant_id=tenant.id,
                                                           interview_id=str(interview.id)))
    assert job.state == "done", job.error
    ARTIFACTS.mkdir(exist_ok=True)

    too_small = []
    for device, viewport in VIEWPORTS.items():
        context = await browser.new_context(viewport=viewport, locale="ja-JP")
        page = await context.new_page()
        await page.goto(f"{live_server}/t/{tenant.slug}/login")
        await page.fill("#email", admin.email)
        await page.fill("#password", PASSWORD)
        await page.click("form.card button[type=submit]")
        await page.wait_for_url(f"{live_server}/t/{tenant.slug}/")
        for where, selectors in CHARTS.items():
            path = f"interviews/{interview.id}" if where == "interview" else where
            await page.goto(f"{live_server}/t/{tenant.slug}/{path}")
            sizes = await page.evaluate(FONT_SIZES, list(selectors))
            read = {selector for selector, _text, _size in sizes}
            assert read == set(selectors), f"{where} on the {device}: nothing drawn under {set(selectors) - read}"
            too_small += [f"{device} {where} {selector}: {text!r} at {size:.1f} px"
                          for selector, text, size in sizes if size < SMALLEST_PX]
            await page.screenshot(path=str(ARTIFACTS / f"ai_explanation_{where.strip('/')}_{device}.png"),
                                  full_page=True)
        await context.close()
    assert not too_small, "\n".join(too_small)
