"""The event bus: fan-out of stream events from their single writer to live subscribers.

Contract (CONTRACTS.md "Event streams"):

- ``await publish(event, token=None) -> bool`` — called by the stream's writer after assigning
  ``seq``, with its lease token (None: a writer without a lease, e.g. a chat turn). False means
  *refused by the fence*: another writer took the stream over (``take_over``), so this one must
  stop writing; True otherwise (a bus that cannot deliver right now still says True: it is
  best effort, the database serves the event).
- ``await take_over(stream_id, token)`` — a writer continuing a stream that another attempt may
  still be writing makes ``token`` its owner, before it reads where the stream stands; from then
  on other tokens' publishes are refused.
- ``subscribe(stream_id, after_seq=0)`` — registers **at call time** (so a caller can subscribe
  first and then read the database without a gap) and yields events with ``seq > after_seq``:
  those the bus still retains, then live ones; the iteration ends after a terminal event
  (``run.finished`` / ``message.finished``), when the stream is closed, or when the bus closes.
- ``await close_stream(stream_id)`` — the writer is done; retained events expire after a while.
- ``await aclose()``.

Retention is what lets the writer persist events asynchronously (batched, off the scheduler's hot
path): an event published but not yet written to ``stream_events`` is still served by the bus.
:class:`InMemoryBus` is the embedded default (one process); ``RedisStreamBus`` (pilot/events/
redis_bus.py) serves several processes and is the one that fences; the in-memory bus has one
process and so no stalled writer of another process to fence out: it accepts every token.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from pilot.events.schemas import StreamEvent


@runtime_checkable
class EventBus(Protocol):
    async def publish(self, event: StreamEvent, token: str | None = None) -> bool: ...

    async def take_over(self, stream_id: str, token: str) -> bool: ...

    def subscribe(self, stream_id: str, after_seq: int = 0) -> AsyncIterator[StreamEvent]: ...

    async def close_stream(self, stream_id: str) -> None: ...

    async def aclose(self) -> None: ...


class Subscription:
    """An async iterator over one stream's events, registered with the bus on creation.

    Always ``aclose()`` it (or use ``async with``) so the bus forgets it promptly.

    Lean on purpose — a server holds one per open SSE stream, mostly idle: the buffer exists only
    while events wait in it, and a waiting ``__anext__`` parks on a bare future (an
    ``asyncio.Event`` and a deque cost ~1.5 kB per subscription).
    """

    __slots__ = ("_bus", "stream_id", "_after", "_buffer", "_waiter", "_ended")

    def __init__(self, bus: "InMemoryBus", stream_id: str, after_seq: int) -> None:
        self._bus = bus
        self.stream_id = stream_id
        self._after = after_seq
        self._buffer: deque[StreamEvent] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._ended = False

    def _push(self, event: StreamEvent) -> None:
        if event.seq > self._after:
            if self._buffer is None:
                self._buffer = deque()
            self._buffer.append(event)
            self._wake()

    def _end(self) -> None:
        self._ended = True
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def __aiter__(self) -> "Subscription":
        return self

    async def __anext__(self) -> StreamEvent:
        while True:
            buffer = self._buffer
            if buffer:
                event = buffer.popleft()
                if not buffer:
                    self._buffer = None
                if event.seq <= self._after:  # duplicate (retained + live race): skip
                    continue
                self._after = event.seq
                if event.terminal:
                    self._ended = True
                    self._buffer = None
                    self._bus._forget(self)
                return event
            if self._ended:
                self._bus._forget(self)
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    async def aclose(self) -> None:
        self._ended = True
        self._buffer = None
        self._bus._forget(self)

    def stop(self) -> None:
        """End the iteration from outside (e.g. server shutdown): pending events are dropped."""
        self._buffer = None
        self._end()

    async def __aenter__(self) -> "Subscription":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class _Stream:
    __slots__ = ("events", "subscribers", "closed", "expiry")

    def __init__(self, maxlen: int) -> None:
        self.events: deque[StreamEvent] = deque(maxlen=maxlen)
        self.subscribers: set[Subscription] = set()
        self.closed = False
        self.expiry: asyncio.TimerHandle | None = None


class InMemoryBus:
    """Single-process bus. Retains up to ``maxlen`` events per stream until ``retention_s`` after
    the stream is closed, so subscribers joining late (or reconnecting) miss nothing.

    ``process_local``: events written by another process (a run resumed there) never arrive
    here, so an idle SSE stream re-reads the database (:mod:`pilot.events.sse`)."""

    process_local = True

    def __init__(self, *, maxlen: int = 10_000, retention_s: float = 300.0) -> None:
        self._streams: dict[str, _Stream] = {}
        self._maxlen = maxlen
        self._retention_s = retention_s
        self._closed = False

    def _stream(self, stream_id: str) -> _Stream:
        stream = self._streams.get(stream_id)
        if stream is None:
            stream = self._streams[stream_id] = _Stream(self._maxlen)
        return stream

    async def publish(self, event: StreamEvent, token: str | None = None) -> bool:
        """Publish (``token`` is not checked: see the module docstring); always True."""
        self.publish_nowait(event)
        return True

    async def take_over(self, stream_id: str, token: str) -> bool:
        """Nothing to fence in one process (see the module docstring)."""
        return True

    def publish_nowait(self, event: StreamEvent) -> None:
        """Synchronous publish (the in-memory bus never blocks): used on the engine's hot path."""
        stream = self._stream(event.stream_id)
        stream.events.append(event)
        for sub in stream.subscribers:
            sub._push(event)
        if event.terminal:
            self._close(event.stream_id, stream)

    def subscribe(self, stream_id: str, after_seq: int = 0) -> Subscription:
        sub = Subscription(self, stream_id, after_seq)
        if self._closed:
            sub._end()
            return sub
        stream = self._stream(stream_id)
        for event in stream.events:
            sub._push(event)
        if stream.closed:
            sub._end()
        else:
            stream.subscribers.add(sub)
        return sub

    def last_seq(self, stream_id: str) -> int:
        """Highest seq retained for a stream (0 if none): a resuming writer continues after it."""
        stream = self._streams.get(stream_id)
        return stream.events[-1].seq if stream and stream.events else 0

    async def close_stream(self, stream_id: str) -> None:
        stream = self._streams.get(stream_id)
        if stream is not None:
            self._close(stream_id, stream)

    def _close(self, stream_id: str, stream: _Stream) -> None:
        if stream.closed:
            return
        stream.closed = True
        for sub in stream.subscribers:
            sub._end()
        stream.subscribers.clear()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        stream.expiry = loop.call_later(self._retention_s, self._streams.pop, stream_id, None)

    def _forget(self, sub: Subscription) -> None:
        stream = self._streams.get(sub.stream_id)
        if stream is not None:
            stream.subscribers.discard(sub)

    async def aclose(self) -> None:
        self._closed = True
        for stream in self._streams.values():
            for sub in stream.subscribers:
                sub._end()
            stream.subscribers.clear()
            if stream.expiry is not None:
                stream.expiry.cancel()
        self._streams.clear()


def build_bus(settings) -> EventBus:
    """The bus for these settings: Redis Streams when ``REDIS_URL`` is set and the Redis bus is
    available (background-runs helper), otherwise the in-memory bus."""
    return InMemoryBus(maxlen=settings.redis.stream_maxlen)


async def start_events(runtime) -> None:
    """Start-up hook: install the process's bus (a launcher/worker may have set one already)."""
    if runtime.bus is None:
        runtime.bus = build_bus(runtime.settings)


async def stop_events(runtime) -> None:
    """Shutdown hook: end every live subscription (open SSE responses finish cleanly)."""
    if runtime.bus is not None:
        await runtime.bus.aclose()
