"""MCP tools in workflows: the ``mcp`` connector of ``tool`` nodes and the ``mcp:`` agent resolver.

``tool: "mcp"`` with ``arguments: {server, tool, arguments}`` calls one tool of a registered server
(``server`` = its id or name in the run's workspace) and outputs ``{text, structured, content}``;
a tool result flagged as an error fails the node with its text. In an ``agent`` node,
``mcp:<server>`` offers every tool of the server and ``mcp:<server>/<tool>`` one, each with the
input schema the server declares. A test run (dry run) records the call instead of making it.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar

from msgspec import Meta, Struct

from pilot.agents.toolset import AgentTool, register_resolver
from pilot.core.errors import PilotError
from pilot.engine.errors import NodeError
from pilot.mcp import client, registry
from pilot.mcp.client import Guard, McpFailure, ServerSpec
from pilot.settings import Settings
from pilot.tools.base import ToolContext, ToolError


class McpCallArgs(Struct, forbid_unknown_fields=True):
    server: Annotated[str, Meta(min_length=1, max_length=64)]
    tool: Annotated[str, Meta(min_length=1, max_length=128)]
    arguments: dict[str, Any] = {}


async def load_spec(sessions: Any, settings: Settings, workspace_id: str, server: str) -> ServerSpec:
    """The connectable spec of ``server`` in the workspace (ToolError when it does not resolve)."""
    if sessions is None or not workspace_id:
        raise ToolError("the mcp tool needs a workflow run (database and workspace)")
    try:
        async with sessions() as session:
            _, spec = await registry.server_spec(session, settings, workspace_id, server)
    except PilotError as exc:
        raise ToolError(exc.detail) from exc
    return spec


class McpTool:
    """``tool: "mcp"`` — call a tool of one of the workspace's registered MCP servers."""

    name: ClassVar[str] = "mcp"
    description: ClassVar[str] = "Call a tool of a registered MCP server: {server, tool, arguments}."
    arguments: ClassVar[type[Struct]] = McpCallArgs

    def configured(self, settings: Settings) -> bool:
        return True

    async def call(self, args: McpCallArgs, ctx: ToolContext) -> Any:
        spec = await load_spec(ctx.sessions, ctx.settings, ctx.workspace_id or "", args.server)
        return await client.call_tool(spec, Guard.of(ctx.http), args.tool, dict(args.arguments))


def function_name(tool: str) -> str:
    """An MCP tool name as an OpenAI function name (``^[a-zA-Z0-9_-]{1,64}$``)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", tool).strip("_")[:64] or "tool"


class McpResolver:
    """``mcp:<server>`` (all its tools) / ``mcp:<server>/<tool>`` (one) → agent functions."""

    prefix = "mcp"

    async def resolve(self, ref: str, ctx: Any) -> list[AgentTool]:
        server, _, only = ref.partition("/")
        services = ctx.services
        try:
            spec = await load_spec(services.sessions, services.settings, ctx.workspace_id, server)
            guard = Guard.of(services.http)
            _, tools = await client.list_tools(spec, guard)
        except (McpFailure, ToolError) as exc:
            raise NodeError(f"tools: mcp:{ref}: {exc.message}", retryable=exc.retryable) from exc
        if only:
            tools = [t for t in tools if t.name == only]
            if not tools:
                raise NodeError(f"tools: mcp:{ref}: server {server!r} has no tool {only!r}")
        out = []
        for tool in tools:
            async def call(arguments: dict[str, Any], name: str = tool.name) -> Any:
                if services.dry_run:
                    return {"dry_run": True, "server": spec.name, "tool": name, "arguments": arguments}
                return await client.call_tool(spec, guard, name, arguments)

            schema = dict(tool.inputSchema or {}) or {"type": "object", "properties": {}}
            out.append(AgentTool(name=function_name(tool.name), description=tool.description or tool.title or tool.name,
                                 parameters=schema, call=call, ref=f"mcp:{server}/{tool.name}"))
        return out


register_resolver(McpResolver())
