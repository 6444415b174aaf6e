"""summary on the interview result page: a panel whose script loads the summary (per answer and whole
interview), each sentence playing the recording from its second; interactive hours; billed once."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from uuid import uuid4

import pytest

from billing.tables import UsageRow
from core.hours import TOKYO
from core.interviews.api import Recording, store_transcript
from core.transcripts import Segment, Transcript
from plugins.summary import plugin as summary_plugin
from plugins.summary.plugin import INTERVIEWS
from tenants.contracts import create_contract
from tests.conftest import HTML, login
from tests.interview_fixtures import make_interview
from tests.test_summary import FIGURES_JA, ORDER_JA

SECOND = ("新しい部署では三か月で手順書を作りました。", "後輩の指導も担当しました。", "よろしくお願いします。")


@pytest.fixture
def summary(host):
    host.register(summary_plugin, key="summary")
    return host


def spoken(sentences, seconds=4.0) -> Transcript:
    return Transcript("ja", "test", tuple(Segment(i * seconds, (i + 1) * seconds - 0.5, s, 0.9)
                                          for i, s in enumerate(sentences)))


async def add_recording(scope, interview, filename, sequence=0, uploaded_by=None) -> Recording:
    return await scope.add(Recording(
        id=uuid4(), interview=interview.id, sequence=sequence, container="webm", size=1, sha256="0" * 64,
        state="complete",
        blob_key=f"recordings/{interview.id}/{filename}", filename=filename, uploaded_by=uploaded_by,
        completed_at=datetime.now(timezone.utc)))


async def test_the_result_page_shows_a_summary_whose_sentences_play_the_video(summary, app, client, make_tenant,
                                                                              make_user):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user, kind="self")
    scope, interview = setup["scope"], setup["interview"]
    first = await add_recording(scope, interview, "q1.webm", sequence=1)
    second = await add_recording(scope, interview, "q2.webm", sequence=2)
    for recording, said in ((first, ORDER_JA), (second, SECOND)):
        await store_transcript(scope, recording.id, spoken(said))
    await login(client, tenant, setup["admin"])

    page = await client.get(f"/t/{tenant.slug}/interviews/{interview.id}", headers=HTML)
    src = f"/t/{tenant.slug}/summary/interviews/{interview.id}"
    assert f'data-summary-src="{src}"' in page.text and f"/t/{tenant.slug}/summary/summary.js" in page.text
    assert "<script>" not in page.text
    script = await client.get(f"/t/{tenant.slug}/summary/summary.js")
    assert script.status_code == 200 and script.headers["content-type"] == "text/javascript; charset=utf-8"

    fragment = await client.get(src, headers=HTML)
    assert fragment.status_code == 200
    whole, *answers = fragment.text.split("<h3>")[1:]
    assert len(answers) == 2 and "q1.webm" in answers[0] and "q2.webm" in answers[1]
    for sentence in FIGURES_JA:  # the sentences that carry the figures are kept, with where they were said
        start = ORDER_JA.index(sentence) * 4.0
        assert re.search(rf'data-recording="{first.id}" data-start="{start}"[^>]*>[^<]*</button> {sentence}',
                         whole), sentence
    assert f'data-recording="{second.id}" data-start="0.0"' in answers[1] and SECOND[0] in answers[1]

    assert (await client.get(src, headers=HTML)).text == fragment.text  # seen again: the stored summary
    # A staff edit of the second answer (a new revision) is summarised again; billed once all the same.
    await store_transcript(scope, second.id, spoken((SECOND[0], "後輩の指導では週に一度の面談を続けました。")))
    edited = await client.get(src, headers=HTML)
    assert "週に一度の面談" in edited.text and SECOND[1] not in edited.text
    rows = await UsageRow.select(UsageRow.meter, UsageRow.quantity).where(UsageRow.tenant == tenant.id)
    assert rows == [{"meter": INTERVIEWS, "quantity": 1}]


async def test_no_transcript_no_summary_and_interviewees_and_other_tenants_get_404(summary, app, client,
                                                                                    make_tenant, make_user):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user, kind="self")
    src = f"/t/{tenant.slug}/summary/interviews/{setup['interview'].id}"
    await login(client, tenant, setup["admin"])
    empty = await client.get(src, headers=HTML)
    assert empty.status_code == 200 and "文字起こしがまだありません" in empty.text
    assert await UsageRow.count().where(UsageRow.tenant == tenant.id) == 0

    outsider = await make_user(tenant, "interviewer")
    await login(client, tenant, outsider)
    assert (await client.get(src, headers=HTML)).status_code == 404
    other = await make_tenant()
    await login(client, other, await make_user(other, "admin"))
    assert (await client.get(f"/t/{other.slug}/summary/interviews/{setup['interview'].id}",
                             headers=HTML)).status_code == 404


async def test_the_summary_follows_service_hours(summary, app, client, make_tenant, make_user, monkeypatch):
    tenant = await make_tenant()
    await create_contract(tenant.id, by=None, course="weekday",
                          starts_on=(datetime.now(TOKYO) - timedelta(days=30)).date())
    setup = await make_interview(tenant, make_user, kind="self")
    recording = await add_recording(setup["scope"], setup["interview"], "q1.webm")
    await store_transcript(setup["scope"], recording.id, spoken(ORDER_JA))
    await login(client, tenant, setup["interviewer"])
    saturday = datetime(2026, 12, 5, 12, 0, tzinfo=TOKYO)
    monkeypatch.setattr("core.hours.now", lambda: saturday)

    closed = await client.get(f"/t/{tenant.slug}/summary/interviews/{setup['interview'].id}", headers=HTML)

    assert closed.status_code == 503
    assert await UsageRow.count().where(UsageRow.tenant == tenant.id) == 0
