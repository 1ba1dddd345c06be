"""Crash safety: no background execution stays ``running`` (or ``queued``) forever.

A worker killed mid-run (SIGKILL, OOM, lost host) stops heartbeating. The sweeper, run
periodically by every worker (an arq cron job, unique per tick) and once at worker start-up:

- ``running`` with a stale heartbeat and attempts left → handed back: the row goes back to
  ``queued`` (one conditional UPDATE, so two sweepers never both act) and the arq job is made
  runnable again (its orphaned in-progress marker removed, re-enqueued if Redis lost it). The
  next worker *resumes*: finished nodes are loaded from ``node_results`` and not re-run, and the
  stream continues after the last event — nothing duplicated, nothing lost.
- ``running`` and stale with no attempts left (or a cancel pending) → ended: ``failed`` (or
  ``cancelled``) with a clear reason, and the stream gets its ``run.finished``.
- ``queued`` for longer than the stale threshold with no arq job in Redis (Redis restarted,
  or enqueue failed after the row was committed) → enqueued again.
- an *inline* run (mode ``inline``, executed by an API process) whose heartbeat went stale, or
  that never started → ended ``failed`` with ``run.finished``: its API process is gone.
- ``waiting`` runs (a ``wait`` node) hold no worker and are never ended here: a due one gets its
  resume job made runnable (:mod:`pilot.background.waits`), the rest are left alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pilot.background.keys import RedisKeys
from pilot.core.ids import utcnow
from pilot.db.models import ExecutionRow, StreamEventRow
from pilot.engine import lifecycle
from pilot.events.projection import persist_events
from pilot.events.recorder import EventRecorder, take_over
from pilot.events.schemas import RunFinished, event_name, payload_data

log = logging.getLogger("pilot.background.sweeper")

RUN_FUNCTION = "run_execution"


@dataclass
class SweepReport:
    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    reenqueued: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)  # due waiting runs whose resume job was made runnable


async def enqueue_run(
    redis: Any, keys: RedisKeys, execution_id: str, *, redeliver: bool = False, traceparent: str | None = None,
) -> bool:
    """Put ``run_execution(execution_id)`` on the queue; job id = execution id (a duplicate is a no-op).

    ``redeliver``: the job may be stuck behind a dead worker's in-progress marker or an old
    result — clear those first so the queued job is picked up again right away. ``traceparent``
    (tracing on): the enqueuing request's trace context, stored with the job so that the worker's
    run span continues that trace.
    """
    if redeliver:
        await redis.delete(keys.arq_in_progress(execution_id), keys.arq_result(execution_id))
    extra = {"traceparent": traceparent} if traceparent else {}
    job = await redis.enqueue_job(RUN_FUNCTION, execution_id, _job_id=execution_id, _queue_name=keys.queue, **extra)
    if job is None and redeliver:
        # The job is still queued (arq keeps it until it finishes): make sure it is due now.
        await redis.zadd(keys.queue, {execution_id: 1}, xx=True)
    return job is not None


async def backfill_events(
    sessions: async_sessionmaker[AsyncSession], bus: Any, stream_id: str, *, token: str | None = None,
) -> int:
    """Persist events a dead writer published to the bus but never wrote to the database.

    ``token``: the writer about to continue the stream. It takes the stream over first
    (:func:`pilot.events.recorder.take_over`): the "dead" writer may only be stalled, and once
    fenced out it stores none of what it buffered — what the bus took from it is stored here.
    """
    retained = getattr(bus, "retained", None)
    if retained is None:
        return 0
    await take_over(bus, stream_id, token)
    async with sessions() as session:
        db_last = await session.scalar(
            sa.select(sa.func.max(StreamEventRow.seq)).where(StreamEventRow.stream_id == stream_id)
        ) or 0
        missing = await retained(stream_id, db_last)
        if missing:  # with the node results they imply, as the recorder would have written them
            await persist_events(session, [
                {"stream_id": e.stream_id, "seq": e.seq, "event": e.event, "data": e.data} for e in missing
            ], existing_ok=True)  # the publisher may be storing the same events right now
            await session.commit()
    return len(missing)


async def end_execution(
    sessions: async_sessionmaker[AsyncSession], bus: Any, execution_id: str, *, status: str, error: str,
    only_if_stale_before: datetime | None = None, from_statuses: tuple[str, ...] = ("queued", "running"),
) -> bool:
    """Mark an unfinished execution terminal and end its stream with ``run.finished``.

    The conditional UPDATE (status still unfinished and, for the sweeper, heartbeat still stale)
    makes this the stream's single writer: a live worker that beat in between wins instead.
    """
    ended = await lifecycle.end(sessions, execution_id, status=status, error=error,
                                stale_before=only_if_stale_before, from_statuses=from_statuses)
    if ended is None:
        return False
    now = utcnow()
    started_at, created_at, usage = ended
    began = started_at or created_at
    elapsed_ms = max((now - began).total_seconds() * 1000, 0.0) if began and began.tzinfo else 0.0
    # This ending writes the stream now: under a token of its own, taken over before anything is
    # read, so the stalled holder (if it wakes up) can add nothing after run.finished.
    token = lifecycle.new_token()
    await backfill_events(sessions, bus, execution_id, token=token)
    recorder = await EventRecorder.resume(execution_id, bus=bus, sessions=sessions, token=token)
    finished = RunFinished(status=status, outputs=None, error=error, elapsed_ms=elapsed_ms, usage=usage or {})
    recorder.emit_nowait(event_name(finished), payload_data(finished))
    await recorder.aclose()
    await lifecycle.set_last_seq(sessions, execution_id, recorder.seq)
    return True


async def sweep_inline_orphans(
    sessions: async_sessionmaker[AsyncSession], bus: Any, *, stale_after_s: float
) -> list[str]:
    """End inline runs whose API process died: nothing can resume them (the run was promised to
    that process), so they become ``failed`` with ``run.finished``. Their executor beats every
    heartbeat, so a live run is never touched. Needs no Redis: embedded mode runs it too."""
    t = ExecutionRow.__table__
    cutoff = utcnow() - timedelta(seconds=stale_after_s)
    async with sessions() as session:
        orphans = (await session.execute(
            sa.select(t.c.id).where(
                t.c.mode == "inline",
                sa.or_(
                    sa.and_(t.c.status == "running", sa.or_(t.c.heartbeat_at.is_(None), t.c.heartbeat_at < cutoff)),
                    sa.and_(t.c.status == "queued", t.c.created_at < cutoff),
                ),
            )
        )).scalars().all()
    ended = []
    for execution_id in orphans:
        reason = f"the API process running this inline run stopped (no heartbeat for {stale_after_s:g}s)"
        if await end_execution(sessions, bus, execution_id, status="failed", error=reason, only_if_stale_before=cutoff):
            log.warning("inline execution %s ended as failed: %s", execution_id, reason)
            ended.append(execution_id)
    return ended


async def sweep(
    sessions: async_sessionmaker[AsyncSession], redis: Any, bus: Any, keys: RedisKeys, *,
    stale_after_s: float, max_attempts: int,
) -> SweepReport:
    """One pass over unfinished background executions (see the module docstring)."""
    report = SweepReport()
    t = ExecutionRow.__table__
    cutoff = utcnow() - timedelta(seconds=stale_after_s)
    async with sessions() as session:
        stale = (await session.execute(
            sa.select(t.c.id, t.c.attempts, t.c.cancel_requested).where(
                t.c.mode == "background", t.c.status == "running",
                sa.or_(t.c.heartbeat_at.is_(None), t.c.heartbeat_at < cutoff),
            )
        )).all()
        waiting = (await session.execute(
            sa.select(t.c.id).where(t.c.mode == "background", t.c.status == "queued", t.c.created_at < cutoff)
        )).scalars().all()

    for execution_id, attempts, cancel_requested in stale:
        if cancel_requested or attempts >= max_attempts:
            status = "cancelled" if cancel_requested else "failed"
            reason = ("cancelled while its worker was unreachable" if cancel_requested else
                      f"worker lost: the run was interrupted {attempts} time(s) (no heartbeat for "
                      f"{stale_after_s:g}s) and will not be retried")
            if await end_execution(sessions, bus, execution_id, status=status, error=reason,
                                   only_if_stale_before=cutoff):
                log.warning("execution %s ended as %s: %s", execution_id, status, reason)
                report.failed.append(execution_id)
            continue
        if not await lifecycle.hand_back(sessions, execution_id, stale_before=cutoff):
            continue  # its worker beat in the meantime, or another sweeper acted
        await enqueue_run(redis, keys, execution_id, redeliver=True)
        log.warning("execution %s: worker presumed dead (attempt %d); re-queued to resume", execution_id, attempts)
        report.requeued.append(execution_id)

    report.failed.extend(await sweep_inline_orphans(sessions, bus, stale_after_s=stale_after_s))

    for execution_id in waiting:
        if not await redis.exists(keys.arq_job(execution_id)):
            await enqueue_run(redis, keys, execution_id, redeliver=True)
            log.warning("execution %s was queued with no job in Redis; enqueued again", execution_id)
            report.reenqueued.append(execution_id)

    from pilot.background.waits import sweep_due_waiting

    report.resumed.extend(await sweep_due_waiting(sessions, redis, keys))
    return report
