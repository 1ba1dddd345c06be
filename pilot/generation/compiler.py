"""The one compiler: any valid :class:`WorkflowPlan` → the edit operations that build its graph.

Pure (no I/O, no server): ``compile_ops(plan)`` returns the same ``add_node`` / ``add_edge`` /
``set_setting`` operations that chat refinement applies, and ``compile_plan(plan)`` applies them
to an empty graph with :func:`pilot.chat.edits.apply_edits`, which validates and lays it out. So
generation and refinement share one graph-edit path, and chat can stream the build op by op.

Rules that keep the workflow honest:
- each branch's steps hang off that branch's handle of the condition; branches rejoin only
  when a later step follows them;
- an AI step whose output a condition tests gets an ``output_schema`` with the tested field,
  and the condition compares that field (``nodes.score.output.score > 7``), never a substring;
- a delivery to a service without a native connector is an ``api`` node naming the service and
  operation, with its endpoint as a run input when it has no well-known one;
- nothing is added that the plan does not hold (no default Slack post, no knowledge lookup).
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec

from pilot.chat.edits import apply_edits
from pilot.chat.ops import AddEdge, AddNode, EditError, EditOp, SetSetting
from pilot.core.errors import GraphValidationError, PilotError
from pilot.generation.compile_steps import Builder, Port
from pilot.generation.plan import WorkflowPlan, walk, without_step
from pilot.workflows.layout import apply_layout
from pilot.workflows.model import WorkflowGraph
from pilot.workflows.validation import ensure_valid

__all__ = ["GenerationError", "build_graph", "build_plan", "compile_by_ops", "compile_ops", "compile_plan"]
log = logging.getLogger("pilot.generation")


class GenerationError(PilotError):
    """The compiler produced a graph that does not validate: a bug on our side, not bad input."""

    status_code = 500
    default_detail = "workflow generation failed"


def _build(plan: WorkflowPlan) -> Builder:
    b = Builder(plan)
    b.finish(b.steps(plan.steps, [Port(b.input_id)]))
    return b


def compile_ops(plan: WorkflowPlan) -> list[EditOp]:
    """The edit operations that build ``plan``'s workflow from an empty graph: each node, then
    the edges into it (so a panel can draw the build in order), then the schedule setting."""
    b = _build(plan)
    ops: list[EditOp] = []
    for node in b.nodes:
        ops.append(AddNode(node=node))
        ops.extend(AddEdge(source=e["source"], target=e["target"], source_handle=e.get("source_handle"), id=e["id"])
                   for e in b.edges if e["target"] == node["id"])
    cron = getattr(plan.trigger, "cron", None)
    if cron:  # settings.schedule mirrors the schedule trigger (what chat edits and describes)
        ops.append(SetSetting(key="schedule", value=cron))
    return ops


def compile_plan(plan: WorkflowPlan) -> WorkflowGraph:
    """The validated, laid-out graph for ``plan``.

    The same graph as applying :func:`compile_ops` to an empty graph with ``apply_edits`` (a
    unit test holds them equal on every eval plan), built directly from the step builder:
    replaying the ops copies each node and rescans the draft per op, which costs a request ~0.5 ms
    for nothing. Raises :class:`GraphValidationError` on a compiler bug."""
    b = _build(plan)
    cron = getattr(plan.trigger, "cron", None)
    return apply_layout(ensure_valid({"nodes": b.nodes, "edges": b.edges, "settings": {"schedule": cron} if cron else {}}))


def compile_by_ops(plan: WorkflowPlan) -> WorkflowGraph:
    """:func:`compile_plan` through the edit path itself (what chat applies)."""
    return apply_edits(WorkflowGraph(nodes=[]), compile_ops(plan))


def build_graph(plan: WorkflowPlan) -> WorkflowGraph:
    """The graph of :func:`build_plan` (a compiler bug is a logged 500, never a silent bad graph)."""
    return build_plan(plan)[1]


def build_plan(plan: WorkflowPlan) -> tuple[WorkflowPlan, WorkflowGraph, list[str]]:
    """``(plan, compile_plan(plan), [])`` for the API; when the compiler cannot place a step of
    the plan, a safety net instead of a 500: the plan without the fewest steps that lets it
    compile, tried latest step first, its graph, and the quotes of the steps left out (the
    response shows them: ``blueprint.omitted``). Seen on several unrelated requests pasted into one
    prompt (an approval inside a loop inside a loop); each case is logged as the bug it is. Raises
    :class:`GenerationError` when even the first step alone does not compile."""
    try:
        return plan, compile_plan(plan), []
    except (EditError, GraphValidationError) as exc:
        first: EditError | GraphValidationError = exc
    log.warning("generation: plan %r did not compile (%s %s); leaving out the steps it cannot place",
                plan.title, first.detail, first.extra)
    current, omitted = plan, []
    while current.steps:
        for step in reversed(list(walk(current.steps))):  # one step left out, the latest first
            candidate = msgspec.structs.replace(current, steps=without_step(current.steps, step.id))
            try:
                return candidate, compile_plan(candidate), [*omitted, step.quote or step.id]
            except (EditError, GraphValidationError):
                continue
        last = current.steps[-1]  # no single step: the last top-level one goes, and we try again
        omitted.append(last.quote or last.id)
        current = msgspec.structs.replace(current, steps=current.steps[:-1])
        try:
            return current, compile_plan(current), omitted
        except (EditError, GraphValidationError):
            continue
    log.error("generation: plan %r did not compile: %s %s", plan.title, first.detail, first.extra)
    raise GenerationError("workflow generation produced an invalid graph", extra={"problems": first.extra}) from first


def node_dicts(graph: WorkflowGraph) -> list[dict[str, Any]]:
    """The graph's nodes as builtins (what ``workflow.node_added`` events carry)."""
    return msgspec.to_builtins(graph.nodes)
