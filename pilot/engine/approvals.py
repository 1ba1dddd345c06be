"""Approval decisions of ``wait`` nodes: ``POST /api/executions/{id}/approvals/{node_id}``.

A decision is one row of ``approvals``, unique per ``(execution_id, node_id)``: the first
decision — a person's, or the timeout's (recorded by the wait node itself as a rejection by
``timeout``) — is the only one; a second answers 409. After storing it, :func:`decide` makes the
run due now (:func:`pilot.engine.lifecycle.wake`) and asks the run service to resume it (an arq
job in background mode, the in-process timer in embedded mode). The wait node reads the
decision when the run resumes (:mod:`pilot.engine.nodes.wait`).

Who may decide: any key of the execution's workspace, or — when the node lists ``approvers`` —
only a key whose *name* (or shown prefix) is listed. ``decided_by`` is that key's name.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import sqlalchemy as sa
from msgspec import Meta, Struct
from sqlalchemy.exc import IntegrityError

from pilot.auth.roles import Principal
from pilot.core import clock
from pilot.core.errors import ConflictError, PilotError
from pilot.core.ids import aware
from pilot.db.models import ApiKeyRow, ApprovalRow, NodeResultRow, StreamEventRow
from pilot.engine import lifecycle
from pilot.engine.store import get_execution_row
from pilot.workflows.model import WaitNode, graph_from_builtins

TIMEOUT_BY = "timeout"


class ApprovalRequest(Struct, forbid_unknown_fields=True, kw_only=True):
    """``{approved, comment?}``: approve (the run continues) or reject (the node fails with
    ``rejected: <comment>`` and its ``on_error`` applies)."""

    approved: bool
    comment: Annotated[str, Meta(max_length=4000)] = ""


class ApprovalDecision(Struct, kw_only=True):
    execution_id: str
    node_id: str
    approved: bool
    comment: str
    decided_by: str
    decided_at: datetime
    execution_status: str


class ForbiddenError(PilotError):
    """The caller is not among the node's approvers."""

    status_code = 403
    default_detail = "not an approver"


async def get_decision(sessions: Any, execution_id: str, node_id: str) -> ApprovalRow | None:
    async with sessions() as session:
        return await session.scalar(sa.select(ApprovalRow).where(
            ApprovalRow.execution_id == execution_id, ApprovalRow.node_id == node_id))


async def decide_timeout(sessions: Any, workspace_id: str, execution_id: str, node_id: str) -> ApprovalRow:
    """Record the timeout as a rejection — unless a person decided first (then that decision)."""
    async with sessions() as session:
        session.add(ApprovalRow(execution_id=execution_id, workspace_id=workspace_id, node_id=node_id, approved=False,
                                comment="the approval timed out", decided_by=TIMEOUT_BY, decided_at=clock.now()))
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
    decision = await get_decision(sessions, execution_id, node_id)
    assert decision is not None
    return decision


async def caller_names(session: Any, principal: Principal) -> tuple[str, ...]:
    """The names an approver list may give the caller: a signed-in user's e-mail and user id, or
    an API key's name, prefix and id. The first one is what the decision records."""
    if principal.user_id:
        return tuple(n for n in (principal.email, principal.user_id) if n)
    if principal.key_id:
        row = (await session.execute(sa.select(ApiKeyRow.name, ApiKeyRow.prefix).where(ApiKeyRow.id == principal.key_id))).first()
        if row:
            return (row[0], row[1], principal.key_id)
    return ("unknown",)


async def _waiting_for_approval(session: Any, execution_id: str, node_id: str) -> bool:
    """The stream says the node is waiting for a decision, and it has no result yet."""
    rows = (await session.execute(sa.select(StreamEventRow.event, StreamEventRow.data).where(
        StreamEventRow.stream_id == execution_id, StreamEventRow.event.in_(("node.waiting", "node.resumed"))))).all()
    mine = [(event, data) for event, data in rows if data.get("node_id") == node_id]
    if not any(e == "node.waiting" and d.get("kind") == "approval" for e, d in mine) or any(e == "node.resumed" for e, _ in mine):
        return False
    done = await session.scalar(sa.select(NodeResultRow.id).where(
        NodeResultRow.execution_id == execution_id, NodeResultRow.node_id == node_id))
    return done is None


async def decide(runtime: Any, session: Any, workspace_id: str, principal: Principal, execution_id: str, node_id: str,
                 data: ApprovalRequest) -> ApprovalDecision:
    """Validate and store one decision, then wake the run (see the module docstring)."""
    row = await get_execution_row(session, workspace_id, execution_id)  # 404 across workspaces
    node = next((n for n in graph_from_builtins(row.graph).nodes if n.id == node_id), None)
    if not isinstance(node, WaitNode) or node.config.approval is None:
        what = "is not a node of this execution" if node is None else "is not an approval wait"
        raise ConflictError(f"node_id: {node_id!r} {what}", extra={"field": "node_id"})
    if row.status not in ("running", "waiting") or not await _waiting_for_approval(session, execution_id, node_id):
        decided = await get_decision(runtime.sessions, execution_id, node_id)
        why = (f"was already decided by {decided.decided_by}" if decided is not None
               else f"is not waiting for approval (the execution is {row.status})")
        raise ConflictError(f"node_id: {node_id!r} {why}", extra={"field": "node_id"})
    names = await caller_names(session, principal)
    name = names[0]
    approvers = node.config.approval.approvers
    if approvers and not set(names) & set(approvers):
        who = f"user {name!r}" if principal.user_id else f"API key {name!r}"
        raise ForbiddenError(f"this {who} is not among the approvers of node {node_id!r}")
    decision = ApprovalRow(execution_id=execution_id, workspace_id=workspace_id, node_id=node_id,
                           approved=data.approved, comment=data.comment, decided_by=name, decided_at=clock.now())
    async with runtime.sessions() as own:  # committed on its own: the wake below must see it
        own.add(decision)
        try:
            await own.commit()
        except IntegrityError:
            await own.rollback()
            raise ConflictError(f"node_id: {node_id!r} was already decided", extra={"field": "node_id"}) from None
        decided_at = aware(decision.decided_at)
    status = await lifecycle.wake(runtime.sessions, execution_id)
    if status == "waiting":
        await runtime.runs.schedule_resume(execution_id, row.mode, clock.now())
    # running: the run suspends with resume_at = now (lifecycle.suspend sees the decision) and
    # schedules its own resume.
    return ApprovalDecision(execution_id=execution_id, node_id=node_id, approved=data.approved, comment=data.comment,
                            decided_by=name, decided_at=decided_at, execution_status=status or row.status)
