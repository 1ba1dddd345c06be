"""The idle re-reads of SSE streams on a process-local bus, batched into one query.

An idle stream on :class:`~pilot.events.bus.InMemoryBus` re-reads ``stream_events`` every
``IDLE_POLL_S`` because its run may be resumed by *another process* (see :mod:`pilot.events.sse`).
Done per stream, that is one query per idle stream per period: 3,000 idle streams kept most of a
core busy and queued for the pool connections requests need (stream opens failed with pool
timeouts). Instead a stream asks :meth:`IdleCheck.newer`; every ask made within
``BATCH_WINDOW_S`` of the first shares ONE ``SELECT stream_id, max(seq) … GROUP BY stream_id``
(several for thousands of distinct streams), and only a stream the database has moved past then
reads its new events. So the database sees at most one check per window, however many streams
are idle.
"""

from __future__ import annotations

import asyncio
import weakref

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pilot.db.models import StreamEventRow

BATCH_WINDOW_S = 0.05  # asks this close together share a query (idle timers of one run fire together)
_IDS_PER_QUERY = 500  # bound the IN list (SQLite's variable limit, plan size)


async def newest_seqs(sessions: async_sessionmaker[AsyncSession], stream_ids: list[str]) -> dict[str, int]:
    """Highest stored seq of each stream that has events (absent: none stored)."""
    newest: dict[str, int] = {}
    async with sessions() as session:
        for i in range(0, len(stream_ids), _IDS_PER_QUERY):
            rows = await session.execute(
                sa.select(StreamEventRow.stream_id, sa.func.max(StreamEventRow.seq))
                .where(StreamEventRow.stream_id.in_(stream_ids[i:i + _IDS_PER_QUERY]))
                .group_by(StreamEventRow.stream_id))
            newest.update((stream_id, seq) for stream_id, seq in rows)
    return newest


class IdleCheck:
    """Batches "has this stream moved past ``seq`` in the database?" for one sessions factory."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._loop: asyncio.AbstractEventLoop | None = None
        self._answer: asyncio.Future[dict[str, int]] | None = None
        self._ids: set[str] = set()
        self._task: asyncio.Task | None = None  # the pending batch (a reference keeps it alive)

    async def newer(self, stream_id: str, after_seq: int) -> bool:
        """True when the database holds an event of ``stream_id`` with seq > ``after_seq``.
        Raises what the query raised (the caller retries at its next idle tick)."""
        loop = asyncio.get_running_loop()
        if self._answer is None or self._loop is not loop:
            self._loop, self._answer, self._ids = loop, loop.create_future(), set()
            self._answer.add_done_callback(_retrieve)
            self._task = loop.create_task(self._query(self._answer, self._ids), name="pilot-sse-idle-check")
        self._ids.add(stream_id)
        # Shielded: one asker going away (its client disconnected) must not cancel the others' answer.
        newest = await asyncio.shield(self._answer)
        return newest.get(stream_id, 0) > after_seq

    async def _query(self, answer: asyncio.Future[dict[str, int]], ids: set[str]) -> None:
        try:
            await asyncio.sleep(BATCH_WINDOW_S)
            if self._answer is answer:
                self._answer = None  # asks from now on start the next batch
            answer.set_result(await newest_seqs(self._sessions, sorted(ids)))
        except asyncio.CancelledError:
            answer.cancel()
            raise
        except Exception as exc:  # noqa: BLE001 - handed to every asker
            answer.set_exception(exc)


def _retrieve(answer: asyncio.Future) -> None:
    # Every asker may have left before the answer came: no "exception never retrieved" noise.
    if not answer.cancelled():
        answer.exception()


_CHECKS: weakref.WeakKeyDictionary[async_sessionmaker, IdleCheck] = weakref.WeakKeyDictionary()


def idle_check(sessions: async_sessionmaker[AsyncSession]) -> IdleCheck:
    """The process's :class:`IdleCheck` for ``sessions`` (one per database)."""
    check = _CHECKS.get(sessions)
    if check is None:
        check = _CHECKS[sessions] = IdleCheck(sessions)
    return check
