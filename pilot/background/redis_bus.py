"""``RedisStreamBus``: the EventBus on Redis Streams, so any API process can stream any run.

Layout: one Redis Stream per event stream (``keys.stream(stream_id)``); each event is one
``XADD`` whose entry id is ``<seq>-0``, so Redis itself refuses a second copy of a sequence
number (a duplicate publish is a no-op, never a duplicate delivery). The stream is capped
(``MAXLEN ~ stream_maxlen``) and expires ``stream_ttl_s`` after ``close_stream``; the database
(``stream_events``) stays the source of truth for replay.

Fencing — one writer per stream, even across a takeover: a run's writer publishes under its
lease token, and whoever takes a stream over from another attempt (a resumed claim, the
sweeper ending a stale run) first makes its own token the stream's owner
(:meth:`RedisStreamBus.take_over`, key ``keys.stream_owner``) and only then reads where the
stream stands. Each publish is one Lua script — XADD only if the owner key is absent or holds
the publisher's token — so a stalled earlier attempt that wakes up can no longer slip events
into the live stream at seq numbers its successor numbers too: its publish is refused (False,
never raised) and its recorder stops writing (:mod:`pilot.events.recorder`).

Failure model — the bus never hangs and never loses an event a subscriber is owed:

- ``publish`` is best effort: when Redis is unreachable the event is dropped from the live path
  (with a backoff so a dead Redis does not cost every event a connect timeout), its writer
  persists it all the same and subscribers recover it from the database. The fence is then
  unenforced too (the live path is the database's until Redis is back); so is a takeover that
  could not reach Redis (:meth:`RedisStreamBus.take_over` logs it).
- ``subscribe`` reads with ``XREAD BLOCK`` from the last delivered id. A gap in the sequence
  (an event whose publish was lost) is filled from the database before the later event is
  yielded; when a block times out the database is checked too (a lost *terminal* event still
  ends the stream); when Redis is unreachable the subscriber polls the database and retries
  Redis with exponential backoff. Sequence numbers already delivered are always skipped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Self

import sqlalchemy as sa
from redis import exceptions as redis_errors
from redis.asyncio import ConnectionPool, Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pilot.core.failures import backoff_delay
from pilot.background.keys import RedisKeys
from pilot.core.codec import dumps, loads
from pilot.db.models import StreamEventRow
from pilot.events.schemas import StreamEvent
from pilot.settings import RedisSettings

log = logging.getLogger("pilot.background.bus")

# How long a subscriber waits for the database to fill a hole in the sequence (the writer may
# persist in small batches just after publishing) before it gives up on that event.
GAP_WAIT_S = 5.0

# What "Redis is unreachable" looks like through redis-py (connection refused/reset, timeouts).
UNAVAILABLE = (redis_errors.ConnectionError, redis_errors.TimeoutError, ConnectionError, OSError, TimeoutError)

# KEYS: the stream, its owner key. ARGV: the publisher's token ('' = none), the entry id
# <seq>-0, MAXLEN (approximate), then field, value, ... One script, so that no takeover can fall
# between the owner check and the XADD. A duplicate seq still fails inside XADD ("equal or
# smaller"), which publish() treats as the idempotent no-op it always was.
FENCED_XADD = """
local owner = redis.call('GET', KEYS[2])
if owner and owner ~= ARGV[1] then
  return 0
