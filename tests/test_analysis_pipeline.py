"""The analysis pipeline v2 (issue 11): recordings per interview aggregated into the interview's
features, one `mendan_interview_analysed` per analysis, transcripts stored and their
extractors run. The videos are real files made here (tests/media_fixtures.py)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from uuid import uuid4

import pytest

import plugins.ai_model.plugin as ai_model_plugin
from core.interviews.analysis import Target, finish_step, queue_analysis
from core.db.tables import AnalysisRun, AnalysisStep, FeatureValue, Job, TranscriptRecord
from core.features import combine, RecordingFeatures, features_by_question, features_by_recording, features_of
from core.hookspecs import hookimpl
from core.interviews.tables import Recording
from core.interviews.completion import announce_completion
from core.media import probe
from core.plugins import PluginMeta
from core.tasks import JobRefused
from core.tenancy import TenantScope
from core.interviews.transcripts import store_transcript, transcript_of, transcripts_of_interview
from core.transcripts import Segment, Transcript, Word
from tests import media_fixtures as mf
from tests.conftest import wait_for_job
from tests.interview_fixtures import make_interview


class Clock:
    """A video extractor that reads the recording's timing through core.media."""

    name = "clock"
    version = "1"
    input_kind = "video"

    def extract(self, source, progress):
        info = probe(source.path)
        progress(100, "probed")
        return {"duration_s": info.duration_s, "fps_mean": info.average_fps, "frames_count": float(info.frames)}


class Sizer:
    """A second video extractor, failing for good on purpose when told to."""

    name = "clock_size"
    version = "1"
    input_kind = "video"
    refuse = False

    def extract(self, source, progress):
        if Sizer.refuse:
            raise JobRefused("this extractor refuses the file")
        info = probe(source.path)
        return {"height_ratio": info.height / info.width}


class Watcher:
    def __init__(self) -> None:
        self.analysed: list[dict] = []
        self.extracted: list[str] = []

    @hookimpl
    def mendan_plugin_meta(self):
        return PluginMeta(key="clock", name_ja="時計", name_en="Clock", version="1", kind="basic", hours="batch")

    @hookimpl
    def mendan_feature_extractors(self):
        return [Clock(), Sizer()]

    @hookimpl
    def mendan_features_extracted(self, tenant_id, interview_id, extractor):
        self.extracted.append(extractor)

    @hookimpl
    def mendan_interview_analysed(self, tenant_id, interview_id, succeeded, failed):
        self.analysed.append({"interview_id": interview_id, "succeeded": succeeded, "failed": failed})


@pytest.fixture
def watcher(host):
    watcher = Watcher()
    host.register(watcher, key="clock")
    host.register(ai_model_plugin, key="ai_model")
    Sizer.refuse = False
    return watcher


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[str, mf.Made]:
    folder = tmp_path_factory.mktemp("pipeline-media")
    return {"vfr": mf.vfr_mp4(folder / "vfr.mp4"), "portrait": mf.portrait_mp4(folder / "portrait.mp4")}


async def add_recording(scope: TenantScope, storage, tenant, interview, made: mf.Made, sequence: int,
                        question_key: str | None = None) -> Recording:
    rec_id = uuid4()
    key = f"recordings/{interview.id}/{rec_id}.mp4"
    storage.write_file(storage.tenant_key(tenant), key, made.path)
    return await scope.add(Recording(
        id=rec_id, interview=interview.id, container="mp4", size=made.path.stat().st_size, sha256="0" * 64,
        state="complete", blob_key=key, question_key=question_key, sequence=sequence,
        completed_at=datetime.now(timezone.utc)))


async def wait_until(predicate, what: str, timeout: float = 120):
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.05)
    jobs = [(j.actor, j.state, j.error[:300]) for j in await Job.objects().order_by(Job.created_at, ascending=False).limit(4)]
    raise AssertionError(f"timed out waiting for {what}: {jobs}")


async def analysis_done(watcher: Watcher, count: int = 1):
    """Until the watcher heard `count` analysed hooks (what the tests assert on)."""
    async def done():
        return len(watcher.analysed) >= count
    await wait_until(done, "the analysis to be announced")


