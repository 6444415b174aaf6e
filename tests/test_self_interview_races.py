"""The self-interview's "one per X" rules under concurrent requests (a unique index plus a
conflict answer): follow-ups of one answer, the finish. Run on PostgreSQL with
MENDAN_TEST_POSTGRES as well."""

from __future__ import annotations

import asyncio
from pathlib import Path

import anyio
import httpx

from billing.tables import UsageRow
from core.db.tables import AuditEntry
from plugins.self_interview.tables import Finished, GeneratedQuestion
from tests.interview_fixtures import consent, join
from tests.test_self_interview import api, selfi, self_interview_of, send_answer  # noqa: F401 (fixture)
from tests.video_files import make_video


async def at_once(client, paths: list[str]) -> list[httpx.Response]:
    """POST to `paths` concurrently on the app's own event loop (the test client's transport sends
    one request at a time)."""
    async def send_all():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=client.app), base_url=str(client.base_url),
                                     cookies=client.cookies) as concurrent:
            return await asyncio.gather(*(concurrent.post(path, headers=api(client)) for path in paths))

    return await anyio.to_thread.run_sync(client.blocking_portal.call, send_all)


async def test_two_follow_up_requests_at_once_store_one_set_and_both_answer_it(selfi, client, make_tenant,
                                                                                make_user, tmp_path: Path,
                                                                                monkeypatch):
    from core.interviews.api import Recording, store_transcript
    from core.transcripts import Segment, Transcript
    from plugins.self_interview import followups

    tenant = await make_tenant()
    setup = await self_interview_of(tenant, make_user)
    interview, scope = setup["interview"], setup["scope"]
    base = f"/t/{tenant.slug}/self_interview/{interview.id}"
    await consent(tenant, setup["interviewee"])
    await join(client, tenant, setup["interviewee"], interview)
    await send_answer(client, tenant, interview, "q2", make_video(tmp_path / "a.webm", seconds=1).read_bytes())
    rec = await scope.objects(Recording).where(Recording.question_key == "q2").first()
    await store_transcript(scope, rec.id, Transcript(language="ja", source="test", segments=(Segment(
        0.0, 4.0, "大学ではサッカー部のキャプテンを務めました。練習メニューを見直しました。", 0.9),)))

    # Both requests have generated their follow-ups before either stores them.
    both_generated = asyncio.Barrier(2)
    generate = followups.follow_ups

    async def held(**kwargs):
        made = await generate(**kwargs)
        await both_generated.wait()
        return made

    monkeypatch.setattr(followups, "follow_ups", held)
    first, second = await at_once(client, [f"{base}/follow-ups/q2"] * 2)
    assert (first.status_code, second.status_code) == (200, 200), (first.text, second.text)
    assert first.json()["steps"] == second.json()["steps"]
    assert [s["key"] for s in first.json()["steps"]] == ["q1", "q2", "q2.f1", "q3"]
    rows = await scope.objects(GeneratedQuestion).where(GeneratedQuestion.interview == interview.id)
    assert [r.key for r in rows] == ["q2.f1"]
    usage = {r.meter: r.quantity for r in await UsageRow.objects().where(UsageRow.tenant == tenant.id)}
    assert usage == {"self_interview.follow_ups": 1}


async def test_two_finishes_at_once_both_answer_done_and_bill_once(selfi, client, make_tenant, make_user,
                                                                   tmp_path: Path):
    from core.interviews.question_sets import Question

    tenant = await make_tenant()
    setup = await self_interview_of(tenant, make_user, questions=[Question("自己紹介をお願いします。")])
    interview = setup["interview"]
    base = f"/t/{tenant.slug}/self_interview/{interview.id}"
    await consent(tenant, setup["interviewee"])
    await join(client, tenant, setup["interviewee"], interview)
    await send_answer(client, tenant, interview, "q1", make_video(tmp_path / "a.webm", seconds=1).read_bytes())

    answers = await at_once(client, [f"{base}/finish"] * 3)
    assert [(a.status_code, a.json()) for a in answers] == [(200, {"done": True})] * 3, [a.text for a in answers]
    assert await setup["scope"].count(Finished).where(Finished.interview == interview.id) == 1
    usage = [(r.meter, r.quantity) for r in await UsageRow.objects().where(UsageRow.tenant == tenant.id)]
    assert usage == [("self_interview.completed", 1)]
    audited = await AuditEntry.objects().where((AuditEntry.tenant == tenant.id)
                                               & (AuditEntry.action == "self_interview.finished"))
    assert len(audited) == 1


async def test_after_the_finish_the_upload_api_refuses_new_recordings(selfi, client, make_tenant, make_user,
                                                                      tmp_path: Path):
    from core.interviews.api import Interview, Recording
    from core.interviews.question_sets import Question

    tenant = await make_tenant()
    setup = await self_interview_of(tenant, make_user, questions=[Question("自己紹介をお願いします。", retakes=2)])
    interview, scope = setup["interview"], setup["scope"]
    base = f"/t/{tenant.slug}/self_interview/{interview.id}"
    await consent(tenant, setup["interviewee"])
    await join(client, tenant, setup["interviewee"], interview)
    await send_answer(client, tenant, interview, "q1", make_video(tmp_path / "a.webm", seconds=1).read_bytes())
    assert (await client.post(f"{base}/finish", headers=api(client))).status_code == 200
    assert (await scope.get(Interview, interview.id)).finished_at is not None

    # A retake is still allowed by the question, but the interview is over: the window is still open.
    refused = await client.post(f"/t/{tenant.slug}/interviews/{interview.id}/uploads", headers=api(client), json={
        "defer_length": True, "filename": "q1.webm", "content_type": "video/webm", "question_key": "q1"})
    assert refused.status_code == 409 and refused.json()["detail"] == "この面談は終了しました。", refused.text
    assert await scope.count(Recording).where(Recording.interview == interview.id) == 1
