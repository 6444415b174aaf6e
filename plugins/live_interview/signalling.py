"""WebRTC signalling over a WebSocket: offers, answers, ICE candidates and the room's
control messages pass between the two people of one interview, and nobody else.

The socket is authenticated by the session cookie (the core's auth middleware covers
websockets) and guarded like every plugin route (tenant, contract, service hours);
the handler then admits only the interview's interviewer and consented interviewee,
from a page of this site. Rooms live in this process's memory: every web process
would need a shared channel (Redis pub/sub) to run more than one.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlparse
from uuid import UUID

import structlog
from litestar import WebSocket, websocket
from litestar.exceptions import NotFoundException, WebSocketDisconnect
from litestar.params import FromPath

from core.interviews.api import Interview, Recording, advance
from core.tenancy import TenantScope
from plugins.live_interview.room import ice_servers, log_event, may_enter, recording_wanted

log = structlog.get_logger("mendan.live_interview")

# Close codes (4000-4999 are the application's): refused, replaced by a newer page.
REFUSED, REPLACED = 4403, 4409
RELAYED = {"signal", "control", "recording", "progress"}
MAX_MESSAGE = 64 * 1024


class Hub:
    """The open sockets of each room, by role."""

    def __init__(self) -> None:
        self.rooms: dict[UUID, dict[str, WebSocket]] = {}
        self.lock = asyncio.Lock()

    async def enter(self, interview_id: UUID, role: str, socket: WebSocket) -> None:
        async with self.lock:
            previous = self.rooms.setdefault(interview_id, {}).get(role)
            self.rooms[interview_id][role] = socket
        if previous is not None:
            await _close_quietly(previous, REPLACED)

    async def leave(self, interview_id: UUID, role: str, socket: WebSocket) -> bool:
        """False when a newer page of the same role had already taken the place."""
        async with self.lock:
            room = self.rooms.get(interview_id, {})
            if room.get(role) is not socket:
                return False
            del room[role]
            if not room:
                self.rooms.pop(interview_id, None)
            return True

    def peer(self, interview_id: UUID, role: str) -> WebSocket | None:
        return self.rooms.get(interview_id, {}).get(other(role))

    async def send(self, interview_id: UUID, role: str, message: dict[str, Any]) -> bool:
        socket = self.rooms.get(interview_id, {}).get(role)
        if socket is None:
            return False
        try:
            await socket.send_json(message)
        except Exception:  # a socket closing under us is the peer leaving; its handler cleans up
            return False
        return True

    async def broadcast(self, interview_id: UUID, message: dict[str, Any]) -> None:
        for role in list(self.rooms.get(interview_id, {})):
            await self.send(interview_id, role, message)


HUB = Hub()


def other(role: str) -> str:
    return "interviewee" if role == "interviewer" else "interviewer"


async def _close_quietly(socket: WebSocket, code: int) -> None:
    try:
        await socket.close(code=code)
    except Exception:  # already closed
        pass


def same_origin(socket: WebSocket) -> bool:
    """Browsers send Origin on websockets; a page of another site must not ride the session."""
    origin = socket.headers.get("origin")
    return origin is None or urlparse(origin).netloc == socket.headers.get("host", "")


@websocket("/{interview_id:uuid}/signal", name="live_interview_signal")
async def signal(socket: WebSocket, interview_id: FromPath[UUID]) -> None:
    tenant = socket.state["tenant"]
    scope = TenantScope(tenant.id)
    user = socket.scope.get("user")
    try:
        interview = await scope.get(Interview, interview_id)
    except NotFoundException:
        interview = None
    role = await may_enter(scope, user, interview) if interview is not None else None
    await socket.accept()
    if role is None or not same_origin(socket):
        # Accepted only to say why in the close code; nothing is sent or relayed.
        await socket.close(code=REFUSED)
        return
    await HUB.enter(interview.id, role, socket)
    await log_event(scope, interview, user, "joined", role=role)
    if role == "interviewer":
        await advance(scope, interview, "in_progress")
    await socket.send_json({"type": "welcome", "role": role, "peer": HUB.peer(interview.id, role) is not None,
                            "recording": await recording_wanted(scope, interview.id),
                            "ice_servers": ice_servers()})
    await HUB.send(interview.id, other(role), {"type": "peer", "present": True})
    try:
        while True:
            text = await socket.receive_text()
            try:
                message = json.loads(text) if len(text) <= MAX_MESSAGE else None
            except ValueError:
                message = None
            if isinstance(message, dict):
                await handle(scope, interview, user, role, message)
    except WebSocketDisconnect:
        pass
    finally:
        if await HUB.leave(interview.id, role, socket):
            await HUB.send(interview.id, other(role), {"type": "peer", "present": False})
        await log_event(scope, interview, user, "left", role=role)


async def handle(scope: TenantScope, interview: Interview, user: Any, role: str, message: dict[str, Any]) -> None:
    kind = message.get("type")
    if kind not in RELAYED or (kind == "control" and role != "interviewer") \
            or (kind in ("recording", "progress") and role != "interviewee"):
        return  # the interviewer controls the recording; only the interviewee's recorder reports on it
    if kind == "recording":
        await _recording_changed(scope, interview, user, message)
    await HUB.send(interview.id, other(role), {**message, "from": role})


async def _recording_changed(scope: TenantScope, interview: Interview, user: Any, message: dict[str, Any]) -> None:
    """The interviewee's recorder started or stopped a segment; the bytes are the server's count."""
    state = message.get("state")
    if state not in ("started", "stopped"):
        return
    try:
        segment = UUID(str(message.get("recording_id")))
    except ValueError:
        return
    row = await scope.objects(Recording).where(
        (Recording.interview == interview.id) & (Recording.id == segment)).first()
    if row is None:
        return
    await log_event(scope, interview, user, f"recording_{state}", recording_id=str(segment), bytes=row.upload_offset)
