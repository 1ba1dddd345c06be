"""Resuming waiting *inline* runs (embedded mode): an in-process timer per run plus a sweep.

A run suspended in this process is given a timer (:meth:`ResumeTimers.schedule`) that sleeps
until its due time on the wait clock (:mod:`pilot.core.clock`) and then runs
:func:`pilot.engine.executor.execute`, whose claim (``waiting & resume_at <= now → running``, one
conditional UPDATE) makes the resume exactly-once whoever else tries. The sweep
(:meth:`ResumeTimers.sweep`) runs at start-up and then every ``PILOT_WAIT_SWEEP_INTERVAL_S``: it
resumes due waiting inline runs that no timer of this process is resuming — those a killed or
restarted process left, or whose timer was lost — and puts timers on those due soon.

The sweep's timers fire ``grace_s`` (one sweep interval) *after* the due time: several processes
share one database and each sweeps every waiting run, and the process that suspended a run (whose
own timer fires on time) should normally be the one resuming it — its SSE clients follow its bus.
Whoever claims it, the run resumes exactly once, at most about two sweep intervals late, and an
SSE stream served elsewhere still sees its events (:mod:`pilot.events.sse` re-reads the database
when idle). A timer whose resume fails (a database hiccup under load) retries with backoff before
leaving the run to the next sweep. Background runs are resumed by arq jobs and the workers'
sweeper instead (:mod:`pilot.background.waits`).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from pilot.core import clock
from pilot.core.ids import aware
from pilot.db.models import ExecutionRow

log = logging.getLogger("pilot.engine.waits")

RESUME_ATTEMPTS = 4  # a timer's tries (RESUME_BACKOFF_S, then doubling) before leaving the run to the sweep
RESUME_BACKOFF_S = 0.5


class ResumeTimers:
    """The in-process timers of one runtime's waiting inline runs (cancelled with the runtime)."""

    def __init__(self, runtime: Any, deps: Any, *, grace_s: float | None = None) -> None:
        self.runtime = runtime
        self.deps = deps
        if grace_s is None:
            grace_s = float(getattr(getattr(getattr(deps, "settings", None), "engine", None), "wait_sweep_interval_s", 5.0))
        self.grace_s = max(0.0, grace_s)
        self._timers: dict[str, tuple[datetime, asyncio.Task]] = {}

    def pending(self, execution_id: str) -> datetime | None:
        """When this process's live timer for ``execution_id`` fires (None: it has none)."""
        current = self._timers.get(execution_id)
        return current[0] if current is not None and not current[1].done() else None

    def schedule(self, execution_id: str, resume_at: datetime) -> None:
        """Resume ``execution_id`` at ``resume_at`` (an earlier timer for it is replaced)."""
        current = self._timers.get(execution_id)
        if current is not None and not current[1].done():
            if current[0] <= resume_at:
                return  # already due at least as early
            current[1].cancel()
        task = self.runtime.spawn(self._fire(execution_id, resume_at), name=f"resume:{execution_id}")
        self._timers[execution_id] = (resume_at, task)

    async def _fire(self, execution_id: str, resume_at: datetime) -> None:
        while (delay := (resume_at - clock.now()).total_seconds()) > 0:
            await asyncio.sleep(delay + 0.005)  # the loop's monotonic clock may wake a hair early
        if self._timers.get(execution_id, (None, None))[1] is asyncio.current_task():
            # Before running: a run that suspends again on a later wait schedules a new timer.
            self._timers.pop(execution_id, None)
        await self._resume(execution_id)

    async def _resume(self, execution_id: str) -> None:
        """Run the resume (claims only if still waiting and due, so retrying is safe); an error
        (a database hiccup under load) is retried, then left to the next sweep."""
        from pilot.engine.executor import execute

        for attempt in range(RESUME_ATTEMPTS):
            try:
                await execute(execution_id, self.deps)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - never lose the resume to one failed query
                if attempt + 1 == RESUME_ATTEMPTS:
                    log.error("could not resume %s: %s: %s (the wait sweep retries)", execution_id, type(exc).__name__, exc)
                    return
                log.warning("resuming %s failed (%s: %s); retrying", execution_id, type(exc).__name__, exc)
                await asyncio.sleep(RESUME_BACKOFF_S * 2**attempt)

    async def sweep(self, horizon_s: float) -> list[str]:
        """Put timers on the waiting inline runs due within ``horizon_s`` that no timer of this
        process is resuming, firing ``grace_s`` after their due time (see the module docstring).
        Returns those resumed now (due at least ``grace_s`` ago)."""
        now = clock.now()
        async with self.deps.sessions() as session:
            rows = (await session.execute(sa.select(ExecutionRow.id, ExecutionRow.resume_at).where(
                ExecutionRow.status == "waiting", ExecutionRow.mode == "inline", ExecutionRow.resume_at.is_not(None),
                ExecutionRow.resume_at <= now + timedelta(seconds=horizon_s),
            ).order_by(ExecutionRow.resume_at).limit(500))).all()
        grace = timedelta(seconds=self.grace_s)
        resumed: list[str] = []
        for execution_id, resume_at in rows:
            due = aware(resume_at)
            pending = self.pending(execution_id)
            if pending is not None and pending <= due + grace:
                continue  # this process's own timer resumes it
            self.schedule(execution_id, due + grace)
            if due + grace <= now:
                resumed.append(execution_id)
        return resumed

    async def run_forever(self, interval_s: float) -> None:
        """The start-up sweep, then one every ``interval_s`` (errors are logged, never fatal)."""
        while True:
            try:
                resumed = await self.sweep(horizon_s=interval_s * 2)
                if resumed:
                    log.info("resuming %d due waiting run(s): %s", len(resumed), ", ".join(resumed[:10]))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a database hiccup: the next pass retries
                log.warning("waiting-run sweep failed: %s: %s", type(exc).__name__, exc)
            await asyncio.sleep(interval_s)
