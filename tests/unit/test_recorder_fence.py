"""The recorder under a fencing bus: an event is stored only once the bus has had its say on it,
and a writer the bus refuses (another attempt took the stream over) writes nothing more."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from pilot.db.models import StreamEventRow
from pilot.events.bus import EventBus, InMemoryBus
from pilot.events.recorder import EventRecorder
from pilot.events.schemas import StreamEvent
from pilot.observability.bus import MeteredBus


class FencingBus:
    """An async bus (no ``publish_nowait``) whose stream was taken over by ``owner``; ``gate``
    holds every publish until set."""

    def __init__(self, owner: str | None = None) -> None:
        self.owner = owner
        self.published: list[tuple[int, str | None]] = []
        self.closed: list[str] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def publish(self, event: StreamEvent, token: str | None = None) -> bool:
        await self.gate.wait()
        if self.owner is not None and token != self.owner:
            return False
        self.published.append((event.seq, token))
        return True

    async def take_over(self, stream_id: str, token: str) -> bool:
        self.owner = token
        return True

    def subscribe(self, stream_id: str, after_seq: int = 0):
        raise NotImplementedError

    async def close_stream(self, stream_id: str) -> None:
        self.closed.append(stream_id)

    async def aclose(self) -> None:
        return None


async def _stored(sessions) -> list[int]:
    async with sessions() as session:
        return list((await session.scalars(sa.select(StreamEventRow.seq).order_by(StreamEventRow.seq))).all())


def test_both_buses_conform_to_the_protocol():
    assert isinstance(InMemoryBus(), EventBus)
    assert isinstance(FencingBus(), EventBus)
    assert isinstance(MeteredBus(InMemoryBus()), EventBus)


async def test_an_event_is_stored_only_after_the_bus_took_it(sessions):
    bus = FencingBus()
    bus.gate.clear()  # the publisher is stuck on the first publish
    recorder = EventRecorder("exe_1", bus=bus, sessions=sessions, batch_delay_s=0, token="t1")
    recorder.emit_nowait("a", {})
    recorder.emit_nowait("b", {})
    await asyncio.sleep(0.1)
    assert await _stored(sessions) == []  # the flusher waits for the bus's verdict
    bus.gate.set()
    await recorder.flush()
    assert await _stored(sessions) == [1, 2]
    assert bus.published == [(1, "t1"), (2, "t1")]  # published under the writer's token
    await recorder.aclose()
    assert bus.closed == ["exe_1"]


async def test_a_refused_writer_stops_writing_and_says_so(sessions):
    bus = FencingBus()
    lost = asyncio.Event()
    recorder = EventRecorder("exe_1", bus=bus, sessions=sessions, batch_delay_s=0, token="old", on_fenced=lost.set)
    recorder.emit_nowait("a", {})
    await recorder.flush()
    bus.gate.clear()
    recorder.emit_nowait("b", {})  # its publish waits: the takeover happens meanwhile
    await bus.take_over("exe_1", "new")
    bus.gate.set()
    recorder.emit_nowait("c", {})
    await asyncio.wait_for(lost.wait(), 2)  # the executor's lease_lost: the attempt stops
    assert recorder.fenced
    recorder.emit_nowait("d", {})  # neither raises nor writes
    await asyncio.wait_for(recorder.flush(), 2)  # returns although 2..4 are never stored
    assert not await recorder.close_with("run.finished", {}, _must_not_run)
    await recorder.aclose()
    assert await _stored(sessions) == [1]
    assert bus.published == [(1, "old")]
    assert bus.closed == []  # the stream is the new owner's to close


async def test_a_resumed_writer_takes_the_stream_over_before_reading_it(sessions):
    bus = FencingBus()
    old = EventRecorder("exe_1", bus=bus, sessions=sessions, batch_delay_s=0, token="old")
    old.emit_nowait("a", {})
    await old.flush()
    new = await EventRecorder.resume("exe_1", bus=bus, sessions=sessions, batch_delay_s=0, token="new")
    assert bus.owner == "new" and new.seq == 1 and new.token == "new"
    old.emit_nowait("late", {})
    new.emit_nowait("b", {})
    await old.aclose(close_stream=False)
    await new.aclose()
    assert bus.published == [(1, "old"), (2, "new")] and old.fenced and not new.fenced
    assert await _stored(sessions) == [1, 2]


async def test_a_metered_bus_counts_only_what_the_fence_let_through():
    class Inner(FencingBus):
        pass

    inner = Inner(owner="new")
    bus = MeteredBus(inner)
    assert await bus.publish(StreamEvent("exe_1", 1, "run.started", {}), token="old") is False
    assert await bus.publish(StreamEvent("exe_1", 1, "run.started", {}), token="new") is True
    assert await bus.take_over("exe_1", "newer") is True and inner.owner == "newer"


async def _must_not_run(_session) -> bool:
    raise AssertionError("a fenced writer commits nothing")


class AnsweringBus(FencingBus):
    """Redis unreachable: every publish is "answered" (best effort, nothing fenced)."""

    async def publish(self, event: StreamEvent, token: str | None = None) -> bool:
        self.published.append((event.seq, token))
        return True


async def test_the_database_fences_a_writer_while_the_bus_cannot(sessions) -> None:
    """With Redis down the bus answers every publish, so only the database can tell a writer its
    run was taken over: the batch written after that is rolled back, the writer stops."""
    holder = {"now": True}
    fenced: list[bool] = []

    async def holds(_session) -> bool:
        return holder["now"]

    recorder = EventRecorder("exe_x", bus=AnsweringBus(), sessions=sessions, batch_delay_s=0, token="old",
                             on_fenced=lambda: fenced.append(True), holds=holds)
    recorder.emit_nowait("node.delta", {"i": 1})
    await recorder.flush()
    assert await _stored(sessions) == [1]
    holder["now"] = False  # another attempt took the run over
    recorder.emit_nowait("node.delta", {"i": 2})
    await recorder.flush()
    recorder.emit_nowait("node.delta", {"i": 3})
    await recorder.aclose()
    assert await _stored(sessions) == [1]  # seq 2 rolled back, 3 never written
    assert recorder.fenced and fenced == [True]


async def test_an_in_process_bus_keeps_every_event_it_delivered(sessions) -> None:
    """The in-memory bus delivered each event live as it was numbered: it is stored even after
    a takeover (the successor numbers after it), so the database fence does not apply."""

    async def never(_session) -> bool:
        return False

    recorder = EventRecorder("exe_y", bus=InMemoryBus(), sessions=sessions, batch_delay_s=0, token="old", holds=never)
    recorder.emit_nowait("node.delta", {"i": 1})
    await recorder.aclose()
    assert await _stored(sessions) == [1] and not recorder.fenced
