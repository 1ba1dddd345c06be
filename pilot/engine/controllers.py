"""HTTP API of runs: execute a workflow, read/list/cancel executions, stream a run over SSE."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import sqlalchemy as sa
from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.types import ASGIApp

from pilot.db.models import ExecutionRow
from pilot.dependencies import CurrentPrincipal, CurrentWorkspace, DbSession, RuntimeDep
from pilot.engine.schemas import ExecuteRequest, ExecuteResponse, Execution, ExecutionPage, ExecutionStatus, RerunRequest, RunTrigger, TestRunRequest
from pilot.engine.approvals import ApprovalDecision, ApprovalRequest, decide
from pilot.engine.store import get_execution_row
from pilot.events.sse import event_stream_response, parse_last_event_id, read_opening

Limit = Annotated[int, Parameter(ge=1, le=200, description="page size (1..200)")]
Offset = Annotated[int, Parameter(ge=0)]
# The execution a run stream belongs to, in the caller's workspace (pilot.events.sse.read_opening).
_RUN_OWNER = sa.select(ExecutionRow.id).where(
    ExecutionRow.id == sa.bindparam("stream_id"), ExecutionRow.workspace_id == sa.bindparam("workspace_id"))


class ExecuteController(Controller):
    path = "/api/workflows"
    tags = ("runs",)

    @post("/{workflow_id:str}/execute", status_code=202)
    async def execute_workflow(
        self, workflow_id: FromPath[str], data: JSONBody[ExecuteRequest], db: DbSession,
        workspace: CurrentWorkspace, runtime: RuntimeDep, principal: CurrentPrincipal,
    ) -> ExecuteResponse:
        """Start a run (202). ``input_data`` is checked against the input node's fields first:
        a missing or wrong-typed input answers 422 naming the field, and nothing is stored."""
        return await runtime.runs.start(db, workspace.id, workflow_id, data.input_data, data.mode,
                                        created_by=principal.actor_id)


    @post("/{workflow_id:str}/test", status_code=202)
    async def test_workflow(
        self, workflow_id: FromPath[str], data: JSONBody[TestRunRequest], db: DbSession,
        workspace: CurrentWorkspace, runtime: RuntimeDep, principal: CurrentPrincipal,
    ) -> ExecuteResponse:
        """A test run (202, streams like any run): inputs not given get sample values; api and
        tool nodes record the request they would send instead of sending it, LLM nodes run
        offline, so nothing leaves the machine. The execution's ``trigger`` is ``test``."""
        return await runtime.runs.test(db, workspace.id, workflow_id, data.input_data, data.mode,
                                       created_by=principal.actor_id)


class ExecutionController(Controller):
    path = "/api/executions"
    tags = ("runs",)

    @get("/")
    async def list_executions(
        self, db: DbSession, workspace: CurrentWorkspace, runtime: RuntimeDep,
        workflow_id: FromQuery[str | None] = None, status: FromQuery[ExecutionStatus | None] = None,
        trigger: FromQuery[RunTrigger | None] = None, created_after: FromQuery[datetime | None] = None, created_before: FromQuery[datetime | None] = None,
        limit: FromQuery[Limit] = 50, offset: FromQuery[Offset] = 0,
    ) -> ExecutionPage:
        """The workspace's executions, newest first, filtered by workflow, status, trigger and creation time."""
        return await runtime.runs.list(
            db, workspace.id, workflow_id=workflow_id, status=status, trigger=trigger, created_after=created_after,
            created_before=created_before, limit=limit, offset=offset,
        )

    @get("/{execution_id:str}")
    async def get_execution(self, execution_id: FromPath[str], db: DbSession, workspace: CurrentWorkspace, runtime: RuntimeDep) -> Execution:
        """Status, outputs, error, usage, timings and per-node results."""
        return await runtime.runs.get(db, workspace.id, execution_id)

    @post("/{execution_id:str}/cancel", status_code=202)
    async def cancel_execution(self, execution_id: FromPath[str], db: DbSession, workspace: CurrentWorkspace, runtime: RuntimeDep) -> Execution:
        """Request cancellation; the run ends ``cancelled`` with ``run.finished`` (no-op when already over)."""
        return await runtime.runs.cancel(db, workspace.id, execution_id)

    @post("/{execution_id:str}/rerun", status_code=202)
    async def rerun_execution(
        self, execution_id: FromPath[str], data: JSONBody[RerunRequest], db: DbSession, workspace: CurrentWorkspace,
        runtime: RuntimeDep, principal: CurrentPrincipal,
    ) -> ExecuteResponse:
        """Re-execute ``from_node`` and everything downstream as a new execution (``rerun_of``
        links it), reusing the finished run's outputs for every other node (409 while running)."""
        return await runtime.runs.rerun(db, workspace.id, execution_id, data.from_node, data.mode,
                                        created_by=principal.actor_id)

    @post("/{execution_id:str}/approvals/{node_id:str}", status_code=200)
    async def decide_approval(
        self, request: Request, execution_id: FromPath[str], node_id: FromPath[str], data: JSONBody[ApprovalRequest],
        db: DbSession, workspace: CurrentWorkspace, principal: CurrentPrincipal, runtime: RuntimeDep,
    ) -> ApprovalDecision:
        """Decide a ``wait`` node's approval: ``approved`` continues the run; rejected fails the node
        with ``rejected: <comment>`` (its ``on_error`` applies). 409 when the node is not waiting
        for approval or was already decided; 403 when the node lists approvers and the caller (a
        user's e-mail or id, an API key's name or prefix) is not among them."""
        return await decide(runtime, db, workspace.id, principal, execution_id, node_id, data)

    @get("/{execution_id:str}/stream")
    async def stream_execution(
        self, request: Request, execution_id: FromPath[str], workspace: CurrentWorkspace, runtime: RuntimeDep,
        last_event_id: FromQuery[str | None] = None,
    ) -> ASGIApp:
        """SSE: ``run.started`` … ``run.finished``. Reconnect with ``Last-Event-ID`` (or
        ``?last_event_id=``) to get exactly the missed events; after the end, a full replay."""
        after = parse_last_event_id(request.headers.get("last-event-id") or last_event_id)
        # One read: the workspace check (404 across workspaces) and the replay together.
        opening = await read_opening(runtime.sessions, execution_id, after, _RUN_OWNER, workspace_id=workspace.id)
        if opening is None:
            async with runtime.sessions() as session:
                await get_execution_row(session, workspace.id, execution_id)  # raises its 404
        return event_stream_response(
            stream_id=execution_id, bus=runtime.bus, sessions=runtime.sessions, last_event_id=after,
            ping_s=runtime.settings.engine.sse_ping_s, opening=opening,
        )
