"""Resuming waiting *background* runs: an arq deferred job, with the sweeper as safety net.

When a background run suspends, :func:`enqueue_resume` defers ``run_execution(execution_id)``
to its due time (``_defer_until``, converted from the wait clock to real time). Its job id is
``<execution_id>:resume:<due ms>``, so the worker that suspended the run and a sweeper asking
for the same resume enqueue ONE job. Each worker sweep (:func:`sweep_due_waiting`) also makes
every due waiting run's job runnable now — Redis lost the job, the worker died between the
suspend and the enqueue, or the wait clock was moved — clearing a dead worker's in-progress
marker. Duplicate jobs are harmless: the job's claim (``waiting & resume_at <= now → running``,
one conditional UPDATE) lets exactly one of them resume the run; the others find it running and
return.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from pilot.background.keys import RedisKeys
from pilot.core import clock
from pilot.core.ids import aware
from pilot.db.models import ExecutionRow

log = logging.getLogger("pilot.background.waits")

RUN_FUNCTION = "run_execution"
DEFER_MARGIN = timedelta(milliseconds=50)


def resume_job_id(execution_id: str, resume_at: datetime) -> str:
    return f"{execution_id}:resume:{int(resume_at.timestamp() * 1000)}"


async def enqueue_resume(redis: Any, keys: RedisKeys, execution_id: str, resume_at: datetime, *, now: bool = False) -> bool:
    """Defer the resume job to ``resume_at`` (``now``: make it runnable immediately, clearing a
    stale in-progress marker). Returns whether a new job was enqueued."""
    job_id = resume_job_id(execution_id, resume_at)
    if now:
        await redis.delete(keys.arq_in_progress(job_id), keys.arq_result(job_id))
    defer = None if now else clock.real(resume_at) + DEFER_MARGIN  # never fire before the claim sees it due
    job = await redis.enqueue_job(RUN_FUNCTION, execution_id, _job_id=job_id, _queue_name=keys.queue, _defer_until=defer)
    if job is None and now:  # already queued (deferred): due now
        await redis.zadd(keys.queue, {job_id: 1}, xx=True)
    return job is not None


async def sweep_due_waiting(sessions: Any, redis: Any, keys: RedisKeys) -> list[str]:
    """Make the resume job of every due waiting background run runnable now."""
    async with sessions() as session:
        rows = (await session.execute(sa.select(ExecutionRow.id, ExecutionRow.resume_at).where(
            ExecutionRow.status == "waiting", ExecutionRow.mode == "background", ExecutionRow.resume_at.is_not(None),
            ExecutionRow.resume_at <= clock.now(),
        ).limit(500))).all()
    for execution_id, resume_at in rows:
        await enqueue_resume(redis, keys, execution_id, aware(resume_at), now=True)
        log.info("execution %s is due: its resume job is runnable", execution_id)
    return [execution_id for execution_id, _ in rows]
