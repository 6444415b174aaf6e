"""The one media probe and frame reader every extractor and the upload check use (PyAV).

Time comes from container timestamps (PTS), never from a frame index over an average
frame rate: a recording made by Chrome's MediaRecorder (WebM without Duration or Cues)
reports 1000 fps and no frame count to OpenCV, and a variable-frame-rate phone video
has no single rate at all. Sizes are the displayed ones, after the rotation a phone
writes into the container (the display matrix); frames come out upright.

`probe(source)` reads every video packet header once (no decoding but the first
frame), so it costs about one pass over the file's bytes. `sample_frames(path, rate)`
yields one decoded frame per interval of 1/rate seconds, each with its time in seconds
from the first frame.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO, Literal

import av
import numpy as np

FrameRateKind = Literal["constant", "variable"]
# Frame intervals that differ from the median by more than this share (and more than one
# tick of the time base) make a video variable-frame-rate.
VFR_TOLERANCE = 0.1
_EPS = 1e-6


class MediaUnreadable(ValueError):
    """The file cannot be opened as a video, or has no decodable video frame."""


@dataclass(frozen=True)
class AudioStream:
    codec: str
    sample_rate: int
    channels: int


@dataclass(frozen=True)
class MediaInfo:
    """What a video file holds.

    - `container`: FFmpeg's demuxer name ("matroska,webm", "mov,mp4,m4a,3gp,3g2,mj2").
    - `codec`: the video codec ("vp8", "h264", ...).
    - `duration_s`: from the earliest packet (video or audio) to the end of the latest (its
      packet duration; the median frame interval for a video frame without one), read from
      the timestamps, so it is right for files whose container states no duration
      (MediaRecorder WebM, fragmented MP4).
    - `frames`: video packets counted; `average_fps` = frames over the video's own span.
    - `frame_rate_kind`: "variable" when frame intervals differ by more than 10 %.
    - `width`, `height`: displayed size after `rotation`; `coded_width`, `coded_height` as stored.
    - `rotation`: degrees clockwise (0, 90, 180, 270) to turn the coded picture upright.
    - `start_s`: the earliest packet's PTS in seconds: the recording's time 0, from which
      frame times (and transcript times) are counted.
    - `audio`: the audio streams.
    """

    container: str
    codec: str
    duration_s: float
    frames: int
    average_fps: float
    frame_rate_kind: FrameRateKind
    width: int
    height: int
    coded_width: int
    coded_height: int
    rotation: int
    start_s: float
    audio: tuple[AudioStream, ...] = field(default_factory=tuple)


def _open(source: str | Path | BinaryIO) -> Any:
    try:
        return av.open(source if not isinstance(source, Path) else str(source), mode="r")
    except (av.FFmpegError, UnicodeDecodeError, OSError) as exc:
        raise MediaUnreadable(f"the file cannot be opened as a video: {exc}") from exc


def _rotation_of(frame: Any) -> int:
    # PyAV gives the display matrix's angle counter-clockwise (-90 for a phone's "rotate=90").
    return int(round(-float(getattr(frame, "rotation", 0) or 0))) % 360


def probe(source: str | Path | BinaryIO) -> MediaInfo:
    """Describe a video file (a path or a seekable binary file object).

    Raises `MediaUnreadable` when it cannot be opened, has no video stream, no packet
    with a timestamp, or no decodable frame.
    """
    with _open(source) as media:
        try:
            return _probe(media)
        except (av.FFmpegError, UnicodeDecodeError) as exc:
            raise MediaUnreadable(f"the video cannot be read: {exc}") from exc


def _probe(media: Any) -> MediaInfo:
    if not media.streams.video:
        raise MediaUnreadable("the file has no video stream")
    stream = media.streams.video[0]
    audio = tuple(
        AudioStream(s.codec_context.name, int(s.codec_context.sample_rate or 0), int(s.codec_context.channels or 0))
        for s in media.streams.audio
    )
    frame = next(media.decode(stream), None)
    if frame is None:
        raise MediaUnreadable("the file has no decodable video frame")
    rotation = _rotation_of(frame)
    coded_w, coded_h = frame.width, frame.height
    media.seek(0)
    base = stream.time_base
    stamps: list[int] = []
    last_end = None
    # The recording's clock starts at the earliest packet of any stream and ends with the
    # latest: a MediaRecorder WebM under load may lose video frames at the end while its
    # audio goes on. Frame times and transcripts share this clock.
    first_s, end_s = math.inf, -math.inf
    for packet in media.demux():
        if packet.pts is None or packet.stream.type not in ("video", "audio"):
            continue
        at = float(packet.pts * packet.stream.time_base)
        first_s = min(first_s, at)
        end_s = max(end_s, at + float((packet.duration or 0) * packet.stream.time_base))
        if packet.stream.index != stream.index:
            continue
        stamps.append(packet.pts)
        if packet.duration:
            end = packet.pts + packet.duration
            last_end = end if last_end is None else max(last_end, end)
    if not stamps:
        raise MediaUnreadable("the video has no timestamped frames")
    stamps.sort()
    diffs = np.diff(np.asarray(stamps, dtype=np.int64))
    median = float(np.median(diffs)) if diffs.size else 0.0
    video_end = stamps[-1] + (median if last_end is None or last_end < stamps[-1] else last_end - stamps[-1])
    end_s = max(end_s, float(video_end * base))
    duration = end_s - first_s
    video_s = float((video_end - stamps[0]) * base)
    kind: FrameRateKind = "constant"
    if diffs.size and median > 0:
        slack = max(median * VFR_TOLERANCE, 1.0)
        if float(np.max(np.abs(diffs - median))) > slack:
            kind = "variable"
    turned = rotation in (90, 270)
    return MediaInfo(
        container=media.format.name, codec=stream.codec_context.name, duration_s=duration, frames=len(stamps),
        average_fps=len(stamps) / video_s if video_s > 0 else 0.0, frame_rate_kind=kind,
        width=coded_h if turned else coded_w, height=coded_w if turned else coded_h,
        coded_width=coded_w, coded_height=coded_h, rotation=rotation, start_s=first_s,
        audio=audio,
    )


def upright(image: np.ndarray, rotation: int) -> np.ndarray:
    """Turn a decoded picture by `rotation` degrees clockwise (see `MediaInfo.rotation`)."""
    if rotation % 360 == 0:
        return image
    return np.ascontiguousarray(np.rot90(image, k=-(rotation // 90)))


@dataclass(frozen=True)
class SampledFrame:
    """One sampled frame: `index` counts sampled frames' intervals (t * rate, floored),
    `t` seconds from the first frame, `image` upright (BGR unless asked otherwise)."""

    index: int
    t: float
    image: np.ndarray


def sample_frames(path: str | Path, rate: float, *, start_s: float = 0.0, end_s: float | None = None,
                  info: MediaInfo | None = None, pixel_format: str = "bgr24",
                  decoder_threads: int = 0) -> Iterator[SampledFrame]:
    """The first frame of every 1/`rate`-second interval in [start_s, end_s), upright.

    Times are seconds from the recording's start (`MediaInfo.start_s`). Which frames are chosen depends on the
    timestamps alone, so reading a file in ranges whose bounds are multiples of 1/rate
    gives exactly the frames of reading it whole. Every frame is decoded (a VP8 or H.264
    frame needs the one before it), but only sampled ones are converted to pixels.
    `decoder_threads`: 0 lets FFmpeg decode on one thread per core (a lone reader);
    1 decodes on the calling thread, for callers that already run one process per core,
    where decoder threads only add about a quarter to the decoding CPU time. Raises
    `MediaUnreadable` when the file cannot be decoded, ValueError for a rate that is not
    positive or a negative thread count.
    """
    if not rate > 0:
        raise ValueError(f"the sampling rate must be positive, not {rate!r}")
    if decoder_threads < 0:
        raise ValueError(f"the decoder thread count cannot be negative, not {decoder_threads!r}")
    info = info or probe(path)
    with _open(path) as media:
        stream = media.streams.video[0]
        if decoder_threads != 1:
            stream.thread_type = "AUTO"
        stream.codec_context.thread_count = decoder_threads
        base = stream.time_base
        origin = Fraction(info.start_s).limit_denominator(10**9)
        if start_s > 0:
            # Backwards to the keyframe before start_s; frames before it are decoded and skipped.
            media.seek(int((Fraction(start_s).limit_denominator(10**6) + origin) / base), stream=stream,
                       backward=True, any_frame=False)
        last_index = None
        first = True
        try:
            for frame in media.decode(stream):
                if frame.pts is None:
                    continue
                t = float(frame.pts * base - origin)
                if first and start_s > 0 and t > start_s + _EPS:
                    # The demuxer landed past start_s (no index to seek by): read from the beginning.
                    yield from _from_beginning(path, rate, start_s, end_s, info, pixel_format, decoder_threads)
                    return
                first = False
                if end_s is not None and t >= end_s - _EPS:
                    break
                if t < start_s - _EPS:
                    continue
                index = math.floor(t * rate + _EPS)
                if last_index is not None and index <= last_index:
                    continue
                last_index = index
                image = upright(frame.to_ndarray(format=pixel_format), info.rotation)
                yield SampledFrame(index=index, t=t, image=image)
        except av.FFmpegError as exc:
            raise MediaUnreadable(f"the video cannot be decoded: {exc}") from exc


def _from_beginning(path: str | Path, rate: float, start_s: float, end_s: float | None, info: MediaInfo,
                    pixel_format: str, decoder_threads: int) -> Iterator[SampledFrame]:
    for sampled in sample_frames(path, rate, end_s=end_s, info=info, pixel_format=pixel_format,
                                 decoder_threads=decoder_threads):
        if sampled.t >= start_s - _EPS:
            yield sampled


def plan_ranges(duration_s: float, rate: float, range_seconds: float) -> list[tuple[float, float | None]]:
    """Cut [0, duration) into ranges of about `range_seconds`, bounds on multiples of 1/rate
    (so ranges never split a sampling interval); the last range runs to the end."""
    step = max(1, round(range_seconds * rate)) / rate
    count = max(1, math.ceil(duration_s / step - _EPS))
    return [(k * step, (k + 1) * step if k + 1 < count else None) for k in range(count)]
