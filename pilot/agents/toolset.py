"""The seam between the ``agent`` node and everything it can call.

An agent node lists tool *references* (``AgentConfig.tools``): ``tool:<id>``, ``mcp:<server>``,
``mcp:<server>/<tool>``, ``table:<id>``, ``workflow:<id>``, ``api:<name>``. Each prefix has one
:class:`ToolResolver`, registered once at import time by the module that owns that kind of tool
(connectors and tool instances, MCP servers, data tables, workflows). A resolver turns a reference
into :class:`AgentTool` values: a function the model sees (name, description, JSON-schema
parameters) plus the coroutine that runs it. The agent loop only ever talks to this interface.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Protocol

from pilot.engine.nodes.base import NodeContext

ToolCall = Callable[[dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class AgentTool:
    """One function offered to the model. ``name`` matches ``^[a-zA-Z0-9_-]{1,64}$`` (the
    OpenAI function-name rule); ``call`` receives the model's parsed arguments and returns a
    JSON value, or raises (the loop reports the error to the model as the tool's result)."""

    name: str
    description: str
    parameters: dict[str, Any]
    call: ToolCall
    ref: str = ""  # the reference it came from, for events and errors


class ToolResolver(Protocol):
    """Resolves references with one prefix (``"mcp"`` resolves ``mcp:…``)."""

    prefix: str

    async def resolve(self, ref: str, ctx: NodeContext) -> list[AgentTool]:
        """The tools ``ref`` (without its prefix) names, for the node running under ``ctx``;
        raise ``pilot.engine.errors.NodeError`` naming the reference when it does not resolve."""
        ...


RESOLVERS: dict[str, ToolResolver] = {}


def register_resolver(resolver: ToolResolver, *, replace: bool = False) -> ToolResolver:
    """Make ``resolver`` answer references with its prefix (once per prefix unless ``replace``)."""
    if resolver.prefix in RESOLVERS and not replace:
        raise ValueError(f"a resolver for {resolver.prefix!r} is already registered")
    RESOLVERS[resolver.prefix] = resolver
    return resolver


def split_ref(ref: str) -> tuple[str, str]:
    """``"mcp:files/read"`` → ``("mcp", "files/read")``; a bare name is a ``tool:`` reference."""
    prefix, sep, rest = ref.partition(":")
    return (prefix, rest) if sep else ("tool", ref)


# ---------------------------------------------------------------- helpers (references, loading)

# Every reference prefix and the module whose import registers its resolver (imported on first
# use by :func:`resolver_for`, so a background worker needs no app start-up to have them).
RESOLVER_MODULES: dict[str, str] = {
    "tool": "pilot.agents.resolvers",
    "workflow": "pilot.agents.resolvers",
    "api": "pilot.agents.resolvers",
    "mcp": "pilot.mcp",
    "table": "pilot.tables",
}
KNOWN_PREFIXES: tuple[str, ...] = tuple(RESOLVER_MODULES)


def ref_problem(ref: str) -> str | None:
    """Why ``ref`` is not a well-formed tool reference (None when it is)."""
    prefix, rest = split_ref(ref.strip())
    if prefix not in RESOLVER_MODULES:
        return f"unknown tool reference prefix {prefix!r} in {ref!r} (use one of: {', '.join(p + ':' for p in KNOWN_PREFIXES)})"
    if not rest.strip():
        return f"tool reference {ref!r} names nothing after '{prefix}:'"
    return None


def resolver_for(prefix: str) -> ToolResolver | None:
    """The resolver of ``prefix``, importing the module that registers it on first use."""
    if prefix not in RESOLVERS and prefix in RESOLVER_MODULES:
        import importlib

        try:
            importlib.import_module(RESOLVER_MODULES[prefix])
        except ModuleNotFoundError:
            return None
    return RESOLVERS.get(prefix)
