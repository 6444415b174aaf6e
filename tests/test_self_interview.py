"""The self-interview (issue 14) without a browser: questions marked for it, the window instead of a
slot, accommodations set by an admin and audited, where a reloaded page resumes, and the finish
that waits for every answer's upload."""

from __future__ import annotations

import email
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from billing.tables import UsageRow
from core.db.tables import AuditEntry
from core.interviews.notifications import interview_mail
from core.interviews.question_sets import (EvaluationItem, Question, QuestionSetProblem, create_question_set,
                                           questions_of)
from core.interviews.schedule import InterviewProblem, closed_for_participants, schedule_interview
from core.interviews.tables import Interview, QuestionSetVersion
from core.tenancy import TenantScope
from plugins.self_interview import plugin as self_interview
from tests.conftest import HTML, form_csrf, login
from tests.interview_fixtures import chunk_checksum, consent, join
from tests.video_files import make_video

NOW = datetime.now(timezone.utc)
QUESTIONS = [
    Question("自己紹介をお願いします。", time_limit_s=60, thinking_time_s=10, retakes=1),
    Question("学生時代に力を入れたことを教えてください。", time_limit_s=90, thinking_time_s=20, follow_ups=1),
    Question("当社を志望する理由を教えてください。", time_limit_s=60),
]


@pytest.fixture
def selfi(host):
    host.register(self_interview, key="self_interview")
    return host


def api(client) -> dict[str, str]:
    return {"x-csrftoken": client.cookies["csrftoken"], "accept": "application/json"}


async def self_interview_of(tenant, make_user, questions=QUESTIONS, *, opens=NOW - timedelta(hours=1),
                            closes=NOW + timedelta(days=3)):
    scope = TenantScope(tenant.id)
    admin = await make_user(tenant, "admin")
    interviewer = await make_user(tenant, "interviewer")
    interviewee = await make_user(tenant, "interviewee", password=None)
    version = await create_question_set(scope, name="新卒セルフ面談", author=admin, questions=questions,
                                        items=[EvaluationItem(key="", name="論理性")])
    interview = await schedule_interview(scope, kind="self", starts_at=opens, ends_at=closes, check=False,
                                         interviewee_id=interviewee.id, interviewer_id=interviewer.id,
                                         expert_ids=[], version_id=version.id, title="セルフ面談")
    return {"scope": scope, "admin": admin, "interviewer": interviewer, "interviewee": interviewee,
            "version": version, "interview": interview}


async def test_the_question_set_editor_marks_thinking_time_retakes_and_follow_ups(client, make_tenant, make_user):
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    await login(client, tenant, admin)
    editor = await client.get(f"/t/{tenant.slug}/question-sets/new", headers=HTML)
    form = {"_csrf_token": form_csrf(editor.text), "name": "セルフ面談用",
            "q_text_0": "自己紹介をお願いします。", "q_limit_0": "60", "q_recorded_0": "1", "q_thinking_0": "15",
            "q_retakes_0": "2", "q_follow_0": "2", "i_name_0": "論理性", "i_min_0": "1", "i_max_0": "5"}

    too_many = await client.post(f"/t/{tenant.slug}/question-sets", data={**form, "q_retakes_0": "3"}, headers=HTML)
    assert too_many.status_code == 400 and "撮り直し" in too_many.text
    assert await TenantScope(tenant.id).count(QuestionSetVersion) == 0

    saved = await client.post(f"/t/{tenant.slug}/question-sets", data=form, headers=HTML, follow_redirects=False)
    assert saved.status_code in (302, 303), saved.text
    version = await TenantScope(tenant.id).objects(QuestionSetVersion).first()
    [question] = questions_of(version)
    assert (question.thinking_time_s, question.retakes, question.follow_ups, question.time_limit_s) == (15, 2, 2, 60)


@pytest.mark.parametrize("field,value", [("retakes", 3), ("retakes", -1), ("follow_ups", 3), ("thinking_time_s", 601)])
async def test_out_of_range_self_interview_fields_are_refused(make_tenant, field, value):
    tenant = await make_tenant()
    with pytest.raises(QuestionSetProblem):
        await create_question_set(TenantScope(tenant.id), name="x", questions=[Question("質問", **{field: value})],
                                  items=[EvaluationItem(key="", name="論理性")])


