"""A retake replaces the earlier answer (issue 14): the earlier take stays stored, but
analysis, features, transcripts, re-analysis and the review page's answer read the last take."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.features import features_by_question, features_of
from core.hookspecs import hookimpl
from core.interviews.analysis import Target, run_extractor
from core.interviews.api import Recording, store_transcript, transcripts_of_interview
from core.interviews.reanalysis import reanalyse
from core.plugins import PluginMeta
from core.tables import Tenant
from core.transcripts import Segment, Transcript
from tests.conftest import HTML, eventually, login
from tests.interview_fixtures import consent, join
from tests.test_self_interview import QUESTIONS, self_interview_of, send_answer
from tests.video_files import make_video
from plugins.self_interview import plugin as self_interview


class Characters:
    """Counts the answer's characters: a transcript extractor whose value tells the takes apart."""

    name = "characters"
    version = "1"
    input_kind = "transcript"

    def extract(self, source, progress):
        return {"count": float(len(source.text))}


class CharactersPlugin:
    @hookimpl
    def mendan_plugin_meta(self):
        return PluginMeta(key="characters", name_ja="文字数", name_en="Characters", version="1", kind="basic",
                          hours="batch")

    @hookimpl
    def mendan_feature_extractors(self):
        return [Characters()]


@pytest.fixture
def plugins(host):
    host.register(self_interview, key="self_interview")
    host.register(CharactersPlugin(), key="characters")
    Characters.version = "1"
    yield host
    Characters.version = "1"


FIRST = "えっと、緊張して何も言えませんでした。"
LAST = "大学ではサッカー部のキャプテンを務め、練習メニューを見直して県大会で準優勝しました。"


def said(text: str) -> Transcript:
    return Transcript(language="ja", source="test", segments=(Segment(0.0, 4.0, text, 0.9),))


async def test_a_retake_replaces_the_earlier_take_in_features_transcripts_and_reanalysis(
        plugins, client, make_tenant, make_user, tmp_path: Path):
    tenant = await make_tenant()
    setup = await self_interview_of(tenant, make_user, questions=QUESTIONS[:1])
    interview, scope = setup["interview"], setup["scope"]
    video = make_video(tmp_path / "answer.webm", seconds=1).read_bytes()
    await consent(tenant, setup["interviewee"])
    await join(client, tenant, setup["interviewee"], interview)

    await send_answer(client, tenant, interview, "q1", video)
    first = await scope.objects(Recording).where(Recording.interview == interview.id).first()
    await store_transcript(scope, first.id, said(FIRST))
    await eventually(lambda: _count_is(scope, interview.id, len(FIRST)), what="the first take's features")

    await send_answer(client, tenant, interview, "q1", video)  # the retake
    takes = await scope.objects(Recording).where(Recording.interview == interview.id).order_by(Recording.sequence)
    assert [t.state for t in takes] == ["superseded", "complete"]
    last = takes[1]
    assert await features_of(scope, interview.id) == {}  # the earlier take's features no longer count
    await store_transcript(scope, last.id, said(LAST))
    await eventually(lambda: _count_is(scope, interview.id, len(LAST)), what="the last take's features")

    assert [(t.recording_id, t.transcript.text()) for t in await transcripts_of_interview(scope, interview.id)] == [
        (last.id, LAST)]
    assert await features_by_question(scope, interview.id) == {"q1": {"characters.count": float(len(LAST))}}
    # A job of the earlier take queued before the retake stores nothing.
    row = await Tenant.objects().where(Tenant.id == tenant.id).first()
    assert await run_extractor(row, interview.id, Characters(), Target(first.id, None, "q1")) == 0
    assert await features_of(scope, interview.id) == {"characters.count": float(len(LAST))}

    # A re-analysis by a new version of the extractor reads the last take only.
    Characters.version = "2"
    assert await reanalyse(str(tenant.id), interview_id=str(interview.id)) == "1 interviews re-analysed"
    assert await features_of(scope, interview.id) == {"characters.count": float(len(LAST))}
    assert (await scope.get(Recording, first.id)).blob_key  # nothing was deleted

    client.cookies.clear()
    await login(client, tenant, setup["interviewer"])
    review = await client.get(f"/t/{tenant.slug}/self_interview/{interview.id}/review", headers=HTML)
    assert review.status_code == 200 and str(last.id) in review.text and str(first.id) not in review.text
    assert "1回撮り直しました" in review.text and LAST in review.text and FIRST not in review.text


async def _count_is(scope, interview_id, expected: int) -> bool:
    return await features_of(scope, interview_id) == {"characters.count": float(expected)}
