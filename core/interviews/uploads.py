"""Resumable recording uploads, after the tus protocol (core, creation, checksum extensions).

1. Create: the client announces the total size, the whole file's SHA-256 and its name.
2. Append: each PATCH carries `Upload-Offset` (must equal the server's offset) and a
   `Upload-Checksum: sha256 <base64>` of the chunk; the body is streamed into its own
   encrypted blob, and the offset moves only when the chunk arrived whole and intact.
   An interrupted chunk is dropped; the client asks for the offset (HEAD) and resumes.
3. When the last byte is in, the chunks are joined into one encrypted blob while the
   file's SHA-256 is computed; a mismatch or a file PyAV cannot decode is refused. What
   happens then, durably and once, is core.interviews.completion's.
Nothing is held whole in memory: chunks stream through in blocks of at most 1 MiB.

A live recording does not know its length while it is made (tus creation-defer-length):
it is created without size or SHA-256, every chunk must carry its checksum, and the
length is declared with `Upload-Length` once the recorder stopped; the file's SHA-256 is
then the one computed from the chunks as they were accepted.

The chunk handling (`append_chunk`, `declare_length`, `assemble`) works on any upload row with
the columns `size`, `upload_offset`, `parts`, `sha256`, `state`, `error` and `blob_key`: a
Recording, or a bulk import's staged video (ImportVideo, core.interviews.import_run).
"""

from __future__ import annotations

import base64
import hashlib
import re
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import PurePosixPath
from typing import Any
from uuid import uuid4

import anyio.to_thread
import structlog

from core.db.json_columns import json_value
from core.interviews.probe import NotAVideo, VideoInfo, probe
from core.interviews.tables import Interview, Recording
from core.storage import BlobStore, TenantKey
from core.tenancy import TenantScope
from core.web.i18n import gettext as _

log = structlog.get_logger("mendan.uploads")

BLOCK = 1024 * 1024
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_QUESTION_KEY_RE = re.compile(r"[A-Za-z0-9_.:-]{1,63}")
EXTENSIONS = {".webm": "webm", ".mkv": "webm", ".mp4": "mp4", ".m4v": "mp4", ".mov": "mp4", ".qt": "mp4"}
DEFERRED = 0  # `size` of an upload whose length is not declared yet


@dataclass
class UploadProblem(Exception):
    """An upload refused: the HTTP status, a message for the uploader and, where one status covers
    several cases, a code naming the case for API clients ("" leaves it to the status)."""

    status: int
    message: str
    code: str = ""


def container_of(filename: str, content_type: str) -> str:
    """A first guess at the container from the name or type, never a refusal: the file's content
    decides when the upload is complete (`probe`), whatever it is called."""
    suffix = PurePosixPath(filename.lower()).suffix
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    if content_type.startswith(("video/webm", "video/x-matroska")):
        return "webm"
    return "mp4"


def _plain_name(filename: str) -> str:
    """The file name as kept: control characters (CR, LF, NUL) become "_", at most 255 characters
    from the end (the extension matters most)."""
    return "".join("_" if unicodedata.category(c) == "Cc" else c for c in filename)[-255:]


def parts_of(rec: Any) -> list[str]:
    return list(json_value(rec.parts) or [])


async def create_upload(scope: TenantScope, interview: Interview, uploader: Any, *, size: int | None, sha256: str,
                        filename: str, content_type: str, max_bytes: int, question_key: str | None = None) -> Recording:
    """`size=None` defers the length (and the whole file's SHA-256) to the last chunk.

    `question_key` ties the recording to one question (a self-interview's answer); each new
    recording of the interview gets the next `sequence` number.
    """
    if interview.state == "cancelled":
        raise UploadProblem(409, _("This interview was cancelled."), "interview_cancelled")
    if interview.finished_at is not None:
        raise UploadProblem(409, _("This interview has ended."), "interview_ended")
    check_announced(size, sha256, max_bytes)
    container = container_of(filename, content_type)
    if question_key is not None and not _QUESTION_KEY_RE.fullmatch(question_key):
        raise UploadProblem(400, _("The question key is malformed."))
    rec_id = uuid4()
    sequence = await scope.count(Recording).where(Recording.interview == interview.id)
    return await scope.add(Recording(
        id=rec_id, interview=interview.id, uploaded_by=getattr(uploader, "id", uploader),
        question_key=question_key, sequence=sequence,
        filename=_plain_name(filename), container=container, size=DEFERRED if size is None else size, sha256=sha256,
        blob_key=recording_key(interview.id, rec_id, container),
    ))


