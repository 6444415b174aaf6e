"""The avatar's voice: server-made speech that a browser can play, with mouth timings that follow
the speech, cached per tenant under the tenant's key."""

from __future__ import annotations

import asyncio
import io

import av
import numpy as np
import pytest

from core.web.i18n import current_language
from plugins.self_interview import speech_synthesis
from plugins.self_interview.speech_synthesis import SpeechSynthesisError, spoken_text, synthesise

VOICE_APP = "plugins.self_interview.voice_piccolo_app"
QUESTION_JA = "これまでのお仕事で、チームの成果を上げるために工夫したことを教えてください。"
QUESTION_EN = "What did you do yourself to reach that result?"


def decoded(audio: bytes) -> tuple[np.ndarray, int]:
    """The audio as a browser's decoder would see it: PyAV reads the file and yields mono samples."""
    with av.open(io.BytesIO(audio)) as container:
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        samples = np.concatenate([frame.to_ndarray().reshape(-1) for frame in container.decode(stream)])
    return samples.astype(np.float64), rate


def check_playable_with_mouth(spoken) -> None:
    samples, rate = decoded(spoken.audio)
    assert spoken.media_type == "audio/wav"
    assert abs(len(samples) / rate - spoken.duration_s) < 0.01
    mouth = spoken.mouth
    assert mouth, "the mouth never opens"
    assert all(0 <= s < e <= spoken.duration_s + 1e-6 and 0 < o <= 1 for s, e, o in mouth)
    assert all(a[1] <= b[0] for a, b in zip(mouth, mouth[1:])), "spans overlap or are out of order"
    # The mouth is open where the sound is: loud frames lie in open spans, the silence around the
    # speech (OpenJTalk and piper pad it) does not.
    frame = int(rate * 0.05)
    rms = np.sqrt(np.mean(samples[: len(samples) // frame * frame].reshape(-1, frame) ** 2, axis=1))
    open_frames = np.zeros(len(rms), dtype=bool)
    for s, e, _o in mouth:
        open_frames[int(round(s / 0.05)):int(round(e / 0.05))] = True
    loud = rms > 0.3 * np.percentile(rms, 95)
    assert loud.sum() > 10
    assert open_frames[loud].mean() > 0.95
    assert mouth[0][0] < 0.3 * spoken.duration_s and mouth[-1][1] > 0.7 * spoken.duration_s
    assert open_frames.sum() / len(open_frames) < 0.98, "the mouth is open through silence too"


def test_a_japanese_question_is_spoken_as_playable_audio_with_mouth_timings():
    spoken = synthesise(QUESTION_JA, "ja")

    assert spoken.voice == "openjtalk-mei_normal"
    assert 3.0 < spoken.duration_s < 12.0
    assert decoded(spoken.audio)[1] == 24000  # OpenJTalk's 48 kHz halved for phones
    check_playable_with_mouth(spoken)


def test_an_english_question_is_spoken_by_the_shipped_piper_voice():
    spoken = synthesise(QUESTION_EN, "en")

    assert spoken.voice == "piper-joe-us"
    assert 1.0 < spoken.duration_s < 6.0
    check_playable_with_mouth(spoken)


def test_espeak_ng_speaks_english_where_piper_is_missing(monkeypatch):
    monkeypatch.setattr(speech_synthesis, "_piper_available", lambda: False)

    spoken = synthesise(QUESTION_EN, "en")

    assert spoken.voice == "espeak-ng-en-us"
    check_playable_with_mouth(spoken)


@pytest.mark.parametrize(("text", "language", "ja", "en"), [
    ("。 、\n", "ja", "読み上げる文がありません", "no text"),
    ("", "en", "読み上げる文がありません", "no text"),
    ("Bonjour", "fr", "fr の言語", "cannot speak the language fr"),
    ("あ" * 501, "ja", "500 文字", "longer than 500 characters"),
])
def test_text_that_cannot_be_spoken_is_refused_with_a_message_in_both_languages(text, language, ja, en):
    for lang, expected in (("ja", ja), ("en", en)):
        token = current_language.set(lang)
        try:
            with pytest.raises(SpeechSynthesisError) as refused:
                synthesise(text, language)
        finally:
            current_language.reset(token)
        assert expected in str(refused.value)


@pytest.fixture(scope="module")
def voice_table(mendan_database):
    """The voice cache's migration, run like `mendan migrate` does once the plugin registers the app."""
    from core.db.migrate import migrate
    from mendan.assembly import assemble

    apps = assemble().piccolo_apps()
    asyncio.run(migrate(mendan_database, apps if VOICE_APP in apps else [*apps, VOICE_APP]))


async def test_spoken_text_is_cached_per_tenant_encrypted(voice_table, app, make_tenant, storage, monkeypatch):
    from core.tenancy import TenantScope
    from plugins.self_interview.tables_voice import SelfInterviewVoice

    tenant, other = await make_tenant(name="音声株式会社"), await make_tenant(name="別会社")
    first = await spoken_text(tenant.id, QUESTION_JA, "ja")
    row = await TenantScope(tenant.id).objects(SelfInterviewVoice).first()
    assert row.voice == "openjtalk-mei_normal" and row.duration_s == first.duration_s
    # Sealed under the tenant's key: the stored file is not the WAV, the store gives the WAV back.
    raw = (storage.root / str(tenant.id) / row.blob_key).read_bytes()
    assert b"RIFF" not in raw[:64] and QUESTION_JA.encode() not in raw
    assert b"".join(storage.read(storage.tenant_key(tenant), row.blob_key)) == first.audio

    calls = []
    monkeypatch.setattr(speech_synthesis, "synthesise", lambda *a: calls.append(a) or first)
    again = await spoken_text(tenant.id, " " + QUESTION_JA + "\n", "ja")
    assert again == first and calls == []
    assert await TenantScope(tenant.id).count(SelfInterviewVoice) == 1
    # Another tenant renders its own copy, sealed under its own key.
    await spoken_text(other.id, QUESTION_JA, "ja")
    assert len(calls) == 1 and await TenantScope(other.id).count(SelfInterviewVoice) == 1


async def test_a_cache_row_whose_audio_is_gone_is_rendered_again(voice_table, app, make_tenant, storage):
    from core.tenancy import TenantScope
    from plugins.self_interview.tables_voice import SelfInterviewVoice

    tenant = await make_tenant(name="再生成株式会社")
    first = await spoken_text(tenant.id, "ありがとうございます。", "ja")
    row = await TenantScope(tenant.id).objects(SelfInterviewVoice).first()
    storage.delete(storage.tenant_key(tenant), row.blob_key)

    again = await spoken_text(tenant.id, "ありがとうございます。", "ja")

    assert again.audio == first.audio
    assert await TenantScope(tenant.id).count(SelfInterviewVoice) == 1
