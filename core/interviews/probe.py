"""Is an uploaded file a video we can decode and play? Read with core.media's probe straight
from the encrypted blob store, so the plaintext never lands on disk. The duration comes from
the timestamps (a MediaRecorder WebM states none) and the size is the displayed one, after a
phone's rotation.

Decided by content, never by the file's name: an iPhone's .MOV (QuickTime, H.264 + AAC) is the
MP4 family, a WebM named .mp4 is WebM. Accepted: a Matroska/WebM or QuickTime/MP4 container
holding a video stream whose first frame decodes, whatever its codec: one that browsers cannot
play (MPEG-4 Part 2 from an old camera, say) is still analysed, and the interview page says so
(`browser_plays`) and offers the download instead."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from core.media import MediaUnreadable, probe as probe_media
from core.storage import BlobStore, TenantKey

CONTAINERS = {"webm": ("matroska", "webm"), "mp4": ("mov", "mp4", "m4a", "3gp", "3g2", "mj2")}
# Video codecs that browsers play in <video>: H.264, VP8, VP9 and AV1 everywhere; HEVC in Safari
# (and where the hardware decodes it). FFmpeg's names.
BROWSER_CODECS = frozenset({"h264", "vp8", "vp9", "av1", "hevc"})


def browser_plays(codec: str) -> bool:
    """Whether browsers play video of `codec` (FFmpeg's name, e.g. "h264", "mpeg4"); an unknown
    codec ("", recordings stored before codecs were kept) is given the benefit of the doubt."""
    return not codec or codec in BROWSER_CODECS


class NotAVideo(ValueError):
    pass


@dataclass(frozen=True)
class VideoInfo:
    container: str
    duration_s: float | None
    width: int
    height: int
    codec: str  # FFmpeg's name of the video codec ("h264", "vp8", "mpeg4", ...)


class BlobFile(io.RawIOBase):
    """A read-only, seekable file over one blob: each read decrypts only the segments it needs."""

    def __init__(self, store: BlobStore, tk: TenantKey, key: str) -> None:
        self.store, self.tk, self.key = store, tk, key
        self.length = store.size(tk, key)
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.length}[whence]
        self.position = max(0, base + offset)
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer: Any) -> int:
        end = min(self.position + len(buffer), self.length)
        if end <= self.position:
            return 0
        data = b"".join(self.store.read(self.tk, self.key, self.position, end))
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)


def container_family(format_name: str) -> str | None:
    """"webm" or "mp4" for a PyAV/FFmpeg demuxer name ("mov,mp4,m4a,3gp,3g2,mj2"), else None."""
    names = format_name.split(",")
    return next((family for family, members in CONTAINERS.items() if any(n in members for n in names)), None)


def probe(store: BlobStore, tk: TenantKey, key: str, container: str | None = None) -> VideoInfo:
    """Open the file, find its container family and decode its first video frame.

    `container` is what the upload's name or type suggested; the content decides (VideoInfo's
    `container` is the family found). `duration_s` in seconds from the timestamps,
    `width`/`height` as displayed (after rotation), `codec` the video codec, which browsers may
    not play (`browser_plays`). Raises NotAVideo with the reason."""
    try:
        info = probe_media(BlobFile(store, tk, key))
    except MediaUnreadable as exc:
        raise NotAVideo(str(exc)) from exc
    family = container_family(info.container)
    if family is None:
        raise NotAVideo(f"container {info.container!r} is neither WebM nor MP4/QuickTime")
    return VideoInfo(family, info.duration_s, info.width, info.height, info.codec)
