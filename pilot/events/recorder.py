"""The single writer of one stream: assigns ``seq``, publishes to the bus, persists in order.

Hot path: :meth:`EventRecorder.emit_nowait` is synchronous — it numbers the event, hands it to
the bus (the in-memory bus fans out synchronously; other buses get it through one ordered
publisher task) and appends it to a write-behind buffer. A flusher task writes buffered events to
``stream_events`` in seq order, many rows per INSERT, so the scheduler never waits on the
database per event. Nothing is lost: until an event is in the database the bus still retains it
(see :mod:`pilot.events.bus`), and :meth:`aclose` flushes everything before returning.
Each (stream_id, seq) row is written exactly once (it is the primary key).

A run ends in one transaction: :meth:`EventRecorder.close_with` stops the flusher (without it
writing), then commits the run's terminal transition, the events still buffered and the final
event together, and publishes the final event only once that is committed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pilot.core.codec import storable
from pilot.core.failures import backoff_delay
from pilot.core.redaction import redact_value
from pilot.db.errors import db_reason
from pilot.db.models import StreamEventRow
from pilot.events.projection import persist_events
from pilot.events.schemas import StreamEvent

log = logging.getLogger("pilot.events")



class EventRecorder:
    """Numbers, publishes and persists the events of one stream. Not shared between streams."""

    def __init__(
        self,
        stream_id: str,
        *,
        bus: Any,
        sessions: async_sessionmaker[AsyncSession] | None,
        start_seq: int = 0,
        batch_delay_s: float = 0.005,
        observer: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        self.stream_id = stream_id
        # Called with every event written (redacted), in the emitting task: a run's spans
        # (pilot.observability.run_spans) are made from them. It must not raise.
        self._observer = observer
        self.seq = start_seq
        self._bus = bus
        self._sessions = sessions
        self._batch_delay_s = batch_delay_s
        self._pending: list[StreamEvent] = []
        self.error: str | None = None  # why an event could not be stored (the run then fails)
        self._persisted = start_seq  # highest seq known to be in the database
        self._written = asyncio.Event()
        self._wake = asyncio.Event()
        self._closing = False
        self._writing = False  # the flusher is inside a write (it is never cancelled there)
        self._publish_sync = getattr(bus, "publish_nowait", None)
        self._outbox: asyncio.Queue[StreamEvent] | None = None
        self._publisher: asyncio.Task | None = None
        if self._publish_sync is None and bus is not None:
            self._outbox = asyncio.Queue()
            self._publisher = asyncio.create_task(self._publish_loop(), name=f"publish:{stream_id}")
        self._flusher = asyncio.create_task(self._flush_loop(), name=f"persist:{stream_id}") if sessions else None

    @classmethod
    async def resume(cls, stream_id: str, *, bus: Any, sessions: async_sessionmaker[AsyncSession], **kw: Any) -> "EventRecorder":
        """A writer continuing an existing stream (another process ran part of it): seq goes on
        after the highest seq already persisted or retained by the bus."""
        async with sessions() as session:
            db_last = await session.scalar(
                sa.select(sa.func.max(StreamEventRow.seq)).where(StreamEventRow.stream_id == stream_id)
            )
        bus_last = 0
        last_seq = getattr(bus, "last_seq", None)
        if last_seq is not None:
            value = last_seq(stream_id)
            bus_last = (await value) if asyncio.iscoroutine(value) else value
        return cls(stream_id, bus=bus, sessions=sessions, start_seq=max(db_last or 0, bus_last or 0), **kw)

    # ------------------------------------------------------------------ writing

    def emit_nowait(self, event: str, data: dict[str, Any]) -> StreamEvent:
        """Record one event without waiting (ordering is the call order)."""
        if self._closing:
            raise RuntimeError(f"stream {self.stream_id} is closed")
        self.seq += 1
        item = StreamEvent(self.stream_id, self.seq, event, redact_value(data))  # no secret reaches bus or table
        if self._observer is not None:
            self._observer(event, item.data)
        if self._publish_sync is not None:
            self._publish_sync(item)
        elif self._outbox is not None:
            self._outbox.put_nowait(item)
        if self._sessions is not None:
            self._pending.append(item)
            self._wake.set()
        return item

    async def emit(self, event: str, data: dict[str, Any]) -> StreamEvent:
        return self.emit_nowait(event, data)

    async def flush(self) -> None:
        """Wait until every event recorded so far is published and persisted."""
        if self._outbox is not None:
            await self._outbox.join()
        if self._sessions is None:
            return
        target = self.seq
        while self._persisted < target and self._flusher is not None and not self._flusher.done():
            self._written.clear()
            self._wake.set()
            await self._written.wait()
        if self._pending:  # flusher gone (cancelled): write here
            await self._write(self._take())

    async def aclose(self, *, close_stream: bool = True) -> None:
        """Flush, stop the background tasks and (by default) close the stream on the bus."""
        try:
            await self.flush()
        finally:
            self._closing = True
            if self._flusher is not None:  # asked to stop, never cancelled mid-write
                self._wake.set()
                await asyncio.gather(asyncio.shield(self._flusher), return_exceptions=True)
            if self._publisher is not None:
                self._publisher.cancel()
                await asyncio.gather(self._publisher, return_exceptions=True)
            if self._pending:
                await self._write(self._take())
            if close_stream and self._bus is not None:
                await self._bus.close_stream(self.stream_id)

    async def stop_writer(self) -> None:
        """Stop the background writer without it writing what is buffered: cancelled while it
        waits, or left to finish the write it is in (so :attr:`error` is final for what it wrote).
        From then on :meth:`close_with`, :meth:`flush` and :meth:`aclose` write the buffer."""
        flusher, self._flusher = self._flusher, None
        if flusher is None:
            return
        if not self._writing:
            flusher.cancel()
        self._wake.set()
        await asyncio.gather(asyncio.shield(flusher), return_exceptions=True)

    async def close_with(self, event: str, data: dict[str, Any], transition: Callable[[AsyncSession], Awaitable[bool]]) -> bool:
        """End the stream with ``event`` and a state transition in ONE transaction.

        ``transition(session)`` runs first (a fenced UPDATE; True if it matched), then the events
        still buffered and ``event`` are inserted (with the node results they imply) and all of it
        is committed; only then is ``event`` published and the stream closed. False: the
        transition did not match — nothing was written and the buffered events stay buffered
        (:meth:`aclose` writes them). A database error is raised after the rollback, the
        buffered events kept: the caller falls back to :meth:`flush` and a separate transition.
        """
        assert self._sessions is not None, "close_with needs a database"
        await self.stop_writer()
        final = StreamEvent(self.stream_id, self.seq + 1, event, redact_value(data))
        # shielded: cancelling a SQLite write midway can leave its lock behind
        if not await asyncio.shield(self._commit_last(final, transition)):
            return False
        await self.aclose()
        return True

    async def _commit_last(self, final: StreamEvent, transition: Callable[[AsyncSession], Awaitable[bool]]) -> bool:
        batch = [*self._pending, final]
        async with self._sessions() as session:  # type: ignore[misc]
            if not await transition(session):
                await session.rollback()
                return False
            await persist_events(session, self._rows(batch))
            await session.commit()
        self._pending = []
        self.seq = final.seq
        self._mark_persisted(batch)
        if self._observer is not None:
            self._observer(final.event, final.data)
        if self._publish_sync is not None:
            self._publish_sync(final)
        elif self._outbox is not None:
            self._outbox.put_nowait(final)  # after everything published before it
        return True

    # ------------------------------------------------------------------ background

    def _take(self) -> list[StreamEvent]:
        batch, self._pending = self._pending, []
        return batch

    async def _flush_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._batch_delay_s and not self._closing:
                await asyncio.sleep(self._batch_delay_s)  # let a burst accumulate into one INSERT
            batch = self._take()
            if batch:
                self._writing = True
                try:
                    await self._write(batch)
                finally:
                    self._writing = False
            if (self._closing and not self._pending) or self._flusher is not asyncio.current_task():
                return  # closed, or stopped by stop_writer during the write

    @staticmethod
    def _rows(batch: list[StreamEvent]) -> list[dict[str, Any]]:
        return [{"stream_id": e.stream_id, "seq": e.seq, "event": e.event, "data": e.data} for e in batch]

    async def _write(self, batch: list[StreamEvent]) -> None:
        rows = self._rows(batch)
        for attempt in range(5):
            try:
                await self._insert(rows)
                self._mark_persisted(batch)
                return
            except asyncio.CancelledError:
                # Shutting down mid-write: keep the batch so aclose() can write it.
                self._pending[:0] = batch
                raise
            except Exception as exc:  # noqa: BLE001 - a transient DB error must not lose events: retry
                last = exc
                if attempt < 4:
                    await asyncio.sleep(backoff_delay(attempt + 1, initial=0.05, max_delay=1.0))
        # Still refused: a payload the database cannot hold. Store each event on its own, as
        # JSON data, so one bad event cannot take the batch (and the run's history) with it.
        for row in rows:
            try:
                await self._insert([{**row, "data": storable(row["data"])}])
            except Exception as exc:  # noqa: BLE001 - recorded: the run ends failed with it
                last = exc
                self.error = self.error or f"could not store event {row['seq']} ({row['event']}): {db_reason(last)}"
                log.error("could not persist event %s of %s: %s", row["seq"], self.stream_id, db_reason(last))
        self._mark_persisted(batch)  # given up or done: don't hang flush()

    async def _insert(self, rows: list[dict[str, Any]]) -> None:
        async with self._sessions() as session:  # type: ignore[misc]
            await persist_events(session, rows)  # events + the node results they imply, atomically
            await session.commit()

    def _mark_persisted(self, batch: list[StreamEvent]) -> None:
        self._persisted = max(self._persisted, batch[-1].seq)
        self._written.set()

    async def _publish_loop(self) -> None:
        assert self._outbox is not None
        while True:
            item = await self._outbox.get()
            try:
                await self._bus.publish(item)
            except Exception as exc:  # noqa: BLE001 - the DB copy still serves replays
                log.warning("publish failed for %s seq %s: %s", item.stream_id, item.seq, exc)
            finally:
                self._outbox.task_done()
