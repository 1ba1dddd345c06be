"""The asyncio side of the engine: runs one graph's nodes as tasks, driven by the pure Planner.

Each node runs in its own task as soon as the planner says it is ready (no superstep barrier);
when it ends, the completion is fed to the planner *in that task* and whatever it unlocked is
started immediately. Per node: a concurrency slot (work nodes only, so a loop holding a slot can
never starve its own body), the per-node timeout, retries with backoff (policies.py) and
``on_error``. Control flow (cancel, deadline, a failing node stopping the run) is task
cancellation, never a NodeError.

:class:`GraphRunner` runs one graph: the workflow itself, or one item of a loop body (the loop
runner calls :meth:`GraphRunner.run_body`, which runs a sub-GraphRunner per item).

Suspending (``wait`` nodes): a runner raising :class:`WaitSuspended` *parks* its node — neither
resolved nor running — and the other branches go on. When nothing else can progress, ``run``
raises :class:`GraphSuspended` (the executor then moves the run to ``waiting``); the resumed run
replays the finished nodes and runs the parked ones again (the wait runner then completes them).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from pilot.core.codec import NotJSONError, to_json_value
from pilot.engine.errors import NodeError, NodeTimeout, RunCancelled, WaitSuspended
from pilot.engine.nodes import RUNNERS
from pilot.engine.nodes.base import EngineServices, NodeContext, merge_usage
from pilot.engine.planner import LoopPlan, Planner
from pilot.engine.policies import policy_for, retry_delay

log = logging.getLogger("pilot.engine")

# Control nodes wait on other nodes (a loop on its body): they never hold a concurrency slot.
SLOTLESS_TYPES = frozenset({"input", "output", "condition", "loop"})
# Node types whose default timeout is the run deadline rather than the per-node default.
UNTIMED_TYPES = frozenset({"loop", "workflow"})  # a sub-workflow: bounded by its own run deadline


@dataclass(slots=True)
class NodeOutcome:
    """The final result of one node (what is persisted in ``node_results``)."""

    node_id: str
    node_type: str
    status: str  # succeeded | skipped | failed
    output: Any = None
    error: str | None = None
    attempts: int = 0
    usage: dict[str, Any] = field(default_factory=dict)
    started_at: float | None = None  # time.time()
    finished_at: float | None = None
    elapsed_ms: float = 0.0


@dataclass(slots=True)
class RunEnv:
    """What every node of one execution shares."""

    execution_id: str
    workspace_id: str
    services: EngineServices
    emit: Callable[[str, dict[str, Any]], Any]  # synchronous: EventRecorder.emit_nowait
    semaphore: asyncio.Semaphore
    default_timeout_s: float
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)
    # Set when this attempt is handed back (worker shutdown, lease lost): in-flight nodes stop
    # silently, because the next attempt re-runs them — a node.failed would be a lie.
    handed_back: asyncio.Event | None = None
    runners: dict[str, Any] = field(default_factory=lambda: RUNNERS)
    # node.waiting / node.resumed already in this run's stream, by node id (pilot.engine.nodes.wait)
    waits: dict[str, dict[str, Any]] = field(default_factory=dict)


class GraphFailed(Exception):
    """A node with ``on_error = fail`` failed; the graph stopped."""

    def __init__(self, node_id: str, message: str) -> None:
        super().__init__(f"node {node_id!r} failed: {message}")
        self.node_id = node_id
        self.message = message


class GraphSuspended(Exception):
    """Nothing can progress but parked ``wait`` nodes: the run waits until ``resume_at`` (the
    earliest due time; None: only an approval decision of one of ``approval_nodes`` wakes it)."""

    def __init__(self, parked: dict[str, WaitSuspended]) -> None:
        due = [w.resume_at for w in parked.values() if w.resume_at is not None]
        self.resume_at = min(due) if due else None
        self.approval_nodes = sorted(n for n, w in parked.items() if w.approval)
        super().__init__(f"waiting on {', '.join(sorted(parked))}")


class GraphRunner:
    """Runs one graph to completion (see module docstring)."""

    def __init__(
        self,
        env: RunEnv,
        nodes: list[Any],
        edges: list[Any],
        scope: dict[str, Any],
        *,
        prefix: str = "",
        top_level: bool = True,
    ) -> None:
        self.env = env
        self.nodes = {n.id: n for n in nodes}
        self.types = {n.id: n.__struct_config__.tag for n in nodes}
        self.planner = Planner(
            self.nodes, ((e.source, e.target, e.source_handle) for e in edges),
            [nid for nid, t in self.types.items() if t == "condition"],
        )
        self.scope = scope
        self.node_outputs: dict[str, dict[str, Any]] = scope.setdefault("nodes", {})
        self.prefix = prefix
        self.top_level = top_level
        self.usage: dict[str, Any] = {}
        self.outcomes: dict[str, NodeOutcome] = {}
        self._tasks: dict[str, asyncio.Task] = {}
        self._done: asyncio.Future | None = None
        self._failure: GraphFailed | None = None
        self.parked: dict[str, WaitSuspended] = {}
        self.suspension: GraphSuspended | None = None

    # ------------------------------------------------------------------ running

    async def run(self, restored: dict[str, NodeOutcome] | None = None) -> dict[str, Any]:
        """Run until every node is resolved; returns the graph's outputs.

        ``restored``: outcomes persisted by an earlier (interrupted) run of this execution; those
        nodes are not run again. Raises :class:`GraphFailed` or ``CancelledError``.
        """
        self._done = asyncio.get_running_loop().create_future()
        if restored:
            for outcome in restored.values():
                self.outcomes[outcome.node_id] = outcome
                self.node_outputs[outcome.node_id] = {"output": outcome.output}
            ready, skipped = self.planner.replay(
                {o.node_id: (o.status, _branch(o)) for o in restored.values() if o.status == "succeeded"}
            )
            for node_id in skipped:
                if node_id not in restored:
                    self._skip(node_id)
        else:
            ready = self.planner.start()
        for node_id in ready:
            self._launch(node_id)
        self._check_done()
        try:
            await self._done
        finally:
            if self._tasks:  # cancelled or failed: stop whatever still runs
                for task in self._tasks.values():
                    task.cancel()
                await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        if self._failure is not None:
            raise self._failure
        if self.parked:
            self.suspension = GraphSuspended(self.parked)
            raise self.suspension
        return self.outputs()

    def outputs(self) -> dict[str, Any]:
        """Merged outputs of the graph's ``output`` nodes; without any, the sinks' outputs by id."""
        merged: dict[str, Any] = {}
        found = False
        for node_id, node_type in self.types.items():
            if node_type == "output":
                found = True
                outcome = self.outcomes.get(node_id)
                if outcome is not None and outcome.status == "succeeded" and isinstance(outcome.output, dict):
                    merged.update(outcome.output)
        if found:
            return merged
        sources = {src for src, targets in self.planner._out.items() if targets}
        return {
            nid: o.output for nid, o in self.outcomes.items() if nid not in sources and o.status == "succeeded"
        }

    def _launch(self, node_id: str) -> None:
        self.planner.running(node_id)
        self._tasks[node_id] = asyncio.create_task(self._run_node(node_id), name=f"node:{self.prefix}{node_id}")

    def _check_done(self) -> None:
        if self._done is not None and not self._done.done() and not self._tasks:
            if self.planner.failed or self.planner.finished or self.parked:
                self._done.set_result(None)

    # ------------------------------------------------------------------ one node

    async def _run_node(self, node_id: str) -> None:
        node = self.nodes[node_id]
        node_type = self.types[node_id]
        env = self.env
        display_id = self.prefix + node_id
        outcome = NodeOutcome(node_id, node_type, "running", started_at=time.time())
        t0 = time.perf_counter()
        try:
            output, error = await self._attempts(node, node_type, display_id, outcome)
        except WaitSuspended as wait:
            self._tasks.pop(node_id, None)
            self.planner.park(node_id)
            self.parked[node_id] = wait
            self._check_done()
            return
        except asyncio.CancelledError:
            self._tasks.pop(node_id, None)
            self.planner.abandon(node_id)
            if env.handed_back is None or not env.handed_back.is_set():
                reason = "cancelled" if env.cancelled.is_set() or self._failure is None else "stopped: the run failed"
                env.emit("node.failed", {"node_id": display_id, "error": reason})
            raise
        outcome.elapsed_ms = round((time.perf_counter() - t0) * 1000, 3)
        outcome.finished_at = time.time()
        self._tasks.pop(node_id, None)
        if error is None:
            self._succeed(node_id, display_id, output, outcome)
        elif node.on_error != "fail":
            # continue: the run goes on with output null; default: with default_output.
            fallback = node.default_output if node.on_error == "default" else None
            outcome.error = error.message
            self._succeed(node_id, display_id, fallback, outcome)
        else:
            outcome.status, outcome.error = "failed", error.message
            self.outcomes[node_id] = outcome
            self.planner.failed_run(node_id)
            env.emit("node.failed", self._with_record({"node_id": display_id, "error": error.message}, outcome))
            if self._failure is None:
                self._failure = GraphFailed(display_id, error.message)
            if self._done is not None and not self._done.done():
                self._done.set_result(None)  # run() cancels what is still running
            return
        self._check_done()

    async def _attempts(self, node: Any, node_type: str, display_id: str, outcome: NodeOutcome):
        """Run the node with its retry policy; returns ``(output, None)`` or ``(None, NodeError)``."""
        env = self.env
        runner = env.runners.get(node_type)
        if runner is None:
            return None, NodeError(f"no runner for node type {node_type!r}")
        policy = policy_for(node_type, node.retry)
        timeout = node.timeout_s or (None if node_type in UNTIMED_TYPES else env.default_timeout_s)
        slot = None if node_type in SLOTLESS_TYPES or getattr(runner, "slotless", False) else env.semaphore
        attempt = 1
        while True:
            ctx = NodeContext(
                env.execution_id, env.workspace_id, node, self.scope, env.services, attempt, env.cancelled,
                self._emitter(display_id),
            )
            ctx.run_subgraph = self.run_body
            ctx.path = display_id  # stable across retries and resumes: the side-effect idempotency key
            ctx.waits = env.waits if self.top_level else None  # None: a wait cannot suspend a loop body
            error: NodeError
            try:
                if slot is not None:
                    await slot.acquire()
                try:
                    env.emit("node.started", {"node_id": display_id, "node_type": node_type, "attempt": attempt})
                    if timeout is None:
                        output = await runner.run(ctx)
                    else:
                        async with asyncio.timeout(timeout):
                            output = await runner.run(ctx)
                    output = _as_json(output)
                finally:
                    if slot is not None:
                        slot.release()
                merge_usage(outcome.usage, ctx.usage)
                outcome.attempts = attempt
                return output, None
            except TimeoutError:
                error = NodeTimeout(f"timed out after {timeout:g}s" if timeout else "timed out")
            except NodeError as exc:
                error = exc
            except (RunCancelled, GraphFailed):
                raise asyncio.CancelledError()
            except WaitSuspended:
                merge_usage(outcome.usage, ctx.usage)
                raise
            except Exception as exc:  # a bug in a runner: a clear, non-retryable failure
                log.exception("node %s (%s) raised", display_id, node_type)
                error = NodeError(f"{type(exc).__name__}: {exc}")
            merge_usage(outcome.usage, ctx.usage)
            outcome.attempts = attempt
            delay = retry_delay(policy, attempt, error)
            if delay is None:
                return None, error
            attempt += 1
            env.emit("node.retry", {"node_id": display_id, "attempt": attempt, "error": error.message, "delay_s": round(delay, 3)})
            await asyncio.sleep(delay)

    def _emitter(self, display_id: str):
        emit = self.env.emit
        if display_id == "" or not self.prefix:
            async def _emit(event: str, data: dict[str, Any]) -> None:
                emit(event, data)
        else:  # body nodes: runners name their local id; clients see the qualified one
            async def _emit(event: str, data: dict[str, Any]) -> None:
                if "node_id" in data:
                    data = {**data, "node_id": display_id}
                emit(event, data)
        return _emit

    # ------------------------------------------------------------------ completions

    def _succeed(self, node_id: str, display_id: str, output: Any, outcome: NodeOutcome) -> None:
        outcome.status, outcome.output = "succeeded", output
        self.outcomes[node_id] = outcome
        self.node_outputs[node_id] = {"output": output}
        merge_usage(self.usage, outcome.usage)
        data = {"node_id": display_id, "status": "succeeded", "output": output, "elapsed_ms": outcome.elapsed_ms, "usage": outcome.usage}
        if outcome.error is not None:
            data["error"] = outcome.error  # failure absorbed by on_error = continue/default
        self.env.emit("node.finished", self._with_record(data, outcome))
        branch = _branch(outcome) if self.types[node_id] == "condition" else None
        update = self.planner.succeeded(node_id, branch)
        for skipped in update.skipped:
            self._skip(skipped)
        for ready in update.ready:
            self._launch(ready)

    def _skip(self, node_id: str) -> None:
        outcome = NodeOutcome(node_id, self.types[node_id], "skipped")
        self.outcomes[node_id] = outcome
        self.node_outputs[node_id] = {"output": None, "skipped": True}
        data = {"node_id": self.prefix + node_id, "status": "skipped", "output": None, "elapsed_ms": 0.0, "usage": {}}
        self.env.emit("node.finished", self._with_record(data, outcome))

    def _with_record(self, data: dict[str, Any], outcome: NodeOutcome) -> dict[str, Any]:
        """A top-level node's final event also carries the rest of its stored result: node
        results are a projection of the event log (:mod:`pilot.events.projection`)."""
        if not self.top_level:
            return data
        record = {"node_type": outcome.node_type, "attempts": outcome.attempts,
                  "started_at": outcome.started_at, "finished_at": outcome.finished_at}
        if outcome.status == "failed":
            record.update(status="failed", elapsed_ms=outcome.elapsed_ms, usage=outcome.usage)
        return {**data, **record}

    # ------------------------------------------------------------------ loop bodies

    async def run_body(
        self, loop_node: Any, items: list[Any], *, item_var: str, max_concurrency: int, ctx: NodeContext
    ) -> list[Any]:
        """Run ``loop_node``'s body once per item (at most ``max_concurrency`` at a time); returns
        the per-item outputs in item order. The first failing item fails the loop."""
        body = loop_node.config.body
        plan = LoopPlan(len(items), max_concurrency)
        base_prefix = f"{self.prefix}{loop_node.id}"
        length = len(items)
        tasks: set[asyncio.Task] = set()
        finished: asyncio.Queue[tuple[int, Any, BaseException | None]] = asyncio.Queue()

        async def one(index: int) -> None:
            scope = {**self.scope, "nodes": dict(self.node_outputs), item_var: items[index], "loop": {"index": index, "length": length}}
            sub = GraphRunner(self.env, body.nodes, body.edges, scope, prefix=f"{base_prefix}[{index}].", top_level=False)
            try:
                result = await sub.run()
                finished.put_nowait((index, _item_result(sub, result), None))
            except GraphFailed as exc:
                finished.put_nowait((index, None, exc))
            finally:
                ctx.add_usage(sub.usage)

        def start(indices: list[int]) -> None:
            for index in indices:
                tasks.add(asyncio.create_task(one(index), name=f"loop:{base_prefix}[{index}]"))

        try:
            start(plan.to_start())
            while not plan.finished:
                index, result, exc = await finished.get()
                if exc is not None:
                    raise NodeError(f"item {index}: {exc}")
                start(plan.item_done(index, result))
            return list(plan.results)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


def _as_json(output: Any) -> Any:
    """A node's output as JSON data: it is published in ``node.finished`` and stored, so a value
    with no JSON form fails the node here, with its reason, instead of failing persistence."""
    try:
        return to_json_value(output)
    except NotJSONError as exc:
        raise NodeError(f"output: {exc}") from exc


def _branch(outcome: NodeOutcome) -> str | None:
    output = outcome.output
    return output.get("branch") if isinstance(output, dict) else None


def _item_result(sub: GraphRunner, outputs: dict[str, Any]) -> Any:
    """A body's result for one item: its output nodes' outputs, else its single sink's output."""
    if any(t == "output" for t in sub.types.values()):
        return outputs
    if len(outputs) == 1:
        return next(iter(outputs.values()))
    return outputs
