"""A self-interview in Debian's chromium on a phone-sized screen (issue 14): the avatar reads each
question aloud from a server-made audio file while its mouth moves, every answer arrives as its
own recording, a reload resumes at the same question, a follow-up question is generated from an
answer, and the interviewer's review page shows it with its reason. Screenshots go to
test-artifacts/."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from billing.tables import UsageRow
from core.interviews.api import Interview, Recording, evaluation_of, items_of, scores_of, store_transcript
from core.interviews.people import issue_join_link
from core.interviews.question_sets import EvaluationItem, Question, create_question_set
from core.interviews.schedule import schedule_interview
from core.tenancy import TenantScope
from core.transcripts import Segment, Transcript
from plugins.self_interview import plugin as self_interview
from plugins.self_interview.tables import GeneratedQuestion
from tests.conftest import PASSWORD, eventually
from tests.track_watch import track_states, watch_tracks

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
QUESTIONS = [
    Question("自己紹介をお願いします。", time_limit_s=30, thinking_time_s=20),
    Question("学生時代に力を入れたことを教えてください。", time_limit_s=30, thinking_time_s=20, follow_ups=1),
    Question("当社を志望する理由を教えてください。", time_limit_s=30, thinking_time_s=20),
]
# What the interviewee said to the second question (situation and action, no result), stored as
# its transcript the moment its recording is complete, as the speech plugin would.
ANSWER = "大学ではサッカー部のキャプテンを務めました。練習メニューを見直して、部員と毎週話し合いました。"


@pytest.fixture(scope="module")
def face_video(tmp_path_factory) -> Path:
    from tests.media_fixtures import face_y4m

    return face_y4m(tmp_path_factory.mktemp("camera") / "face.y4m", fps=15, size=(320, 240))


@pytest.fixture
async def browser(face_video):
    """Debian's chromium with its fake camera fed a face (never a downloaded browser)."""
    import shutil

    from tests.conftest import CHROMIUM_ARGS

    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        launched = await pw.chromium.launch(
            executable_path=executable, args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={face_video}",
                                              # as iOS Safari: no sound before the user's first tap
                                              "--autoplay-policy=user-gesture-required"])
        yield launched
        await launched.close()


@pytest.fixture
def selfi(host):
    host.register(self_interview, key="self_interview")


@pytest.fixture
def server(selfi, live_server) -> str:
    """The served app, with self_interview registered before the app is built."""
    return live_server


async def phone_page(browser, who: str):
    context = await browser.new_context(locale="ja-JP", viewport={"width": 390, "height": 844}, has_touch=True)
    page = await context.new_page()
    page.on("console", lambda m: print(f"[{who} console] {m.text}"))
    page.on("response", lambda r: print(f"[{who}] {r.status} {r.url}") if r.status >= 400 else None)
    page.on("pageerror", lambda e: print(f"[{who} error] {e}"))
    return context, page


async def at_question(page, key: str) -> None:
    await page.wait_for_function(
        f"() => window.selfInterview.currentKey === '{key}' && window.selfInterview.phase === 'thinking'", timeout=90000)


async def answer(page, seconds: float = 2.5) -> None:
    """Start answering before the thinking time runs out, speak for a while, stop, wait for the upload."""
    await page.click("#answer-now")
    await page.wait_for_function("() => window.selfInterview.phase === 'recording'", timeout=20000)
    await page.wait_for_function("() => window.selfInterview.uploads.at(-1).base > 0", timeout=20000)
    await asyncio.sleep(seconds)  # the interviewee talks; the countdown runs
    await page.click("#stop-button")


async def transcribe_when_complete(tenant, interview, key: str, text: str) -> None:
    scope = TenantScope(tenant.id)

    async def complete():
        return await scope.objects(Recording).where(
            (Recording.interview == interview.id) & (Recording.question_key == key)
            & (Recording.state == "complete")).first()

    rec = await eventually(complete, timeout=180, what=f"the answer to {key} complete")
    await store_transcript(scope, rec.id, Transcript(language="ja", source="test", segments=(
        Segment(start=0.0, end=2.5, text=text, confidence=0.9),)))


