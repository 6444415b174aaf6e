"""Who may enter a live room, what happened in it, and what the recording upload has reached.

Only the interview's interviewer and interviewee enter its room; the interviewee only
after consenting to recording. Everything that happens is kept as a `RoomEvent`.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import av
import structlog

from core.consent import has_consented
from core.interviews.api import BlobFile, Interview, Recording
from core.storage import BlobStore, TenantKey
from core.tables import User
from core.tenancy import TenantScope
from plugins.live_interview.tables import RoomEvent

log = structlog.get_logger("mendan.live_interview")

CONSENT_PURPOSE = "recording"
ICE_SERVERS_ENV = "MENDAN_LIVE_ICE_SERVERS"


def ice_servers() -> list[dict[str, Any]]:
    """STUN/TURN servers as RTCIceServer objects, JSON in MENDAN_LIVE_ICE_SERVERS.

    Empty by default: peers on one machine or LAN connect with host candidates."""
    raw = os.environ.get(ICE_SERVERS_ENV, "").strip()
    if not raw:
        return []
    servers = json.loads(raw)
    if not isinstance(servers, list) or not all(isinstance(s, dict) and "urls" in s for s in servers):
        raise ValueError(f"{ICE_SERVERS_ENV} must be a JSON list of {{\"urls\": ...}} objects")
    return servers


def room_role(user: User | None, interview: Interview) -> str | None:
    """'interviewer' or 'interviewee' for the two people of a live interview; None for anyone else."""
    if user is None or interview.kind != "live" or interview.state == "cancelled":
        return None
    if str(user.id) == str(interview.interviewer):
        return "interviewer"
    if str(user.id) == str(interview.interviewee):
        return "interviewee"
    return None


async def may_enter(scope: TenantScope, user: User | None, interview: Interview) -> str | None:
    """The user's role in the room, or None when they may not enter (or not yet: no consent)."""
    role = room_role(user, interview)
    if role == "interviewee" and not await has_consented(scope.tenant_id, user.id, CONSENT_PURPOSE):
        return None
    return role


async def log_event(scope: TenantScope, interview: Interview, user: Any, kind: str, **detail: Any) -> None:
    await scope.add(RoomEvent(interview=interview.id, user=getattr(user, "id", user), kind=kind, detail=detail))
    log.info("live_room_event", interview_id=str(interview.id), kind=kind, **detail)


async def recording_wanted(scope: TenantScope, interview_id: UUID) -> bool:
    """Recording was started and not stopped: a rejoining interviewee records again at once."""
    last = await scope.objects(RoomEvent).where(
        (RoomEvent.interview == interview_id) & RoomEvent.kind.is_in(["recording_started", "recording_stopped"])
    ).order_by(RoomEvent.at, ascending=False).first()
    return last is not None and last.kind == "recording_started"


@dataclass(frozen=True)
class UploadState:
    """The interview's recordings as the server holds them."""

    complete: int
    unfinished: int  # segments still uploading that hold bytes, and those being joined
    bytes_received: int
    joining: int = 0  # segments whose bytes are all in, being joined: complete in a moment

    @property
    def done(self) -> bool:
        return self.complete > 0 and self.unfinished == 0


async def upload_state(scope: TenantScope, interview_id: UUID) -> UploadState:
    rows = await scope.objects(Recording).where(Recording.interview == interview_id)
    return UploadState(
        complete=sum(1 for r in rows if r.state == "complete"),
        # `received`: all bytes in, being joined: complete in a moment.
        unfinished=sum(1 for r in rows if (r.state == "uploading" and r.upload_offset > 0) or r.state == "received"),
        bytes_received=sum(r.upload_offset for r in rows if r.state != "refused"),
        joining=sum(1 for r in rows if r.state == "received"),
    )


async def open_segments(scope: TenantScope, interview_id: UUID, user: User) -> list[str]:
    """Upload locations of this user's unfinished recordings: a page that crashed left them;
    the rejoined page closes them at the declared length when recording stops."""
    rows = await scope.objects(Recording).where(
        (Recording.interview == interview_id) & (Recording.uploaded_by == user.id) & (Recording.state == "uploading")
    ).order_by(Recording.created_at)
    return [str(r.id) for r in rows]


def played_seconds(store: BlobStore, tk: TenantKey, key: str) -> float:
    """The recording's length from its packets' timestamps: a browser's WebM declares none."""
    end = 0.0
    with av.open(BlobFile(store, tk, key), mode="r") as media:
        for packet in media.demux():
            if packet.pts is None or packet.time_base is None:
                continue
            end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
    return end


def billed_minutes(seconds: float) -> int:
    return max(1, math.ceil(seconds / 60))
