"""Resuming waiting *inline* runs (embedded mode): an in-process timer per run plus a sweep.

A run suspended in this process is given a timer (:meth:`ResumeTimers.schedule`) that sleeps
until its due time on the wait clock (:mod:`pilot.core.clock`) and then runs
:func:`pilot.engine.executor.execute`, whose claim (``waiting & resume_at <= now → running``, one
conditional UPDATE) makes the resume exactly-once whoever else tries. The sweep
(:meth:`ResumeTimers.sweep`) runs at start-up and then every ``PILOT_WAIT_SWEEP_INTERVAL_S``: it
resumes due waiting inline runs — those a killed or restarted process left, or woken by an
approval decided in another process — and puts timers on those due soon. Background runs are
resumed by arq jobs and the workers' sweeper instead (:mod:`pilot.background.waits`).
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


class ResumeTimers:
    """The in-process timers of one runtime's waiting inline runs (cancelled with the runtime)."""

    def __init__(self, runtime: Any, deps: Any) -> None:
        self.runtime = runtime
        self.deps = deps
        self._timers: dict[str, tuple[datetime, asyncio.Task]] = {}

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
        from pilot.engine.executor import execute

        while (delay := (resume_at - clock.now()).total_seconds()) > 0:
            await asyncio.sleep(delay + 0.005)  # the loop's monotonic clock may wake a hair early
        if self._timers.get(execution_id, (None, None))[1] is asyncio.current_task():
            self._timers.pop(execution_id, None)
        await execute(execution_id, self.deps)  # claims only if still waiting and due

    async def sweep(self, horizon_s: float) -> list[str]:
        """Resume due waiting inline runs; put timers on those due within ``horizon_s``."""
        now = clock.now()
        async with self.deps.sessions() as session:
            rows = (await session.execute(sa.select(ExecutionRow.id, ExecutionRow.resume_at).where(
                ExecutionRow.status == "waiting", ExecutionRow.mode == "inline", ExecutionRow.resume_at.is_not(None),
                ExecutionRow.resume_at <= now + timedelta(seconds=horizon_s),
            ).order_by(ExecutionRow.resume_at).limit(500))).all()
        for execution_id, resume_at in rows:
            self.schedule(execution_id, aware(resume_at))
        return [execution_id for execution_id, resume_at in rows if aware(resume_at) <= now]

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
