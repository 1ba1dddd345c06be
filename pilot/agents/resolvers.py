"""Resolvers for the ``tool:``, ``api:`` and ``workflow:`` references of agent nodes.

- ``tool:<ref>``: the workspace's tool instance with that id or name (its credential decrypted
  and applied, its defaults pinned: :mod:`pilot.tools.binding`), else the registry connector of
  that name (``tool:webhook``: the model fills every argument). The function is named after the
  instance (or connector); the model sees the connector's arguments minus the pinned ones.
- ``api:<name>``: a tool instance of the ``http`` (or ``webhook``) connector, by name: an HTTP
  call definition the model fills with ``query`` / ``body``.
- ``workflow:<id>``: another workflow of the workspace (its published head, pinned at the node's
  start), run as a sub-workflow through :mod:`pilot.engine.nodes.subworkflow` — depth limit,
  input validation, linked child execution, its events forwarded as ``node.child_event``. The
  function's parameters are the workflow's input fields; its result is the workflow's outputs.

In a test run (``services.dry_run``) tool calls are validated and recorded, not delivered;
workflow calls run their child as a dry run too.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from pilot.agents.toolset import AgentTool, register_resolver
from pilot.core.errors import PilotError
from pilot.engine.errors import NodeError
from pilot.engine.idempotency import idempotency_key
from pilot.engine.nodes.base import NodeContext
from pilot.tools.base import ToolContext, ToolError
from pilot.tools.binding import HTTP_CONNECTORS, BoundTool, bind, function_parameters
from pilot.tools.instances import find_row
from pilot.tools.registry import default_registry

def function_name(text: str, fallback: str = "tool") -> str:
    """``text`` as an OpenAI function name (``^[A-Za-z0-9_-]{1,64}$``)."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_")[:64]
    return name or fallback


def _call_context(ctx: NodeContext, name: str, arguments: dict[str, Any]) -> ToolContext:
    """The connector's context: the node's outbound client, and an idempotency key per logical
    call (the same tool with the same arguments in the same node → the same key on retries)."""
    digest = hashlib.sha256(json.dumps(arguments, sort_keys=True, default=str).encode()).hexdigest()[:16]
    path = getattr(ctx, "path", "") or ctx.node.id
    return ToolContext(settings=ctx.services.settings, http=ctx.services.http,
                       timeout_s=getattr(ctx.node.config, "tool_timeout_s", 30.0), workspace_id=ctx.workspace_id,
                       idempotency_key=idempotency_key(ctx.execution_id, f"{path}\x1f{name}\x1f{digest}"),
                       sessions=ctx.services.sessions)


async def _bound_instance(ctx: NodeContext, ref: str) -> BoundTool | None:
    services = ctx.services
    if services.sessions is None:
        return None
    async with services.sessions() as session:
        row = await find_row(session, ctx.workspace_id, ref)
        if row is None:
            return None
        try:
            return await bind(session, services.settings, services.tools or default_registry(), row)
        except (ToolError, PilotError) as exc:
            raise NodeError(f"tools: tool '{ref}' cannot be used: {getattr(exc, 'message', None) or exc}") from exc


def _instance_tool(ctx: NodeContext, bound: BoundTool, ref: str) -> AgentTool:
    registry = ctx.services.tools or default_registry()

    async def call(arguments: dict[str, Any]) -> Any:
        base = _call_context(ctx, bound.name, arguments)
        if ctx.services.dry_run:
            registry.validate(bound.connector, bound.arguments(arguments))
            return {"dry_run": True, "tool": bound.name, "arguments": arguments}
        return await bound.invoke(registry, arguments, base)

    return AgentTool(name=function_name(bound.name), description=bound.description, parameters=bound.parameters(),
                     call=call, ref=ref)


class ToolRefResolver:
    """``tool:<tool instance id or name | connector name>``."""

    prefix = "tool"

    async def resolve(self, ref: str, ctx: NodeContext) -> list[AgentTool]:
        bound = await _bound_instance(ctx, ref)
        if bound is not None:
            return [_instance_tool(ctx, bound, f"tool:{ref}")]
        registry = ctx.services.tools or default_registry()
        if ref not in registry.names():
            raise NodeError(f"tools: 'tool:{ref}' is neither a tool of this workspace (/api/tools) nor a connector "
                            f"({', '.join(registry.names())})")
        connector = registry.get(ref)

        async def call(arguments: dict[str, Any]) -> Any:
            if ctx.services.dry_run:
                registry.validate(ref, arguments)
                return {"dry_run": True, "tool": ref, "arguments": arguments}
            return await registry.invoke(ref, arguments, _call_context(ctx, ref, arguments))

        return [AgentTool(name=function_name(ref), description=connector.description,
                          parameters=function_parameters(connector.arguments), call=call, ref=f"tool:{ref}")]


class ApiRefResolver:
    """``api:<name>``: an HTTP call definition, i.e. a tool instance of the ``http`` connector."""

    prefix = "api"

    async def resolve(self, ref: str, ctx: NodeContext) -> list[AgentTool]:
        bound = await _bound_instance(ctx, ref)
        if bound is None or bound.connector not in HTTP_CONNECTORS:
            raise NodeError(f"tools: 'api:{ref}' names no tool of this workspace with the http connector "
                            "(create one with POST /api/tools {\"connector\": \"http\", …})")
        return [_instance_tool(ctx, bound, f"api:{ref}")]


class WorkflowRefResolver:
    """``workflow:<workflow id>``: a workflow of the same workspace, as a function."""

    prefix = "workflow"

    async def resolve(self, ref: str, ctx: NodeContext) -> list[AgentTool]:
        from pilot.engine.nodes.input import fields_json_schema, input_fields
        from pilot.engine.nodes.subworkflow import create_call, run_child
        from pilot.workflows.calls import called_graph

        deps = ctx.services.engine
        if deps is None or ctx.services.sessions is None:
            raise NodeError(f"tools: 'workflow:{ref}' needs the engine's executor, which this context lacks")
        async with ctx.services.sessions() as session:
            try:
                graph, version, name = await called_graph(session, ctx.workspace_id, ref, None)
            except PilotError as exc:
                raise NodeError(f"tools: 'workflow:{ref}': {exc.detail}") from exc
            description = await _workflow_description(session, ctx.workspace_id, ref)

        async def call(arguments: dict[str, Any]) -> Any:
            child_id = await create_call(ctx, deps, ref, version, arguments)
            return await run_child(ctx, deps, child_id, ref)

        text = description or f"Run the workflow '{name}' and return its outputs."
        return [AgentTool(name=function_name(f"workflow_{name}"), description=text,
                          parameters=fields_json_schema(input_fields(graph.nodes)), call=call, ref=f"workflow:{ref}")]


async def _workflow_description(session: Any, workspace_id: str, workflow_id: str) -> str:
    import sqlalchemy as sa

    from pilot.db.models import WorkflowRow

    return await session.scalar(sa.select(WorkflowRow.description).where(
        WorkflowRow.id == workflow_id, WorkflowRow.workspace_id == workspace_id)) or ""


for _resolver in (ToolRefResolver(), ApiRefResolver(), WorkflowRefResolver()):
    register_resolver(_resolver, replace=True)
