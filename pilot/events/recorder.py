"""The single writer of one stream: assigns ``seq``, publishes to the bus, persists in order.

Hot path: :meth:`EventRecorder.emit_nowait` is synchronous — it numbers the event, hands it to
the bus (the in-memory bus fans out synchronously; other buses get it through one ordered
publisher task) and appends it to a write-behind buffer. A flusher task writes buffered events to
``stream_events`` in seq order, many rows per INSERT, so the scheduler never waits on the
database per event. Nothing is lost: until an event is in the database the bus still retains it
(see :mod:`pilot.events.bus`), and :meth:`aclose` flushes everything before returning.
Each (stream_id, seq) row is written exactly once (it is the primary key).

Fencing: a run's recorder publishes under its lease ``token``. An event is written to the
database only once the bus has had its say on it (at once for the in-memory bus; after the
publisher task's publish for the others). When the bus refuses one — another attempt took the
stream over (:func:`take_over`) and numbers its events itself — this recorder is *fenced*: it
drops what it buffered, publishes and stores nothing more, never closes the stream, and calls
``on_fenced`` (the executor stops the attempt as if its lease were lost). What the bus had
accepted before is the new owner's to store (it backfills the bus's copy after taking over).
So neither the live stream nor the replay ever gets a stalled attempt's late events. The
database fences too (``holds``: a run's recorder asks, in each write-behind batch's transaction
after its INSERT, whether its token still holds the execution row — ``FOR SHARE`` on PostgreSQL,
so a takeover waits for the batch): a batch written after a takeover is rolled back and the
writer is fenced the same way, which keeps the replay right while Redis is down too (events
Redis never took reached no live subscriber). Not with an in-process bus: it has delivered every
event live as it was numbered, and its writer's successor numbers after them.

A run ends in one transaction: :meth:`EventRecorder.close_with` stops the flusher (without it
writing), then commits the run's terminal transition, the events still buffered and the final
event together, and publishes the final event only once that is committed.
"""

from __future__ import annotations

import asyncio
import bisect
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


async def take_over(bus: Any, stream_id: str, token: str | None) -> None:
    """Make ``token`` the only writer the bus accepts on ``stream_id`` from now on (see
    :mod:`pilot.events.bus`). Call it before reading where the stream stands (last seq, retained
    events): whatever an earlier writer got in is then visible, and nothing it tries later gets
    in. Idempotent (a worker's backfill and its resumed recorder both call it). Nothing to do
    without a token or with a bus that has no fence."""
    take = getattr(bus, "take_over", None)
    if take is not None and token:
        await take(stream_id, token)


