"""The ``workflow`` node: runs another workflow of the same workspace as one step (a sub-workflow).

- **What runs**: the pinned ``version``, else the published head
  (:func:`pilot.workflows.calls.called_graph`); another workspace's workflow fails the node
  exactly like a missing one. The child's graph must validate and may not contain ``wait``
  nodes (a child cannot pause durably under a running parent).
- **Inputs**: ``inputs`` are value fields like an ``output`` node's (one ``{{ expr }}`` keeps its
  JSON type), resolved in the parent's scope and checked against the child's input node
  (``inputs.<name> is required …``). Secrets are redacted before the child's row is stored:
  a child reads credentials itself (``{{ credentials.<name> }}``).
- **The child execution**: a row with ``parent_id``, ``parent_node`` (this node's qualified
  path) and ``depth`` = the parent's + 1 — refused beyond ``PILOT_SUBWORKFLOW_MAX_DEPTH`` —,
  trigger ``workflow`` (``test`` under a test run, so the child is a dry run too) and mode
  ``inline``: it runs in its parent's process, inline or on a background worker alike, through
  the same executor (:func:`pilot.engine.executor.execute`: its own lease, heartbeat, events,
  node results and ``run.finished``), awaited by this node.
- **Output**: the child's outputs. A failed child fails the node (not retried by default) with
  the child's error and execution id.
- **Stream**: every event of the child's stream is forwarded onto the parent's as
  ``node.child_event {node_id, child_execution_id, child_event, child_seq, data}`` (grandchildren
  nest); the child's own stream (``/api/executions/<child>/stream``) has them too.
- **Cancel follows the parent**: cancelling the parent (or its node timing out) cancels this
  node's task; the runner then cancels the child — the in-process signal, registered before the
  child starts, and the durable ``cancel_requested`` flag — and waits (bounded) for it to end
  ``cancelled``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import msgspec

from pilot.core.errors import GraphValidationError, PilotError, UnprocessableError
from pilot.core.ids import new_id, utcnow
from pilot.core.redaction import redact_value
from pilot.db.models import ExecutionRow
from pilot.engine.errors import NodeError
from pilot.engine.nodes.base import NodeContext
from pilot.engine.nodes.input import input_fields, validate_inputs
from pilot.engine.nodes.rendering import resolve_value
from pilot.workflows.calls import called_graph
from pilot.workflows.model import WorkflowCallConfig, node_type
from pilot.workflows.validation import ensure_valid, iter_all_nodes

log = logging.getLogger("pilot.engine")

CANCEL_GRACE_S = 10.0  # how long a cancelled parent waits for its child to end
FORWARD_DRAIN_S = 5.0  # how long the child's last events may take to reach the parent's stream


async def _child_inputs(ctx: NodeContext) -> dict[str, Any]:
    return {name: await resolve_value(src, ctx.scope, f"inputs.{name}") for name, src in ctx.node.config.inputs.items()}


async def create_child(ctx: NodeContext, deps: Any) -> str:
    """Check the call (depth, target, inputs) and commit the child's queued execution row."""
    config = ctx.node.config
    return await create_call(ctx, deps, config.workflow_id, config.version, await _child_inputs(ctx))


async def create_call(ctx: NodeContext, deps: Any, workflow_id: str, version: int | None, inputs: dict[str, Any]) -> str:
    """:func:`create_child` with the call given as values (an agent calling a workflow as a tool
    passes the model's arguments here: values, never templates)."""
    config = WorkflowCallConfig(workflow_id=workflow_id, version=version)
    async with deps.sessions() as session:
        parent = await session.get(ExecutionRow, ctx.execution_id)
        depth = (parent.depth if parent is not None else 0) + 1
        limit = deps.settings.engine.subworkflow_max_depth
        if depth > limit:
            raise NodeError(f"workflow_id: calling '{config.workflow_id}' would nest sub-workflows {depth} deep; "
                            f"the limit is {limit} (PILOT_SUBWORKFLOW_MAX_DEPTH)")
        try:
            graph, version, _ = await called_graph(session, ctx.workspace_id, config.workflow_id, config.version)
            graph = ensure_valid(graph)
        except GraphValidationError as exc:
            raise NodeError(f"workflow_id: workflow '{config.workflow_id}' is not valid: {exc.detail}") from exc
        except PilotError as exc:
            raise NodeError(f"workflow_id: {exc.detail}") from exc
        waits = [n.id for n in iter_all_nodes(graph) if node_type(n) == "wait"]
        if waits:
            raise NodeError(f"workflow_id: workflow '{config.workflow_id}' has wait node(s) ({', '.join(waits)}); "
                            "a sub-workflow cannot pause durably")
        try:
            inputs = validate_inputs(input_fields(graph.nodes), inputs)
        except UnprocessableError as exc:
            raise NodeError(f"{exc.detail.replace('input_data.', 'inputs.')} (workflow '{config.workflow_id}')") from exc
        child_id = new_id("exe")
        session.add(ExecutionRow(
            id=child_id, workspace_id=ctx.workspace_id, workflow_id=config.workflow_id, workflow_version=version,
            graph=msgspec.to_builtins(graph), status="queued", mode="inline",
            trigger="test" if ctx.services.dry_run else "workflow", input_data=redact_value(inputs), usage={},
            created_at=utcnow(), parent_id=ctx.execution_id, parent_node=ctx.path or ctx.node.id, depth=depth,
        ))
        await session.commit()
    return child_id


