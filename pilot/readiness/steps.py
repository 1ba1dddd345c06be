"""Readiness of the v2 steps (used by :mod:`pilot.readiness.service`):

- ``workflow``: a ``workflow`` node whose ``workflow_id`` names no workflow of the workspace (the
  plan compiler and chat put the name the user said there until one is picked), a pinned
  ``version`` that does not exist, or a child with neither a published head nor a pinned version
  (:func:`pilot.workflows.calls.called_graph` would refuse the run). Blocks publishing.
- ``code``: a ``code`` node in a language this server does not run (JavaScript: code nodes run
  Python, :data:`pilot.sandbox.syntax.LANGUAGES`). Validation refuses such a node when a graph
  is saved; readiness reports it too for a graph it is handed directly. Blocks publishing.
- ``agent`` (a *note*, in ``notes``, never blocking): an ``agent`` node with no ``tools`` and no
  saved ``agent_id``: it can only answer from the model in one turn.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from pilot.core.errors import ConflictError, NotFoundError
from pilot.sandbox.syntax import LANGUAGES
from pilot.workflows.calls import called_graph
from pilot.workflows.model import Node, WorkflowGraph, node_type
from pilot.workflows.service import WorkflowService
from pilot.workflows.validation import iter_all_nodes

WorkflowRef = tuple[str, "int | None"]
BLOCKING = frozenset({"workflow", "code"})


def workflow_refs(graph: WorkflowGraph) -> set[WorkflowRef]:
    """Every ``(workflow_id, version)`` a ``workflow`` node of the graph calls."""
    return {(n.config.workflow_id, n.config.version) for n in iter_all_nodes(graph) if node_type(n) == "workflow"}


async def workflow_states(session: AsyncSession, workspace_id: str, refs: set[WorkflowRef]) -> dict[WorkflowRef, str | None]:
    """``missing`` / ``version_missing`` / ``unpublished`` / None (runnable) for each call."""
    states: dict[WorkflowRef, str | None] = {}
    for workflow_id, version in sorted(refs, key=lambda r: (r[0], r[1] or 0)):
        try:
            await WorkflowService(session, workspace_id).get(workflow_id)
        except NotFoundError:
            states[(workflow_id, version)] = "missing"
            continue
        try:
            await called_graph(session, workspace_id, workflow_id, version)
            states[(workflow_id, version)] = None
        except NotFoundError:
            states[(workflow_id, version)] = "version_missing"
        except ConflictError:
            states[(workflow_id, version)] = "unpublished"
    return states


def step_items(node: Node, states: dict[WorkflowRef, str | None]) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """``(kind, message key, name, values)`` for what ``node`` (a v2 step) lacks."""
    kind = node_type(node)
    if kind == "workflow":
        cfg = node.config
        state = states.get((cfg.workflow_id, cfg.version))
        if state is not None:
            yield "workflow", f"workflow_{state}", cfg.workflow_id, {"version": cfg.version or ""}
    elif kind == "code" and node.config.language not in LANGUAGES:
        yield "code", "code_language", node.config.language, {"languages": ", ".join(LANGUAGES)}
    elif kind == "agent" and not node.config.tools and node.config.agent_id is None:
        yield "agent", "agent_no_tools", node.id, {}