class _NotHolder(Exception):
    """A write-behind batch found its writer no longer holds the run (rolled back)."""


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
        token: str | None = None,
        on_fenced: Callable[[], None] | None = None,
        holds: Callable[[AsyncSession], Awaitable[bool]] | None = None,
    ) -> None:
        self.stream_id = stream_id
        self.token = token  # the writer's lease token, published with every event (the fence)
        self._on_fenced = on_fenced  # called once if the bus refuses this writer (see the module docstring)
        self.fenced = False
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
        # Highest seq the bus has had its say on (accepted, or could not be asked): buffered
        # events up to it may be stored. Storing nothing the bus has not seen is what keeps a
        # fenced writer's late events out of the database.
        self._cleared = start_seq
        self._written = asyncio.Event()
        self._wake = asyncio.Event()
        self._closing = False
        self._writing = False  # the flusher is inside a write (it is never cancelled there)
        self._publish_sync = getattr(bus, "publish_nowait", None)
        self._outbox: asyncio.Queue[StreamEvent] | None = None
        self._publisher: asyncio.Task | None = None
        # Asked in each write-behind batch's transaction, after its INSERT: does this writer still
        # hold the run? The bus's fence cannot help while Redis is down (a publish then counts as
        # answered); this one is the database's own. Not with an in-process bus: it has delivered
        # each event live the moment it was numbered, so it must be stored, even after a takeover
        # (whose writer numbered after it).
        self._holds = holds if self._publish_sync is None else None
        if self._publish_sync is None and bus is not None:
            self._outbox = asyncio.Queue()
            self._publisher = asyncio.create_task(self._publish_loop(), name=f"publish:{stream_id}")
        self._flusher = asyncio.create_task(self._flush_loop(), name=f"persist:{stream_id}") if sessions else None

    @classmethod
    async def resume(
        cls, stream_id: str, *, bus: Any, sessions: async_sessionmaker[AsyncSession], token: str | None = None, **kw: Any,
    ) -> "EventRecorder":
        """A writer continuing an existing stream (another process ran part of it): seq goes on
        after the highest seq already persisted or retained by the bus. With a ``token`` the
        stream is first taken over for it (:func:`take_over`), so an earlier writer still
        running cannot publish the seq numbers this one is about to use."""
        await take_over(bus, stream_id, token)
        async with sessions() as session:
            db_last = await session.scalar(
                sa.select(sa.func.max(StreamEventRow.seq)).where(StreamEventRow.stream_id == stream_id)
            )
        bus_last = 0
        last_seq = getattr(bus, "last_seq", None)
        if last_seq is not None:
            value = last_seq(stream_id)
            bus_last = (await value) if asyncio.iscoroutine(value) else value
        return cls(stream_id, bus=bus, sessions=sessions, start_seq=max(db_last or 0, bus_last or 0), token=token, **kw)

    # ------------------------------------------------------------------ writing

    def emit_nowait(self, event: str, data: dict[str, Any]) -> StreamEvent:
        """Record one event without waiting (ordering is the call order)."""
        if self._closing:
            raise RuntimeError(f"stream {self.stream_id} is closed")
        self.seq += 1
        item = StreamEvent(self.stream_id, self.seq, event, redact_value(data))  # no secret reaches bus or table
        if self.fenced:
            return item  # another writer owns the stream: this one writes nothing more (never raises into the run)
        if self._observer is not None:
            self._observer(event, item.data)
        if self._publish_sync is not None:
            self._publish_sync(item)
            self._cleared = item.seq
        elif self._outbox is not None:
            self._outbox.put_nowait(item)  # stored once published (_publish_loop wakes the flusher)
        else:
            self._cleared = item.seq
        if self._sessions is not None:
            self._pending.append(item)
            if self._cleared == item.seq:
                self._wake.set()
        return item

    async def emit(self, event: str, data: dict[str, Any]) -> StreamEvent:
        return self.emit_nowait(event, data)

    async def flush(self) -> None:
        """Wait until every event recorded so far is published and persisted."""
        if self._outbox is not None:
            await self._outbox.join()  # every event has had the bus's say: all storable (or fenced)
        if self._sessions is None:
            return
        target = self.seq
        while self._persisted < target and not self.fenced and self._flusher is not None and not self._flusher.done():
            self._written.clear()
            self._wake.set()
            await self._written.wait()
        if self._pending and not self.fenced:  # flusher gone (cancelled): write here
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
            if self._pending and not self.fenced:
                await self._write(self._take())
            if close_stream and self._bus is not None and not self.fenced:  # the stream is its new owner's
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
        (:meth:`aclose` writes them) — or this writer is fenced (nothing is written at all). A
        database error is raised after the rollback, the buffered events kept: the caller falls
        back to :meth:`flush` and a separate transition.
        """
        assert self._sessions is not None, "close_with needs a database"
        await self.stop_writer()
        if self._outbox is not None:
            await self._outbox.join()  # the bus's say on every buffered event comes before the last commit
        if self.fenced:
            return False
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
        """The buffered events the bus has had its say on (all of them once closing: the publisher
        is stopped, and what it never reached is stored unpublished, as the failure model has it)."""
        pending = self._pending
        if self._closing or not pending or pending[-1].seq <= self._cleared:
            self._pending = []
            return pending
        cut = bisect.bisect_right(pending, self._cleared, key=lambda e: e.seq)  # pending is in seq order
        batch, self._pending = pending[:cut], pending[cut:]
        return batch

    def _fence(self, refused: StreamEvent) -> None:
        """The bus or the database refused ``refused``: another writer took the stream over (see
        the module docstring)."""
        self.fenced = True
        self._pending = []  # what the bus took before is the new owner's to store; the rest is refused
        log.info("stream %s: seq %d refused (another writer took the stream over); this writer stops",
                 self.stream_id, refused.seq)
        self._written.set()  # a flush() waiting for dropped events returns
        self._wake.set()
        if self._on_fenced is not None:
            self._on_fenced()

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
            except _NotHolder:
                self._fence(batch[0])
                return
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
            if self._holds is not None and not await self._holds(session):
                await session.rollback()
                raise _NotHolder
            await session.commit()

    def _mark_persisted(self, batch: list[StreamEvent]) -> None:
        self._persisted = max(self._persisted, batch[-1].seq)
        self._written.set()

    async def _publish_loop(self) -> None:
        assert self._outbox is not None
        while True:
            item = await self._outbox.get()
            try:
                if not self.fenced and await self._bus.publish(item, token=self.token) is False:
                    self._fence(item)
            except Exception as exc:  # noqa: BLE001 - the DB copy still serves replays
                log.warning("publish failed for %s seq %s: %s", item.stream_id, item.seq, exc)
            finally:
                if not self.fenced:
                    self._cleared = max(self._cleared, item.seq)
                    if self._pending:
                        self._wake.set()
                self._outbox.task_done()