end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], ARGV[2], unpack(ARGV, 4))
return 1
"""

TAKE_OVER_TRIES = 3  # a takeover is rare and matters: ride out a Redis blip (~0.3 s) before giving up

PersistedReader = Callable[[str, int], Awaitable[list[StreamEvent]]]
"""``(stream_id, after_seq) -> events with seq > after_seq in order`` (read from the database)."""


def db_event_reader(sessions: async_sessionmaker[AsyncSession], limit: int = 1000) -> PersistedReader:
    """A PersistedReader over the ``stream_events`` table (the bus's fallback and gap filler)."""

    async def read(stream_id: str, after_seq: int) -> list[StreamEvent]:
        query = (
            sa.select(StreamEventRow.seq, StreamEventRow.event, StreamEventRow.data)
            .where(StreamEventRow.stream_id == stream_id, StreamEventRow.seq > after_seq)
            .order_by(StreamEventRow.seq)
            .limit(limit)
        )
        async with sessions() as session:
            rows = (await session.execute(query)).all()
        return [StreamEvent(stream_id=stream_id, seq=seq, event=event, data=data) for seq, event, data in rows]

    return read


class RedisStreamBus:
    """EventBus over Redis Streams (see the module docstring for the failure model)."""

    def __init__(self, url: str, settings: RedisSettings, *, persisted: PersistedReader | None = None) -> None:
        self._settings = settings
        self._keys = RedisKeys(settings.key_prefix)
        self._persisted = persisted
        self._block_ms = max(int(settings.subscribe_block_s * 1000), 10)
        # Publishes are short commands: fail fast so a dead Redis never stalls the executor.
        self._pub = Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=1.0)
        # Blocking reads hold a connection each; a separate pool keeps them off the publish path.
        self._sub_pool = ConnectionPool.from_url(
            url, socket_timeout=settings.subscribe_block_s + 5.0, socket_connect_timeout=1.0
        )
        self._sub = Redis(connection_pool=self._sub_pool)
        # EVALSHA (the script is loaded on first use, and again if Redis lost it)
        self._fenced_xadd = self._pub.register_script(FENCED_XADD)
        self._down_until = 0.0
        self._down_failures = 0  # consecutive failed publishes: the backoff attempt
        self._closed = asyncio.Event()

    # ------------------------------------------------------------------ publishing
    async def publish(self, event: StreamEvent, token: str | None = None) -> bool:
        """XADD the event with id ``<seq>-0`` (capped), unless the stream belongs to another writer.

        Returns False only when refused by the fence: the stream's owner is a token other than
        ``token`` (another attempt took it over; see the module docstring). True otherwise:
        published, already there (a duplicate seq is a no-op), or dropped while Redis is
        unreachable (best effort). Never raises for any of these.
        """
        if time.monotonic() < self._down_until:
            return True  # Redis was just unreachable: subscribers read this event from the database
        key = self._keys.stream(event.stream_id)
        try:
            published = await self._fenced_xadd(
                keys=[key, self._keys.stream_owner(event.stream_id)],
                args=[token or "", f"{event.seq}-0", self._settings.stream_maxlen,
                      "e", event.event, "d", dumps(event.data)],
            )
        except redis_errors.ResponseError as exc:
            if "equal or smaller" in str(exc):  # this seq is already in the stream: idempotent
                log.debug("duplicate publish of %s seq %s ignored", event.stream_id, event.seq)
                return True
            log.warning("publish of %s seq %s refused by Redis: %s", event.stream_id, event.seq, exc)
            return True
        except UNAVAILABLE as exc:
            self._mark_down(exc)
            return True
        self._down_failures = 0
        if not published:
            log.info("publish of %s seq %s refused: another writer took the stream over", event.stream_id, event.seq)
            return False
        return True

    async def take_over(self, stream_id: str, token: str) -> bool:
        """Make ``token`` the stream's owner: from now on only publishes under it are accepted.

        Called by a writer that continues a stream another attempt may still be writing, BEFORE
        it reads the stream's last seq or retained events, so that everything the old writer got
        in is seen and nothing it tries later gets in. Retried briefly; False (logged) when Redis
        stays unreachable: the run goes on, but the old writer is not fenced out (and if an even
        earlier takeover named an owner, this writer's own publishes are refused once Redis is
        back: it stops like an attempt whose lease was lost, and the sweeper hands the run on).
        """
        if not token:
            raise ValueError("take_over needs the writer's token")
        for attempt in range(1, TAKE_OVER_TRIES + 1):
            try:
                await self._pub.set(self._keys.stream_owner(stream_id), token)
                return True
            except UNAVAILABLE as exc:
                if attempt == TAKE_OVER_TRIES:
                    log.warning("stream %s: could not take it over in Redis (%s); an earlier writer is not "
                                "fenced out of the live stream", stream_id, type(exc).__name__)
                    return False
                await asyncio.sleep(backoff_delay(attempt, initial=0.1, max_delay=0.5))
        return False

    def _mark_down(self, exc: BaseException) -> None:
        self._down_failures += 1
        pause = backoff_delay(self._down_failures, initial=0.2, max_delay=5.0)
        self._down_until = time.monotonic() + pause
        log.warning("Redis unreachable (%s); live events go through the database for %.1fs",
                    type(exc).__name__, pause)

    async def close_stream(self, stream_id: str) -> None:
        """The stream has ended: expire it after ``stream_ttl_s`` and tell late subscribers."""
        ttl = self._settings.stream_ttl_s
        try:
            async with self._pub.pipeline(transaction=False) as pipe:
                pipe.expire(self._keys.stream(stream_id), ttl)
                pipe.expire(self._keys.stream_owner(stream_id), ttl)  # (no-op when nobody took it over)
                pipe.set(self._keys.stream_closed(stream_id), b"1", ex=ttl)
                await pipe.execute()
        except UNAVAILABLE as exc:
            log.warning("could not close stream %s in Redis (%s); it ends with its terminal event",
                        stream_id, type(exc).__name__)

    # ------------------------------------------------------------------ subscribing
    def subscribe(self, stream_id: str, after_seq: int = 0) -> RedisSubscription:
        """Events with seq > ``after_seq``, each exactly once and in order, until a terminal event.

        Nothing needs registering at call time: the Redis Stream itself retains every event
        (and the database everything older), so the reader starts from ``after_seq`` whenever
        it is first iterated.
        """
        return RedisSubscription(self._read(stream_id, after_seq))

    async def _read(self, stream_id: str, after_seq: int) -> AsyncIterator[StreamEvent]:
        last = after_seq
        failures = 0
        key = self._keys.stream(stream_id)
        while not self._closed.is_set():
            try:
                reply = await self._sub.xread({key: f"{last}-0"}, count=500, block=self._block_ms)
            except asyncio.CancelledError:
                raise
            except UNAVAILABLE as exc:
                if self._closed.is_set():
                    return
                log.info("stream %s: Redis unreachable (%s), reading the database", stream_id, type(exc).__name__)
                for event in await self._from_db(stream_id, last):
                    yield event
                    last = event.seq
                    if event.terminal:
                        return
                failures += 1
                await self._sleep(backoff_delay(failures, initial=0.05, max_delay=1.0))
                continue
            failures = 0
            if not reply:
                # Block timed out: catch events whose publish never reached Redis.
                for event in await self._from_db(stream_id, last):
                    yield event
                    last = event.seq
                    if event.terminal:
                        return
                if await self._is_closed(stream_id) and not await self._from_db(stream_id, last):
                    return
                continue
            for entry_id, fields in reply[0][1]:
                seq = int(entry_id.split(b"-", 1)[0])
                if seq <= last:
                    continue
                if seq > last + 1:  # a publish was lost: fill the hole from the database first
                    async for event in self._fill_gap(stream_id, last, seq):
                        yield event
                        last = event.seq
                event = StreamEvent(stream_id=stream_id, seq=seq, event=fields[b"e"].decode(), data=loads(fields[b"d"]))
                yield event
                last = seq
                if event.terminal:
                    return

    async def _fill_gap(self, stream_id: str, last: int, upto: int) -> AsyncIterator[StreamEvent]:
        """Yield events ``last < seq < upto`` from the database, waiting briefly for late writes."""
        deadline = time.monotonic() + GAP_WAIT_S
        while last < upto - 1:
            for event in await self._from_db(stream_id, last):
                if event.seq >= upto or event.seq != last + 1:
                    break
                yield event
                last = event.seq
            if last >= upto - 1 or time.monotonic() > deadline or self._closed.is_set():
                break
            await self._sleep(0.02)
        if last < upto - 1:
            log.warning("stream %s: events %d..%d could not be recovered", stream_id, last + 1, upto - 1)

    async def _from_db(self, stream_id: str, after_seq: int) -> list[StreamEvent]:
        if self._persisted is None:
            return []
        try:
            return await self._persisted(stream_id, after_seq)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the database may be briefly down too; retry next round
            log.warning("stream %s: database read failed: %s", stream_id, type(exc).__name__)
            return []

    async def _is_closed(self, stream_id: str) -> bool:
        try:
            return bool(await self._pub.exists(self._keys.stream_closed(stream_id)))
        except UNAVAILABLE:
            return False

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._closed.wait(), timeout=seconds)
        except TimeoutError:
            pass

    # ------------------------------------------------------------------ what Redis retains
    async def last_seq(self, stream_id: str) -> int:
        """Highest seq in the Redis Stream (0 if none or unreachable): a resuming writer goes on after it."""
        try:
            newest = await self._pub.xrevrange(self._keys.stream(stream_id), count=1)
        except UNAVAILABLE:
            return 0
        return int(newest[0][0].split(b"-", 1)[0]) if newest else 0

    async def retained(self, stream_id: str, after_seq: int = 0) -> list[StreamEvent]:
        """Events with seq > ``after_seq`` still in the Redis Stream (used to backfill the database
        with events a crashed writer published but had not persisted yet)."""
        try:
            entries = await self._pub.xrange(self._keys.stream(stream_id), min=f"({after_seq}-0", max="+")
        except UNAVAILABLE:
            return []
        return [
            StreamEvent(stream_id=stream_id, seq=int(eid.split(b"-", 1)[0]), event=f[b"e"].decode(), data=loads(f[b"d"]))
            for eid, f in entries
        ]

    # ------------------------------------------------------------------ lifecycle
    async def ping(self) -> bool:
        try:
            return bool(await self._pub.ping())
        except UNAVAILABLE:
            return False

    async def aclose(self) -> None:
        """End every subscription (their iterators return) and close the connections."""
        self._closed.set()
        await self._pub.aclose()
        await self._sub.aclose()
        await self._sub_pool.disconnect()


class RedisSubscription:
    """The iterator ``RedisStreamBus.subscribe`` returns (``async for`` / ``aclose`` / ``async with``)."""

    __slots__ = ("_events",)

    def __init__(self, events: AsyncIterator[StreamEvent]) -> None:
        self._events = events

    def __aiter__(self) -> RedisSubscription:
        return self

    async def __anext__(self) -> StreamEvent:
        return await self._events.__anext__()

    async def aclose(self) -> None:
        await self._events.aclose()  # type: ignore[attr-defined]

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
