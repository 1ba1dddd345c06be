"""Persistence of executions and node results (tables ``executions``, ``node_results``).

Reads for the API are workspace-scoped (another workspace's execution answers 404). The run
loads itself through :class:`ExecutionStore` (by execution id: whoever runs it — the API process
or a worker — was handed the id); its state transitions are :mod:`pilot.engine.lifecycle` and its
node results a projection of its events (:mod:`pilot.events.projection`).
"""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pilot.core.ids import aware
from pilot.core.errors import NotFoundError
from pilot.db.models import ExecutionRow, NodeResultRow
from pilot.engine.lifecycle import RUN_COLUMNS, RunRow
from pilot.engine.runner import NodeOutcome
from pilot.engine.schemas import ChildExecution, Execution, ExecutionPage, NodeResult

log = logging.getLogger("pilot.engine")


def stream_url(execution_id: str) -> str:
    return f"/api/executions/{execution_id}/stream"


def execution_from_row(row: ExecutionRow, results: list[NodeResultRow] | None = None) -> Execution:
    started, finished = aware(row.started_at), aware(row.finished_at)
    elapsed = (finished - started).total_seconds() * 1000 if started and finished else None
    return Execution(
        id=row.id, workflow_id=row.workflow_id, workflow_version=row.workflow_version, status=row.status,  # type: ignore[arg-type]
        mode=row.mode, trigger=row.trigger or "manual", rerun_of=row.rerun_of, input_data=row.input_data or {}, outputs=row.outputs, error=row.error,  # type: ignore[arg-type]
        usage=row.usage or {}, cancel_requested=row.cancel_requested, created_at=aware(row.created_at),  # type: ignore[arg-type]
        started_at=started, finished_at=finished, elapsed_ms=elapsed, stream_url=stream_url(row.id),
        parent_id=row.parent_id, parent_node=row.parent_node, depth=row.depth or 0,
        resume_at=aware(row.resume_at) if row.status == "waiting" else None,
        node_results=None if results is None else [
            NodeResult(
                node_id=r.node_id, node_type=r.node_type, status=r.status, attempts=r.attempts, output=r.output,
                error=r.error, usage=r.usage or {}, started_at=aware(r.started_at), finished_at=aware(r.finished_at),
                elapsed_ms=r.elapsed_ms,
            ) for r in results
        ],
    )


# ---------------------------------------------------------------- API-side (workspace-scoped)


async def get_execution_row(session: AsyncSession, workspace_id: str, execution_id: str) -> ExecutionRow:
    row = await session.scalar(
        sa.select(ExecutionRow).where(ExecutionRow.id == execution_id, ExecutionRow.workspace_id == workspace_id)
    )
    if row is None:
        raise NotFoundError(f"execution {execution_id!r} not found")
    return row


async def get_execution(session: AsyncSession, workspace_id: str, execution_id: str) -> Execution:
    row = await get_execution_row(session, workspace_id, execution_id)
    results = (await session.scalars(
        sa.select(NodeResultRow).where(NodeResultRow.execution_id == execution_id).order_by(NodeResultRow.id)
    )).all()
    execution = execution_from_row(row, list(results))
    t = ExecutionRow
    children = (await session.execute(  # indexed on parent_id, a few columns: cheap
        sa.select(t.id, t.workflow_id, t.workflow_version, t.parent_node, t.status)
        .where(t.parent_id == execution_id, t.workspace_id == workspace_id).order_by(t.created_at, t.id)
    )).all()
    if children:
        execution.children = [ChildExecution(
            id=c.id, workflow_id=c.workflow_id, workflow_version=c.workflow_version, parent_node=c.parent_node,
            status=c.status, stream_url=stream_url(c.id),
        ) for c in children]
    return execution


async def list_executions(
    session: AsyncSession,
    workspace_id: str,
    *,
    workflow_id: str | None = None,
    status: str | None = None,
    trigger: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> ExecutionPage:
    where = [ExecutionRow.workspace_id == workspace_id]
    if workflow_id:
        where.append(ExecutionRow.workflow_id == workflow_id)
    if status:
        where.append(ExecutionRow.status == status)
    if trigger:
        where.append(ExecutionRow.trigger == trigger)
    if created_after:
        where.append(ExecutionRow.created_at >= aware(created_after))
    if created_before:
        where.append(ExecutionRow.created_at < aware(created_before))
    total = await session.scalar(sa.select(sa.func.count()).select_from(ExecutionRow).where(*where)) or 0
    rows = (await session.scalars(
        sa.select(ExecutionRow).where(*where).order_by(ExecutionRow.created_at.desc(), ExecutionRow.id).limit(limit).offset(offset)
    )).all()
    return ExecutionPage(items=[execution_from_row(r) for r in rows], total=total, limit=limit, offset=offset)


# ---------------------------------------------------------------- run-side (by execution id)


class ExecutionStore:
    """What an executor reads, by execution id. A claim reads the execution itself
    (:func:`pilot.engine.lifecycle.claim` returns its :class:`~pilot.engine.lifecycle.RunRow`);
    its state transitions are in :mod:`pilot.engine.lifecycle`."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def load(self, execution_id: str) -> RunRow:
        """The execution as a claim reads it (for an attempt that claimed it without reading it)."""
        async with self.sessions() as session:
            row = (await session.execute(sa.select(*RUN_COLUMNS).where(ExecutionRow.id == execution_id))).first()
        if row is None:
            raise NotFoundError(f"execution {execution_id!r} not found")
        return RunRow(*row)

    async def status(self, execution_id: str) -> str:
        """The execution's status (NotFoundError if there is none)."""
        async with self.sessions() as session:
            status = await session.scalar(sa.select(ExecutionRow.status).where(ExecutionRow.id == execution_id))
        if status is None:
            raise NotFoundError(f"execution {execution_id!r} not found")
        return status

    async def restored(self, execution_id: str) -> dict[str, NodeOutcome]:
        """The node results an earlier attempt persisted (or a rerun copied): not run again."""
        async with self.sessions() as session:
            results = (await session.scalars(sa.select(NodeResultRow).where(NodeResultRow.execution_id == execution_id))).all()
        return {
            r.node_id: NodeOutcome(r.node_id, r.node_type, r.status, r.output, r.error, r.attempts, r.usage or {}, elapsed_ms=r.elapsed_ms or 0.0)
            for r in results if r.status in ("succeeded", "skipped")
        }