async def _forward(ctx: NodeContext, subscription: Any, child_id: str) -> None:
    """Re-emit the child's events on the parent's stream until the child's stream ends."""
    try:
        async for event in subscription:
            await ctx.emit("node.child_event", {
                "node_id": ctx.node.id, "child_execution_id": child_id, "child_event": event.event,
                "child_seq": event.seq, "data": event.data,
            })
    finally:
        close = getattr(subscription, "aclose", None)
        if close is not None:
            await close()


async def _stop(task: asyncio.Task, timeout: float) -> None:
    if not task.done():
        await asyncio.wait({task}, timeout=timeout)
    if not task.done():
        task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def _cancel_child(deps: Any, child_id: str, child: asyncio.Task) -> None:
    """The parent was cancelled: cancel the child and give it a moment to end ``cancelled``."""
    from pilot.engine import lifecycle

    # The durable flag first: signalled first, a child can end before the flag's UPDATE (which
    # only touches unfinished runs) and would show "cancelled" without cancel_requested.
    try:
        async with deps.sessions() as session:
            await lifecycle.request_cancel(session, child_id)  # durable: GET shows it, any process sees it
    except Exception as exc:  # noqa: BLE001 - the in-process signal below still stops it
        log.warning("could not flag sub-workflow run %s cancelled: %s", child_id, type(exc).__name__)
    deps.active.cancel(child_id)  # the child's supervisor waits on this very event
    await _stop(child, CANCEL_GRACE_S)


async def run_child(ctx: NodeContext, deps: Any, child_id: str, workflow_id: str | None = None) -> Any:
    """Run the child to its end (forwarding its events); its outputs, or a NodeError."""
    from pilot.engine.executor import execute  # the executor imports the runners: import late

    workflow_id = workflow_id or ctx.node.config.workflow_id
    deps.active.register(child_id)  # before it starts: a cancel from now on is never missed
    subscription = deps.bus.subscribe(child_id)  # registers now: no event can slip past
    forward = asyncio.create_task(_forward(ctx, subscription, child_id), name=f"forward:{child_id}")
    child = asyncio.create_task(execute(child_id, deps), name=f"run:{child_id}")
    try:
        status = await asyncio.shield(child)
    except asyncio.CancelledError:
        await _cancel_child(deps, child_id, child)
        raise
    finally:
        await _stop(forward, FORWARD_DRAIN_S)
        deps.active.unregister(child_id)
    async with deps.sessions() as session:
        row = await session.get(ExecutionRow, child_id)
    if status == "succeeded" and row is not None:
        return row.outputs or {}
    error = (row.error if row is not None else None) or status
    if status == "cancelled":
        raise NodeError(f"sub-workflow '{workflow_id}' (execution {child_id}) was cancelled: {error}")
    raise NodeError(f"sub-workflow '{workflow_id}' failed (execution {child_id}): {error}")


class SubworkflowRunner:
    """Runs ``workflow`` nodes (see module docstring)."""

    node_type = "workflow"
    slotless = True  # waits on its child, whose nodes take their own run's slots

    async def run(self, ctx: NodeContext) -> Any:
        deps = ctx.services.engine
        if deps is None:
            raise NodeError("workflow_id: sub-workflows need the engine's executor, which this context lacks")
        child_id = await create_child(ctx, deps)
        return await run_child(ctx, deps, child_id)
