"""A write the database refuses never loses the rest of a run's history, and is reported."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from pilot.db.models import StreamEventRow
from pilot.events.recorder import EventRecorder


async def test_one_refused_event_keeps_the_others_and_sets_the_error(sessions, monkeypatch) -> None:
    recorder = EventRecorder("exe_1", bus=None, sessions=sessions, batch_delay_s=0)
    real_insert = recorder._insert

    async def refuse_poison(rows):
        if any(r["data"].get("poison") for r in rows):
            raise sa.exc.DataError("INSERT", {}, ValueError("value refused"))
        await real_insert(rows)

    monkeypatch.setattr(recorder, "_insert", refuse_poison)
    monkeypatch.setattr(asyncio, "sleep", _no_sleep)
    recorder.emit_nowait("a", {"n": 1})
    recorder.emit_nowait("b", {"poison": True})
    recorder.emit_nowait("c", {"n": 3})
    await recorder.aclose(close_stream=False)
    async with sessions() as session:
        stored = (await session.execute(sa.select(StreamEventRow.seq, StreamEventRow.event).order_by(StreamEventRow.seq))).all()
    assert [tuple(r) for r in stored] == [(1, "a"), (3, "c")]
    assert recorder.error is not None and "event 2 (b)" in recorder.error and "value refused" in recorder.error
    assert "[SQL" not in recorder.error


async def _no_sleep(_delay: float) -> None:
    return None
