"""WebRTC signalling over a WebSocket: offers, answers, ICE candidates and the room's
control messages pass between the two people of one interview, and nobody else.

The socket is authenticated by the session cookie (the core's auth middleware covers
websockets) and guarded like every plugin route (tenant, contract, service hours);
the handler then admits only the interview's interviewer and consented interviewee,
from a page of this site. Each process holds its own sockets; the room bus (bus.py)
reaches the room's other participant when another web process serves them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse
from uuid import UUID, uuid4

import structlog
from litestar import WebSocket, websocket
from litestar.exceptions import NotFoundException, WebSocketDisconnect
from litestar.params import FromPath

from core.config import get_settings
from core.interviews.api import Interview, Recording, advance
from core.tenancy import TenantScope
from plugins.live_interview.bus import Deliver, RoomBus, bus_for
from plugins.live_interview.room import ice_servers, log_event, may_enter, recording_wanted

log = structlog.get_logger("mendan.live_interview")

# Close codes (4000-4999 are the application's): refused, replaced by a newer page.
REFUSED, REPLACED = 4403, 4409
RELAYED = {"signal", "control", "recording", "progress"}
MAX_MESSAGE = 64 * 1024


class Hub:
    """This process's open sockets of each room, by role; the room bus (plugins/live_interview/
    bus.py) carries messages and presence to and from the other web processes.

    `bus` makes the bus from the delivery function; by default the one the settings choose."""

    def __init__(self, bus: Callable[[Deliver], RoomBus] | None = None) -> None:
        self.rooms: dict[UUID, dict[str, tuple[WebSocket, str]]] = {}  # room -> role -> (socket, token)
        self._make_bus = bus or (lambda deliver: bus_for(get_settings(), deliver))
        self._bus: RoomBus | None = None

    @property
    def bus(self) -> RoomBus:
        if self._bus is None:
            self._bus = self._make_bus(self._deliver)
        return self._bus

    async def enter(self, interview_id: UUID, role: str, socket: WebSocket) -> bool:
        """Put the socket in the room, replacing an earlier page of the role on any process;
        whether the other role is in the room."""
        room, token = str(interview_id), uuid4().hex
        local = self.rooms.setdefault(interview_id, {})
        previous = local.get(role)
        local[role] = (socket, token)
        if previous is not None:
            await _close_quietly(previous[0], REPLACED)
        await self.bus.subscribe(room)
        await self.bus.claim(room, role, token)
        await self.bus.publish(room, {"replace": role, "token": token})
        return await self.bus.present(room, other(role))

    async def leave(self, interview_id: UUID, role: str, socket: WebSocket) -> bool:
        """False when a newer page of the same role, here or on another process, had already
        taken the place."""
        local = self.rooms.get(interview_id, {})
        held = local.get(role)
        if held is None or held[0] is not socket:
            return False
        del local[role]
        room = str(interview_id)
        try:
            if not local:
                self.rooms.pop(interview_id, None)
                await self.bus.unsubscribe(room)
            return await self.bus.release(room, role, held[1])
        except Exception as exc:  # the bus is away: its presence expires (bus.PRESENCE_SECONDS)
            log.warning("live_room_leave_unannounced", interview_id=room, error=repr(exc))
            return False

    async def send(self, interview_id: UUID, role: str, message: dict[str, Any]) -> None:
        """To the role's socket, on whichever process holds it; nothing when nobody does."""
        await self.bus.publish(str(interview_id), {"to": role, "message": message})

    async def broadcast(self, interview_id: UUID, message: dict[str, Any]) -> None:
        """To both people, wherever they are. What happened stays done when the bus is away (the
        pages learn it when they reload), so a lost broadcast is logged, not raised."""
        try:
            await self.bus.publish(str(interview_id), {"to": "*", "message": message})
        except Exception as exc:
            log.warning("live_room_broadcast_lost", interview_id=str(interview_id), error=repr(exc))

    async def _deliver(self, room: str, data: dict[str, Any]) -> None:
        """A message of the bus, to this process's sockets of the room it names."""
        local = self.rooms.get(UUID(room), {})
        if "replace" in data:
            held = local.get(data["replace"])
            if held is not None and held[1] != data.get("token"):
                await _close_quietly(held[0], REPLACED)  # its handler's leave finds the newer token
            return
        for role, (socket, _token) in list(local.items()):
            if data.get("to") in (role, "*"):
                try:
                    await socket.send_json(data["message"])
                except Exception:  # a socket closing under us is the peer leaving; its handler cleans up
                    pass


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
    try:
        peer = await HUB.enter(interview.id, role, socket)
        await log_event(scope, interview, user, "joined", role=role)
        if role == "interviewer":
            await advance(scope, interview, "in_progress")
        await socket.send_json({"type": "welcome", "role": role, "peer": peer,
                                "recording": await recording_wanted(scope, interview.id),
                                "ice_servers": ice_servers()})
        await HUB.send(interview.id, other(role), {"type": "peer", "present": True})
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
