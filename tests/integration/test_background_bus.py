"""RedisStreamBus against the real Redis on 127.0.0.1:6379 (unique key prefix per test)."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
import redis.asyncio as aioredis

from pilot.background.keys import RedisKeys
from pilot.background.redis_bus import RedisStreamBus
from pilot.events.schemas import StreamEvent
from pilot.settings import Settings
from tests.support.servers import free_port

pytestmark = pytest.mark.redis

REDIS_URL = "redis://127.0.0.1:6379/0"


def _settings(**env: str):
    return Settings.from_env({"PILOT_REDIS_PREFIX": f"pilot-test-{uuid.uuid4().hex[:10]}", **env}).redis


class FakeStore:
    """Stands in for the stream_events table."""

    def __init__(self) -> None:
        self.events: dict[str, list[StreamEvent]] = {}
        self.reads = 0

    def add(self, event: StreamEvent) -> None:
        self.events.setdefault(event.stream_id, []).append(event)

    async def read(self, stream_id: str, after_seq: int) -> list[StreamEvent]:
        self.reads += 1
        return [e for e in self.events.get(stream_id, []) if e.seq > after_seq]


def ev(stream: str, seq: int, name: str = "node.delta", **data) -> StreamEvent:
    return StreamEvent(stream_id=stream, seq=seq, event=name, data=data or {"text": f"t{seq}"})


async def collect(sub, timeout: float = 5.0) -> list[StreamEvent]:
    async def run():
        return [e async for e in sub]

    return await asyncio.wait_for(run(), timeout)


async def test_events_cross_bus_instances_in_order_and_once():
    settings = _settings()
    writer, reader = RedisStreamBus(REDIS_URL, settings), RedisStreamBus(REDIS_URL, settings)
    try:
        sid = f"exe_{uuid.uuid4().hex}"
        task = asyncio.create_task(collect(reader.subscribe(sid)))
        await asyncio.sleep(0.05)
        for seq in range(1, 5):
            await writer.publish(ev(sid, seq))
        await writer.publish(ev(sid, 3))  # duplicate delivery of seq 3: refused by Redis, not re-sent
        await writer.publish(ev(sid, 5, "run.finished", status="succeeded"))
        got = await task
        assert [e.seq for e in got] == [1, 2, 3, 4, 5]
        assert got[0].data == {"text": "t1"} and got[-1].event == "run.finished"
        # A late subscriber resuming after seq 2 gets exactly 3..5 from the retained stream.
        late = await collect(reader.subscribe(sid, after_seq=2))
        assert [e.seq for e in late] == [3, 4, 5]
    finally:
        await writer.aclose()
        await reader.aclose()


async def test_stream_is_capped_and_expires_after_close():
    settings = _settings(PILOT_STREAM_MAXLEN="5", PILOT_STREAM_TTL_S="30")
    bus = RedisStreamBus(REDIS_URL, settings)
    raw = aioredis.from_url(REDIS_URL)
    try:
        sid = f"exe_{uuid.uuid4().hex}"
        for seq in range(1, 400):
            await bus.publish(ev(sid, seq))
        key = RedisKeys(settings.key_prefix).stream(sid)
        assert await raw.xlen(key) < 399  # MAXLEN ~ trims (approximately, whole macro nodes)
        assert await raw.ttl(key) == -1
        await bus.close_stream(sid)
        assert 0 < await raw.ttl(key) <= 30
        first = (await raw.xrange(key, count=1))[0][0]
        assert first.endswith(b"-0")  # entry id is <seq>-0
    finally:
        await raw.delete(RedisKeys(settings.key_prefix).stream(sid), RedisKeys(settings.key_prefix).stream_closed(sid))
        await raw.aclose()
        await bus.aclose()


async def test_lost_publishes_are_filled_from_the_database():
    settings = _settings(PILOT_SUBSCRIBE_BLOCK_S="0.2")
    store = FakeStore()
    bus = RedisStreamBus(REDIS_URL, settings, persisted=store.read)
    try:
        sid = f"exe_{uuid.uuid4().hex}"
        events = [ev(sid, 1), ev(sid, 2), ev(sid, 3), ev(sid, 4, "run.finished", status="failed")]
        for e in events:
            store.add(e)
        # Only 1 and 3 reach Redis (2 was lost while Redis was away; 4, the terminal one, too).
        await bus.publish(events[0])
        await bus.publish(events[2])
        got = await collect(bus.subscribe(sid))
        assert [e.seq for e in got] == [1, 2, 3, 4]
        assert got[-1].event == "run.finished"
    finally:
        await bus.aclose()


async def test_redis_unreachable_falls_back_to_the_database_and_never_hangs():
    settings = _settings(PILOT_SUBSCRIBE_BLOCK_S="0.2")
    store = FakeStore()
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    bus = RedisStreamBus(dead, settings, persisted=store.read)
    try:
        sid = f"exe_{uuid.uuid4().hex}"
        started = time.monotonic()
        await bus.publish(ev(sid, 1))  # refused quickly, not raised
        await bus.publish(ev(sid, 2))  # skipped during the backoff window
        assert time.monotonic() - started < 2.5
        sub = bus.subscribe(sid)
        task = asyncio.create_task(collect(sub, timeout=10))
        store.add(ev(sid, 1))
        await asyncio.sleep(0.3)
        store.add(ev(sid, 2, "run.finished", status="succeeded"))
        got = await task
        assert [e.seq for e in got] == [1, 2]
    finally:
        await bus.aclose()


async def test_aclose_ends_blocked_subscribers():
    settings = _settings(PILOT_SUBSCRIBE_BLOCK_S="5")
    bus = RedisStreamBus(REDIS_URL, settings)
    sid = f"exe_{uuid.uuid4().hex}"
    task = asyncio.create_task(collect(bus.subscribe(sid), timeout=5))
    await asyncio.sleep(0.1)
    await bus.aclose()
    assert await asyncio.wait_for(task, 2) == []


async def test_publishes_are_fenced_by_the_stream_owner_token():
    """The Lua fence: no owner → anyone publishes; once taken over, only the owner's token does;
    a refused publish returns False (never raises); a duplicate seq stays an idempotent no-op."""
    settings = _settings()
    bus, reader = RedisStreamBus(REDIS_URL, settings), RedisStreamBus(REDIS_URL, settings)
    raw = aioredis.from_url(REDIS_URL)
    keys = RedisKeys(settings.key_prefix)
    sid = f"exe_{uuid.uuid4().hex}"
    try:
        assert await bus.publish(ev(sid, 1), token="old") is True  # absent owner: published
        assert await bus.publish(ev(sid, 2)) is True  # a writer without a token too
        assert await bus.take_over(sid, "new") is True
        assert await raw.get(keys.stream_owner(sid)) == b"new"
        assert await raw.ttl(keys.stream_owner(sid)) == -1  # no TTL while the stream is open
        assert await bus.publish(ev(sid, 3, text="old's"), token="old") is False  # other token: refused
        assert await bus.publish(ev(sid, 3, text="anonymous")) is False
        assert await bus.publish(ev(sid, 3, text="new's"), token="new") is True  # owner = token: published
        assert await bus.publish(ev(sid, 3, text="again"), token="new") is True  # duplicate seq: a no-op
        assert await bus.publish(ev(sid, 2, text="late"), token="new") is True  # older seq: a no-op too
        assert await bus.last_seq(sid) == 3
        assert [(e.seq, e.data) for e in await bus.retained(sid)] == [
            (1, {"text": "t1"}), (2, {"text": "t2"}), (3, {"text": "new's"})]
        await bus.publish(ev(sid, 4, "run.finished", status="succeeded"), token="new")
        assert [e.seq for e in await collect(reader.subscribe(sid))] == [1, 2, 3, 4]
        await bus.close_stream(sid)
        assert 0 < await raw.ttl(keys.stream_owner(sid)) <= settings.stream_ttl_s  # expires with the stream
    finally:
        await raw.delete(keys.stream(sid), keys.stream_closed(sid), keys.stream_owner(sid))
        await raw.aclose()
        await bus.aclose()
        await reader.aclose()


async def test_take_over_and_publish_stay_best_effort_when_redis_is_unreachable():
    settings = _settings()
    bus = RedisStreamBus(f"redis://127.0.0.1:{free_port()}/0", settings)  # nothing listens there
    try:
        started = time.monotonic()
        assert await bus.take_over("exe_x", "t") is False  # retried briefly, then logged, not raised
        assert await bus.publish(ev("exe_x", 1), token="t") is True  # dropped from the live path only
        assert time.monotonic() - started < 5
    finally:
        await bus.aclose()
