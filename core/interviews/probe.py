"""Is an uploaded file a WebM or MP4 video we can decode? Read with core.media's probe straight
from the encrypted blob store, so the plaintext never lands on disk. The duration comes from
the timestamps (a MediaRecorder WebM states none) and the size is the displayed one, after a
phone's rotation."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from core.media import MediaUnreadable, probe as probe_media
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
    """Open the file, check its container, and decode its first video frame.

    `duration_s` in seconds from the timestamps, `width`/`height` as displayed (after rotation).
    Raises `NotAVideo` with the reason.
    """
    try:
        info = probe_media(BlobFile(store, tk, key))
    except MediaUnreadable as exc:
        raise NotAVideo(str(exc)) from exc
    names = info.container.split(",")
    if not any(n in names for n in CONTAINERS[container]):
        raise NotAVideo(f"container {info.container!r} is not {container}")
    return VideoInfo(container, info.duration_s, info.width, info.height)
