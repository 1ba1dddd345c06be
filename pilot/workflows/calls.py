"""Sub-workflow calls (``workflow`` nodes): which graph a call runs, and static recursion.

- :func:`called_graph`: the graph a ``workflow`` node runs — its pinned ``version``, else the
  *published head*: the head when it is published, else (the head was edited after publishing)
  the newest published version. A workflow that was unpublished (its head version itself is a
  published snapshot returned to draft) or never published has no published head: pin a
  version or publish it. Another workspace's workflow is indistinguishable from a missing one.
- :func:`check_call_cycles`: refuses (422) a graph whose ``workflow`` nodes lead back to a
  workflow already on the call path (``A → B → A``, a workflow calling itself). It follows what
  each call can run: a pinned version's graph, else the head's *and* the newest published
  version's graphs. Run when a workflow is saved or published (``WorkflowService``); the
  run-time depth limit (``PILOT_SUBWORKFLOW_MAX_DEPTH``) catches anything that slips past it.

Both read the tables directly (workspace-scoped), so ``WorkflowService`` can use them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from pilot.core.errors import ConflictError, GraphValidationError, NotFoundError
from pilot.db.models import WorkflowRow, WorkflowVersionRow
from pilot.workflows.model import WorkflowGraph, WorkflowNode, graph_from_builtins
from pilot.workflows.validation import Problem, iter_all_nodes

MAX_EXPANDED = 200  # distinct (workflow, version) graphs followed per check; beyond, the depth limit guards


async def _head(session: AsyncSession, workspace_id: str, workflow_id: str) -> WorkflowRow | None:
    return await session.scalar(
        sa.select(WorkflowRow).where(WorkflowRow.id == workflow_id, WorkflowRow.workspace_id == workspace_id)
    )


async def _version(session: AsyncSession, workflow_id: str, version: int) -> WorkflowVersionRow | None:
    return await session.scalar(sa.select(WorkflowVersionRow).where(
        WorkflowVersionRow.workflow_id == workflow_id, WorkflowVersionRow.version == version))


async def _newest_published(session: AsyncSession, workflow_id: str, below: int) -> WorkflowVersionRow | None:
    return await session.scalar(sa.select(WorkflowVersionRow).where(
        WorkflowVersionRow.workflow_id == workflow_id, WorkflowVersionRow.status == "published",
        WorkflowVersionRow.version < below,
    ).order_by(WorkflowVersionRow.version.desc()).limit(1))


async def called_graph(
    session: AsyncSession, workspace_id: str, workflow_id: str, version: int | None
) -> tuple[WorkflowGraph, int, str]:
    """``(graph, version, name)`` a call of ``workflow_id`` runs (see module docstring).

    Raises NotFoundError (missing, another workspace's, no such version) or ConflictError
    (no published head and no pinned version)."""
    row = await _head(session, workspace_id, workflow_id)
    if row is None:
        raise NotFoundError(f"workflow '{workflow_id}' not found")
    if version is not None and version != row.version:
        snapshot = await _version(session, workflow_id, version)
        if snapshot is None:
            raise NotFoundError(f"workflow '{workflow_id}' has no version {version}")
        return graph_from_builtins(snapshot.graph), version, row.name
    if version is not None or row.status == "published":
        return graph_from_builtins(row.graph), row.version, row.name
    head = await _version(session, workflow_id, row.version)
    published = None if head is not None and head.status == "published" else await _newest_published(session, workflow_id, row.version)
    if published is None:
        raise ConflictError(
            f"workflow '{workflow_id}' is not published: publish it or pin a version in the node's config.version"
        )
    return graph_from_builtins(published.graph), published.version, row.name


# ---------------------------------------------------------------- static recursion


def graph_calls(graph: WorkflowGraph) -> Iterator[tuple[str, str, int | None]]:
    """``(node id, workflow_id, version)`` of every ``workflow`` node, loop bodies included."""
    for node in iter_all_nodes(graph):
        if isinstance(node, WorkflowNode):
            yield node.id, node.config.workflow_id, node.config.version


def _raw_calls(nodes: Any) -> Iterator[tuple[str, int | None]]:
    """``(workflow_id, version)`` of the ``workflow`` nodes of a stored (raw) graph."""
    stack = [nodes if isinstance(nodes, list) else []]
    while stack:
        for node in stack.pop():
            if not isinstance(node, dict):
                continue
            config = node.get("config") or {}
            if node.get("type") == "workflow" and isinstance(config.get("workflow_id"), str):
                yield config["workflow_id"], config.get("version")
            elif node.get("type") == "loop" and isinstance(config.get("body"), dict):
                stack.append(config["body"].get("nodes") or [])


class _Walker:
    """Depth-first search over the workspace's call graph, one check at a time."""

    def __init__(self, session: AsyncSession, workspace_id: str) -> None:
        self.session = session
        self.workspace_id = workspace_id
        self.safe: set[tuple[str, int | None]] = set()  # explored: no recursion below
        self.expanded = 0

    async def _callees(self, workflow_id: str, version: int | None) -> list[tuple[str, int | None]]:
        row = await _head(self.session, self.workspace_id, workflow_id)
        if row is None:  # missing: the run fails clearly; nothing to follow
            return []
        graphs: list[Any] = []
        if version is not None and version != row.version:
            snapshot = await _version(self.session, workflow_id, version)
            graphs = [snapshot.graph] if snapshot is not None else []
        else:
            graphs = [row.graph]
            if version is None and row.status != "published":
                published = await _newest_published(self.session, workflow_id, row.version)
                if published is not None:
                    graphs.append(published.graph)
        return list(dict.fromkeys(call for g in graphs for call in _raw_calls((g or {}).get("nodes"))))

    async def cycle(self, workflow_id: str, version: int | None, path: list[str]) -> list[str] | None:
        """The call path that returns to a workflow already on ``path``, if any."""
        if workflow_id in path:
            return [*path, workflow_id]
        if (workflow_id, version) in self.safe or self.expanded >= MAX_EXPANDED:
            return None
        self.expanded += 1
        for callee, callee_version in await self._callees(workflow_id, version):
            found = await self.cycle(callee, callee_version, [*path, workflow_id])
            if found is not None:
                return found
        self.safe.add((workflow_id, version))
        return None


async def check_call_cycles(
    session: AsyncSession, workspace_id: str, workflow_id: str | None, graph: WorkflowGraph
) -> None:
    """Raise GraphValidationError (422) naming each ``workflow`` node whose call recurses."""
    calls = list(graph_calls(graph))
    if not calls:
        return
    walker = _Walker(session, workspace_id)
    start = [workflow_id] if workflow_id else ["(this workflow)"]
    problems = []
    for node_id, callee, version in calls:
        cycle = await walker.cycle(callee, version, start)
        if cycle is not None:
            problems.append(Problem(
                "subworkflow_cycle",
                f"node '{node_id}' (workflow) makes sub-workflows recurse: {' → '.join(cycle)}; "
                "a workflow may not call itself, directly or through other workflows",
                node_ids=[node_id],
            ))
    if problems:
        raise GraphValidationError(problems)
