"""Idle SSE streams on the in-memory bus check the database in batches (pilot/events/idle.py):
one query per idle period for all of a process's idle streams, and a stream reads its events
only once the database has moved past it. (Before, each idle stream queried on its own: 3,000
idle streams kept most of a core busy and starved requests of pool connections.)"""

from __future__ import annotations

import asyncio


from pilot.db.models import StreamEventRow
from pilot.events import idle, sse
from pilot.events.bus import InMemoryBus


async def write(sessions, stream_id: str, *events: tuple[int, str]) -> None:
    async with sessions() as session:
        session.add_all(StreamEventRow(stream_id=stream_id, seq=seq, event=name, data={}) for seq, name in events)
        await session.commit()


async def test_many_idle_streams_share_one_query_and_only_a_moved_stream_reads(sessions, monkeypatch) -> None:
    monkeypatch.setattr(sse, "IDLE_POLL_S", 0.05)
    batches: list[list[str]] = []
    reads: list[str] = []
    real_newest, real_persisted = idle.newest_seqs, sse.persisted_events

    async def counting_newest(sessions_, stream_ids):
        batches.append(stream_ids)
        return await real_newest(sessions_, stream_ids)

    async def counting_persisted(sessions_, stream_id, after_seq, before_seq=None):
        reads.append(stream_id)
        return await real_persisted(sessions_, stream_id, after_seq, before_seq)

    monkeypatch.setattr(idle, "newest_seqs", counting_newest)
    monkeypatch.setattr(sse, "persisted_events", counting_persisted)
    # 10 streams of one run and one stream each of 10 other runs, all waiting (run.started stored).
    ids = ["exe_shared"] * 10 + [f"exe_{i}" for i in range(10)]
    for stream_id in set(ids):
        await write(sessions, stream_id, (1, "run.started"))
    bus = InMemoryBus()
    streams = [sse.stream_messages(stream_id=s, bus=bus, sessions=sessions) for s in ids]
    assert [await anext(m) for m in streams] == [sse._message(sse.StreamEvent(s, 1, "run.started", {})) for s in ids]
    pending = [asyncio.ensure_future(anext(m)) for m in streams]

    await asyncio.sleep(0.6)  # ~12 idle periods of 20 streams: 240 queries the old way
    assert not any(p.done() for p in pending)
    assert reads == []  # nothing moved: no stream read its events
    assert 1 <= len(batches) <= 12
    assert max(len(b) for b in batches) == 11  # one query covered every distinct idle stream

    # "Another process" resumed exe_3: only its stream reads, and it gets the event.
    await write(sessions, "exe_3", (2, "run.finished"))
    moved = pending[ids.index("exe_3")]
    assert (await asyncio.wait_for(moved, 5)).startswith(b"id: 2\r\nevent: run.finished")
    assert set(reads) == {"exe_3"}
    assert not any(p.done() for p in pending if p is not moved)
    for p in pending:
        p.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for m in streams:
        await m.aclose()
    await bus.aclose()


async def test_a_failing_check_reaches_every_asker_and_the_next_batch_retries(sessions, monkeypatch) -> None:
    calls = 0
    real_newest = idle.newest_seqs

    async def flaky(sessions_, stream_ids):
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database hiccup")
        return await real_newest(sessions_, stream_ids)

    monkeypatch.setattr(idle, "newest_seqs", flaky)
    await write(sessions, "exe_a", (1, "run.started"), (2, "node.started"))
    check = idle.IdleCheck(sessions)
    first = await asyncio.gather(check.newer("exe_a", 1), check.newer("exe_b", 0), return_exceptions=True)
    assert [type(r) for r in first] == [RuntimeError, RuntimeError]
    assert await asyncio.gather(check.newer("exe_a", 1), check.newer("exe_a", 2), check.newer("exe_b", 0)) == [True, False, False]
    assert calls == 2
