"""The live rooms' bus across processes (issue 21 item 12): two Redis buses stand for two web
processes, on a redis-server of the test's own (a free port, so parallel runs never collide),
which a test kills and starts again."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from plugins.live_interview.bus import MemoryBus, RedisBus, bus_for
from plugins.live_interview.signalling import REPLACED, Hub
from tests.conftest import eventually


class RedisServer:
    """A redis-server of the test's own: no persistence, its own port, restartable there."""

    def __init__(self, folder: Path) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            pytest.skip("redis-server is not installed (apt-get install -y redis-server)")
        self.executable, self.folder = executable, folder
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    async def ready(self) -> None:
        async def answers() -> bool:
            try:
                _reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                return False
            writer.close()
            return True

        await eventually(answers, timeout=30, what=f"redis-server on port {self.port}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # kill -9: Redis goes away without a word
            self.process.wait(10)


@pytest.fixture
async def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    try:
        await server.ready()
        yield server
    finally:
        server.kill()


class Inbox:
    """What a process's bus delivered, by room."""

    def __init__(self) -> None:
        self.got: list[tuple[str, dict]] = []

    async def __call__(self, room: str, message: dict) -> None:
        self.got.append((room, message))


@pytest.fixture
async def two_buses(redis_server):
    prefix = f"test_{uuid.uuid4().hex[:8]}"
    inboxes = Inbox(), Inbox()
    buses = [RedisBus(redis_server.url, prefix, inbox, retry_seconds=0.1) for inbox in inboxes]
    yield buses, inboxes
    for bus in buses:
        await bus.close()


async def test_a_message_published_on_one_process_reaches_the_other_in_order(two_buses):
    (one, two), (_inbox_one, inbox_two) = two_buses
    room = str(uuid.uuid4())
    await two.subscribe(room)
    for n in range(50):
        await one.publish(room, {"n": n})
    await eventually(lambda: _count(inbox_two, 50), what="50 messages on the other process")
    assert [m["n"] for _room, m in inbox_two.got] == list(range(50))
    assert {r for r, _m in inbox_two.got} == {room}


async def test_a_process_gets_only_the_rooms_it_holds(two_buses):
    (one, two), (inbox_one, inbox_two) = two_buses
    mine, other = str(uuid.uuid4()), str(uuid.uuid4())
    await one.subscribe(mine)
    await two.subscribe(mine)
    await two.subscribe(other)
    await one.publish(other, {"for": "other"})
    await one.publish(mine, {"for": "mine"})
    await eventually(lambda: _count(inbox_one, 1), what="the message of the room process one holds")
    await eventually(lambda: _count(inbox_two, 2), what="both messages on process two")
    assert inbox_one.got == [(mine, {"for": "mine"})]
    await two.unsubscribe(other)
    await one.publish(other, {"for": "nobody"})
    await one.publish(mine, {"for": "mine again"})
    await eventually(lambda: _count(inbox_two, 3), what="the later message of the room still held")
    assert inbox_two.got[-1] == (mine, {"for": "mine again"})


async def test_presence_is_seen_from_every_process_and_released_only_by_its_holder(two_buses):
    (one, two), _inboxes = two_buses
    room = str(uuid.uuid4())
    assert not await two.present(room, "interviewer")
    await one.claim(room, "interviewer", "first")
    assert await two.present(room, "interviewer")
    await two.claim(room, "interviewer", "second")  # a newer page of the same person elsewhere
    assert not await one.release(room, "interviewer", "first")
    assert await one.present(room, "interviewer")
    assert await two.release(room, "interviewer", "second")
    assert not await one.present(room, "interviewer")


async def test_the_bus_subscribes_again_after_redis_restarts(two_buses, redis_server):
    (one, two), (_inbox_one, inbox_two) = two_buses
    room = str(uuid.uuid4())
    await two.subscribe(room)
    redis_server.kill()
    redis_server.start()
    await redis_server.ready()

    async def delivered() -> bool:
        # Pub/sub keeps nothing for a subscriber that is away: publish until one arrives.
        try:
            await one.publish(room, {"after": "restart"})
        except Exception:  # the publishing pool reconnects on a later call
            return False
        return any(m == {"after": "restart"} for _r, m in inbox_two.got)

    await eventually(delivered, timeout=30, what="a message after Redis came back")


class FakeSocket:
    """A browser's socket as the hub uses it: JSON sent to it, the close code."""

    def __init__(self) -> None:
        self.sent: list[dict] = []
        self.closed: int | None = None

    async def send_json(self, message: dict) -> None:
        self.sent.append(message)

    async def close(self, code: int = 1000) -> None:
        self.closed = code


async def test_the_two_people_meet_on_two_processes(redis_server):
    prefix = f"test_{uuid.uuid4().hex[:8]}"
    first, second = (Hub(lambda deliver: RedisBus(redis_server.url, prefix, deliver)) for _ in range(2))
    interview = uuid.uuid4()
    host, guest = FakeSocket(), FakeSocket()
    try:
        assert await first.enter(interview, "interviewer", host) is False  # alone yet
        assert await second.enter(interview, "interviewee", guest) is True
        await second.send(interview, "interviewer", {"type": "peer", "present": True})
        await first.send(interview, "interviewee", {"type": "signal", "data": {"sdp": "offer"}})
        await eventually(lambda: _has(host.sent, {"type": "peer", "present": True}), what="presence on process 1")
        await eventually(lambda: _has(guest.sent, {"type": "signal", "data": {"sdp": "offer"}}),
                         what="the offer on process 2")

        await first.broadcast(interview, {"type": "ended"})  # the interviewer's process ends it
        await eventually(lambda: _has(guest.sent, {"type": "ended"}), what="the end on process 2")
        await eventually(lambda: _has(host.sent, {"type": "ended"}), what="the end on process 1")

        # The interviewee's page reopens on the first process: the old page on the second is replaced.
        again = FakeSocket()
        assert await first.enter(interview, "interviewee", again) is True
        await eventually(lambda: _async(guest.closed == REPLACED), what="the older page closed as replaced")
        assert not await second.leave(interview, "interviewee", guest)  # the newer page keeps the place
        assert await first.bus.present(str(interview), "interviewee")
        assert await first.leave(interview, "interviewee", again)
        assert not await second.bus.present(str(interview), "interviewee")
    finally:
        for hub in (first, second):
            if hub._bus is not None:
                await hub._bus.close()


async def test_an_end_announced_while_redis_is_away_is_logged_not_raised(redis_server):
    hub = Hub(lambda deliver: RedisBus(redis_server.url, f"test_{uuid.uuid4().hex[:8]}", deliver))
    interview = uuid.uuid4()
    try:
        await hub.enter(interview, "interviewer", FakeSocket())
        redis_server.kill()
        with pytest.raises(Exception):
            await hub.send(interview, "interviewee", {"type": "signal"})  # the socket's handler closes it
        await hub.broadcast(interview, {"type": "ended"})  # the interview has ended all the same
    finally:
        await hub.bus.close()


async def test_the_broker_chooses_the_bus(settings):
    assert settings.broker_kind == "embedded"
    assert isinstance(bus_for(settings, Inbox()), MemoryBus)
    rabbit = replace(settings, broker_url="amqp://guest:guest@127.0.0.1:5672/")
    assert not bus_for(rabbit, Inbox()).cross_process  # no LISTEN/NOTIFY: one web process (docs)
    redis = bus_for(replace(settings, broker_url="redis://127.0.0.1:1/0"), Inbox())
    assert isinstance(redis, RedisBus) and redis.cross_process and redis.prefix == settings.queue_name


async def _count(inbox: Inbox, n: int) -> bool:
    return len(inbox.got) >= n


async def _has(sent: list[dict], message: dict) -> bool:
    return message in sent


async def _async(value: bool) -> bool:
    return value


def test_several_web_processes_without_a_shared_bus_are_refused(tmp_path):
    """RabbitMQ carries jobs only: `serve --workers 2` would split rooms, so it says what to set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MENDAN_", "DATABASE_URL", "BROKER_URL"))}
    env.update(MENDAN_DATA_DIR=str(tmp_path), BROKER_URL="amqp://guest:guest@127.0.0.1:5672/",
               DATABASE_URL="postgresql://postgres@127.0.0.1:5432/nowhere", MENDAN_PLUGINS="live_interview")
    mendan = str(Path(sys.executable).with_name("mendan"))
    refused = subprocess.run([mendan, "serve", "--port", "1", "--workers", "2"], env=env, capture_output=True,
                             text=True, timeout=120)
    assert refused.returncode == 2, refused.stderr
    assert "Redis pub/sub" in refused.stderr and "BROKER_URL=redis://" in refused.stderr
