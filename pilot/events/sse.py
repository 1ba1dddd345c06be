"""One SSE response builder for every stream (runs and chat), via sse-starlette.

Opening a stream is ONE database read (:func:`read_opening`, which the run controller also uses
as its ownership check): the persisted events with ``seq > Last-Event-ID`` and whether the stream
has ended. A stream that has ended is replayed from that read alone, in one response body,
without touching the bus.
Otherwise the stream subscribes to the bus *after the last event it read* and forwards live
events, skipping any ``seq`` already sent and filling a gap from the database if one ever shows
up. Exactly-once across reconnects rests on the bus serving, on subscription, every event after
that seq it still retains (the in-memory bus keeps a stream's events until 5 minutes after it
ends, Redis Streams keep them in Redis), so nothing published between the read and the
subscription is lost.
On a process-local bus (:class:`~pilot.events.bus.InMemoryBus`) an idle stream also re-reads the
database every ``IDLE_POLL_S``: the stream's writer may be *another process* — a waiting run is
resumed by whichever process claims it (its timer, or a sweep after a restart or an approval
decided elsewhere) — whose events never reach this process's bus; those checks are batched
process-wide (:mod:`pilot.events.idle`: one query however many streams are idle). (The Redis bus
already falls back to the database on its own.)
The response ends after the terminal event (``run.finished`` / ``message.finished``), when the
bus closes (server shutdown), or when uvicorn shuts down (sse-starlette watches for it).
Each message: ``id: <seq>``, ``event: <name>``, ``data: <json>``; pings every ``ping_s``.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator
from functools import lru_cache
from typing import NamedTuple

import anyio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sse_starlette import EventSourceResponse
from starlette.responses import Response

from pilot.core.codec import dumps
from pilot.db.models import StreamEventRow
from pilot.events.idle import idle_check
from pilot.events.schemas import TERMINAL_EVENTS, StreamEvent


_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
_REPLAY_HEADERS = {**_HEADERS, "Connection": "keep-alive"}  # what EventSourceResponse adds to _HEADERS
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


class StreamOpening(NamedTuple):
    """What opening a stream reads: stored events after the client's last id, and whether the
    stream has ended (its terminal event is stored, possibly at or before that id)."""

    events: list[StreamEvent]
    ended: bool


_STREAM_EVENTS = StreamEventRow.__table__


@lru_cache(maxsize=16)
def _opening_query(owner: sa.Select | None) -> sa.Select:
    """The statement of :func:`read_opening` for one ``owner`` statement, built once: building
    it costs more than running it. Parameters ``stream_id`` and ``after_seq`` (and the owner's)."""
    anchor = (owner if owner is not None else sa.select(sa.literal(1).label("one"))).subquery("owner")
    events, terminal = _STREAM_EVENTS.alias("e"), _STREAM_EVENTS.alias("t")
    stream_id = sa.bindparam("stream_id", type_=sa.String)
    ended = sa.exists().where(terminal.c.stream_id == stream_id, terminal.c.event.in_(sorted(TERMINAL_EVENTS)))
    return (
        sa.select(ended.label("ended"), events.c.seq, events.c.event, events.c.data)
        .select_from(anchor.outerjoin(
            events, sa.and_(events.c.stream_id == stream_id, events.c.seq > sa.bindparam("after_seq", type_=sa.Integer))))
        .order_by(events.c.seq)
    )


async def read_opening(
    sessions: async_sessionmaker[AsyncSession], stream_id: str, after_seq: int, owner: sa.Select | None = None,
    **params: object,
) -> StreamOpening | None:
    """One query: the stream's stored events with ``seq > after_seq`` and whether it has ended.

    ``owner`` — a select of the row the stream belongs to, scoped to the caller's workspace, made
    once (module level) with bind parameters: ``stream_id`` and any others given in ``params``
    — makes the read the access check too: ``None`` comes back when it finds no row."""
    async with sessions() as session:
        rows = (await session.execute(_opening_query(owner), {"stream_id": stream_id, "after_seq": after_seq, **params})).all()
    if not rows:
        return None
    events = [StreamEvent(stream_id, seq, event, data) for _, seq, event, data in rows if seq is not None]
    return StreamOpening(events, bool(rows[0][0]))


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
    shutdown: anyio.Event | None = None, opening: StreamOpening | None = None,
) -> AsyncIterator[bytes]:
    """The SSE messages of one stream after ``last_event_id`` (see module docstring); ends
    early, cleanly, when ``shutdown`` is set. ``opening``: the caller already read it."""
    if opening is None:
        opening = await read_opening(sessions, stream_id, last_event_id)
    sent = last_event_id
    for event in opening.events:
        yield _message(event)
        sent = event.seq
        if event.event in TERMINAL_EVENTS:
            return
    if opening.ended:  # ended at or before the client's last id: nothing more will come
        return
    opening = event = None  # sent: not kept alive (decoded data) for as long as the stream stays open
    # After the read: the bus serves what it retains after ``sent``, so nothing published
    # since the read is missed.
    subscription = bus.subscribe(stream_id, after_seq=sent)
    try:
        idle_s = IDLE_POLL_S if getattr(bus, "process_local", False) else None
        async for event in _until(shutdown, subscription, idle_s):
            if event is None:  # idle: events another process wrote (a run resumed elsewhere)?
                try:
                    # One batched check for every idle stream of the process; read only if moved on.
                    if not await idle_check(sessions).newer(stream_id, sent):
                        continue
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


def _replay_response(opening: StreamOpening) -> Response:
    """A stream that has ended, sent as one body: every event after the client's id up to the
    terminal one (what the streaming response would send before closing), without a bus
    subscription or the streaming response's ping/disconnect/shutdown tasks — most opens are
    replays of finished runs, and those tasks were most of their cost."""
    parts = []
    for event in opening.events:
        parts.append(_message(event))
        if event.event in TERMINAL_EVENTS:
            break
    return Response(b"".join(parts), media_type="text/event-stream", headers=_REPLAY_HEADERS)


def event_stream_response(
    *, stream_id: str, bus, sessions: async_sessionmaker[AsyncSession], last_event_id: int, ping_s: float,
    opening: StreamOpening | None = None,
) -> EventSourceResponse | Response:
    """The ``text/event-stream`` response for one stream (any kind: run or chat); ``opening``
    when the caller has already read it (:func:`read_opening`): a stream it shows has ended is
    answered in one body."""
    if opening is not None and opening.ended:
        return _replay_response(opening)
    # On server shutdown sse-starlette sets ``shutdown`` and waits up to the grace period: the
    # generator returns, so the response ends with a proper last chunk instead of being cut.
    shutdown = anyio.Event()
    return EventSourceResponse(
        stream_messages(stream_id=stream_id, bus=bus, sessions=sessions, last_event_id=last_event_id, shutdown=shutdown,
                        opening=opening),
        ping=ping_s,
        shutdown_event=shutdown,
        shutdown_grace_period=SHUTDOWN_GRACE_S,
        send_timeout=30,
        headers=_HEADERS,
    )
