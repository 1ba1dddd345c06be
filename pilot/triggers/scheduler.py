"""The schedule runner: every process (API and workers) looks for due ticks; each tick fires once.

Exactly once across processes: firing a tick inserts ``trigger_fires(trigger_id, scheduled_for)``,
which is unique, in the same transaction as the execution row it starts (``RunService.start``
commits both). Of several processes that see the same due tick, one insert succeeds; the others
hit the unique constraint and skip it. A crash before that commit leaves neither row, so the
tick is fired by the next pass (of any process) instead. Which ticks are due is decided by the
pure :func:`pilot.triggers.schedule.due` (misfire policy: catch up at most one missed tick).

In embedded mode the API process runs it; with Redis the API processes and the workers all run
it and the runs it starts are queued for the workers like any background run.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from pilot.core.errors import PilotError
from pilot.core.ids import aware, utcnow
from pilot.db.models import TriggerFireRow, TriggerRow
from pilot.triggers import schedule

log = logging.getLogger("pilot.triggers")


async def fire_due(runtime: Any, now: datetime | None = None) -> list[str]:
    """One pass: fire every due schedule tick this process wins; returns the executions started."""
    now = now or utcnow()
    async with runtime.sessions() as session:
        due_rows = (await session.execute(
            sa.select(TriggerRow.id, TriggerRow.workspace_id, TriggerRow.workflow_id, TriggerRow.workflow_version,
                      TriggerRow.config, TriggerRow.next_fire_at)
            .where(TriggerRow.active.is_(True), TriggerRow.kind == "schedule", TriggerRow.next_fire_at <= now)
            .order_by(TriggerRow.next_fire_at).limit(100)
        )).all()
    started = []
    for trigger_id, workspace_id, workflow_id, version, config, next_fire_at in due_rows:
        next_fire_at = aware(next_fire_at)
        tick, following = schedule.due(config["cron"], config.get("timezone", "UTC"), next_fire_at, now)
        if tick is None:
            continue
        execution_id = await _fire(runtime, trigger_id, workspace_id, workflow_id, version, tick, next_fire_at, following)
        if execution_id:
            started.append(execution_id)
    return started


async def _fire(runtime, trigger_id, workspace_id, workflow_id, version, tick, next_fire_at, following) -> str | None:
    async with runtime.sessions() as session:
        fire = TriggerFireRow(trigger_id=trigger_id, scheduled_for=tick, fired_at=utcnow())
        session.add(fire)
        try:
            await session.flush()  # the claim: (trigger_id, scheduled_for) is unique
        except IntegrityError:
            await session.rollback()
            return None  # another process fired this tick
        # Fenced: only the process that read this next_fire_at moves it on.
        await session.execute(sa.update(TriggerRow).where(
            TriggerRow.id == trigger_id, TriggerRow.next_fire_at == next_fire_at,
        ).values(next_fire_at=following))
        try:
            response = await runtime.runs.start(session, workspace_id, workflow_id, {}, trigger="schedule", version=version)
        except PilotError as exc:  # e.g. a required input without a default: record why, keep the claim
            await session.rollback()
            session.add(TriggerFireRow(trigger_id=trigger_id, scheduled_for=tick, fired_at=utcnow(), error=exc.detail))
            await session.execute(sa.update(TriggerRow).where(TriggerRow.id == trigger_id).values(next_fire_at=following))
            try:
                await session.commit()
            except IntegrityError:
                await session.rollback()
            log.warning("schedule %s could not start its run for %s: %s", trigger_id, tick.isoformat(), exc.detail)
            return None
        await session.execute(sa.update(TriggerFireRow).where(TriggerFireRow.id == fire.id).values(execution_id=response.execution_id))
        await session.commit()
        log.info("schedule %s fired for %s: execution %s", trigger_id, tick.isoformat(), response.execution_id)
        return response.execution_id


async def run_scheduler(runtime: Any) -> None:
    """Fire due ticks every ``PILOT_SCHEDULER_INTERVAL_S`` until cancelled."""
    interval = runtime.settings.engine.scheduler_interval_s
    while True:
        try:
            await fire_due(runtime)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a database hiccup must not stop the schedules
            log.warning("scheduler pass failed: %s: %s", type(exc).__name__, exc)
        await asyncio.sleep(interval)


async def start_scheduler(runtime: Any) -> None:
    """Start-up step: the scheduler task, cancelled with the runtime."""
    runtime.spawn(run_scheduler(runtime), name="trigger-scheduler")
