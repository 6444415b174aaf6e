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


def demo_answer(seconds: float, seed: int) -> tuple[np.ndarray, int]:
    """Japanese interview sentences (reproducible from `seed`) read aloud, cut to `seconds`: (int16, rate)."""
    sentences = japanese_sentences(max(1, int(seconds // 4)), seed=seed)
    samples, rate = japanese_speech(sentences, pause_s=0.5)
    return samples[: int(seconds * rate)], rate


def add_speech(path: Path, seconds: float) -> None:
    """Replace the MP4 at `path` by the same video with an AAC track of a Japanese answer."""
    samples, rate = demo_answer(seconds, seed=zlib.crc32(path.name.encode()))
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
