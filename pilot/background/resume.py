"""Reconcile what a dead attempt left behind before the next attempt resumes the run.

An attempt writes three things asynchronously — events to the bus, events to ``stream_events``,
node results to ``node_results`` (both tables write-behind) — so a SIGKILL can leave them out
of step. Before resuming, with the lease held (we are the stream's single writer):

1. events that reached Redis but not the database are persisted (:func:`backfill_events`);
2. a top-level node whose ``node.finished`` is in the stream but whose result row is missing
   gets its row rebuilt from that event — so it is restored, not run (and announced) twice;
3. a node whose result row exists but whose ``node.finished`` never made it into the stream
   gets that event now — so clients still see every finished node exactly once.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pilot.background.sweeper import backfill_events
from pilot.db.models import ExecutionRow, NodeResultRow, StreamEventRow
from pilot.events.recorder import EventRecorder

log = logging.getLogger("pilot.background.resume")


def _top_level_types(graph: dict[str, Any]) -> dict[str, str]:
    return {n["id"]: n["type"] for n in (graph or {}).get("nodes", []) if isinstance(n, dict) and "id" in n}


async def reconcile(sessions: async_sessionmaker[AsyncSession], bus: Any, execution_id: str) -> dict[str, int]:
    """Bring events and node results of an interrupted execution into agreement (see module doc)."""
    backfilled = await backfill_events(sessions, bus, execution_id)
    async with sessions() as session:
        graph = await session.scalar(sa.select(ExecutionRow.graph).where(ExecutionRow.id == execution_id))
        rows = (await session.execute(
            sa.select(StreamEventRow.event, StreamEventRow.data).where(
                StreamEventRow.stream_id == execution_id,
                StreamEventRow.event.in_(("node.started", "node.finished")),
            ).order_by(StreamEventRow.seq)
        )).all()
        results = {
            r.node_id: r for r in (await session.scalars(
                sa.select(NodeResultRow).where(NodeResultRow.execution_id == execution_id)
            )).all()
        }
    types = _top_level_types(graph)
    finished: dict[str, dict[str, Any]] = {}
    attempts: dict[str, int] = {}
    for event, data in rows:
        node_id = data.get("node_id")
        if node_id not in types:
            continue  # loop-body nodes ("loop[0].x") are re-run with their loop
        if event == "node.started":
            attempts[node_id] = max(attempts.get(node_id, 0), int(data.get("attempt") or 1))
        else:
            finished[node_id] = data

    rebuilt = [
        {
            "execution_id": execution_id, "node_id": node_id, "node_type": types[node_id], "status": data.get("status"),
            "attempts": attempts.get(node_id, 1), "output": data.get("output"), "error": data.get("error"),
            "usage": data.get("usage") or {}, "elapsed_ms": data.get("elapsed_ms"),
        }
        for node_id, data in finished.items()
        if node_id not in results and data.get("status") in ("succeeded", "skipped")
    ]
    if rebuilt:
        async with sessions() as session:
            await session.execute(sa.insert(NodeResultRow), rebuilt)
            await session.commit()

    unannounced = [
        r for node_id, r in results.items()
        if r.status in ("succeeded", "skipped") and node_id not in finished and node_id in types
    ]
    if unannounced:
        recorder = await EventRecorder.resume(execution_id, bus=bus, sessions=sessions)
        for r in unannounced:
            data = {"node_id": r.node_id, "status": r.status, "output": r.output, "elapsed_ms": r.elapsed_ms or 0.0,
                    "usage": r.usage or {}}
            if r.error is not None:
                data["error"] = r.error
            recorder.emit_nowait("node.finished", data)
        await recorder.aclose(close_stream=False)
    if backfilled or rebuilt or unannounced:
        log.info("execution %s reconciled: %d events backfilled, %d node results rebuilt, %d node.finished re-announced",
                 execution_id, backfilled, len(rebuilt), len(unannounced))
    return {"backfilled": backfilled, "rebuilt": len(rebuilt), "announced": len(unannounced)}
