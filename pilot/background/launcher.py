"""``ArqRunLauncher``: starts runs on the arq worker fleet instead of in the API process.

``launch`` enqueues ``run_execution(execution_id)`` with job id = execution id (a second enqueue
of the same execution is a no-op). When Redis is unreachable the execution simply stays
``queued`` — it was committed before launching — and the sweeper enqueues it once Redis is
back, so a Redis blip delays a run instead of losing it.
"""

from __future__ import annotations

import logging

from redis.asyncio import ConnectionPool
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pilot.background.cancel import signal_cancel
from pilot.background.keys import RedisKeys
from pilot.background.redis_bus import UNAVAILABLE
from pilot.background.sweeper import end_execution, enqueue_run
from pilot.observability.tracing import traceparent

log = logging.getLogger("pilot.background.launcher")


def connect_arq(url: str, keys: RedisKeys):
    """An ArqRedis client (a redis.asyncio.Redis that can enqueue jobs) without connecting yet,
    so an API process starts — and reports Redis in ``/ready`` — even while Redis is down."""
    from arq.connections import ArqRedis

    pool = ConnectionPool.from_url(url, socket_connect_timeout=2.0, socket_timeout=5.0)
    return ArqRedis(connection_pool=pool, default_queue_name=keys.queue)


class ArqRunLauncher:
    """RunLauncher for ``mode: "background"`` (see pilot.engine's RunLauncher seam)."""

    mode = "background"

    def __init__(self, redis, keys: RedisKeys, sessions: async_sessionmaker[AsyncSession], bus) -> None:
        self.redis = redis
        self.keys = keys
        self.sessions = sessions
        self.bus = bus

    async def launch(self, execution_id: str) -> None:
        try:
            await enqueue_run(self.redis, self.keys, execution_id, traceparent=traceparent())
        except UNAVAILABLE as exc:
            log.warning("could not enqueue %s (%s); it stays queued and is enqueued when Redis is back",
                        execution_id, type(exc).__name__)

    async def launch_at(self, execution_id: str, resume_at) -> None:
        """Resume a waiting run when due: an arq deferred job (the sweeper is the safety net)."""
        from pilot.background.waits import enqueue_resume

        try:
            await enqueue_resume(self.redis, self.keys, execution_id, resume_at)
        except UNAVAILABLE as exc:
            log.warning("could not schedule the resume of %s (%s); the sweeper resumes it when due",
                        execution_id, type(exc).__name__)

    async def cancel(self, execution_id: str) -> None:
        """Cancel a run whose ``executions.cancel_requested`` is already committed.

        Not started yet: end it here (``queued → cancelled`` is one conditional UPDATE, so either
        this or a worker's claim wins, never both) and tell arq to drop the job. Running: signal
        the worker (pub/sub + flag key; its heartbeat also reads the database flag), whose
        executor stops the nodes and ends the stream with ``run.finished`` status ``cancelled``.
        """
        ended = await end_execution(self.sessions, self.bus, execution_id, status="cancelled",
                                    error="cancelled before it started", from_statuses=("queued",))
        await signal_cancel(self.redis, self.keys, execution_id, abort_job=ended)
