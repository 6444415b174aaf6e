"""Question sets hold as many questions and items as needed, in the order the editor shows
(issue 20): the form's rows are found by number, gaps left by removed rows included, up to a
bound; in the browser, static/question_set_editor.js adds, removes and moves rows."""

from __future__ import annotations

import pytest

from core.interviews.question_sets import items_of, latest_version, questions_of
from core.interviews.tables import QuestionSet
from core.interviews.web_question_sets import ROW_LIMIT
from core.tenancy import TenantScope
from tests.conftest import HTML, PASSWORD, form_csrf, login
from tests.interview_fixtures import make_interview


async def test_five_questions_and_one_item_are_kept_in_the_posted_order(client, make_tenant, make_user):
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    await login(client, tenant, admin)
    editor = await client.get(f"/t/{tenant.slug}/question-sets/new", headers=HTML)
    # Rows as the script leaves them after removing row 1 and moving the last one first: numbered
    # with gaps, and listed out of order in the body.
    form = {"_csrf_token": form_csrf(editor.text), "name": "五問",
            "q_text_9": "質問E", "q_text_0": "質問A", "q_text_2": "質問B", "q_text_3": "質問C", "q_text_7": "質問D",
            "i_name_4": "論理性", "i_min_4": "1", "i_max_4": "5", "i_required_4": "1"}
    saved = await client.post(f"/t/{tenant.slug}/question-sets", data=form, headers=HTML, follow_redirects=False)
    assert saved.status_code in (302, 303), saved.text
    scope = TenantScope(tenant.id)
    qs = await scope.objects(QuestionSet).where(QuestionSet.name == "五問").first()
    version = await latest_version(scope, qs.id)
    assert [q.text for q in questions_of(version)] == ["質問A", "質問B", "質問C", "質問D", "質問E"]
    assert [i.name for i in items_of(version)] == ["論理性"]

    shown = await client.get(f"/t/{tenant.slug}/question-sets/{qs.id}", headers=HTML)
    assert "質問セットを保存しました。" in shown.text
    reordered = {"_csrf_token": form_csrf(shown.text), "q_text_0": "質問E", "q_text_1": "質問A",
                 "i_key_0": items_of(version)[0].key, "i_name_0": "論理性", "i_min_0": "1", "i_max_0": "5"}
    await client.post(f"/t/{tenant.slug}/question-sets/{qs.id}", data=reordered, headers=HTML)
    assert [q.text for q in questions_of(await latest_version(scope, qs.id))] == ["質問E", "質問A"]


async def test_more_rows_than_the_bound_are_refused_and_kept_on_the_page(client, make_tenant, make_user):
    tenant = await make_tenant()
    await login(client, tenant, await make_user(tenant, "admin"))
    editor = await client.get(f"/t/{tenant.slug}/question-sets/new", headers=HTML)
    form = {"_csrf_token": form_csrf(editor.text), "name": "多すぎ",
            **{f"q_text_{n}": f"質問{n}" for n in range(ROW_LIMIT + 1)}}
    refused = await client.post(f"/t/{tenant.slug}/question-sets", data=form, headers=HTML)
    assert refused.status_code == 400 and f"{ROW_LIMIT}件まで" in refused.text
    assert 'value="質問0"' in refused.text
    assert await TenantScope(tenant.id).objects(QuestionSet).where(QuestionSet.name == "多すぎ").first() is None


@pytest.mark.browser
async def test_the_editor_adds_removes_and_moves_rows(live_server, browser, make_tenant, make_user):
    tenant = await make_tenant()
    admin = (await make_interview(tenant, make_user))["admin"]
    page = await (await browser.new_context(locale="ja-JP")).new_page()
    await page.goto(f"{live_server}/t/{tenant.slug}/login")
    await page.fill("#email", admin.email)
    await page.fill("#password", PASSWORD)
    await page.click("form.card button[type=submit]")
    await page.wait_for_load_state()
    await page.goto(f"{live_server}/t/{tenant.slug}/question-sets/new")
    await page.fill("#name", "並べ替え")
    rows = page.locator("#question-rows tr")
    await page.click("button.add-row[data-rows=question-rows]")  # 3 blank rows + 1
    assert await rows.count() == 4
    for n, question in enumerate(["一", "二", "三", "四"]):
        await rows.nth(n).locator("input[name^=q_text_]").fill(question)
    await rows.nth(3).get_by_role("button", name="上へ 4").click()  # 四 above 三
    await rows.nth(0).get_by_role("button", name="外す 1").click()  # 一 goes
    assert [await rows.nth(n).locator("input[name^=q_text_]").input_value() for n in range(3)] == ["二", "四", "三"]
    assert await rows.nth(1).locator("input[name^=q_text_]").get_attribute("name") == "q_text_1"
    await page.locator("#item-rows tr").nth(0).locator("input[name^=i_name_]").fill("論理性")
    await page.click("#question-set-form button[type=submit]")
    await page.wait_for_url(f"{live_server}/t/{tenant.slug}/question-sets/*-*")
    scope = TenantScope(tenant.id)
    qs = await scope.objects(QuestionSet).where(QuestionSet.name == "並べ替え").first()
    assert [q.text for q in questions_of(await latest_version(scope, qs.id))] == ["二", "四", "三"]
