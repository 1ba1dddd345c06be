"""Node results are a projection of the event log, written with it.

A top-level node's ``node.finished`` / ``node.failed`` event carries everything its
``node_results`` row holds (``node_type``, ``attempts``, ``started_at``, ``finished_at`` besides the
output or error), so the row is derived from the event by :func:`node_result_row` and upserted
**in the same transaction** as the event batch that carries it (:func:`persist_events`). Events
and results can therefore never disagree, whatever kills the process, and a resumed run has
nothing to reconcile beyond persisting events a dead writer had only published (the sweeper's
backfill goes through :func:`persist_events` too).

Loop-body nodes (``each[3].notify``) are not projected: they re-run with their loop. Events
without ``node_type`` (a node stopped by a cancel) are not outcomes and are not projected.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from pilot.db.models import NodeResultRow, StreamEventRow

PROJECTED_EVENTS = frozenset({"node.finished", "node.failed"})
# Core statements on the tables, built once: the ORM's bulk-insert path costs more than the INSERT
_INSERT_EVENTS = sa.insert(StreamEventRow.__table__)
_RESULT_COLUMNS = ("node_type", "status", "attempts", "output", "error", "usage", "started_at", "finished_at", "elapsed_ms")


def _ts(value: Any) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if isinstance(value, (int, float)) else None


def node_result_row(execution_id: str, event: str, data: dict[str, Any]) -> dict[str, Any] | None:
    """The ``node_results`` row an event implies, or None when it implies none."""
    if event not in PROJECTED_EVENTS or "node_type" not in data:
        return None
    node_id = data.get("node_id")
    if not isinstance(node_id, str) or "[" in node_id:
        return None
    return {
        "execution_id": execution_id, "node_id": node_id, "node_type": data["node_type"],
        "status": data.get("status") or "failed", "attempts": int(data.get("attempts") or 0),
        "output": data.get("output"), "error": data.get("error"), "usage": data.get("usage") or {},
        "started_at": _ts(data.get("started_at")), "finished_at": _ts(data.get("finished_at")),
        "elapsed_ms": data.get("elapsed_ms"),
    }


def _insert_for(dialect: str) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


@functools.cache
def _insert_missing(dialect: str) -> Any:
    return _insert_for(dialect)(StreamEventRow.__table__).on_conflict_do_nothing(index_elements=["stream_id", "seq"])


@functools.cache
def _upsert(dialect: str) -> Any:
    stmt = _insert_for(dialect)(NodeResultRow.__table__)
    return stmt.on_conflict_do_update(
        index_elements=["execution_id", "node_id"], set_={c: getattr(stmt.excluded, c) for c in _RESULT_COLUMNS}
    )


async def persist_events(session: AsyncSession, rows: list[dict[str, Any]], *, existing_ok: bool = False) -> None:
    """Insert event rows (``stream_id, seq, event, data``) and upsert the node results they
    imply, in the caller's transaction (the caller commits). A row whose (stream, seq) is already
    stored is an error (two writers numbered the same event), except with ``existing_ok``: a
    backfill of events copied from the bus, which the writer that published them may have stored
    meanwhile (the same events: it stores only what the bus accepted)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    await session.execute(_insert_missing(dialect) if existing_ok else _INSERT_EVENTS, rows)
    results: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        result = node_result_row(row["stream_id"], row["event"], row["data"])
        if result is not None:
            results[(result["execution_id"], result["node_id"])] = result  # the latest event wins
    if results:
        await session.execute(_upsert(dialect), list(results.values()))
