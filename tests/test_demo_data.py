"""`mendan demo`'s data: recordings that go through upload checks, face analysis and the AI
model, so a new user meets predictions with explanations."""

from __future__ import annotations

import json

import pytest

import plugins.ai_model.plugin as ai_model_plugin
import plugins.face_features.plugin as face_features_plugin
from mendan.demo_data import UNEVALUATED, grow_demo
from core.interviews.tables import Interview, Recording
from core.tenancy import TenantScope
from plugins.ai_model.tables import ModelVersion, Prediction
from tests.test_face_features import models  # noqa: F401  (the verified model files fixture)

COUNT = 14


@pytest.fixture
def host(host):
    host.register(face_features_plugin, key="face_features")
    host.register(ai_model_plugin, key="ai_model")
    return host


async def test_demo_interviews_are_recorded_analysed_modelled_and_predicted(
    app, client, make_tenant, models, monkeypatch  # noqa: F811
):
    monkeypatch.setenv("MENDAN_MODELS_DIR", str(models.parent))
    tenant = await make_tenant()
    seen = []
    message = await grow_demo(tenant, COUNT, lambda percent, what: seen.append(percent), seconds=10.5)
    assert "recorded and analysed" in message
    assert seen == sorted(seen) and seen[-1] == 100

    scope = TenantScope(tenant.id)
    assert await scope.count(Recording).where(Recording.state == "complete") == COUNT
    assert await scope.count(Interview).where(Interview.state == "analysed") == COUNT
    version = await scope.objects(ModelVersion).where(ModelVersion.active == True).first()  # noqa: E712
    assert version is not None and version.n_interviews == COUNT - UNEVALUATED
    predictions = await scope.objects(Prediction)
    predicted = {p.interview_id for p in predictions if p.value is not None}
    assert len(predicted) == UNEVALUATED
    for p in predictions:
        contributions = json.loads(p.contributions) if isinstance(p.contributions, str) else p.contributions
        assert contributions and contributions[0][0].startswith("face_features.")

    assert "already" in await grow_demo(tenant, COUNT, lambda *_: None)


@pytest.fixture
def speech(host):
    from plugins.speech import plugin as speech_plugin

    host.register(speech_plugin, key="speech")


@pytest.mark.speech_model
async def test_demo_recordings_speak_and_are_transcribed(speech, app, client, make_tenant, models,  # noqa: F811
                                                         monkeypatch):
    from core.db.tables import Job
    from core.interviews.api import transcript_of

    monkeypatch.setenv("MENDAN_MODELS_DIR", str(models.parent))
    tenant = await make_tenant()

    await grow_demo(tenant, 2, lambda *_: None, seconds=10.5)

    scope = TenantScope(tenant.id)
    recordings = await scope.objects(Recording)
    assert len(recordings) == 2
    for recording in recordings:
        transcript = await transcript_of(scope, recording.id)
        assert transcript is not None and len(transcript.text()) >= 10  # a Japanese answer was heard
    jobs = await Job.objects().where(Job.tenant == tenant.id)
    assert sum(j.actor == "speech.transcribe" for j in jobs) == 2
    assert [(j.actor, j.error) for j in jobs if j.state != "done"] == []


def test_demo_clips_are_h264_with_an_aac_answer_so_browsers_play_them(tmp_path):
    """Chromium shows no picture of MPEG-4 Part 2: the demo's clips are H.264 (yuv420p) and, once
    the speech plugin has given them an answer, AAC, in MP4."""
    import av

    from core.interviews.probe import browser_plays
    from core.media import probe
    from plugins.speech.demo import add_speech

    path = tmp_path / "interview-01.mp4"
    assert face_features_plugin.mendan_demo_recording(path=path, seconds=4.0, presence=0.8, head_movement=0.5,
                                                      smile=0.5) is True
    silent = probe(path)
    assert (silent.codec, silent.audio, silent.width, silent.height) == ("h264", (), 640, 480)
    assert add_speech(path, 4.0)
    spoken = probe(path)
    assert spoken.codec == "h264" and browser_plays(spoken.codec)
    assert [a.codec for a in spoken.audio] == ["aac"]
    assert spoken.duration_s == pytest.approx(4.0, abs=0.2) and spoken.frames == 100
    with av.open(str(path)) as container:
        assert container.streams.video[0].codec_context.pix_fmt == "yuv420p"  # not 4:4:4, which browsers refuse
