"""The NeMo recogniser: a `.nemo` checkpoint the operator obtained and placed on the workers.

Optional (`pip install -e '.[nemo]'`, CPU torch 2.13.0 first). Restored with
`ASRModel.restore_from` from a local file, never `from_pretrained` (nothing is downloaded),
once per worker process. NeMo's CTC/TDT models have no voice activity detection of their own
and take at most a few tens of seconds at a time, so the audio is cut at the pauses the
Silero VAD finds into pieces of up to `MAX_PIECE_S`, and each piece becomes a segment.
"""

from __future__ import annotations

import tempfile
import threading
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np

from core.tasks import JobRefused
from core.transcripts import Segment, Transcript
from core.web.i18n import N_, gettext as _
from plugins.speech.audio import SAMPLE_RATE, audio_blocks, speech_spans

Progress = Callable[[int, str], None]
MAX_PIECE_S = 20.0
JOIN_PAUSE_S = 1.0  # a shorter pause is within a sentence: its two sides go to the model together
_models: dict[tuple[str, float], object] = {}
_models_lock = threading.Lock()


class NemoUnavailable(JobRefused):
    """NeMo is not installed, or the configured checkpoint is missing or not a `.nemo` file."""


def nemo_model(checkpoint: Path):
    """The restored model, once per process and checkpoint file (a replaced file is restored again)."""
    if checkpoint.suffix != ".nemo" or not checkpoint.is_file():
        raise NemoUnavailable(_("The NeMo checkpoint %(path)s is missing or is not a .nemo file.")
                              % {"path": checkpoint})
    key = (str(checkpoint.resolve()), checkpoint.stat().st_mtime)
    with _models_lock:
        if key not in _models:
            try:
                from nemo.collections.asr.models import ASRModel
            except ImportError as exc:
                raise NemoUnavailable(_("NeMo is not installed: pip install -e '.[nemo]'.")) from exc
            model = ASRModel.restore_from(str(checkpoint), map_location="cpu")
            model.eval()
            _models[key] = model
        return _models[key]


def pieces(spans: list[tuple[float, float]], max_s: float = MAX_PIECE_S) -> list[tuple[float, float]]:
    """Speech spans joined across pauses shorter than JOIN_PAUSE_S into pieces of at most `max_s`
    seconds (a longer span is split evenly); each piece becomes one segment."""
    merged: list[tuple[float, float]] = []
    for start, end in spans:
        if merged and start - merged[-1][1] < JOIN_PAUSE_S and end - merged[-1][0] <= max_s:
            merged[-1] = (merged[-1][0], end)
            continue
        count = max(1, int(np.ceil((end - start) / max_s)))
        step = (end - start) / count
        merged += [(start + i * step, start + (i + 1) * step) for i in range(count)]
    return merged


class NemoRecogniser:
    """`transcribe(path, language, progress)` -> Transcript; see `core.hookspecs.mendan_speech_recogniser`."""

    def __init__(self, checkpoint: Path, max_audio_s: float = 3 * 3600.0) -> None:
        self.checkpoint = checkpoint
        self.max_audio_s = max_audio_s
        self.name = f"nemo:{checkpoint.name}"

    def transcribe(self, path: Path, language: str, progress: Progress) -> Transcript:
        """One segment per speech piece, times in seconds; an empty transcript means no speech found.
        Raises AudioMissing, NemoUnavailable. The checkpoint's own language is what it recognises."""
        model = nemo_model(self.checkpoint)
        segments: list[Segment] = []
        with tempfile.TemporaryDirectory(prefix="mendan-nemo-") as tmp:
            for offset, samples in audio_blocks(path):
                if offset + samples.size / SAMPLE_RATE > self.max_audio_s + 1:
                    raise JobRefused(_("The recording is longer than %(minutes)d minutes, the limit for transcription.")
                                     % {"minutes": int(self.max_audio_s // 60)})
                spans = pieces(speech_spans(samples))
                files = []
                for index, (start, end) in enumerate(spans):
                    files.append(Path(tmp) / f"{offset:.0f}-{index}.wav")
                    _write_wav(files[-1], samples[int(start * SAMPLE_RATE):int(end * SAMPLE_RATE)])
                texts = model.transcribe([str(f) for f in files], batch_size=4, verbose=False) if files else []
                for (start, end), hypothesis in zip(spans, texts):
                    text = (hypothesis if isinstance(hypothesis, str) else hypothesis.text).strip()
                    if text:
                        segments.append(Segment(start=round(offset + start, 3), end=round(offset + end, 3), text=text))
                progress(99, N_("transcribing"))
        progress(100, N_("transcribed"))
        return Transcript(language=language, source=self.name, segments=tuple(segments))


def _write_wav(path: Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype(np.int16).tobytes())
