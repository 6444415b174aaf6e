"""The room bus: what the web processes tell each other about live rooms.

A room's two people may be served by different web processes (`mendan serve --workers 2`,
or several hosts behind one address). Each process holds only its own sockets; the bus
carries the room's messages to every process that holds a socket of that room, and keeps
the room's presence (which role is in, under which connection token) where all can read it.

Two backends, chosen by `bus_for(settings)`:
- `MemoryBus`: one process (the embedded default, and any BROKER_URL that is not Redis).
- `RedisBus`: Redis pub/sub when BROKER_URL is redis:// or rediss://. One connection per
  process for every subscription, a pool for publishing and presence; after Redis restarts
  the subscriber reconnects and subscribes again. Messages published while Redis was away
  are lost (pub/sub keeps nothing); browsers already connected go on peer to peer, and a
  page that reopens its socket enters again.

Channels and keys carry the deployment's queue name (`MENDAN_QUEUE`), so deployments can
share one Redis. PostgreSQL LISTEN/NOTIFY would serve RabbitMQ deployments too; it is not
built: such a deployment runs one web process, which `mendan serve --workers` enforces.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import structlog

log = structlog.get_logger("mendan.live_interview")

Deliver = Callable[[str, dict[str, Any]], Awaitable[None]]  # (room, message) -> None
PRESENCE_SECONDS = 6 * 3600  # a process that died leaves its presence behind at most this long
SUBSCRIBE_SECONDS = 10.0  # longer without Redis's confirmation: the socket closes and the page retries


class RoomBus(Protocol):
    """What the signalling hub needs from a bus. A room is a string (the interview id)."""

    cross_process: bool  # whether participants on two processes reach each other

    async def subscribe(self, room: str) -> None:
        """From now on this process's `deliver` gets every message published to `room`."""

    async def unsubscribe(self, room: str) -> None:
        """This process holds no socket of `room` any more."""

    async def publish(self, room: str, message: dict[str, Any]) -> None:
        """To every subscribed process, this one included, in the order one caller publishes."""

    async def claim(self, room: str, role: str, token: str) -> None:
        """`role` is in `room`, on the connection `token` (replacing any earlier one)."""

    async def release(self, room: str, role: str, token: str) -> bool:
        """`role` left `room`; False (and nothing changed) when a newer connection holds the place."""

    async def present(self, room: str, role: str) -> bool:
        """Whether `role` is in `room` on any process."""


class MemoryBus:
    """One process: presence in a dict, messages delivered at once."""

    cross_process = False

    def __init__(self, deliver: Deliver) -> None:
        self.deliver = deliver
        self.rooms: set[str] = set()
        self.presence: dict[str, dict[str, str]] = {}

    async def subscribe(self, room: str) -> None:
        self.rooms.add(room)

    async def unsubscribe(self, room: str) -> None:
        self.rooms.discard(room)

    async def publish(self, room: str, message: dict[str, Any]) -> None:
        if room in self.rooms:
            await self.deliver(room, message)

    async def claim(self, room: str, role: str, token: str) -> None:
        self.presence.setdefault(room, {})[role] = token

    async def release(self, room: str, role: str, token: str) -> bool:
        held = self.presence.get(room, {})
        if held.get(role) != token:
            return False
        del held[role]
        if not held:
            self.presence.pop(room, None)
        return True

    async def present(self, room: str, role: str) -> bool:
        return role in self.presence.get(room, {})


