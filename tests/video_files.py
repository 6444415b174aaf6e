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
