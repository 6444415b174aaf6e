"""Is an uploaded file a WebM or MP4 video we can decode? Read with PyAV straight from the
encrypted blob store, so the plaintext never lands on disk."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import av

from core.storage import BlobStore, TenantKey

CONTAINERS = {"webm": ("matroska", "webm"), "mp4": ("mp4", "mov")}


class NotAVideo(ValueError):
    pass


@dataclass(frozen=True)
class VideoInfo:
    container: str
    duration_s: float | None
    width: int
    height: int


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


def probe(store: BlobStore, tk: TenantKey, key: str, container: str) -> VideoInfo:
    """Open the file, check its container, and decode its first video frame."""
    try:
        with av.open(BlobFile(store, tk, key), mode="r") as media:
            names = media.format.name.split(",")
            if not any(n in names for n in CONTAINERS[container]):
                raise NotAVideo(f"container {media.format.name!r} is not {container}")
            if not media.streams.video:
                raise NotAVideo("no video stream")
            stream = media.streams.video[0]
            frame = next(media.decode(stream), None)
            if frame is None:
                raise NotAVideo("no decodable video frame")
            duration = float(media.duration / av.time_base) if media.duration else None
            return VideoInfo(container, duration, frame.width, frame.height)
    except (av.FFmpegError, StopIteration, UnicodeDecodeError) as exc:
        raise NotAVideo(str(exc)) from exc