async def test_a_self_interview_on_a_phone_with_the_avatar_a_follow_up_and_a_reload(
        server, browser, make_tenant, make_user):
    ARTIFACTS.mkdir(exist_ok=True)
    tenant = await make_tenant()
    scope = TenantScope(tenant.id)
    admin = await make_user(tenant, "admin")
    interviewer = await make_user(tenant, "interviewer")
    interviewee = await make_user(tenant, "interviewee", password=None, language="ja")
    version = await create_question_set(scope, name="新卒セルフ面談", author=admin, questions=QUESTIONS,
                                        items=[EvaluationItem(key="", name="論理性")])
    now = datetime.now(timezone.utc)
    interview = await schedule_interview(scope, kind="self", starts_at=now - timedelta(hours=1),
                                         ends_at=now + timedelta(days=2), interviewee_id=interviewee.id,
                                         interviewer_id=interviewer.id, expert_ids=[], version_id=version.id)
    transcribing = asyncio.create_task(transcribe_when_complete(tenant, interview, "q2", ANSWER))

    watch_tracks(browser)
    _context, page = await phone_page(browser, "interviewee")
    token = await issue_join_link(scope, interviewee)
    await page.goto(f"{server}/t/{tenant.slug}/join/{token}?interview={interview.id}")
    await page.click("#join-button")
    await page.wait_for_url(lambda url: "/consent" in url)
    await page.check("input[name=agree]")
    await page.click("form[action$='/consent'] button[type=submit]")
    here = f"{server}/t/{tenant.slug}/self_interview/{interview.id}"
    await page.wait_for_url(here)
    await page.wait_for_selector("#start-button:not([disabled])", timeout=30000)
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390  # fits the phone upright
    await page.click("#start-button")

    # The practice question: voiced and timed, never recorded.
    await page.wait_for_function("() => window.selfInterview.audioPlays.length >= 1", timeout=60000)
    played = await page.evaluate("window.selfInterview.audioPlays[0]")
    assert played["key"] == "practice" and played["src"].endswith("/speech/practice/audio") and played["duration"] > 1
    await page.click("#answer-now")
    await page.click("#stop-button")
    await page.click("#begin-button")

    await at_question(page, "q1")
    assert await page.text_content("#progress") == "質問 1 / 3"
    assert await page.text_content("#subtitle") == "自己紹介をお願いします。"
    played = await page.evaluate("window.selfInterview.audioPlays.at(-1)")
    assert played["src"].endswith("/speech/q1/audio")
    # The file the audio element played is the server's, made by speech synthesis: a WAV.
    fetched = await page.evaluate("""async (src) => { const r = await fetch(src);
        const b = new Uint8Array(await r.arrayBuffer());
        return [r.headers.get('content-type'), String.fromCharCode(...b.slice(0, 4)), b.length]; }""", played["src"])
    assert fetched[0].startswith("audio/wav") and fetched[1] == "RIFF" and fetched[2] > 10000
    # The mouth moved while it spoke: many distinct openings, not one.
    assert await page.evaluate("window.selfInterview.mouthValues.size") >= 3
    assert await page.evaluate("window.selfInterview.mouthOpenings") >= 5
    assert await page.evaluate("window.selfInterview.tapsAsked") == 0  # the Start tap unlocked the audio
    await page.screenshot(path=str(ARTIFACTS / "self_interview_question.png"), full_page=True)
    await answer(page)

    await at_question(page, "q2")
    await answer(page)
    # The generated follow-up comes next, marked as generated with its reason.
    await at_question(page, "q2.f1")
    await transcribing
    assert await page.text_content("#progress") == "質問 3 / 4"
    assert await page.is_visible("#generated-note")
    assert "生成された質問" in await page.text_content("#generated-note")
    await page.screenshot(path=str(ARTIFACTS / "self_interview_follow_up.png"), full_page=True)

    # A reload in the middle: back at the same question, the answers already sent kept.
    await page.reload()
    await page.wait_for_selector("#start-button:not([disabled])", timeout=30000)
    await page.click("#start-button")
    await at_question(page, "q2.f1")
    assert await page.evaluate("window.selfInterview.audioPlays.at(-1).key") == "q2.f1"  # voiced again
    assert await page.text_content("#progress") == "質問 3 / 4"
    await answer(page)

    # The connection drops while the last answer is recorded; the chunks wait and go when it is back.
    await at_question(page, "q3")
    await page.click("#answer-now")
    await page.wait_for_function("() => window.selfInterview.phase === 'recording'", timeout=20000)
    await _context.set_offline(True)
    await asyncio.sleep(2.5)  # recording on, offline
    await _context.set_offline(False)
    await page.wait_for_function("() => window.selfInterview.uploads.at(-1).base > 0", timeout=30000)
    await page.click("#stop-button")
    await page.wait_for_selector("#finish-button:visible", timeout=60000)
    await page.click("#finish-button")
    await page.wait_for_url(f"**/interviews/{interview.id}/thanks", timeout=60000)
    await page.wait_for_selector("#thanks:visible")
    tracks = await track_states(page)  # the camera and microphone were stopped before the page was left
    assert len(tracks) >= 2 and set(tracks) == {"ended"}, tracks
    await page.screenshot(path=str(ARTIFACTS / "self_interview_done.png"), full_page=True)

    rows = await scope.objects(Recording).where(Recording.interview == interview.id).order_by(Recording.sequence)
    complete = [r for r in rows if r.state == "complete"]
    assert [r.question_key for r in complete] == ["q1", "q2", "q2.f1", "q3"]
    assert len({r.id for r in complete}) == 4 and all(r.duration_s and r.duration_s > 1 for r in complete)

    [generated] = await scope.objects(GeneratedQuestion).where(GeneratedQuestion.interview == interview.id)
    assert generated.key == "q2.f1" and generated.reason and generated.provider
    usage = {r.meter: r.quantity for r in await UsageRow.objects().where(UsageRow.tenant == tenant.id)}
    assert usage["self_interview.completed"] == 1 and usage["self_interview.follow_ups"] == 1

    # The interviewer reviews question by question; the follow-up is marked generated, with its reason.
    _c2, staff = await phone_page(browser, "interviewer")
    staff_context = _c2
    await staff.set_viewport_size({"width": 1280, "height": 900})
    await staff.goto(f"{server}/t/{tenant.slug}/login")
    await staff.fill("#email", interviewer.email)
    await staff.fill("#password", PASSWORD)
    await staff.click("form.card button[type=submit]")
    await staff.wait_for_load_state()
    await staff.goto(f"{here}/review")
    section = staff.locator("#answer-q2\\.f1")
    assert await section.get_attribute("data-generated") == "true"
    assert "生成" in await section.locator(".generated-badge").text_content()
    assert generated.reason in await section.locator(".generated-reason").text_content()
    assert generated.text in await section.locator(".question-text").text_content()
    assert await staff.locator("section.answer video").count() == 4
    assert ANSWER in await staff.locator("#answer-q2 .transcript").text_content()
    await staff.screenshot(path=str(ARTIFACTS / "self_interview_review.png"), full_page=True)
    # The evaluation form of a live interview; the interview moves on as a live one does.
    [item] = items_of(version)
    await staff.fill(f"#score-{item.key}", "4")
    await staff.click("#evaluation-form button[type=submit]")
    await staff.wait_for_url(f"{server}/t/{tenant.slug}/interviews/{interview.id}")
    assert scores_of(await evaluation_of(scope, interview, interviewer)) == {item.key: 4}
    assert (await scope.get(Interview, interview.id)).state == "evaluated"
    await staff_context.close()