async def test_a_version_saved_with_follow_ups_true_reads_as_one_follow_up(app, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await self_interview_of(tenant, make_user)
    scope = setup["scope"]
    await scope.update(QuestionSetVersion, {QuestionSetVersion.questions: [
        {"text": "自己紹介をお願いします。", "follow_ups": True, "time_limit_s": 120, "recorded": True}]}).where(
        QuestionSetVersion.id == setup["version"].id)
    [question] = questions_of(await scope.get(QuestionSetVersion, setup["version"].id))
    assert (question.follow_ups, question.retakes, question.thinking_time_s) == (1, 0, 0)


async def test_a_self_interview_has_a_window_and_its_mail_says_so(app, make_tenant, make_user, settings):
    tenant = await make_tenant()
    opens, closes = NOW + timedelta(days=1), NOW + timedelta(days=8)
    setup = await self_interview_of(tenant, make_user, opens=opens, closes=closes)
    interview = setup["interview"]
    assert interview.duration_minutes == 7 * 24 * 60

    day = timedelta(days=1)
    assert closed_for_participants(interview, opens - timedelta(minutes=1), day, day)[0] == "too_early"
    assert closed_for_participants(interview, opens + timedelta(days=3), day, day) is None
    assert closed_for_participants(interview, closes, day, day) == ("too_late", None)

    text = await interview_mail(setup["scope"], settings, tenant, interview, setup["interviewee"], "scheduled",
                                "noreply@example.jp")
    body = next(p for p in email.message_from_string(text).walk() if p.get_content_type() == "text/plain")
    plain = body.get_payload(decode=True).decode()
    assert "までの間、ご都合のよいときに" in plain and "所要時間" not in plain
    reminder = await interview_mail(setup["scope"], settings, tenant, interview, setup["interviewee"], "reminder",
                                    "noreply@example.jp")
    body = next(p for p in email.message_from_string(reminder).walk() if p.get_content_type() == "text/plain")
    assert "受付が明日から始まる" in body.get_payload(decode=True).decode()


@pytest.mark.parametrize("closes,message", [
    (None, "終了日時"), (NOW - timedelta(hours=1), "終了"), (NOW + timedelta(days=40), "31"),
])
async def test_a_self_interview_window_must_end_ahead_and_within_a_month(app, make_tenant, make_user, closes, message):
    tenant = await make_tenant()
    setup = await self_interview_of(tenant, make_user)
    with pytest.raises(InterviewProblem, match=message):
        await schedule_interview(setup["scope"], kind="self", starts_at=NOW - timedelta(days=2), ends_at=closes,
                                 interviewee_id=setup["interviewee"].id, interviewer_id=None, expert_ids=[],
                                 version_id=setup["version"].id)


async def test_the_admin_sets_up_a_self_interview_window_in_the_form(client, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await self_interview_of(tenant, make_user)
    await login(client, tenant, setup["admin"])
    new = await client.get(f"/t/{tenant.slug}/interviews/new", headers=HTML)
    assert 'name="ends_at"' in new.text
    made = await client.post(f"/t/{tenant.slug}/interviews", headers=HTML, follow_redirects=False, data={
        "_csrf_token": form_csrf(new.text), "kind": "self", "starts_at": (NOW + timedelta(days=1)).isoformat(),
        "ends_at": (NOW + timedelta(days=4)).isoformat(), "interviewee": str(setup["interviewee"].id),
        "version": str(setup["version"].id), "title": "窓の面談"})
    assert made.status_code in (302, 303), made.text
    row = await setup["scope"].objects(Interview).where(Interview.title == "窓の面談").first()
    assert row.kind == "self" and row.duration_minutes == 3 * 24 * 60 and row.interviewer is None
    shown = await client.get(f"/t/{tenant.slug}/interviews/{row.id}", headers=HTML)
    assert "受付期間（日本時間）" in shown.text


async def test_accommodations_are_set_by_an_admin_audited_and_stretch_the_times(selfi, client, make_tenant,
                                                                                make_user):
    tenant = await make_tenant()
    setup = await self_interview_of(tenant, make_user)
    person = setup["interviewee"]
    url = f"/t/{tenant.slug}/self_interview/accommodations"

    await login(client, tenant, setup["interviewer"])
    assert (await client.get(url, headers=HTML)).status_code == 403
    client.cookies.clear()

    await login(client, tenant, setup["admin"])
    listing = await client.get(url, headers=HTML)
    assert listing.status_code == 200 and (person.display_name or person.email) in listing.text
    # Each field sits in its own cell under its heading, tied to its row's form.
    table = listing.text[listing.text.index("<table"):listing.text.index("</table>")]
    head, body = table.split("<tbody>")
    rows = re.findall(r"<tr>.*?</tr>", body, flags=re.S)
    assert rows
    for row in rows:
        assert len(re.findall(r"<td[\s>]", row)) == len(re.findall(r"<th[\s>]", head))
        form_id = re.search(r'<form id="([^"]+)"', row).group(1)
        assert re.findall(r'<(?:input|button)[^>]*\bform="([^"]+)"', row) == [form_id] * 3
    refused = await client.post(f"{url}/{person.id}", headers=HTML, data={
        "_csrf_token": form_csrf(listing.text), "extra_time_factor": "5", "extra_retakes": "1"})
    assert refused.status_code == 400 and "1.0" in refused.text
    saved = await client.post(f"{url}/{person.id}", headers=HTML, follow_redirects=False, data={
        "_csrf_token": form_csrf(listing.text), "extra_time_factor": "1.5", "extra_retakes": "1"})
    assert saved.status_code in (302, 303), saved.text

    entries = await AuditEntry.objects().where((AuditEntry.tenant == tenant.id)
                                               & (AuditEntry.action == "self_interview.accommodation_set"))
    assert len(entries) == 1 and entries[0].target == str(person.id) and entries[0].actor == setup["admin"].id
    detail = entries[0].detail if isinstance(entries[0].detail, dict) else json.loads(entries[0].detail)
    assert detail == {"extra_time_factor": [1.0, 1.5], "extra_retakes": [0, 1]}
    client.cookies.clear()

    await consent(tenant, person)
    await join(client, tenant, person, setup["interview"])
    base = f"/t/{tenant.slug}/self_interview/{setup['interview'].id}"
    state = (await client.get(f"{base}/state", headers=api(client))).json()
    first = state["steps"][0]
    assert (first["thinking_s"], first["answer_s"], first["retakes_left"]) == (15, 90, 2)


async def send_answer(client, tenant, interview, key: str, data: bytes, *, whole: bool = True) -> str:
    created = await client.post(f"/t/{tenant.slug}/interviews/{interview.id}/uploads", headers=api(client), json={
        "defer_length": True, "filename": f"{key}.webm", "content_type": "video/webm", "question_key": key})
    assert created.status_code == 201, created.text
    location = created.json()["location"]
    part = data if whole else data[: len(data) // 2]
    headers = {**api(client), "content-type": "application/offset+octet-stream", "upload-offset": "0",
               "tus-resumable": "1.0.0", "upload-checksum": chunk_checksum(part)}
    if whole:
        headers["upload-length"] = str(len(data))
    sent = await client.patch(location, content=part, headers=headers)
    assert sent.status_code == 204, sent.text
    return location


async def test_a_reload_resumes_at_the_first_unanswered_question_and_finish_waits_for_every_upload(
        selfi, client, make_tenant, make_user, tmp_path: Path):
    tenant = await make_tenant()
    setup = await self_interview_of(tenant, make_user, questions=QUESTIONS[:1] + QUESTIONS[2:])
    interview = setup["interview"]
    base = f"/t/{tenant.slug}/self_interview/{interview.id}"
    video = make_video(tmp_path / "answer.webm", seconds=1).read_bytes()
    await consent(tenant, setup["interviewee"])
    await join(client, tenant, setup["interviewee"], interview)

    page = await client.get(base, headers=HTML)
    assert page.status_code == 200 and 'id="avatar"' in page.text
    state = (await client.get(f"{base}/state", headers=api(client))).json()
    assert (state["current"], state["total"], [s["key"] for s in state["steps"]]) == (0, 2, ["q1", "q2"])
    assert (await client.post(f"{base}/finish", headers=api(client))).status_code == 409

    await send_answer(client, tenant, interview, "q1", video)
    state = (await client.get(f"{base}/state", headers=api(client))).json()
    assert state["current"] == 1 and state["steps"][0]["complete"] and state["steps"][0]["retakes_left"] == 1
    await send_answer(client, tenant, interview, "q1", video)  # the one retake allowed
    state = (await client.get(f"{base}/state", headers=api(client))).json()
    assert state["current"] == 1 and (state["steps"][0]["takes"], state["steps"][0]["retakes_left"]) == (2, 0)

    # The second answer's upload was cut off by a reload: it counts as sent, the finish waits for it.
    location = await send_answer(client, tenant, interview, "q2", video, whole=False)
    reloaded = await client.get(base, headers=HTML)
    assert location.rsplit("/", 1)[1] in reloaded.text  # the page closes the open upload
    state = (await client.get(f"{base}/state", headers=api(client))).json()
    assert state["current"] == 2 and not state["uploads_complete"]
    waiting = await client.post(f"{base}/finish", headers=api(client))
    assert waiting.status_code == 409 and "送信中" in waiting.json()["detail"]

    half = len(video) // 2
    rest = await client.patch(location, content=video[half:], headers={
        **api(client), "content-type": "application/offset+octet-stream", "upload-offset": str(half),
        "tus-resumable": "1.0.0", "upload-checksum": chunk_checksum(video[half:]), "upload-length": str(len(video))})
    assert rest.status_code == 204 and rest.headers["upload-state"] == "complete", rest.text
    finished = await client.post(f"{base}/finish", headers=api(client))
    assert finished.status_code == 200, finished.text
    again = await client.post(f"{base}/finish", headers=api(client))
    assert again.status_code == 200
    usage = {row.meter: row.quantity for row in await UsageRow.objects().where(UsageRow.tenant == tenant.id)}
    assert usage == {"self_interview.completed": 1}
    assert (await setup["scope"].get(Interview, interview.id)).state == "recorded"


async def test_only_the_interviewee_takes_it_and_staff_are_led_to_the_review(selfi, client, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await self_interview_of(tenant, make_user)
    base = f"/t/{tenant.slug}/self_interview/{setup['interview'].id}"
    await login(client, tenant, setup["interviewer"])
    led = await client.get(base, headers=HTML, follow_redirects=False)
    assert led.status_code in (302, 303) and led.headers["location"].endswith("/review")
    review = await client.get(base + "/review", headers=HTML)
    assert review.status_code == 200 and "学生時代に力を入れたことを教えてください。" in review.text
    assert (await client.get(base + "/state", headers=api(client))).status_code == 404
    client.cookies.clear()

    stranger = await make_user(tenant, "interviewee")
    await login(client, tenant, stranger)
    assert (await client.get(base, headers=HTML)).status_code == 404


async def test_follow_ups_wait_for_the_transcript_are_made_once_and_billed(selfi, client, make_tenant, make_user,
                                                                          tmp_path: Path):
    from core.interviews.api import store_transcript
    from core.interviews.tables import Recording
    from core.transcripts import Segment, Transcript
    from plugins.self_interview.tables import GeneratedQuestion

    tenant = await make_tenant()
    setup = await self_interview_of(tenant, make_user)
    interview, scope = setup["interview"], setup["scope"]
    base = f"/t/{tenant.slug}/self_interview/{interview.id}"
    await consent(tenant, setup["interviewee"])
    await join(client, tenant, setup["interviewee"], interview)
    video = make_video(tmp_path / "answer.webm", seconds=1).read_bytes()

    assert (await client.post(f"{base}/follow-ups/q2", headers=api(client))).status_code == 409  # no answer yet
    await send_answer(client, tenant, interview, "q2", video)
    pending = await client.post(f"{base}/follow-ups/q2", headers=api(client))
    assert pending.status_code == 202 and pending.json() == {"pending": True}

    rec = await scope.objects(Recording).where(Recording.question_key == "q2").first()
    await store_transcript(scope, rec.id, Transcript(language="ja", source="test", segments=(Segment(
        0.0, 4.0, "大学ではサッカー部のキャプテンを務めました。練習メニューを見直して、部員と毎週話し合いました。", 0.9),)))
    made = await client.post(f"{base}/follow-ups/q2", headers=api(client))
    assert made.status_code == 200, made.text
    keys = [s["key"] for s in made.json()["steps"]]
    assert keys == ["q1", "q2", "q2.f1", "q3"]
    follow_up = made.json()["steps"][2]
    assert follow_up["generated"] and follow_up["reason"] and follow_up["provider"]
    again = await client.post(f"{base}/follow-ups/q2", headers=api(client))
    assert [s["key"] for s in again.json()["steps"]] == keys
    [row] = await scope.objects(GeneratedQuestion).where(GeneratedQuestion.interview == interview.id)
    assert row.source_recording == rec.id and row.source_key == "q2"
    usage = {r.meter: r.quantity for r in await UsageRow.objects().where(UsageRow.tenant == tenant.id)}
    assert usage == {"self_interview.follow_ups": 1}
    # A question that allows none generates none.
    assert [s["key"] for s in (await client.post(f"{base}/follow-ups/q1", headers=api(client))).json()["steps"]] == keys


async def test_the_avatar_voices_a_question_and_says_why_when_it_cannot(selfi, client, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await self_interview_of(tenant, make_user, questions=[
        Question("自己紹介をお願いします。"), Question("長い質問です。" * 80)])
    base = f"/t/{tenant.slug}/self_interview/{setup['interview'].id}"
    await consent(tenant, setup["interviewee"])
    await join(client, tenant, setup["interviewee"], setup["interview"])

    line = await client.get(f"{base}/speech/q1", headers=api(client))
    assert line.status_code == 200, line.text
    body = line.json()
    assert body["text"] == "自己紹介をお願いします。" and body["duration_s"] > 0.5 and body["mouth"]
    assert all(0 <= start < end and 0 <= openness <= 1 for start, end, openness in body["mouth"])
    audio = await client.get(body["audio"])
    assert audio.headers["content-type"].startswith("audio/") and audio.content[:4] == b"RIFF"
    too_long = await client.get(f"{base}/speech/q2", headers=api(client))
    assert too_long.status_code == 422 and "500" in too_long.json()["detail"]
    assert (await client.get(f"{base}/speech/q9", headers=api(client))).status_code == 404


async def test_the_first_answer_analysed_does_not_close_the_self_interview_on_the_rest(
        selfi, client, make_tenant, make_user, tmp_path: Path):
    # The analysis of the first answer moves the interview to "analysed" while the interviewee is
    # still answering; that must not end it for them (the window and the finish do).
    tenant = await make_tenant()
    setup = await self_interview_of(tenant, make_user, questions=QUESTIONS[:1] + QUESTIONS[2:])
    interview = setup["interview"]
    base = f"/t/{tenant.slug}/self_interview/{interview.id}"
    video = make_video(tmp_path / "answer.webm", seconds=1).read_bytes()
    await consent(tenant, setup["interviewee"])
    await join(client, tenant, setup["interviewee"], interview)
    await send_answer(client, tenant, interview, "q1", video)
    await setup["scope"].update(Interview, {Interview.state: "analysed"}).where(Interview.id == interview.id)

    page = await client.get(base, headers=HTML)
    assert page.status_code == 200 and 'id="avatar"' in page.text, page.text
    await send_answer(client, tenant, interview, "q2", video)
    state = (await client.get(f"{base}/state", headers=api(client))).json()
    assert state["current"] == 2 and state["uploads_complete"]
    assert (await client.post(f"{base}/finish", headers=api(client))).status_code == 200


async def test_the_retakes_left_are_said_in_words_not_as_a_bare_number(selfi, client, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await self_interview_of(tenant, make_user)
    await consent(tenant, setup["interviewee"])
    await join(client, tenant, setup["interviewee"], setup["interview"])
    page = await client.get(f"/t/{tenant.slug}/self_interview/{setup['interview'].id}", headers=HTML)
    assert 'data-msg-retakes-left="残りの撮り直し: {n}回"' in page.text
    flow_js = (Path(self_interview.__file__).parent / "static" / "flow.js").read_text()
    assert 'say("retakes-left", msg("RetakesLeft").replace("{n}", String(retakes)))' in flow_js
