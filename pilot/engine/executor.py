"""Run one execution to its terminal state, from any process, given only its id.

:func:`execute` claims the execution and reads it (graph snapshot + input_data) in the same
statement, restores node results an earlier attempt persisted (a resumed run does not redo
finished nodes and its events continue the same seq), runs the graph with a
:class:`~pilot.engine.runner.GraphRunner`, and always ends with the execution row terminal and
``run.finished`` as the stream's last event, committed together (:mod:`pilot.engine.finish`) — on
success, node failure, cancel, whole-run deadline, or the hosting task being cancelled (server
shutdown).

Cancellation reaches a run two ways: the in-process signal (:class:`ActiveRuns`, immediate) and
the ``executions.cancel_requested`` flag, polled with the heartbeat (works across processes).

Durable waits: when only parked ``wait`` nodes are left (:class:`GraphSuspended`), the run is
*suspended* instead of ended — events flushed, the row moved to ``waiting`` with its due time
(:func:`pilot.engine.lifecycle.suspend`), the stream left open — and ``deps.resume`` schedules its
resume (an arq deferred job, or the in-process timer). Resuming is a normal claim followed by the
usual replay of persisted node results; the wait nodes find their recorded ``node.waiting``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from pilot.credentials.store import credentials_for_run
from pilot.engine import lifecycle
from pilot.engine.budget import RunBudget, RunLimits
from pilot.engine.finish import INTERRUPTED, finish_run
from pilot.engine.nodes.base import EngineServices, merge_usage
from pilot.llm.offline import OfflineProvider
from pilot.engine.nodes.input import input_fields, validate_inputs
from pilot.engine.nodes.wait import recorded_waits
from pilot.engine.runner import GraphFailed, GraphRunner, GraphSuspended, RunEnv
from pilot.engine.store import ExecutionStore
from pilot.engine.suspend import suspend_run
from pilot.events.recorder import EventRecorder
from pilot.events.schemas import TERMINAL_RUN_STATUSES
from pilot.observability.tracing import run_trace
from pilot.settings import Settings
from pilot.workflows.model import graph_from_builtins

log = logging.getLogger("pilot.engine")


class ActiveRuns:
    """The runs executing in this process: ``execution_id -> cancel event``."""

    def __init__(self) -> None:
        self._runs: dict[str, asyncio.Event] = {}

    def register(self, execution_id: str, event: asyncio.Event | None = None) -> asyncio.Event:
        """Track a local run; ``event`` lets a worker share its own cancel event."""
        return self._runs.setdefault(execution_id, event or asyncio.Event())

    def unregister(self, execution_id: str) -> None:
        self._runs.pop(execution_id, None)

    def cancel(self, execution_id: str) -> bool:
        """Signal a local run; False if it does not run in this process."""
        event = self._runs.get(execution_id)
        if event is None:
            return False
        event.set()
        return True

    def __contains__(self, execution_id: str) -> bool:
        return execution_id in self._runs

    def __len__(self) -> int:
        return len(self._runs)


@dataclass
class EngineDeps:
    """Process-level dependencies of the executor (built once by the app or a worker)."""

    settings: Settings
    sessions: Any
    bus: Any
    services: EngineServices
    active: ActiveRuns = field(default_factory=ActiveRuns)
    heartbeat_s: float = 1.0
    # async (execution_id, mode, resume_at) -> None: schedules a waiting run's resume (RunService)
    resume: Any = None

    def __post_init__(self) -> None:
        if self.services.engine is None:  # `workflow` nodes run child executions with these deps
            self.services.engine = self


WAITING = "waiting"  # not terminal: suspended on wait nodes, resumed when due (or decided)


async def execute(
    execution_id: str,
    deps: EngineDeps,
    *,
    cancelled: asyncio.Event | None = None,
    lease_lost: asyncio.Event | None = None,
    token: str | None = None,
    claim: lifecycle.Claim | None = None,
) -> str:
    """Run ``execution_id`` to a terminal state; returns that status. Idempotent on terminal runs.

    Inline runs (``token`` None) claim the row here, under a token of their own, exactly as a
    worker's lease does (:mod:`pilot.engine.lifecycle`), and heartbeat it, so the one sweeper
    sees every run alike. A background worker passes the ``token`` its lease claimed with, its own
    ``cancelled`` event (fed by its cancel signals and lease heartbeat, so the executor does not
    poll the flag itself) and ``lease_lost``: once that is set — or if it is set when this task is
    cancelled (worker shutdown) — the run stops *without* ending: node results and events so far
    are flushed, the row is not made terminal and no ``run.finished`` is written, and
    ``"interrupted"`` is returned; the next attempt resumes it. The worker passes its ``claim`` too
    (it read the execution); without one the execution is read here.

    A fresh run (the first claim of a queued execution) costs two transactions: the claim, which
    reads the execution, and the end, which commits the terminal row with the last events
    (:func:`_finish`); events of longer runs are written behind in batches in between.

    With tracing on, the run is a ``run`` span whose node spans are made from its events
    (:mod:`pilot.observability.run_spans`); with it off, ``run_trace`` is None and costs nothing.
    """
    trace = run_trace(execution_id)
    if trace is None:
        return await _execute(execution_id, deps, cancelled, lease_lost, token, claim, None)
    with trace:  # current in this task, so the node tasks started below inherit it
        trace.status = await _execute(execution_id, deps, cancelled, lease_lost, token, claim, trace)
        return trace.status


async def _execute(execution_id: str, deps: EngineDeps, cancelled: asyncio.Event | None, lease_lost: asyncio.Event | None,
                   token: str | None, claim: lifecycle.Claim | None, trace: Any) -> str:
    store = ExecutionStore(deps.sessions)
    if token is None:
        token = lifecycle.new_token()
        stale_after_s = deps.settings.redis.stale_after_s
        claim = await lifecycle.claim(deps.sessions, execution_id, token, stale_after_s=stale_after_s)
        if claim is None:  # ended, or not ours to run (running elsewhere, waiting and not due)
            status = await store.status(execution_id)
            return status if status in TERMINAL_RUN_STATUSES else "cancelled"
        lease_lost = lease_lost or asyncio.Event()
    row = claim.run if claim is not None and claim.run is not None else await store.load(execution_id)
    if row.status in TERMINAL_RUN_STATUSES:
        return row.status
    observer = None
    if trace is not None:
        trace.describe(row)
        observer = trace.observe
    # Only an execution an earlier attempt ran (or a rerun, which copied results) has results and
    # events to continue from; a fresh one starts at seq 0 without asking the database or the bus.
    resumed = claim is None or claim.resumed or claim.from_waiting
    restored = await store.restored(execution_id) if resumed or row.rerun_of else {}
    # The recorder publishes under this attempt's token. A resumed attempt takes the stream over
    # first (an earlier attempt may still be writing it); a first attempt has nobody to fence
    # out. Once the bus refuses this attempt's events (someone took over from it), the attempt
    # stops like one whose lease was lost — usually well before its heartbeat would notice.
    # The batches it writes behind are fenced in the database too (the bus's fence needs Redis).
    on_fenced = lease_lost.set if lease_lost is not None else None

    async def holds(session: Any) -> bool:
        return await lifecycle.holds_in(session, execution_id, token)

    if resumed:
        recorder = await EventRecorder.resume(execution_id, bus=deps.bus, sessions=deps.sessions, observer=observer,
                                              token=token, on_fenced=on_fenced, holds=holds)
    else:
        recorder = EventRecorder(execution_id, bus=deps.bus, sessions=deps.sessions, observer=observer,
                                 token=token, on_fenced=on_fenced, holds=holds)
    resumed_at = row.resumed_at  # read after the claim: this resume's time when it left `waiting`
    cancel_event = deps.active.register(execution_id, cancelled)
    poll_flag = cancelled is None  # a worker's lease heartbeat already watches the flag
    t0 = time.perf_counter()
    if row.started_at is not None:  # resumed: the deadline and elapsed time count from the first start
        started_at = row.started_at if row.started_at.tzinfo else row.started_at.replace(tzinfo=UTC)
        t0 -= max(0.0, time.time() - started_at.timestamp())
    active_t0 = t0  # the run deadline counts active time: from the last resume out of `waiting`
    if resumed_at is not None:
        resumed_at = resumed_at if resumed_at.tzinfo else resumed_at.replace(tzinfo=UTC)
        active_t0 = time.perf_counter() - max(0.0, time.time() - resumed_at.timestamp())
    status, outputs, error = "failed", None, None
    runner: GraphRunner | None = None
    try:
        graph = graph_from_builtins(row.graph)
        inputs = validate_inputs(input_fields(graph.nodes), row.input_data)
        continued = recorder.seq > 0  # the stream goes on from an earlier attempt
        if not continued:
            recorder.emit_nowait("run.started", {
                "execution_id": execution_id, "workflow_id": row.workflow_id, "input_data": row.input_data or {},
                "trigger": row.trigger,
            })
            if row.rerun_of:  # a rerun from a node: the reused upstream nodes, announced once
                for outcome in restored.values():
                    recorder.emit_nowait("node.finished", {
                        "node_id": outcome.node_id, "status": outcome.status, "output": outcome.output,
                        "elapsed_ms": outcome.elapsed_ms, "usage": outcome.usage, "reused_from": row.rerun_of,
                    })
        engine = deps.settings.engine
        limits = RunLimits(engine.run_max_node_runs, engine.run_max_events, engine.run_max_event_bytes)
        budget = RunBudget(limits.with_overrides(row.run_limits), recorder.emit_nowait, events_so_far=recorder.seq)
        env = RunEnv(
            execution_id=execution_id, workspace_id=row.workspace_id, services=_services_for(row, deps.services),
            emit=budget.emit,
            semaphore=asyncio.Semaphore(max(1, min(engine.max_concurrency, graph.settings.max_concurrency))),
            default_timeout_s=engine.default_node_timeout_s, cancelled=cancel_event,
            handed_back=lease_lost,
        )
        # The workspace's credentials, decrypted once (and registered for redaction): {{ credentials.name }}
        credentials = await credentials_for_run(deps.sessions, deps.settings, row.workspace_id, row.graph)
        if continued:  # resumed: the waits this run already announced
            env.waits = await recorded_waits(deps.sessions, execution_id)
        runner = GraphRunner(env, graph.nodes, graph.edges, {"inputs": inputs, "nodes": {}, "credentials": credentials})
        deadline_s = min(graph.settings.deadline_s, engine.run_deadline_s)
        remaining = deadline_s - (time.perf_counter() - active_t0)
        if row.cancel_requested:
            status, error = "cancelled", "cancelled before it started"
        elif remaining <= 0:
            error = f"run deadline of {deadline_s:g}s exceeded"
        else:
            status, outputs, error = await _supervise(
                runner, restored, cancel_event, lease_lost, token, execution_id, deps, remaining, deadline_s, poll_flag, budget
            )
    except asyncio.CancelledError:
        if lease_lost is not None and lease_lost.is_set():
            status = INTERRUPTED  # handed back (worker shutdown / lease lost): resumed elsewhere
        else:
            status, error = "cancelled", "the server shut down while the run was in progress"
        raise
    except Exception as exc:  # a bug or an unreadable stored graph: never leave the run `running`
        log.exception("execution %s crashed", execution_id)
        status, error = "failed", f"internal error: {type(exc).__name__}: {exc}"
    finally:
        status = await _finish(execution_id, deps, token, recorder, runner, restored, status, outputs, error, t0)
    return status


def _services_for(row: Any, services: EngineServices) -> EngineServices:
    """A test run (``trigger == "test"``) gets dry-run services: nothing leaves the machine."""
    if row.trigger != "test":
        return services
    return dataclasses.replace(services, dry_run=True, llm=OfflineProvider())


async def _supervise(runner, restored, cancel_event, lease_lost, token, execution_id, deps, remaining, deadline_s, poll_flag, budget):
    """Wait for the graph, a cancel (signal or DB flag), a lost lease, the run budget or the deadline."""
    graph_task = asyncio.create_task(runner.run(restored or None), name=f"graph:{execution_id}")
    cancel_task = asyncio.create_task(cancel_event.wait())
    budget_task = asyncio.create_task(budget.exceeded.wait())
    waiters = {graph_task, cancel_task, budget_task}
    lost_task = asyncio.create_task(lease_lost.wait()) if lease_lost is not None else None
    if lost_task is not None:
        waiters.add(lost_task)
    watcher = (
        asyncio.create_task(_heartbeat(deps, execution_id, token, cancel_event, lease_lost, deps.heartbeat_s))
        if poll_flag else None
    )
    try:
        done, _ = await asyncio.wait(waiters, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
        if lost_task is not None and lost_task in done:
            return INTERRUPTED, None, "the worker lost its lease"
        if graph_task in done:
            exc = graph_task.exception()
            if exc is None:
                return "succeeded", graph_task.result(), None
            if isinstance(exc, GraphFailed):
                return "failed", None, str(exc)
            if isinstance(exc, GraphSuspended):
                return WAITING, None, None
            raise exc
        if cancel_task in done:
            return "cancelled", None, "cancelled by request"
        if budget_task in done:
            return "failed", None, budget.reason
        return "failed", None, f"run deadline of {deadline_s:g}s exceeded"
    finally:
        tasks = [t for t in (graph_task, cancel_task, budget_task, lost_task, watcher) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _heartbeat(deps, execution_id: str, token: str, cancel_event: asyncio.Event, lost: asyncio.Event | None, every_s: float) -> None:
    """An inline run's heartbeat (fenced on its token) and its poll of ``cancel_requested``."""
    while True:
        await asyncio.sleep(every_s)
        try:
            # shielded: cancelling a SQLite write midway can leave its lock behind
            cancel = await asyncio.shield(lifecycle.heartbeat(deps.sessions, execution_id, token))
        except Exception as exc:  # a DB hiccup must not kill the run
            log.warning("heartbeat of %s failed: %s", execution_id, type(exc).__name__)
            continue
        if cancel is None:  # the sweeper ended it (this process was presumed dead): stop quietly
            if lost is not None:
                lost.set()
            return
        if cancel:
            cancel_event.set()
            return


async def _finish(execution_id, deps, token, recorder, runner, restored, status, outputs, error, t0) -> str:
    """Suspend the run, stop this attempt, or end the run (:func:`pilot.engine.finish.finish_run`).
    Returns the status the run ended with (a storage failure turns success into ``failed``)."""
    usage: dict[str, Any] = {}
    for outcome in (restored or {}).values():
        merge_usage(usage, outcome.usage)
    if runner is not None:
        merge_usage(usage, runner.usage)
    elapsed_ms = round((time.perf_counter() - t0) * 1000, 3)
    if status == WAITING:  # only parked wait nodes are left: released, resumed when due
        return WAITING if await suspend_run(execution_id, deps, token, recorder, runner.suspension, usage) else INTERRUPTED
    if status == INTERRUPTED:  # flush what this attempt did; the next attempt continues the stream
        try:
            await recorder.aclose(close_stream=False)
        finally:
            deps.active.unregister(execution_id)
        return status
    return await finish_run(execution_id, deps, token, recorder, status=status, outputs=outputs, error=error,
                            usage=usage, elapsed_ms=elapsed_ms)
