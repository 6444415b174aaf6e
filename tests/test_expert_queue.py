"""An expert's work (issue 20): the interviews assigned to them and not yet evaluated, oldest
first, a page at a time, with a navigation item; and a mail in their language when they are
assigned at scheduling."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy

from core.auth.tokens import create_api_token
from core.interviews.evaluations import save_evaluation
from core.interviews.question_sets import items_of
from core.interviews.schedule import advance, cancel, schedule_interview
from core.interviews.web_forms import PAGE_SIZE
from tests.conftest import HTML, login
from tests.interview_fixtures import make_interview


async def test_queue_lists_held_unevaluated_assignments_oldest_first_a_page_at_a_time(
        app, client, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user, experts=1)
    scope, expert, version = setup["scope"], setup["experts"][0], setup["version"]
    first = datetime(2026, 1, 5, 1, tzinfo=timezone.utc)
    held = []
    for n in range(PAGE_SIZE + 2):
        interview = await schedule_interview(
            scope, kind="live", starts_at=first + timedelta(days=n), interviewee_id=setup["interviewee"].id,
            interviewer_id=setup["interviewer"].id, expert_ids=[expert.id], version_id=version.id, check=False,
            title=f"held-{n:02d}")
        await advance(scope, interview, "recorded")
        held.append(interview)
    evaluated = held.pop(1)
    await save_evaluation(scope, evaluated, expert, {items_of(version)[0].key: "3"}, "")
    # Not in the queue: not held yet (the fixture's), cancelled, or someone else's.
    cancelled = await schedule_interview(
        scope, kind="live", starts_at=first, interviewee_id=setup["interviewee"].id, check=False,
        interviewer_id=setup["interviewer"].id, expert_ids=[expert.id], version_id=version.id, title="cancelled-x")
    await cancel(scope, cancelled)
    other = await make_interview(tenant, make_user, experts=1)
    await advance(other["scope"], other["interview"], "recorded")

    await login(client, tenant, expert)
    home = await client.get(f"/t/{tenant.slug}/", headers=HTML)
    assert f'/t/{tenant.slug}/interviews/to-evaluate' in home.text
    first_page = await client.get(f"/t/{tenant.slug}/interviews/to-evaluate", headers=HTML)
    assert first_page.status_code == 200
    shown = [str(i.id) for i in held]
    listed = [line.split('"')[1] for line in first_page.text.split('data-interview=')[1:]]
    assert listed == shown[:PAGE_SIZE]
    assert f"{len(held)}" in first_page.text.split('id="awaiting-count">')[1].split("<")[0]
    second = await client.get(f"/t/{tenant.slug}/interviews/to-evaluate?page_number=2", headers=HTML)
    assert [line.split('"')[1] for line in second.text.split('data-interview=')[1:]] == shown[PAGE_SIZE:]
    for absent in (evaluated, cancelled, setup["interview"], other["interview"]):
        assert str(absent.id) not in first_page.text + second.text

    await login(client, tenant, setup["interviewer"])
    assert "interviews/to-evaluate" not in (await client.get(f"/t/{tenant.slug}/", headers=HTML)).text
    mine = await client.get(f"/t/{tenant.slug}/interviews/to-evaluate", headers=HTML)
    assert mine.status_code == 200 and "data-interview=" not in mine.text


async def _mails_to(outbox, addresses: set[str], timeout: float = 20.0) -> dict:
    """The mail to each address, waiting for the mail job to write them."""
    found: dict = {}
    for _ in range(int(timeout / 0.1)):
        for path in outbox.glob("*.eml") if outbox.exists() else []:
            msg = message_from_bytes(path.read_bytes(), policy=policy.default)
            if msg["To"] in addresses:
                found[msg["To"]] = msg
        if set(found) == addresses:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"mail to {addresses - set(found)} not in {outbox}")


async def test_each_expert_is_mailed_in_their_language_when_assigned(app, client, settings, make_tenant, make_user):
    tenant = await make_tenant(name="株式会社テスト")
    setup = await make_interview(tenant, make_user)
    japanese = await make_user(tenant, "expert", display_name="山田 花子", language="ja")
    english = await make_user(tenant, "expert", display_name="Ann Lee", language="en")
    token = await create_api_token(setup["admin"], "setup", scope="write")
    starts = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=2)
    created = await client.post(f"/api/v1/t/{tenant.slug}/interviews", headers={"authorization": f"Bearer {token}"},
                                json={"kind": "live", "starts_at": starts.isoformat(), "title": "一次面接",
                                      "interviewee": str(setup["interviewee"].id),
                                      "interviewer": str(setup["interviewer"].id),
                                      "experts": [str(japanese.id), str(english.id)],
                                      "question_set": str(setup["version"].question_set)})
    assert created.status_code == 201, created.text
    link = f"{settings.base_url}/t/{tenant.slug}/interviews/{created.json()['id']}"

    mails = await _mails_to(settings.outbox_dir, {japanese.email, english.email})
    ja, en = mails[japanese.email], mails[english.email]
    assert ja["Subject"].startswith("【株式会社テスト】面談評価のご依頼")
    body = ja.get_body(("plain",)).get_content()
    assert body.startswith("山田 花子 様") and "一次面接" in body and link in body and "評価" in body
    assert en["Subject"].startswith("[株式会社テスト] Request to evaluate an interview")
    body = en.get_body(("plain",)).get_content()
    assert body.startswith("Dear Ann Lee,") and link in body and "to-evaluate" in body
