"""One SSE response builder for every stream (runs and chat), via sse-starlette.

Order of operations guarantees exactly-once delivery across reconnects: subscribe to the bus
FIRST (the subscription registers immediately and the bus retains recent events), then replay
persisted events with ``seq > Last-Event-ID`` from ``stream_events``, then forward live events,
skipping any ``seq`` already sent and filling a gap from the database if one ever shows up.
On a process-local bus (:class:`~pilot.events.bus.InMemoryBus`) an idle stream also re-reads the
database every ``IDLE_POLL_S``: the stream's writer may be *another process* — a waiting run is
resumed by whichever process claims it (its timer, or a sweep after a restart or an approval
decided elsewhere) — whose events never reach this process's bus. (The Redis bus already falls
back to the database on its own.)
The response ends after the terminal event (``run.finished`` / ``message.finished``), when the
bus closes (server shutdown), or when uvicorn shuts down (sse-starlette watches for it).
Each message: ``id: <seq>``, ``event: <name>``, ``data: <json>``; pings every ``ping_s``.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator

import anyio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sse_starlette import EventSourceResponse

from pilot.core.codec import dumps
from pilot.db.models import StreamEventRow
from pilot.events.schemas import TERMINAL_EVENTS, StreamEvent


SHUTDOWN_GRACE_S = 2.0  # below uvicorn's graceful-shutdown timeout
IDLE_POLL_S = 2.0  # a process-local bus's idle stream re-reads stream_events this often


def parse_last_event_id(value: str | None) -> int:
    """``Last-Event-ID`` header (or ``?last_event_id=``) → seq; anything unparsable counts as 0."""
    try:
        return max(0, int((value or "0").strip()))
    except ValueError:
        return 0


async def persisted_events(
    sessions: async_sessionmaker[AsyncSession], stream_id: str, after_seq: int, before_seq: int | None = None
) -> list[StreamEvent]:
    """Stored events of a stream with ``after_seq < seq (< before_seq)``, in order."""
    query = sa.select(StreamEventRow.seq, StreamEventRow.event, StreamEventRow.data).where(
        StreamEventRow.stream_id == stream_id, StreamEventRow.seq > after_seq
    )
    if before_seq is not None:
        query = query.where(StreamEventRow.seq < before_seq)
    async with sessions() as session:
        rows = (await session.execute(query.order_by(StreamEventRow.seq))).all()
    return [StreamEvent(stream_id, seq, event, data) for seq, event, data in rows]


async def terminal_seq(sessions: async_sessionmaker[AsyncSession], stream_id: str) -> int | None:
    """The seq of the stream's persisted terminal event, if it has ended."""
    async with sessions() as session:
        return await session.scalar(
            sa.select(StreamEventRow.seq).where(
                StreamEventRow.stream_id == stream_id, StreamEventRow.event.in_(TERMINAL_EVENTS)
            ).limit(1)
        )


_WIRE_CACHE: OrderedDict[tuple[str, int], bytes] = OrderedDict()
_WIRE_CACHE_SIZE = 4096


def _message(event: StreamEvent) -> bytes:
    """The event's SSE wire bytes, encoded once however many clients receive it (a small LRU:
    with N clients on a stream each live event is serialised once, not N times)."""
    key = (event.stream_id, event.seq)
    wire = _WIRE_CACHE.get(key)
    if wire is None:
        # msgspec's JSON never contains raw newlines, so one ``data:`` line is always enough.
        wire = b"id: %d\r\nevent: %s\r\ndata: %s\r\n\r\n" % (event.seq, event.event.encode(), dumps(event.data))
        _WIRE_CACHE[key] = wire
        if len(_WIRE_CACHE) > _WIRE_CACHE_SIZE:
            _WIRE_CACHE.popitem(last=False)
    return wire


async def _idle_ticks(subscription, idle_s: float | None) -> AsyncIterator:
    """The subscription's events, and ``None`` each time none came for ``idle_s`` (never when
    ``idle_s`` is None). For the in-memory subscription only: its ``__anext__`` just waits on an
    event, so timing it out loses nothing."""
    iterator = subscription.__aiter__()
    while True:
        try:
            async with asyncio.timeout(idle_s):
                event = await iterator.__anext__()
        except StopAsyncIteration:
            return
        except TimeoutError:
            yield None
            continue
        yield event


