"""Cancelling a run from any process.

Three signals, each covering a failure of the others:

1. ``executions.cancel_requested`` (the database; durable) — the worker's heartbeat reads it
   back on every beat, so a cancel is honoured within ``heartbeat_s`` even with Redis down.
2. a Redis pub/sub message on ``keys.cancel_channel`` — reaches the worker running the
   execution immediately (:class:`CancelSignals` routes it to that run's cancel event).
3. arq's abort set — for a job that no worker has started yet, arq drops it before it runs
   (a running job is cancelled cooperatively by 1 and 2, so its stream still ends with
   ``run.finished`` status ``cancelled``).
"""

from __future__ import annotations

import asyncio
import logging

from arq.utils import timestamp_ms
from redis.asyncio import Redis

from pilot.background.keys import RedisKeys
from pilot.background.pubsub import listen_channel
from pilot.background.redis_bus import UNAVAILABLE

log = logging.getLogger("pilot.background.cancel")

CANCEL_FLAG_TTL_S = 24 * 3600


async def signal_cancel(redis: Redis, keys: RedisKeys, execution_id: str, *, abort_job: bool) -> None:
    """Tell the workers (pub/sub + flag key) and, for a job not yet started, arq (abort set).

    Best effort: the durable ``cancel_requested`` flag the caller already committed is what
    guarantees the cancel; Redis only makes it fast.
    """
    try:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.set(keys.cancel_flag(execution_id), b"1", ex=CANCEL_FLAG_TTL_S)
            pipe.publish(keys.cancel_channel, execution_id.encode())
            if abort_job:
                pipe.zadd(keys.arq_abort(), {execution_id: timestamp_ms()})
            await pipe.execute()
    except UNAVAILABLE as exc:
        log.warning("cancel of %s not signalled through Redis (%s); the worker's heartbeat will see it",
                    execution_id, type(exc).__name__)


class CancelSignals:
    """Worker side: one pub/sub subscription per process, routed to the runs this process holds.

    ``register(execution_id, event)`` hands over the run's cancel event (the one the executor
    watches) *before* the run starts, so a cancel arriving at any moment after the claim is
    caught; cancels published while the subscription was down are re-checked (flag keys) after
    reconnecting, and the lease heartbeat reads the durable database flag in any case.
    """

    def __init__(self, redis: Redis, keys: RedisKeys) -> None:
        self._redis = redis
        self._keys = keys
        self._held: dict[str, asyncio.Event] = {}
        self._task: asyncio.Task | None = None
        self.ready = asyncio.Event()

    def register(self, execution_id: str, event: asyncio.Event) -> None:
        self._held[execution_id] = event

    def unregister(self, execution_id: str) -> None:
        self._held.pop(execution_id, None)

    def trigger(self, execution_id: str) -> bool:
        event = self._held.get(execution_id)
        if event is None:
            return False  # another worker's run
        event.set()
        return True

    async def was_requested(self, execution_id: str) -> bool:
        """The flag key (set by :func:`signal_cancel`); False when Redis is unreachable."""
        try:
            return bool(await self._redis.exists(self._keys.cancel_flag(execution_id)))
        except UNAVAILABLE:
            return False

    def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="cancel-signals")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _listen(self) -> None:
        """Subscribe and route messages; reconnect with backoff when Redis drops."""

        async def subscribed() -> None:
            self.ready.set()
            # Cancels published while we were disconnected: re-check the runs we hold.
            for execution_id in list(self._held):
                if await self.was_requested(execution_id):
                    self.trigger(execution_id)

        await listen_channel(self._redis, self._keys.cancel_channel, lambda data: self.trigger(data.decode()),
                             on_subscribed=subscribed, on_lost=self.ready.clear)