async def test_two_extractors_give_one_analysed_hook_and_one_prediction_job(
        watcher, app, client, make_tenant, make_user, storage, videos):
    tenant = await make_tenant()
    scope = TenantScope(tenant.id)
    interview = (await make_interview(tenant, make_user))["interview"]
    rec = await add_recording(scope, storage, tenant, interview, videos["vfr"], 0)
    await announce_completion(scope, app.state.plugin_host, interview, rec)
    await analysis_done(watcher)
    assert sorted(watcher.extracted) == ["clock", "clock_size"]  # per event, as before
    assert watcher.analysed == [{"interview_id": interview.id, "succeeded": ["clock", "clock_size"], "failed": []}]
    # ai_model predicts from the analysed hook: one prediction job for the whole analysis.
    predict_jobs = await Job.objects().where((Job.tenant == tenant.id) & (Job.actor == "ai_model.predict"))
    assert len(predict_jobs) == 1
    await wait_for_job(predict_jobs[0].id)
    features = await features_of(scope, interview.id)
    assert features["clock.duration_s"] == pytest.approx(6.0, abs=0.2)
    assert features["clock_size.height_ratio"] == pytest.approx(0.75)


async def test_an_extractor_that_fails_for_good_still_ends_the_analysis_once(
        watcher, app, client, make_tenant, make_user, storage, videos):
    Sizer.refuse = True
    tenant = await make_tenant()
    scope = TenantScope(tenant.id)
    interview = (await make_interview(tenant, make_user))["interview"]
    rec = await add_recording(scope, storage, tenant, interview, videos["vfr"], 0)
    jobs = await queue_analysis(tenant.id, interview.id, [Target(rec.id, rec.blob_key)])
    await analysis_done(watcher)
    assert {(await wait_for_job(j)).state for j in jobs} == {"done", "failed"}
    assert watcher.analysed == [{"interview_id": interview.id, "succeeded": ["clock"], "failed": ["clock_size"]}]


async def test_concurrently_finishing_steps_fire_exactly_once(watcher, app, make_tenant):
    tenant = await make_tenant()
    interview_id = uuid4()
    run = AnalysisRun(id=uuid4(), tenant=tenant.id, interview_id=interview_id, expected=6)
    await AnalysisRun.insert(run)
    steps = [AnalysisStep(id=uuid4(), tenant=tenant.id, run=run.id, extractor=f"clock_{i}") for i in range(6)]
    await AnalysisStep.insert(*steps)
    # Every step reported twice (a redelivered message), all at once.
    fired = await asyncio.gather(*[finish_step(s.id, succeeded=i % 2 == 0)
                                   for i, s in enumerate(steps + steps)])
    assert fired.count(True) == 1
    [call] = watcher.analysed
    assert call["succeeded"] == ["clock_0", "clock_2", "clock_4"] and call["failed"] == ["clock_1", "clock_3", "clock_5"]


async def test_two_live_segments_add_up_to_the_interview(watcher, app, client, make_tenant, make_user, storage, videos):
    tenant = await make_tenant()
    scope = TenantScope(tenant.id)
    interview = (await make_interview(tenant, make_user))["interview"]
    first = await add_recording(scope, storage, tenant, interview, videos["vfr"], 0, question_key="q1")
    await announce_completion(scope, app.state.plugin_host, interview, first)
    await analysis_done(watcher)
    only_first = await features_of(scope, interview.id)
    # A reconnect: the second segment's analysis adds to the first's instead of replacing it.
    second = await add_recording(scope, storage, tenant, interview, videos["portrait"], 1, question_key="q2")
    await announce_completion(scope, app.state.plugin_host, interview, second)
    await analysis_done(watcher, 2)
    both = await features_of(scope, interview.id)
    assert only_first["clock.duration_s"] == pytest.approx(6.0, abs=0.2)
    assert both["clock.duration_s"] == pytest.approx(9.0, abs=0.3)  # 6 s + 3 s: a sum
    assert both["clock.frames_count"] == 90 + 75
    # A rate is the mean weighted by each recording's duration: (6 x 15 + 3 x 25) / 9.
    assert both["clock.fps_mean"] == pytest.approx((6 * 15 + 3 * 25) / 9, rel=0.03)
    by_recording = await features_by_recording(scope, interview.id)
    assert by_recording[second.id].features["clock_size.height_ratio"] == pytest.approx(640 / 480)
    by_question = await features_by_question(scope, interview.id)
    assert by_question["q1"]["clock.duration_s"] == pytest.approx(6.0, abs=0.2)
    assert by_question["q2"]["clock_size.height_ratio"] == pytest.approx(640 / 480)
    assert len(watcher.analysed) == 2
    # Models read only the interview's own rows.
    assert await FeatureValue.count().where(
        (FeatureValue.interview_id == interview.id) & FeatureValue.recording_id.is_null()) == len(both)


def test_an_extractor_may_aggregate_its_recordings_itself():
    class Longest:
        def aggregate(self, per_recording):
            return {"longest_s": max(r.features["duration_s"] for r in per_recording)}

    recordings = [RecordingFeatures(uuid4(), None, {"duration_s": 4.0}), RecordingFeatures(uuid4(), None,
                                                                                           {"duration_s": 9.0})]
    assert combine(recordings, Longest()) == {"longest_s": 9.0}
    assert combine(recordings) == {"duration_s": 13.0}


