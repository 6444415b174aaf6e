"""Short real videos made with PyAV, for upload tests and the upload benchmark."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

CODECS = {"webm": "libvpx", "mp4": "mpeg4"}


def make_video(path: Path, *, seconds: float = 1.0, fps: int = 10, size: tuple[int, int] = (160, 120),
               noise: bool = False) -> Path:
    """A moving colour gradient, WebM (VP8) or MP4 (MPEG-4 Part 2) by the file's suffix.

    With `noise`, random pixels at a high bit rate: a file of some megabytes from a second of video.
    """
    container = path.suffix.lstrip(".")
    width, height = size
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream(CODECS[container], rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, fps)
        if noise:
            stream.bit_rate = 50_000_000
        rng = np.random.default_rng(7)
        ys, xs = np.mgrid[0:height, 0:width]
        for n in range(int(seconds * fps)):
            if noise:
                rgb = rng.integers(0, 256, (height, width, 3))
            else:
                rgb = np.stack([(xs + n * 8) % 256, (ys + n * 4) % 256, np.full_like(xs, (n * 16) % 256)], axis=-1)
            frame = av.VideoFrame.from_ndarray(rgb.astype(np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def make_iphone_mov(path: Path, *, seconds: float = 1.0, fps: int = 30, size: tuple[int, int] = (320, 240)) -> Path:
    """What an iPhone's camera saves: QuickTime (.MOV) with H.264 video and AAC audio."""
    width, height = size
    with av.open(str(path), mode="w", format="mov") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = out.add_stream("aac", rate=44100)
        audio.layout = "mono"
        ys, xs = np.mgrid[0:height, 0:width]
        for n in range(int(seconds * fps)):
            rgb = np.stack([(xs + n * 8) % 256, (ys + n * 4) % 256, np.full_like(xs, (n * 16) % 256)], axis=-1)
            for packet in video.encode(av.VideoFrame.from_ndarray(rgb.astype(np.uint8), format="rgb24")):
                out.mux(packet)
        samples = 1024
        t = np.arange(int(seconds * 44100)) / 44100
        tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        for start in range(0, len(tone) - samples + 1, samples):
            frame = av.AudioFrame.from_ndarray(tone[start:start + samples].reshape(1, -1), format="fltp", layout="mono")
            frame.sample_rate = 44100
            for packet in audio.encode(frame):
                out.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode():
                out.mux(packet)
    return path