# Delete the field only while it still holds this connection's token (atomic in Redis).
_RELEASE = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
return 0
"""


class RedisBus:
    """Redis pub/sub: one subscriber connection per process, resubscribed after a restart.

    `url` is a redis:// URL; `prefix` names this deployment's channels and keys. The
    subscriber task starts on first use in the running event loop; `close()` ends it."""

    cross_process = True

    def __init__(self, url: str, prefix: str, deliver: Deliver, retry_seconds: float = 0.5) -> None:
        self.url, self.prefix, self.deliver, self.retry_seconds = url, prefix, deliver, retry_seconds
        self.rooms: set[str] = set()
        self._confirmed: dict[str, asyncio.Event] = {}
        self._client: Any = None
        self._pubsub: Any = None
        self._listener: asyncio.Task | None = None

    def _channel(self, room: str) -> str:
        return f"{self.prefix}:live_room:{room}"

    def _key(self, room: str) -> str:
        return f"{self.prefix}:live_room:{room}:presence"

    def _redis(self) -> Any:
        if self._client is None:
            import redis.asyncio as redis

            self._client = redis.Redis.from_url(self.url, decode_responses=True, health_check_interval=10)
            self._release = self._client.register_script(_RELEASE)
        if self._listener is None or self._listener.done():
            self._listener = asyncio.get_running_loop().create_task(self._listen())
        return self._client

    async def subscribe(self, room: str) -> None:
        self._redis()
        self.rooms.add(room)
        confirmed = self._confirmed.setdefault(room, asyncio.Event())
        if self._pubsub is not None:  # else the listener subscribes to every room as it connects
            try:
                await self._pubsub.subscribe(self._channel(room))
            except Exception as exc:  # Redis away: the listener resubscribes when it is back
                log.warning("live_room_bus_subscribe_failed", error=repr(exc))
        # Presence is claimed only once Redis has confirmed the subscription, so a message the
        # peer publishes after reading that presence cannot be missed. TimeoutError: Redis away.
        await asyncio.wait_for(confirmed.wait(), SUBSCRIBE_SECONDS)

    async def unsubscribe(self, room: str) -> None:
        self.rooms.discard(room)
        self._confirmed.pop(room, None)
        if self._pubsub is not None:
            try:
                await self._pubsub.unsubscribe(self._channel(room))
            except Exception as exc:  # Redis away: a resubscription leaves this room out
                log.warning("live_room_bus_unsubscribe_failed", error=repr(exc))

    async def publish(self, room: str, message: dict[str, Any]) -> None:
        await self._redis().publish(self._channel(room), json.dumps(message))

    async def claim(self, room: str, role: str, token: str) -> None:
        client = self._redis()
        async with client.pipeline(transaction=True) as pipe:
            await pipe.hset(self._key(room), role, token).expire(self._key(room), PRESENCE_SECONDS).execute()

    async def release(self, room: str, role: str, token: str) -> bool:
        self._redis()
        return bool(await self._release(keys=[self._key(room)], args=[role, token]))

    async def present(self, room: str, role: str) -> bool:
        return bool(await self._redis().hexists(self._key(room), role))

    async def _listen(self) -> None:
        """The process's one subscriber connection: reconnects and resubscribes until closed."""
        while True:
            try:
                self._pubsub = self._client.pubsub()
                # Subscribing needs a channel; this deployment's own idle channel keeps the
                # connection subscribed while the process holds no room.
                await self._pubsub.subscribe(f"{self.prefix}:live_room:", *(self._channel(r) for r in self.rooms))
                while True:
                    message = await self._pubsub.get_message(timeout=1.0)
                    if message is not None:
                        await self._on(message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis restarted or unreachable: try again shortly
                log.warning("live_room_bus_disconnected", error=repr(exc))
                for event in self._confirmed.values():
                    event.clear()
                await self._drop_pubsub()
                await asyncio.sleep(self.retry_seconds)

    async def _on(self, message: dict[str, Any]) -> None:
        channel = message.get("channel") or ""
        room = channel.removeprefix(f"{self.prefix}:live_room:")
        if message["type"] == "subscribe":
            if room in self._confirmed:
                self._confirmed[room].set()
        elif message["type"] == "message" and room in self.rooms:
            try:
                await self.deliver(room, json.loads(message["data"]))
            except Exception:  # one failing delivery must not stop the process's subscriber
                log.exception("live_room_bus_delivery_failed", room=room)

    async def _drop_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            try:
                await pubsub.aclose()
            except Exception:  # the connection is gone already
                pass

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            try:
                await self._listener
            except (asyncio.CancelledError, Exception):
                pass
            self._listener = None
        await self._drop_pubsub()
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def bus_for(settings: Any, deliver: Deliver) -> RoomBus:
    """Redis pub/sub when the broker is Redis, else one process's memory."""
    if settings.broker_kind == "redis":
        return RedisBus(settings.broker_url, settings.queue_name, deliver)
    return MemoryBus(deliver)
