"""Each staff role's home page (issue 20): what waits for them, a few rows and a "see all" link,
times in Japan time; and a one-shot confirmation after a save."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from core.db.tables import Job
from core.interviews.question_sets import items_of
from core.interviews.schedule import advance, in_tokyo, schedule_interview
from plugins.ai_model import plugin as ai_model_plugin
from plugins.ai_model.tables import Prediction
from plugins.speech import plugin as speech_plugin
from tests.conftest import HTML, form_csrf, login
from tests.interview_fixtures import make_interview


@pytest.fixture
def host(host):
    host.register(ai_model_plugin, key="ai_model")
    host.register(speech_plugin, key="speech")
    return host


def _section(page: str, title: str) -> str:
    """The home page's section whose heading starts with `title`."""
    start = page.index(f">{title}")
    return page[start:page.index("</section>", start)]


async def test_interviewer_sees_upcoming_interviews_in_japan_time_and_evaluations_waiting(
        client, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user, starts_in=timedelta(days=2))
    scope, interviewer = setup["scope"], setup["interviewer"]
    held = await schedule_interview(
        scope, kind="live", starts_at=datetime.now(timezone.utc) - timedelta(days=1), check=False,
        interviewee_id=setup["interviewee"].id, interviewer_id=interviewer.id, expert_ids=[], version_id=setup["version"].id,
        title="held-one")
    await advance(scope, held, "recorded")
    other = await make_interview(tenant, make_user)  # someone else's: on the admin's home only

    await login(client, tenant, interviewer)  # their language is English
    home = (await client.get(f"/t/{tenant.slug}/", headers=HTML)).text
    upcoming = _section(home, "Upcoming interviews")
    assert in_tokyo(setup["interview"].starts_at).strftime("%Y-%m-%d %H:%M") in upcoming
    assert f'/interviews/{setup["interview"].id}"' in upcoming and str(other["interview"].id) not in upcoming
    assert f'href="/t/{tenant.slug}/interviews/"' in upcoming
    waiting = _section(home, "Interviews waiting for my evaluation")
    assert f'/interviews/{held.id}"' in waiting and "(1)" in waiting

    page = await client.get(f"/t/{tenant.slug}/interviews/{held.id}", headers=HTML)
    saved = await client.post(f"/t/{tenant.slug}/interviews/{held.id}/evaluation", headers=HTML, data={
        "_csrf_token": form_csrf(page.text), f"score_{items_of(setup['version'])[0].key}": "4", "comment": ""})
    assert saved.status_code == 200
    assert re.search(r'role="status" id="flash">Your evaluation was saved.<', saved.text)
    again = await client.get(f"/t/{tenant.slug}/interviews/{held.id}", headers=HTML)
    assert 'id="flash"' not in again.text  # shown once
    home = (await client.get(f"/t/{tenant.slug}/", headers=HTML)).text
    assert str(held.id) not in _section(home, "Interviews waiting for my evaluation")


async def test_admin_sees_ai_scores_to_confirm_and_failed_jobs_in_words(client, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    await Prediction.insert(Prediction(tenant=tenant.id, interview_id=setup["interview"].id, item_key="clarity",
                                       value=3.0, status="unconfirmed"))
    job = Job(tenant=tenant.id, actor="speech.transcribe", state="failed", error="boom")
    await Job.insert(job)
    await Job.insert(Job(tenant=tenant.id, actor="core.send_mail", state="done"))

    await login(client, tenant, setup["admin"])
    home = (await client.get(f"/t/{tenant.slug}/", headers=HTML)).text
    assert f'/interviews/{setup["interview"].id}"' in _section(home, "今後の面談")
    ai = _section(home, "確認待ちのAIスコア")
    assert f'/interviews/{setup["interview"].id}"' in ai and f'href="/t/{tenant.slug}/ai_model/"' in ai
    failed = _section(home, "失敗したジョブ")
    assert f'/jobs/{job.id}"' in failed and "文字起こし" in failed and "speech.transcribe" not in failed
    listing = (await client.get(f"/t/{tenant.slug}/jobs?job_state=failed", headers=HTML)).text
    assert "文字起こし" in listing and "メールの送信" not in listing
    everything = (await client.get(f"/t/{tenant.slug}/jobs", headers=HTML)).text
    assert "メールの送信" in everything and "speech.transcribe" not in everything and "core.send_mail" not in everything
    assert f'href="/t/{tenant.slug}/billing/"' in home

    await login(client, tenant, setup["interviewer"])
    home = (await client.get(f"/t/{tenant.slug}/", headers=HTML)).text
    assert "確認待ちのAIスコア" not in home and "失敗したジョブ" not in home
    assert f'href="/t/{tenant.slug}/billing/"' not in home
