"""RunService: start, cancel and look up executions (the runs API's rules live here).

Starting a run validates everything *before* storing anything: the workflow exists in the
workspace, its graph is valid, and ``input_data`` matches the input node's fields (422 naming the
field). Then the execution row is committed (status ``queued``, with the exact graph that will
run) and handed to a :class:`RunLauncher`: :class:`InlineLauncher` runs it as a task of this
process; a background launcher (arq worker + Redis, added when ``REDIS_URL`` is configured)
enqueues it. ``mode="background"`` without one answers 409.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

import msgspec
import sqlalchemy as sa

from pilot.core.errors import BadRequestError, ConflictError, UnprocessableError
from pilot.core.ids import new_id, utcnow
from pilot.db.models import ExecutionRow, NodeResultRow
from pilot.engine import lifecycle
from pilot.engine.executor import EngineDeps, execute
from pilot.engine.nodes.input import as_delivered, input_fields, sample_inputs, validate_inputs
from pilot.engine.schemas import ExecuteResponse, Execution, ExecutionPage
from pilot.engine.store import get_execution, get_execution_row, list_executions, stream_url
from pilot.events.schemas import TERMINAL_RUN_STATUSES
from pilot.observability.logs import log_context
from pilot.usage.budget import check_run_start
from pilot.workflows.model import WorkflowGraph, graph_from_builtins
from pilot.workflows.service import WorkflowService
from pilot.workflows.validation import ensure_valid

log = logging.getLogger("pilot.engine")


DELIVERED = frozenset({"webhook", "form", "app_event"})  # triggers whose input is a body someone else sent


class RunLauncher(Protocol):
    """Gets a committed, queued execution running somewhere."""

    mode: str

    async def launch(self, execution_id: str) -> None: ...


class InlineLauncher:
    """Runs executions as background tasks of this process (cancelled cleanly on shutdown)."""

    mode = "inline"

    def __init__(self, runtime: Any, deps: EngineDeps) -> None:
        self.runtime = runtime
        self.deps = deps

    async def launch(self, execution_id: str) -> None:
        with log_context(execution_id=execution_id):  # the run task's log records name it
            self.runtime.spawn(execute(execution_id, self.deps), name=f"run:{execution_id}")

    async def launch_at(self, execution_id: str, resume_at) -> None:
        """Resume a waiting run when due: an in-process timer (pilot.engine.waits)."""
        self.timers.schedule(execution_id, resume_at)

    @property
    def timers(self):
        from pilot.engine.waits import ResumeTimers

        if getattr(self, "_timers", None) is None:
            self._timers = ResumeTimers(self.runtime, self.deps)
        return self._timers


def rerun_set(graph: Any, from_node: str) -> set[str]:
    """``from_node`` and every node downstream of it (pure)."""
    out: dict[str, list[str]] = {}
    for e in graph.edges:
        out.setdefault(e.source, []).append(e.target)
    seen, stack = {from_node}, [from_node]
    while stack:
        for target in out.get(stack.pop(), []):
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return seen


class RunService:
    """The runs API's logic; one per process (``runtime.runs``).

    ``launchers`` maps a mode to its :class:`RunLauncher`: ``"inline"`` always; ``"background"``
    is added by ``pilot.background.setup`` when ``REDIS_URL`` is configured.
    """

    def __init__(self, deps: EngineDeps, launchers: dict[str, RunLauncher]) -> None:
        self.deps = deps
        self.launchers = launchers
        if deps.resume is None:
            deps.resume = self.schedule_resume

    async def schedule_resume(self, execution_id: str, mode: str, resume_at) -> None:
        """Have a waiting run resumed at ``resume_at`` by its mode's launcher (an arq deferred
        job, or an in-process timer); None (an approval without timeout): nothing to schedule."""
        launcher = self.launchers.get(mode) or self.launchers["inline"]
        if resume_at is not None:
            await launcher.launch_at(execution_id, resume_at)

    async def run_execution(
        self, execution_id: str, *, token: str, cancelled: asyncio.Event | None = None, lease_lost: asyncio.Event | None = None,
        claim: lifecycle.Claim | None = None,
    ) -> str:
        """Run an execution a worker has claimed under ``token`` (``claim``: what that claim read;
        see :func:`pilot.engine.executor.execute`)."""
        with log_context(execution_id=execution_id):
            return await execute(execution_id, self.deps, cancelled=cancelled, lease_lost=lease_lost, token=token,
                                 claim=claim)

    async def start(
        self, session, workspace_id: str, workflow_id: str, input_data: dict[str, Any], mode: str | None = None,
        *, trigger: str = "manual", version: int | None = None, created_by: str | None = None,
    ) -> ExecuteResponse:
        """Validate, store (committed) and launch a run; nothing is stored when validation fails.

        ``mode`` None: background when a background launcher is configured (REDIS_URL), else inline.
        ``trigger`` records how the run started; ``version`` runs that stored version (a trigger
        runs the version it was published with) instead of the head; ``created_by`` records the
        user or API key that started it (usage ``by=user``). The caller's pending
        changes in ``session`` (a trigger's fire claim) are committed with the execution row.
        """
        mode = mode or ("background" if "background" in self.launchers else "inline")
        launcher = self.launchers.get(mode)
        if launcher is None:
            raise BadRequestError(
                f"mode: {mode!r} runs need REDIS_URL (a Redis-backed worker); use mode 'inline' or configure Redis",
                extra={"field": "mode"},
            )
        workflows = WorkflowService(session, workspace_id)
        workflow = await workflows.get(workflow_id)
        run_version, graph_source = workflow.version, workflow.graph()
        if version is not None and version != workflow.version:
            snapshot = await workflows.get_version(workflow_id, version)
            run_version = snapshot.version
            graph_source = WorkflowGraph(nodes=snapshot.nodes, edges=snapshot.edges, settings=snapshot.settings)
        graph = ensure_valid(graph_source)
        if trigger in DELIVERED:  # an outside sender's body, as it posts it
            input_data = as_delivered(input_fields(graph.nodes), input_data)
        validate_inputs(input_fields(graph.nodes), input_data)
        warnings = await check_run_start(session, workspace_id)  # 402 at the hard budget limit
        execution_id = new_id("exe")
        session.add(ExecutionRow(
            id=execution_id, workspace_id=workspace_id, workflow_id=workflow.id, workflow_version=run_version,
            graph=msgspec.to_builtins(graph), status="queued", mode=launcher.mode, trigger=trigger, input_data=input_data,
            usage={}, created_at=utcnow(), created_by=created_by,
        ))
        await session.commit()  # the launcher (maybe another process) must see the row
        await launcher.launch(execution_id)
        return ExecuteResponse(execution_id=execution_id, status="queued", stream_url=stream_url(execution_id),
                               warnings=warnings)

    async def test(self, session, workspace_id: str, workflow_id: str, input_data: dict[str, Any], mode: str | None = None,
                   *, created_by: str | None = None) -> ExecuteResponse:
        """A dry run of the head version: sample inputs fill what is not given, deliveries and
        external calls are recorded instead of sent, and LLM nodes run offline."""
        workflow = await WorkflowService(session, workspace_id).get(workflow_id)
        samples = sample_inputs(input_fields(workflow.graph().nodes))
        return await self.start(session, workspace_id, workflow_id, {**samples, **input_data}, mode, trigger="test",
                                created_by=created_by)

    async def rerun(self, session, workspace_id: str, execution_id: str, from_node: str, mode: str | None = None,
                    *, created_by: str | None = None) -> ExecuteResponse:
        """A new execution of the exact graph and inputs of a finished one that re-executes
        ``from_node`` and everything downstream of it, reusing the other nodes' stored outputs."""
        old = await get_execution_row(session, workspace_id, execution_id)
        if old.status not in TERMINAL_RUN_STATUSES:
            raise ConflictError(f"execution {execution_id!r} is still {old.status}: rerun it once it has ended")
        graph = graph_from_builtins(old.graph)
        ids = {n.id for n in graph.nodes}
        if from_node not in ids:
            raise UnprocessableError(f"from_node: {from_node!r} is not a node of this execution's graph "
                                     "(loop body nodes rerun with their loop)", extra={"field": "from_node"})
        again = rerun_set(graph, from_node)
        mode = mode or ("background" if "background" in self.launchers else "inline")
        launcher = self.launchers.get(mode)
        if launcher is None:
            raise BadRequestError(f"mode: {mode!r} runs need REDIS_URL", extra={"field": "mode"})
        warnings = await check_run_start(session, workspace_id)  # 402 at the hard budget limit
        new_id_ = new_id("exe")
        session.add(ExecutionRow(
            id=new_id_, workspace_id=workspace_id, workflow_id=old.workflow_id, workflow_version=old.workflow_version,
            graph=old.graph, status="queued", mode=launcher.mode, trigger="rerun", rerun_of=old.id,
            input_data=old.input_data, usage={}, created_at=utcnow(), created_by=created_by,
        ))
        await session.flush()
        reused = (await session.scalars(sa.select(NodeResultRow).where(
            NodeResultRow.execution_id == old.id, NodeResultRow.status == "succeeded", NodeResultRow.node_id.not_in(again),
        ))).all()
        for r in reused:  # restored, not run: the executor replays them like a resumed run's results
            session.add(NodeResultRow(
                execution_id=new_id_, node_id=r.node_id, node_type=r.node_type, status=r.status, attempts=r.attempts,
                output=r.output, error=r.error, usage=r.usage, started_at=r.started_at, finished_at=r.finished_at,
                elapsed_ms=r.elapsed_ms,
            ))
        await session.commit()
        await launcher.launch(new_id_)
        return ExecuteResponse(execution_id=new_id_, status="queued", stream_url=stream_url(new_id_), warnings=warnings)

    async def cancel(self, session, workspace_id: str, execution_id: str) -> Execution:
        """Request cancellation: the DB flag (seen by any process) + the in-process signal."""
        row = await get_execution_row(session, workspace_id, execution_id)
        if row.status not in TERMINAL_RUN_STATUSES:
            await lifecycle.request_cancel(session, execution_id)
            from pilot.background.sweeper import end_execution

            # A waiting run has no holder to tell: end it here (`waiting → cancelled` is one
            # conditional UPDATE, so either this or a resume claim wins; a resumed run then sees the flag).
            mode = row.mode
            ended = await end_execution(self.deps.sessions, self.deps.bus, execution_id, status="cancelled",
                                        error="cancelled while waiting", from_statuses=("waiting",))
            self.deps.active.cancel(execution_id)
            signal = getattr(self.launchers.get(mode), "cancel", None)
            if signal is not None and not ended:  # a run in another process (background worker)
                await signal(execution_id)
            if ended:
                session.expire_all()  # ended through another session: re-read it
        return await get_execution(session, workspace_id, execution_id)

    async def get(self, session, workspace_id: str, execution_id: str) -> Execution:
        return await get_execution(session, workspace_id, execution_id)

    async def list(self, session, workspace_id: str, **filters: Any) -> ExecutionPage:
        return await list_executions(session, workspace_id, **filters)


def build_engine_services(runtime: Any):
    """The node runners' services for this process (outbound guard, LLM provider, retriever, tools)."""
    from pilot.outbound import GuardedHttp
    from pilot.engine.nodes.base import EngineServices
    from pilot.knowledge.store import KnowledgeRetriever
    from pilot.llm import build_provider
    from pilot.tools.registry import default_registry

    settings = runtime.settings
    return EngineServices(
        settings=settings, sessions=runtime.sessions, http=GuardedHttp(settings.engine),
        llm=build_provider(settings.llm), knowledge=KnowledgeRetriever(runtime.sessions), tools=default_registry(),
    )


async def start_runs(runtime: Any) -> None:
    """Start-up hook (after the bus): engine services, the RunService with the inline launcher."""
    if runtime.runs is not None:
        return
    from pilot.core import clock

    clock.configure(runtime.settings)  # the wait clock (PILOT_CLOCK_OFFSET_S in tests)
    deps = EngineDeps(settings=runtime.settings, sessions=runtime.sessions, bus=runtime.bus, services=build_engine_services(runtime))
    runtime.engine_services = deps.services
    runtime.runs = RunService(deps, {"inline": InlineLauncher(runtime, deps)})
    # Waiting inline runs: the start-up sweep, then periodic ones (timers for the runs due soon).
    timers = runtime.runs.launchers["inline"].timers
    runtime.spawn(timers.run_forever(runtime.settings.engine.wait_sweep_interval_s), name="wait-sweeper")


async def stop_runs(runtime: Any) -> None:
    """Shutdown hook: close the services' HTTP clients (runs are cancelled by runtime.aclose)."""
    from pilot.engine.nodes.rendering import shutdown_render_pool

    await asyncio.to_thread(shutdown_render_pool)
    services = getattr(runtime, "engine_services", None)
    http = getattr(services, "http", None)
    if http is not None and hasattr(http, "aclose"):
        await http.aclose()