async def _until(shutdown: anyio.Event | None, subscription, idle_s: float | None = None) -> AsyncIterator:
    """Iterate ``subscription`` until it ends or ``shutdown`` is set; with ``idle_s``, also
    yield ``None`` whenever no event came for that long (the caller checks the database).

    The in-memory subscription can be stopped from outside (cheap: no task per event); other
    buses' subscriptions are raced against the shutdown event."""
    if shutdown is None:
        async for event in _idle_ticks(subscription, idle_s):
            yield event
        return
    stop = getattr(subscription, "stop", None)
    if stop is not None:
        async def watch() -> None:
            await shutdown.wait()
            stop()

        watcher = asyncio.ensure_future(watch())
        try:
            async for event in _idle_ticks(subscription, idle_s):
                yield event
        finally:
            watcher.cancel()
        return
    iterator = subscription.__aiter__()
    ended = asyncio.ensure_future(shutdown.wait())
    try:
        while True:
            step = asyncio.ensure_future(iterator.__anext__())
            await asyncio.wait({step, ended}, return_when=asyncio.FIRST_COMPLETED)
            if not step.done():
                step.cancel()
                await asyncio.gather(step, return_exceptions=True)
                return
            try:
                yield step.result()
            except StopAsyncIteration:
                return
    finally:
        ended.cancel()


async def stream_messages(
    *, stream_id: str, bus, sessions: async_sessionmaker[AsyncSession], last_event_id: int = 0,
    shutdown: anyio.Event | None = None,
) -> AsyncIterator[bytes]:
    """The SSE messages of one stream after ``last_event_id`` (see module docstring); ends
    early, cleanly, when ``shutdown`` is set."""
    subscription = bus.subscribe(stream_id, after_seq=last_event_id)  # first: no gap possible
    try:
        sent = last_event_id
        for event in await persisted_events(sessions, stream_id, sent):
            yield _message(event)
            sent = event.seq
            if event.event in TERMINAL_EVENTS:
                return
        if await terminal_seq(sessions, stream_id) is not None:
            # The stream has ended (the bus may have forgotten it): send what the first read
            # missed because it was persisted meanwhile, up to the end, and stop.
            for event in await persisted_events(sessions, stream_id, sent):
                yield _message(event)
                sent = event.seq
            return
        idle_s = IDLE_POLL_S if getattr(bus, "process_local", False) else None
        async for event in _until(shutdown, subscription, idle_s):
            if event is None:  # idle: events another process wrote (a run resumed elsewhere)?
                try:
                    stored_events = await persisted_events(sessions, stream_id, sent)
                except Exception:  # noqa: BLE001 - a database hiccup: the next idle check retries
                    continue
                for stored in stored_events:
                    if stored.seq != sent + 1:
                        break  # only a gap-free continuation; the rest on the next check
                    yield _message(stored)
                    sent = stored.seq
                    if stored.event in TERMINAL_EVENTS:
                        return
                continue
            if event.seq <= sent:
                continue
            if event.seq > sent + 1:  # the bus dropped some (trimmed): fetch them from the database
                for missed in await persisted_events(sessions, stream_id, sent, event.seq):
                    yield _message(missed)
                    sent = missed.seq
            yield _message(event)
            sent = event.seq
            if event.event in TERMINAL_EVENTS:
                return
    finally:
        await subscription.aclose()


def event_stream_response(
    *, stream_id: str, bus, sessions: async_sessionmaker[AsyncSession], last_event_id: int, ping_s: float
) -> EventSourceResponse:
    """The ``text/event-stream`` response for one stream (any kind: run or chat)."""
    # On server shutdown sse-starlette sets ``shutdown`` and waits up to the grace period: the
    # generator returns, so the response ends with a proper last chunk instead of being cut.
    shutdown = anyio.Event()
    return EventSourceResponse(
        stream_messages(stream_id=stream_id, bus=bus, sessions=sessions, last_event_id=last_event_id, shutdown=shutdown),
        ping=ping_s,
        shutdown_event=shutdown,
        shutdown_grace_period=SHUTDOWN_GRACE_S,
        send_timeout=30,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
