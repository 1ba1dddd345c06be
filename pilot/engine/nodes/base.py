"""The node-runner interface: what a runner receives (:class:`NodeContext`) and must provide.

A runner is a stateless object with ``node_type`` and ``async run(ctx) -> output``. It returns the
node's JSON-serialisable output, or raises :class:`pilot.engine.errors.NodeError` (the engine's
retry policy and ``on_error`` decide what happens next). Runners never retry, time out or catch
cancellation themselves: the engine owns those policies.

Runners are registered in :data:`pilot.engine.nodes.RUNNERS` (assembled in ``__init__``);
tests may add their own with :func:`register` (and remove them with :func:`unregister`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Protocol, runtime_checkable

from pilot.settings import Settings


@dataclass(slots=True)
class EngineServices:
    """Long-lived services node runners use; built once per process (see ``build_services``).

    ``http`` is a :class:`pilot.outbound.GuardedHttp` (the outbound guard), ``llm`` a
    ``pilot.llm`` provider, ``knowledge`` a retriever, ``tools`` the ToolRegistry.
    """

    settings: Settings
    sessions: Any = None  # async_sessionmaker[AsyncSession]
    http: Any = None
    llm: Any = None
    knowledge: Any = None
    tools: Any = None
    # A test run (POST /api/workflows/{id}/test): api and tool nodes record the request they
    # would send instead of sending it, and llm nodes use the offline provider, so nothing
    # leaves the machine.
    dry_run: bool = False
    # The process's executor dependencies (pilot.engine.executor.EngineDeps, which sets itself
    # here): `workflow` nodes run their child execution with them, in this process.
    engine: Any = None


EmitFn = Callable[[str, dict[str, Any]], Awaitable[None]]


@dataclass(slots=True)
class NodeContext:
    """Everything one attempt of one node may use.

    ``scope`` is the jinja2 context: ``inputs``, ``nodes`` = ``{id: {"output": ...}}`` for finished
    nodes, and inside loop bodies the item variable (``item`` by default) and
    ``loop = {index, length}``. ``emit`` publishes an event on the run's stream (``node.delta``,
    ``node.fallback``); ``add_usage`` accumulates token/cost usage into the node and the run.
    """

    execution_id: str
    workspace_id: str
    node: Any  # pilot.workflows.model.Node
    scope: dict[str, Any]
    services: EngineServices
    attempt: int = 1
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)
    _emit: EmitFn | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    # Set by the engine for control nodes (loop): runs a body sub-graph; see nodes/loop.py.
    run_subgraph: Any = None
    path: str = ""  # qualified id set by the engine ("each[3].notify" in a loop body); see idempotency_key()
    waits: Any = None  # set by the engine for top-level nodes: the run's recorded waits (nodes/wait.py)

    async def emit(self, event: str, data: dict[str, Any]) -> None:
        if self._emit is not None:
            await self._emit(event, data)

    def add_usage(self, usage: dict[str, Any]) -> None:
        """Add numeric fields (tokens, cost_usd, ...) to this attempt's usage; others overwrite."""
        merge_usage(self.usage, usage)


def merge_usage(into: dict[str, Any], usage: dict[str, Any] | None) -> dict[str, Any]:
    """Sum numeric values key by key (bools and strings are kept as last seen)."""
    if not usage:
        return into
    for key, value in usage.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            into[key] = into.get(key, 0) + value
        elif isinstance(value, dict):
            merge_usage(into.setdefault(key, {}), value)
        else:
            into[key] = value
    return into


@runtime_checkable
class NodeRunner(Protocol):
    """Runs nodes of one type. Stateless; one instance serves every run in the process."""

    node_type: str

    async def run(self, ctx: NodeContext) -> Any:  # pragma: no cover - protocol
        ...


class RunnerRegistry(dict[str, NodeRunner]):
    """``node_type -> runner``. A plain dict so lookups on the hot path cost one hash."""

    def register(self, runner: NodeRunner, *, replace: bool = False) -> NodeRunner:
        if not replace and runner.node_type in self:
            raise ValueError(f"a runner for node type {runner.node_type!r} is already registered")
        self[runner.node_type] = runner
        return runner
