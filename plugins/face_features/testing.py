"""Test clips with a known ground truth, made from images that ship in scikit-image.

The face is `skimage.data.astronaut()` (Eileen Collins, smiling) on a 640x480
canvas, rolled about the face centre by `roll_amplitude * sin(2 pi t / roll_period)`.
During `gaps` the frame shows `skimage.data.coffee()` instead, so no face is
present. During `frowns` the mouth patch is flipped upside down, which turns the
smile into a frown. Written as H.264 (yuv420p) in MP4, as phones and Safari record and as
every browser plays; the benchmark's WebM as Chrome's MediaRecorder writes it (VP8).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

WIDTH, HEIGHT = 640, 480
FACE_CENTRE = (290.0, 118.0)  # on the canvas, measured with FaceLandmarker
MOUTH = (slice(124, 150), slice(264, 316))  # rows, columns of the mouth on the canvas; flipped, it frowns


@dataclass(frozen=True)
class ClipScript:
    seconds: float = 6.0
    fps: int = 25
    roll_amplitude: float = 10.0  # degrees
    roll_period: float = 2.0  # seconds
    gaps: tuple[tuple[float, float], ...] = ((2.0, 3.0),)
    frowns: tuple[tuple[float, float], ...] = ()

    @property
    def frames(self) -> int:
        return round(self.seconds * self.fps)

    def roll(self, t: float) -> float:
        return self.roll_amplitude * math.sin(2 * math.pi * t / self.roll_period)

    def face_visible(self, t: float) -> bool:
        return not any(start <= t < end for start, end in self.gaps)

    def frowning(self, t: float) -> bool:
        return any(start <= t < end for start, end in self.frowns)


def _canvases() -> tuple[np.ndarray, np.ndarray]:
    from skimage import data

    face = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    face[:, 80:560] = cv2.resize(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR), (480, 480))
    empty = cv2.resize(cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2BGR), (WIDTH, HEIGHT))
    return face, empty


def render_frame(script: ClipScript, t: float, face: np.ndarray, empty: np.ndarray) -> np.ndarray:
    if not script.face_visible(t):
        return empty
    image = face
    if script.frowning(t):
        image = face.copy()
        image[MOUTH] = image[MOUTH][::-1]
    rotation = cv2.getRotationMatrix2D(FACE_CENTRE, script.roll(t), 1.0)
    return cv2.warpAffine(image, rotation, (WIDTH, HEIGHT), borderMode=cv2.BORDER_REPLICATE)


def write_clip(path: Path, script: ClipScript) -> Path:
    """Write `script` to `path` as H.264 (yuv420p, x264 `veryfast`) in MP4, 640x480 at
    `script.fps`; the demo's recordings are these clips, so browsers must be able to play them."""
    import av

    face, empty = _canvases()
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=script.fps)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"preset": "veryfast"}
        for index in range(script.frames):
            frame = av.VideoFrame.from_ndarray(render_frame(script, index / script.fps, face, empty), format="bgr24")
            frame.pts, frame.time_base = index, Fraction(1, script.fps)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


# The bit rate of both benchmark clips: what plugins/live_interview's MediaRecorder is asked for
# (room.js, videoBitsPerSecond), near the spec's reference video (30 min in 100 MB, 440 kbit/s).
BENCH_KBPS = 600


# The MP4 codecs of the benchmark: H.264 (x264 `veryfast`) is what phones and Safari upload;
# MPEG-4 Part 2 (`mp4v`), the cheapest to decode and no browser plays it, is the older baseline.
MP4_CODECS = {"h264": ("libx264", {"preset": "veryfast"}), "mpeg4": ("mpeg4", {})}


def write_long_clip(path: Path, minutes: float, script: ClipScript | None = None, *, kbps: int = BENCH_KBPS,
                    codec: str = "h264") -> Path:
    """A long MP4 for benchmarks at `kbps` kbit/s: `codec` "h264" (yuv420p, as customers upload)
    or "mpeg4" (MPEG-4 Part 2, `mp4v`). One cycle of `script` is encoded once and its packets
    repeated with shifted timestamps (each cycle starts with a keyframe), so writing stays cheap.
    Raises KeyError for another codec."""
    encoder, options = MP4_CODECS[codec]
    return _write_repeated(path, minutes, script, codec=encoder, options=options, kbps=kbps,
                           container="mp4", container_options={})


def write_live_webm(path: Path, minutes: float, script: ClipScript | None = None, *, kbps: int = BENCH_KBPS) -> Path:
    """A long clip as Chrome's MediaRecorder writes it, for benchmarks: VP8 (real-time mode) at
    `kbps` kbit/s in a WebM written live (no Cues, no Duration), millisecond timestamps. One
    cycle of `script` is encoded once and its packets repeated with shifted timestamps."""
    return _write_repeated(path, minutes, script, codec="libvpx", options={"deadline": "realtime", "cpu-used": "8"},
                           kbps=kbps, container="webm", container_options={"live": "1"})


def _write_repeated(path: Path, minutes: float, script: ClipScript | None, *, codec: str, options: dict[str, str],
                    kbps: int, container: str, container_options: dict[str, str]) -> Path:
    import av

    script = script or ClipScript(seconds=10.0, gaps=((8.0, 10.0),))
    face, empty = _canvases()
    cycle = path.with_suffix(".cycle" + path.suffix)
    with av.open(str(cycle), "w", format=container) as out:
        stream = out.add_stream(codec, rate=script.fps)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.bit_rate = kbps * 1000
        stream.options = options
        for index in range(script.frames):
            frame = av.VideoFrame.from_ndarray(render_frame(script, index / script.fps, face, empty), format="bgr24")
            frame.pts, frame.time_base = index, Fraction(1, script.fps)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    try:
        with av.open(str(cycle)) as source:
            video = source.streams.video[0]
            packets = [(bytes(p), p.pts, p.dts, p.duration, p.is_keyframe) for p in source.demux(video)
                       if p.pts is not None]
            span = round(script.seconds / video.time_base)
            with av.open(str(path), "w", format=container, options=container_options) as out:
                stream = out.add_stream_from_template(video)
                for repeat in range(round(minutes * 60 / script.seconds)):
                    for data, pts, dts, duration, key in packets:
                        packet = av.Packet(data)
                        packet.pts = pts + repeat * span
                        packet.dts = (pts if dts is None else dts) + repeat * span
                        packet.duration = duration
                        packet.time_base, packet.is_keyframe, packet.stream = video.time_base, key, stream
                        out.mux(packet)
    finally:
        cycle.unlink(missing_ok=True)
    return path
