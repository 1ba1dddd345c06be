"""Cache invalidation across processes: a committed change empties every process's caches at once.

Each process keeps answers it read from the database in :class:`pilot.db.watched.WatchedCache`
caches (principals, credential names, tool listings, knowledge snapshots, readiness's tool and
table lookups), emptied in that process the moment a session changes a table they watch.
:class:`CacheInvalidation` carries that moment to the other processes sharing the Redis of
``REDIS_URL``: after a commit it publishes the changed tables' names on ``keys.cache_channel``
(fire and forget from the commit hook), and its subscriber empties the caches watching those
tables when another process's message arrives (a process ignores its own: its caches were
emptied by the hook already).

What it cannot see is bounded by the caches' TTL (``PILOT_AUTH_CACHE_TTL_S``): a message lost
while Redis is down (the subscriber empties *every* cache once it has subscribed again, since it
may have missed some), a publish that failed, a process without Redis, raw SQL.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import msgspec
from redis.asyncio import Redis

from pilot.background.keys import RedisKeys
from pilot.background.pubsub import listen_channel
from pilot.db import watched
from pilot.settings import RedisSettings

log = logging.getLogger("pilot.background.invalidation")


class Invalidation(msgspec.Struct, frozen=True):
    """One message: who committed (``origin``: process token) and the tables it changed."""

    origin: str
    tables: list[str]


_ENCODE = msgspec.json.Encoder().encode
_DECODE = msgspec.json.Decoder(Invalidation).decode


class CacheInvalidation:
    """Publishes this process's changes and applies the others' (one per API or worker process)."""

    def __init__(self, redis: Redis, keys: RedisKeys, url: str) -> None:
        self._redis = redis  # publishes (the runtime's client: short timeouts)
        # Subscribes on its own connection without a read timeout: an idle channel is not a lost
        # one (with the runtime's 5 s socket timeout every quiet stretch would look like an
        # outage, and each reconnect empties every cache). Keep-alive and a periodic PING find a
        # dead peer instead.
        self._subscriber = Redis.from_url(url, socket_timeout=None, socket_connect_timeout=2.0,
                                          socket_keepalive=True, health_check_interval=30)
        self._channel = keys.cache_channel
        self.origin = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.ready = asyncio.Event()  # subscribed (tests wait for it)
        self.received = 0  # messages from other processes applied
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._publishes: set[asyncio.Task] = set()
        self._remove_publisher: Callable[[], None] | None = None

    def start(self) -> None:
        """Subscribe, and publish every commit of this process that changes a watched table."""
        self._loop = asyncio.get_running_loop()
        self._remove_publisher = watched.add_publisher(self._publish_soon)
        self._task = asyncio.create_task(
            listen_channel(self._subscriber, self._channel, self._apply, on_subscribed=self._subscribed,
                           on_lost=self.ready.clear), name="cache-invalidation")

    async def stop(self) -> None:
        if self._remove_publisher is not None:
            self._remove_publisher()
        if self._publishes:  # let the last commits' messages go out, then give up on them
            _done, pending = await asyncio.wait(list(self._publishes), timeout=2)
            for task in pending:
                task.cancel()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._subscriber.aclose()

    def _publish_soon(self, tables: frozenset[str]) -> None:
        """Called inside a commit: schedule the publish on this runtime's loop (from another loop or
        thread of the process too, e.g. a test's; the Redis client belongs to that loop)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._spawn_publish(tables)
        else:
            loop.call_soon_threadsafe(self._spawn_publish, tables)

    def _spawn_publish(self, tables: frozenset[str]) -> None:
        task = asyncio.get_running_loop().create_task(self._publish(sorted(tables)))
        self._publishes.add(task)
        task.add_done_callback(self._publishes.discard)

    async def _publish(self, tables: list[str]) -> None:
        await _send(self._redis, self._channel, self.origin, tables)

    def _apply(self, data: bytes) -> None:
        try:
            message = _DECODE(data)
        except msgspec.DecodeError:
            log.warning("ignored a malformed cache-invalidation message")
            return
        if message.origin != self.origin:
            watched.invalidate_tables(message.tables)
            self.received += 1

    async def _subscribed(self) -> None:
        watched.invalidate_all()  # whatever was published while we were not listening is lost
        self.ready.set()


@asynccontextmanager
async def announcing(settings: RedisSettings) -> AsyncIterator[None]:
    """For a short-lived process (a CLI command): collect the cached tables its commits change
    inside the block and publish them once at the end, so a password change that ends login
    sessions, say, reaches every API process at once instead of after the cache TTL."""
    changed: set[str] = set()
    remove = watched.add_publisher(changed.update)
    try:
        yield
    finally:
        remove()
    if not changed or not settings.enabled:
        return
    redis = Redis.from_url(settings.url, socket_timeout=2.0, socket_connect_timeout=1.0)  # never hang the CLI
    try:
        await _send(redis, RedisKeys(settings.key_prefix).cache_channel, f"cli-{os.getpid()}", sorted(changed))
    finally:
        await redis.aclose()


async def _send(redis: Redis, channel: str, origin: str, tables: list[str]) -> None:
    """Publish one invalidation; best effort after a commit that has happened (the caches' TTL
    bounds what a lost message costs), so no error of it reaches the committing caller."""
    try:
        await redis.publish(channel, _ENCODE(Invalidation(origin=origin, tables=tables)))
    except Exception as exc:  # noqa: BLE001 - see the docstring
        log.warning("cache invalidation of %s not published (%s); other processes see it within the cache TTL",
                    ", ".join(tables), type(exc).__name__)
