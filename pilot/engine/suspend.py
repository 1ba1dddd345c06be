"""Suspending a run on its ``wait`` nodes (called by the executor when only parked waits are left).

The attempt flushes its events (``node.waiting`` must be stored before the row says
``waiting``), moves the row ``running → waiting`` with the due time — one fenced UPDATE,
:func:`pilot.engine.lifecycle.suspend`, which also releases the token and heartbeat — and leaves
the stream open (``waiting`` is not terminal: SSE clients stay connected). Then ``deps.resume``
schedules the resume through the run's launcher: an arq deferred job (background mode) or an
in-process timer (embedded mode). If scheduling fails the periodic sweeps resume the run when due.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from pilot.core.ids import aware
from pilot.db.errors import db_reason
from pilot.db.models import ExecutionRow
from pilot.engine import lifecycle

log = logging.getLogger("pilot.engine")


async def suspend_run(execution_id: str, deps: Any, token: str, recorder: Any, suspension: Any, usage: dict[str, Any]) -> bool:
    """Suspend and schedule the resume; False when the row is not this attempt's any more (it
    stops like an attempt whose lease was lost) or could not be written (the sweeper recovers it)."""
    suspended = False
    try:
        await recorder.flush()
        suspended = await lifecycle.suspend(
            deps.sessions, execution_id, token, resume_at=suspension.resume_at,
            approval_nodes=suspension.approval_nodes, usage=usage, last_seq=recorder.seq,
        )
    except Exception as exc:  # noqa: BLE001 - the row stays running; the sweeper recovers it
        log.error("could not suspend %s: %s", execution_id, db_reason(exc))
    finally:
        try:
            await recorder.aclose(close_stream=False)
        finally:
            deps.active.unregister(execution_id)
    if suspended and deps.resume is not None:
        try:
            await deps.resume(execution_id, *await _mode_and_due(deps, execution_id))
        except Exception as exc:  # noqa: BLE001 - the periodic sweeps resume it when due
            log.warning("could not schedule the resume of %s: %s", execution_id, exc)
    return suspended


async def _mode_and_due(deps: Any, execution_id: str) -> tuple[str, datetime | None]:
    """The run's mode and stored due time (suspend made it *now* if an approval was decided meanwhile)."""
    async with deps.sessions() as session:
        mode, due = (await session.execute(
            sa.select(ExecutionRow.mode, ExecutionRow.resume_at).where(ExecutionRow.id == execution_id))).one()
    return mode, aware(due)
