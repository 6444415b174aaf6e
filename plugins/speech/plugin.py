"""speech: what the interviewee says, as transcripts and voice features (a basic service).

Adds
- the speech recogniser (`mendan_speech_recogniser`), chosen per tenant by `SpeechSettings.backend`:
  faster-whisper with the shipped Whisper base model (default, ./whisper_backend.py) or a
  local NeMo checkpoint (./nemo_backend.py, the optional extra `nemo`);
- the Whisper model files for `mendan models fetch` (`mendan_model_files`);
- the audio extractor `speech_voice` (speaking ratio, pauses, loudness variation, ./voice_features.py);
- browser transcripts (Web Speech API) accepted at lower confidence (./browser.py);
- speech for the demo's silent clips (`mendan_demo_speech`, ./demo.py);
- the job `speech.transcribe`, queued when an interviewee's recording completes (./jobs.py);
- the transcript page (time-synced with the video, search, staff edits, text and WebVTT downloads)
  and a panel on the interview page with each recording's transcription state, whose script puts
  the WebVTT captions on the page's recording players (./routes.py, ./static/speech.js).
- the transcripts, read-only, in the REST API v1 under /api/v1/t/{tenant}/speech/ (./api.py).
Only the interviewee's recording is handed to the recogniser (jobs.is_interviewees).
"""

from __future__ import annotations

from pathlib import Path

from core.hookspecs import hookimpl
from core.plugins import PluginMeta
from plugins.speech.settings import SpeechSettings, speech_settings
from plugins.speech.model_files import LANGUAGES, WHISPER_BASE


@hookimpl
def mendan_plugin_meta() -> PluginMeta:
    return PluginMeta(
        key="speech",
        name_ja="音声認識",
        name_en="Speech recognition",
        version="1.0.0",
        kind="basic",
        hours="batch",
        model_licences=(str(WHISPER_BASE[0]), "NeMo checkpoint (optional, supplied by the operator): its own licence"),
        description_ja="被面談者の発話を文字起こしし、話している時間・間・声の抑揚を測ります。",
        description_en="Transcribes what the interviewee says and measures speaking time, pauses and vocal variation.",
        settings=SpeechSettings,
    )


@hookimpl
def mendan_model_files() -> list:
    return list(WHISPER_BASE)


def recogniser_for(settings: SpeechSettings):
    """The recogniser the settings choose (Whisper, or NeMo with its checkpoint)."""
    max_audio_s = settings.max_audio_minutes * 60.0
    if settings.backend == "nemo":
        from plugins.speech.nemo_backend import NemoRecogniser

        return NemoRecogniser(Path(settings.nemo_checkpoint), max_audio_s=max_audio_s)
    from plugins.speech.whisper_backend import WhisperRecogniser

    return WhisperRecogniser(beam_size=settings.beam_size, max_audio_s=max_audio_s)


@hookimpl
async def mendan_speech_recogniser(tenant_id, language):
    if language not in LANGUAGES:
        return None
    return recogniser_for(await speech_settings(tenant_id))


@hookimpl
def mendan_actors() -> dict:
    from plugins.speech.jobs import transcribe

    return {"transcribe": transcribe}


@hookimpl
def mendan_job_names() -> dict[str, tuple[str, str]]:
    return {"transcribe": ("文字起こし", "Transcription")}


@hookimpl
async def mendan_recording_completed(tenant_id, interview_id, recording_id) -> None:
    from plugins.speech.jobs import queue_transcription

    await queue_transcription(tenant_id, interview_id, recording_id)


@hookimpl
def mendan_route_handlers() -> list:
    from plugins.speech.routes import HANDLERS

    return HANDLERS


@hookimpl
def mendan_api_route_handlers() -> list:
    from plugins.speech.api import API_HANDLERS

    return API_HANDLERS


@hookimpl
def mendan_template_dirs() -> list:
    return [Path(__file__).parent / "templates"]


@hookimpl
async def mendan_interview_panels(tenant, interview) -> list:
    from plugins.speech.jobs import transcription_panel

    return [await transcription_panel(tenant, interview)]


@hookimpl
def mendan_demo_speech(path, seconds, language) -> bool:
    """The demo's silent clips get a Japanese answer read by OpenJTalk (./demo.py)."""
    if language != "ja":
        return False
    from plugins.speech.demo import add_speech

    add_speech(Path(path), float(seconds))
    return True


@hookimpl
def mendan_feature_extractors() -> list:
    from plugins.speech.voice_features import VoiceActivityExtractor

    return [VoiceActivityExtractor()]
