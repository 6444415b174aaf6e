"""The interview page's analysis state (issue 20): queued, analysing with a percentage, done, or
failed with the reason in words and a link to the job; its fragment refreshes the page
(static/analysis_state.js)."""

from __future__ import annotations

import pytest

from core.db.tables import Job
from plugins.speech import plugin as speech_plugin
from tests.conftest import HTML, PASSWORD, login
from tests.interview_fixtures import make_interview


@pytest.fixture
def host(host):
    host.register(speech_plugin, key="speech")
    return host


def _jobs_of(interview, *states):
    return [Job(tenant=interview.tenant, actor=actor, state=state,
                args={"interview_id": str(interview.id), "extractor": extractor})
            for (actor, extractor), state in zip((("core.extract_features", "face"), ("speech.transcribe", "")), states)]


async def test_interview_page_shows_the_analysis_progress_then_done(client, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    interview, admin = setup["interview"], setup["admin"]
    await login(client, tenant, admin)
    fragment = f"/t/{tenant.slug}/interviews/{interview.id}/analysis-state"
    assert "まだ分析されていません" in (await client.get(fragment, headers=HTML)).text

    extract, transcribe = _jobs_of(interview, "queued", "queued")
    await Job.insert(extract, transcribe)
    assert 'data-state="queued"' in (await client.get(fragment, headers=HTML)).text
    await Job.update({Job.state: "running", Job.progress: 60}).where(Job.id == extract.id)
    page = (await client.get(f"/t/{tenant.slug}/interviews/{interview.id}", headers=HTML)).text
    assert "分析中です（30% 完了）" in page and 'data-finished="0"' in page
    assert '<script src="/static/analysis_state.js" defer></script>' in page
    assert f'/jobs/{extract.id}">動画の分析</a>' in page and "文字起こし" in page

    await Job.update({Job.state: "done", Job.progress: 100}).where(Job.id.is_in([extract.id, transcribe.id]))
    done = (await client.get(fragment, headers=HTML)).text
    assert "分析が完了しました" in done and 'data-finished="1"' in done and "%" not in done


async def test_a_failed_analysis_says_why_in_words_and_links_the_job(client, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    interview = setup["interview"]
    extract, transcribe = _jobs_of(interview, "failed", "failed")
    extract.error = "ValueError: Upload-Length must be a whole number."  # a message the catalogue knows
    transcribe.error = "Traceback (most recent call last):\nKeyError: 'segments'"
    await Job.insert(extract, transcribe)
    await login(client, tenant, setup["admin"])
    shown = (await client.get(f"/t/{tenant.slug}/interviews/{interview.id}/analysis-state", headers=HTML)).text
    assert "分析に失敗しました" in shown
    assert "動画の分析を完了できませんでした：Upload-Length は整数にしてください。" in shown
    assert "文字起こしを完了できませんでした：予期しないエラーです。" in shown
    assert "KeyError" not in shown and "Traceback" not in shown
    assert f'href="/t/{tenant.slug}/jobs/{transcribe.id}"' in shown


@pytest.mark.browser
async def test_the_page_follows_the_analysis_live(live_server, browser, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    interview = setup["interview"]
    extract, transcribe = _jobs_of(interview, "running", "done")
    extract.progress = 50
    await Job.insert(extract, transcribe)
    page = await (await browser.new_context(locale="ja-JP")).new_page()
    await page.goto(f"{live_server}/t/{tenant.slug}/login")
    await page.fill("#email", setup["admin"].email)
    await page.fill("#password", PASSWORD)
    await page.click("form.card button[type=submit]")
    await page.wait_for_load_state()
    await page.goto(f"{live_server}/t/{tenant.slug}/interviews/{interview.id}")
    assert "75%" in await page.locator("#analysis-state").inner_text()
    await Job.update({Job.state: "done", Job.progress: 100}).where(Job.id == extract.id)
    await page.locator('#analysis-state[data-state="done"]').wait_for(timeout=15000)
    assert "分析が完了しました" in await page.locator("#analysis-state").inner_text()