def check_announced(size: int | None, sha256: str, max_bytes: int) -> None:
    """What a tus creation announces: `size` in bytes (1 to `max_bytes`) and the whole file's
    SHA-256 (64 lowercase hex digits), or neither (`None`, "": the length is deferred). Raises
    UploadProblem 400 or 413."""
    if size is not None and size <= 0:
        raise UploadProblem(400, _("The file is empty."))
    if size is not None and size > max_bytes:
        raise UploadProblem(413, _("The file is larger than the limit of %(mb)s MB.") % {"mb": max_bytes // 1024**2})
    if (size is not None or sha256) and not _SHA256_RE.fullmatch(sha256):
        raise UploadProblem(400, _("The SHA-256 checksum of the whole file is missing or malformed."))


def recording_key(interview_id: Any, recording_id: Any, container: str) -> str:
    """Where a recording's video lies in the tenant's blob store."""
    return f"recordings/{interview_id}/{recording_id}.{container}"


async def add_stored_recording(scope: TenantScope, interview: Interview, uploader: Any, *, recording_id: Any,
                               blob_key: str, filename: str, size: int, sha256: str, info: VideoInfo) -> Recording:
    """The row of a recording whose video is already at `blob_key`, checked by `probe` (a bulk
    import's videos, written before its transaction): the same complete row a finished upload
    leaves. `size` in bytes, `sha256` hex."""
    sequence = await scope.count(Recording).where(Recording.interview == interview.id)
    now = datetime.now(timezone.utc)
    return await scope.add(Recording(
        id=recording_id, interview=interview.id, uploaded_by=getattr(uploader, "id", uploader), sequence=sequence,
        filename=_plain_name(filename), size=size, upload_offset=size, received_at=now,
        blob_key=blob_key,
        **{column._meta.name: value for column, value in completed_columns(info, sha256, now).items()},
    ))


def completed_columns(info: VideoInfo, sha256: str, now: datetime) -> dict[Any, Any]:
    """The columns of a recording whose checked video is in place."""
    return {Recording.state: "complete", Recording.completed_at: now, Recording.parts: [], Recording.sha256: sha256,
            Recording.container: info.container, Recording.duration_s: info.duration_s,
            Recording.width: info.width, Recording.height: info.height, Recording.video_codec: info.codec}


def parse_checksum(header: str | None) -> bytes | None:
    """`sha256 <base64 digest>`; other algorithms are refused (tus answers 400)."""
    if not header:
        return None
    algorithm, _sep, value = header.strip().partition(" ")
    if algorithm.lower() != "sha256":
        raise UploadProblem(400, _("Only sha256 chunk checksums are supported."))
    try:
        digest = base64.b64decode(value, validate=True)
    except ValueError as exc:
        raise UploadProblem(400, _("The chunk checksum is not valid base64.")) from exc
    if len(digest) != 32:
        raise UploadProblem(400, _("The chunk checksum is not a SHA-256 digest."))
    return digest


async def append_chunk(scope: TenantScope, store: BlobStore, tk: TenantKey, rec: Any, *, offset: int,
                       length: int | None, checksum: bytes | None, body: AsyncIterator[bytes],
                       max_bytes: int) -> Any:
    """Stream one chunk into its own blob; the offset moves only if it arrived whole and matches.
    `rec` is an upload row (see the module); returns it with the new offset."""
    if rec.state != "uploading":
        raise UploadProblem(409, _("This upload is already finished."), "upload_finished")
    if offset != rec.upload_offset:
        raise UploadProblem(409, _("The upload offset does not match; ask for the current offset and resume."),
                            "offset_mismatch")
    deferred = rec.size == DEFERRED
    if deferred and checksum is None and length != 0 and length is not None:
        # Without a whole-file checksum to compare, each chunk must prove itself. An empty final
        # PATCH (it only declares Upload-Length, as common tus clients send it) carries nothing
        # to prove.
        raise UploadProblem(400, _("Chunks of an upload without a declared length need an Upload-Checksum."))
    remaining = (max_bytes if deferred else rec.size) - offset
    if length is not None and length > remaining:
        raise UploadProblem(413, _("The chunk goes past the announced file size."))
    key = f"{rec.blob_key}.parts/{offset:015d}-{uuid4().hex[:8]}"
    writer = store.writer(tk, key)
    digest = hashlib.sha256()
    received = 0
    pending = bytearray()

    def flush(block: bytes) -> None:
        digest.update(block)
        writer.write(block)

    try:
        async for piece in body:
            received += len(piece)
            if received > remaining:
                raise UploadProblem(413, _("The chunk goes past the announced file size."))
            pending += piece
            if len(pending) >= BLOCK:
                block, pending = bytes(pending), bytearray()
                await anyio.to_thread.run_sync(flush, block)
        await anyio.to_thread.run_sync(flush, bytes(pending))
        if deferred and checksum is None and received:
            raise UploadProblem(400, _("Chunks of an upload without a declared length need an Upload-Checksum."))
        if checksum is not None and digest.digest() != checksum:
            raise UploadProblem(460, _("The chunk was damaged on the way (checksum mismatch); send it again."))
        if length is not None and received != length:
            raise UploadProblem(400, _("The chunk is shorter than announced; send it again."))
        await anyio.to_thread.run_sync(writer.close)
    except BaseException:
        writer.abort()
        raise
    if received == 0:
        store.delete(tk, key)
        return rec
    parts = [*parts_of(rec), key]
    # Compare-and-set on the offset: of two clients sending the same chunk, one wins.
    table = type(rec)
    moved = await scope.update(table, {table.upload_offset: offset + received, table.parts: parts}).where(
        (table.id == rec.id) & (table.upload_offset == offset)
    ).returning(table.id)
    if not moved:
        store.delete(tk, key)
        raise UploadProblem(409, _("The upload offset does not match; ask for the current offset and resume."),
                            "offset_mismatch")
    rec.upload_offset, rec.parts = offset + received, parts
    return rec


async def declare_length(scope: TenantScope, rec: Any, length: int, max_bytes: int) -> Any:
    """Set the length of a deferred upload (tus `Upload-Length`), once."""
    if rec.size != DEFERRED:
        if length != rec.size:
            raise UploadProblem(400, _("Upload-Length differs from the announced file size."))
        return rec
    if length <= 0 or length < rec.upload_offset or length > max_bytes:
        raise UploadProblem(400, _("Upload-Length must cover the bytes already sent and stay within the limit."))
    await scope.update(type(rec), {type(rec).size: length}).where(type(rec).id == rec.id)
    rec.size = length
    return rec


def _join(store: BlobStore, tk: TenantKey, rec: Any) -> str:
    """Join the chunks into the recording's blob and return the file's SHA-256 (hex)."""
    digest = hashlib.sha256()
    with store.writer(tk, rec.blob_key) as out:
        for key in parts_of(rec):
            for block in store.read(tk, key):
                digest.update(block)
                out.write(block)
    return digest.hexdigest()


def drop_parts(store: BlobStore, tk: TenantKey, rec: Any) -> None:
    """Delete an upload row's chunk blobs (once they were joined, or the upload refused)."""
    for key in parts_of(rec):
        store.delete(tk, key)


async def assemble(scope: TenantScope, store: BlobStore, tk: TenantKey, rec: Any) -> tuple[VideoInfo, str]:
    """All bytes of an upload row are in: join its chunks into `blob_key`, check the whole file's
    SHA-256 and probe the video; (what the probe found, SHA-256 hex). The chunks stay until the
    caller kept the result (`drop_parts`), so a crash before that can join them again. A refusal
    is kept on the row (state `refused`, `error` why, chunks and blob removed) and raised as
    UploadProblem 422."""
    actual = await anyio.to_thread.run_sync(_join, store, tk, rec)
    problem = None
    info = None
    if rec.sha256 and actual != rec.sha256:
        problem = _("The file is corrupt: its SHA-256 checksum does not match. Upload it again.")
    else:
        try:
            info = await anyio.to_thread.run_sync(probe, store, tk, rec.blob_key)
        except NotAVideo as exc:
            log.info("upload_not_a_video", upload_id=str(rec.id), reason=str(exc))
            problem = _("This file is not a video that can be read, so it was refused.")
            problem += " " + _("Accepted: WebM, MP4 and QuickTime (.mov, e.g. from an iPhone) holding a video "
                               "stream that can be decoded (H.264, HEVC, VP8, VP9, AV1, MPEG-4 and others).")
    if info is None:
        table = type(rec)
        await scope.update(table, {table.state: "refused", table.error: problem, table.parts: []}).where(
            (table.id == rec.id) & table.state.is_in(["uploading", "received"]))
        await anyio.to_thread.run_sync(drop_parts, store, tk, rec)
        store.delete(tk, rec.blob_key)
        rec.state, rec.error = "refused", problem
        raise UploadProblem(422, problem)
    return info, actual