def _hello_plugin():
    from importlib.metadata import entry_points

    found = [ep for ep in entry_points(group="mendan.plugins") if ep.name == "hello"]
    if not found:
        pytest.skip("examples/mendan-hello is not installed")
    return found[0].load()


async def test_a_stored_transcript_is_encrypted_revised_and_runs_the_transcript_extractors(
        host, app, client, make_tenant, make_user, storage, videos):
    host.register(_hello_plugin(), key="hello")
    tenant = await make_tenant()
    await host.set_enabled(tenant.id, "hello", True)
    scope = TenantScope(tenant.id)
    setup = await make_interview(tenant, make_user)
    interview = setup["interview"]
    rec = await add_recording(scope, storage, tenant, interview, videos["vfr"], 0, question_key="q1")
    said = Transcript(language="en", source="test", segments=(
        Segment(0.5, 2.0, "I led a small team", 0.9, "interviewee",
                (Word(0.5, 0.7, "I"), Word(0.7, 1.0, "led"), Word(1.0, 1.2, "a"), Word(1.2, 1.5, "small"),
                 Word(1.5, 2.0, "team"))),
        Segment(2.5, 4.0, "for three years", 0.8),
    ))
    stored = await store_transcript(scope, rec.id, said)
    assert stored.revision == 1 and len(stored.jobs) == 1
    job = await wait_for_job(stored.jobs[0])
    assert job.state == "done", job.error
    features = await features_of(scope, interview.id)
    assert features["hello_words.word_count"] == 8.0
    assert (await features_by_question(scope, interview.id))["q1"]["hello_words.word_count"] == 8.0
    assert await transcript_of(scope, rec.id) == said

    row = await TranscriptRecord.objects().where(TranscriptRecord.recording_id == rec.id).first()
    raw = (storage.root / str(tenant.id) / row.blob_key).read_bytes()
    assert b"small team" not in raw  # encrypted at rest

    # A staff edit is a new revision; the original stays; the extractors run again.
    editor = setup["interviewer"]
    edited = Transcript(language="en", source="test", segments=(Segment(0.5, 4.0, "I led a team", 0.9),))
    again = await store_transcript(scope, rec.id, edited, edited_by=editor.id)
    assert again.revision == 2
    await wait_for_job(again.jobs[0])
    assert (await features_of(scope, interview.id))["hello_words.word_count"] == 4.0
    [latest] = await transcripts_of_interview(scope, interview.id)
    assert (latest.transcript, latest.revision, latest.edited_by, latest.question_key) == (edited, 2, editor.id, "q1")
    assert await TranscriptRecord.count().where(TranscriptRecord.recording_id == rec.id) == 2


async def test_a_malformed_transcript_is_refused_and_another_tenants_recording_is_not_found(
        app, make_tenant, make_user, storage, videos):
    from litestar.exceptions import NotFoundException

    tenant, other = await make_tenant(), await make_tenant()
    scope = TenantScope(tenant.id)
    interview = (await make_interview(tenant, make_user))["interview"]
    rec = await add_recording(scope, storage, tenant, interview, videos["vfr"], 0)
    with pytest.raises(ValueError, match="span"):
        await store_transcript(scope, rec.id, Transcript("ja", "test", (Segment(3.0, 1.0, "逆"),)))
    with pytest.raises(ValueError, match="0-1"):
        await store_transcript(scope, rec.id, Transcript("ja", "test", (Segment(0.0, 1.0, "はい", 1.5),)))
    with pytest.raises(NotFoundException):
        await store_transcript(TenantScope(other.id), rec.id, Transcript("ja", "test"))
    assert await TranscriptRecord.count().where(TranscriptRecord.recording_id == rec.id) == 0


async def test_transcripts_go_with_the_tenants_purge(watcher, app, client, make_tenant, make_user, storage, videos):
    from tenants.retention import purge_tenant

    tenant = await make_tenant()
    scope = TenantScope(tenant.id)
    interview = (await make_interview(tenant, make_user))["interview"]
    rec = await add_recording(scope, storage, tenant, interview, videos["vfr"], 0)
    await store_transcript(scope, rec.id, Transcript("ja", "test", (Segment(0.0, 1.0, "はい"),)))
    row = await TranscriptRecord.objects().where(TranscriptRecord.recording_id == rec.id).first()
    assert (storage.root / str(tenant.id) / row.blob_key).exists()
    await purge_tenant(tenant.id, reason="request")
    assert await TranscriptRecord.count().where(TranscriptRecord.tenant == tenant.id) == 0
    assert not (storage.root / str(tenant.id) / row.blob_key).exists()
