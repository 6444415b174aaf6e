"""Audio from a recording: decoded with PyAV to 16 kHz mono float32, in blocks, and voice activity.

Blocks keep a two-hour recording's memory bounded (10 minutes of 16 kHz float32 is 38 MB).
Voice activity is the Silero VAD that ships inside faster-whisper (no download).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

from core.tasks import JobRefused
from core.web.i18n import gettext as _

SAMPLE_RATE = 16000


class AudioMissing(JobRefused):
    """The recording has no audio stream, or it cannot be decoded: there is nothing to hear."""


def has_audio(path: Path) -> bool:
    """True when the file opens and holds at least one audio stream."""
    try:
        with av.open(str(path)) as container:
            return bool(container.streams.audio)
    except (av.error.FFmpegError, OSError):
        return False


def duration_s(path: Path) -> float | None:
    """The container's duration in seconds, None when it does not say (MediaRecorder's webm)."""
    try:
        with av.open(str(path)) as container:
            return container.duration / av.time_base if container.duration else None
    except (av.error.FFmpegError, OSError):
        return None


def audio_blocks(path: Path, block_s: float = 600.0) -> Iterator[tuple[float, np.ndarray]]:
    """Yield (start in seconds, samples) of the first audio stream, 16 kHz mono float32 in [-1, 1].

    Raises AudioMissing when the file cannot be opened or has no audio stream.
    """
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise AudioMissing(_("Audio missing: the recording cannot be opened (%(error)s).") % {"error": exc}) from exc
    with container:
        if not container.streams.audio:
            raise AudioMissing(_("Audio missing: the recording has no audio track."))
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        block_len = int(block_s * SAMPLE_RATE)
        pending: list[np.ndarray] = []
        held = 0
        start = 0
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    pending.append(out.to_ndarray().reshape(-1))
                    held += pending[-1].size
                while held >= block_len:
                    joined = np.concatenate(pending)
                    yield start / SAMPLE_RATE, joined[:block_len].astype(np.float32) / 32768.0
                    start += block_len
                    pending, held = [joined[block_len:]], joined.size - block_len
            for out in resampler.resample(None):
                pending.append(out.to_ndarray().reshape(-1))
        except av.error.FFmpegError as exc:
            raise AudioMissing(_("Audio missing: the audio track cannot be decoded (%(error)s).") % {"error": exc}) from exc
        rest = np.concatenate(pending) if pending else np.zeros(0, np.int16)
        if rest.size:
            yield start / SAMPLE_RATE, rest.astype(np.float32) / 32768.0


def decode_audio(path: Path) -> np.ndarray:
    """The whole audio track at once (for short answers); see `audio_blocks`."""
    blocks = [samples for _start, samples in audio_blocks(path)]
    return np.concatenate(blocks) if blocks else np.zeros(0, np.float32)


def speech_spans(samples: np.ndarray, min_silence_s: float = 0.25) -> list[tuple[float, float]]:
    """[(start, end)] in seconds where Silero VAD hears speech; a silence shorter than
    `min_silence_s` does not split a span (so spans are separated by real pauses)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    if samples.size < SAMPLE_RATE // 10:
        return []
    options = VadOptions(min_silence_duration_ms=int(min_silence_s * 1000), speech_pad_ms=30)
    return [(span["start"] / SAMPLE_RATE, span["end"] / SAMPLE_RATE)
            for span in get_speech_timestamps(samples, options, sampling_rate=SAMPLE_RATE)]
