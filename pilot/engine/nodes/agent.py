"""The ``agent`` node: an LLM that calls tools in a loop until it answers (:mod:`pilot.agents.loop`).

- ``agent_id`` (``<id>`` or ``<id>@<version>``) takes model, system prompt, tools, max_steps and
  the other loop settings from a saved agent definition (``/api/agents``) of the same
  workspace; a node field **overrides** it when it is set to something other than its default
  (``tools: []`` and ``system: ""`` keep the agent's). Another workspace's agent fails the node
  like a missing one.
- ``prompt`` and ``system`` are jinja2 templates rendered in the sandbox.
- ``tools``: references resolved at the start of each attempt by the resolver of their prefix
  (:mod:`pilot.agents.toolset`); a reference that does not resolve fails the node naming it
  (non-retryable). Function names are made unique (``name_2``) when two references collide.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pilot.core.errors import PilotError
from pilot.engine.errors import NodeError
from pilot.engine.nodes.base import NodeContext
from pilot.engine.nodes.rendering import render_field
from pilot.llm import OfflineProvider
from pilot.workflows.model import AgentConfig

if TYPE_CHECKING:
    from pilot.agents.toolset import AgentTool

# pilot.agents.* is imported inside the functions: pilot.agents.toolset imports the runner
# registry (pilot.engine.nodes), which imports this module.

_DEFAULTS = AgentConfig(prompt="-")
_MERGED = ("model", "system", "tools", "max_steps", "tool_timeout_s", "temperature", "output_schema", "fallback_models")


async def merged_config(ctx: NodeContext, config: AgentConfig) -> dict[str, Any]:
    """The node's settings over its agent definition's (see the module docstring)."""
    own = {name: getattr(config, name) for name in _MERGED}
    if not config.agent_id:
        return own
    from pilot.agents.store import definition

    if ctx.services.sessions is None:
        raise NodeError("agent_id: agent definitions need the database, which this context lacks")
    async with ctx.services.sessions() as session:
        try:
            saved, _, _ = await definition(session, ctx.workspace_id, config.agent_id)
        except PilotError as exc:
            raise NodeError(f"agent_id: {exc.detail}") from exc
    return {name: (value if value != getattr(_DEFAULTS, name) else saved.get(name, value)) for name, value in own.items()}


async def resolve_tools(ctx: NodeContext, refs: list[str]) -> list[AgentTool]:
    """Every tool the references name, with unique function names."""
    from pilot.agents.toolset import AgentTool, resolver_for, split_ref

    tools: list[AgentTool] = []
    seen: set[str] = set()
    for ref in dict.fromkeys(r.strip() for r in refs):
        prefix, rest = split_ref(ref)
        resolver = resolver_for(prefix)
        if resolver is None:
            raise NodeError(f"tools: no resolver for '{prefix}:' references is installed ({ref!r})")
        for tool in await resolver.resolve(rest, ctx):
            name, n = tool.name, 1
            while name in seen:
                n += 1
                name = f"{tool.name[:60]}_{n}"
            seen.add(name)
            if name != tool.name:
                tool = AgentTool(name=name, description=tool.description, parameters=tool.parameters, call=tool.call, ref=tool.ref)
            tools.append(tool)
    return tools


class AgentRunner:
    """Runs ``agent`` nodes with ``ctx.services.llm`` (offline without a key)."""

    node_type = "agent"

    def __init__(self) -> None:
        self._offline = OfflineProvider()

    async def run(self, ctx: NodeContext) -> Any:
        from pilot.agents.loop import AgentSpec, run_agent

        config: AgentConfig = ctx.node.config
        merged = await merged_config(ctx, config)
        system = await render_field(merged["system"], ctx.scope, "system") if merged["system"] else ""
        prompt = await render_field(config.prompt, ctx.scope, "prompt")
        tools = await resolve_tools(ctx, list(merged["tools"]))
        spec = AgentSpec(
            model=merged["model"], prompt=prompt, system=system, tools=tuple(tools), max_steps=merged["max_steps"],
            tool_timeout_s=merged["tool_timeout_s"], temperature=merged["temperature"],
            output_schema=merged["output_schema"], fallback_models=tuple(merged["fallback_models"]),
        )
        return await run_agent(ctx, ctx.services.llm or self._offline, spec)
