"""Speech for `mendan demo`'s recordings: Japanese answer sentences read by OpenJTalk (it ships
in pyopenjtalk-plus's wheel), muxed into the silent demo video, so the demo shows transcripts
and summaries made by the same job as a real interview's."""

from __future__ import annotations

import zlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from plugins.speech.testing import japanese_sentences, japanese_speech


PAUSE_S = 0.5  # between sentences


def demo_answer(seconds: float, seed: int) -> tuple[np.ndarray, int, list[str]]:
    """Japanese interview sentences (reproducible from `seed`) read aloud, as many whole sentences
    as fit in `seconds`: (int16 samples, at most `seconds` long; rate; the sentences said, in order).

    A sentence that would run past the clip's end is left out, never cut mid-word (only the pause
    after the last one may be shortened); a clip too short for any sentence gets silence."""
    rate = 48000  # OpenJTalk's; taken from what it returns below
    pieces: list[np.ndarray] = []
    said: list[str] = []
    for sentence in japanese_sentences(max(2, int(seconds // 3)), seed=seed):
        samples, rate = japanese_speech([sentence], pause_s=PAUSE_S)
        spoken = sum(p.size for p in pieces) + samples.size - int(PAUSE_S * rate)
        if spoken > seconds * rate:
            if said:
                break
            continue  # nothing said yet: a shorter sentence may still fit
        pieces.append(samples)
        said.append(sentence)
    budget = int(seconds * rate)
    if not pieces:
        return np.zeros(budget, np.int16), rate, []
    return np.concatenate(pieces)[:budget], rate, said


def add_speech(path: Path, seconds: float) -> list[str]:
    """Replace the MP4 at `path` by the same video with an AAC track of a Japanese answer of whole
    sentences that fit in `seconds` (`demo_answer`, seeded by the file's name); returns them."""
    samples, rate, said = demo_answer(seconds, seed=zlib.crc32(path.name.encode()))
    out_path = path.with_suffix(".speech.mp4")
    with av.open(str(path)) as source, av.open(str(out_path), "w") as out:
        video_in = source.streams.video[0]
        video_out = out.add_stream_from_template(video_in)
        audio = out.add_stream("aac", rate=rate, layout="mono")
        for packet in source.demux(video_in):
            if packet.dts is None:
                continue
            packet.stream = video_out
            out.mux(packet)
        step = rate // 10
        for start in range(0, samples.size, step):
            frame = av.AudioFrame.from_ndarray(samples[None, start:start + step], format="s16", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            for encoded in audio.encode(frame):
                out.mux(encoded)
        for encoded in audio.encode(None):
            out.mux(encoded)
    out_path.replace(path)
    return said
