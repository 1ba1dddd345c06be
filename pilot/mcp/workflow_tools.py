"""πlot's workflows as MCP tools: the SDK's low-level server behind ``/mcp`` (:mod:`pilot.mcp.server`).

Tools: one per workflow that has a published version (the published head, as a ``workflow``
node would run it). Name ``<workflow name as an identifier>_<first 8 hex of its id>`` (stable,
unique, ``^[A-Za-z0-9_-]{1,64}$``); description = the workflow's description (or name); input
schema = the input node's fields as JSON Schema. Calling a tool starts a run of that version
through :meth:`pilot.engine.service.RunService.start` (trigger ``mcp``; inputs validated the same
way: a bad input is a tool error naming the field) and waits up to ``PILOT_MCP_RUN_TIMEOUT_S``
for it to end: its outputs come back as structured content (and JSON text); a failed or
cancelled run, or one still running at the deadline, is a tool error with the execution id.

Imported by the first ``/mcp`` request, not at app creation: the SDK costs ~0.25 s to import.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from typing import Any

import sqlalchemy as sa
from mcp import types
from mcp.server.lowlevel import Server
from mcp.server.lowlevel.server import request_ctx
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

from pilot import __version__
from pilot.auth.service import Workspace
from pilot.core.errors import PilotError
from pilot.core.redaction import redact_value
from pilot.db.models import ExecutionRow, WorkflowRow, WorkflowVersionRow
from pilot.engine.nodes.input import fields_json_schema, input_fields
from pilot.events.schemas import TERMINAL_RUN_STATUSES
from pilot.mcp.server import SCOPE_KEY
from pilot.workflows.calls import called_graph

log = logging.getLogger("pilot.mcp")

MAX_TOOLS = 500


def tool_name(name: str, workflow_id: str) -> str:
    """``<name as identifier>_<8 hex of the id>``: readable for a model, unique per workflow."""
    slug = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").lower()[:48] or "workflow"
    return f"{slug}_{workflow_id.removeprefix('wf_')[:8]}"


async def published_tools(runtime: Any, workspace_id: str) -> dict[str, tuple[types.Tool, str, int]]:
    """``tool name → (tool, workflow id, published version)`` for the workspace."""
    published = sa.select(WorkflowVersionRow.workflow_id).where(WorkflowVersionRow.status == "published")
    out: dict[str, tuple[types.Tool, str, int]] = {}
    async with runtime.sessions() as session:
        rows = (await session.scalars(
            sa.select(WorkflowRow).where(WorkflowRow.workspace_id == workspace_id, sa.or_(
                WorkflowRow.status == "published", WorkflowRow.id.in_(published)))
            .order_by(WorkflowRow.name, WorkflowRow.id).limit(MAX_TOOLS)
        )).all()
        for row in rows:
            try:
                graph, version, _ = await called_graph(session, workspace_id, row.id, None)
            except PilotError:  # unpublished since (no published head): not a tool
                continue
            name = tool_name(row.name, row.id)
            description = (row.description or row.name).strip() + f" (πlot workflow {row.id}, version {version})"
            out[name] = (types.Tool(name=name, title=row.name, description=description, inputSchema=fields_json_schema(input_fields(graph.nodes))), row.id, version)
    return out


def _context() -> tuple[Any, Workspace]:
    request = request_ctx.get().request
    return request.scope[SCOPE_KEY]


def _error(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], isError=True)


async def _wait(runtime: Any, execution_id: str, timeout_s: float) -> ExecutionRow | None:
    deadline = time.monotonic() + timeout_s
    delay = 0.02
    while time.monotonic() < deadline:
        async with runtime.sessions() as session:
            row = await session.get(ExecutionRow, execution_id)
        if row is not None and row.status in TERMINAL_RUN_STATUSES:
            return row
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 0.5)
    return None


async def run_workflow_tool(runtime: Any, workspace: Workspace, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
    """Start the tool's workflow, wait for the run, and answer with its outputs (or a tool error)."""
    tools = await published_tools(runtime, workspace.id)
    if name not in tools:
        return _error(f"unknown tool {name!r}: this workspace has no published workflow with that tool name")
    _, workflow_id, version = tools[name]
    if "\\u0000" in json.dumps(arguments):
        return _error("arguments must not contain NUL (\\u0000) characters")
    try:
        async with runtime.sessions() as session:
            started = await runtime.runs.start(session, workspace.id, workflow_id, arguments, trigger="mcp", version=version)
    except PilotError as exc:
        return _error(f"the run could not start: {redact_value(exc.detail)}")
    row = await _wait(runtime, started.execution_id, runtime.settings.tools.mcp_run_timeout_s)
    if row is None:
        return _error(f"execution {started.execution_id} is still running after {runtime.settings.tools.mcp_run_timeout_s:g}s "
                      f"(follow it at {started.stream_url})")
    if row.status != "succeeded":
        return _error(f"execution {row.id} {row.status}: {row.error or 'no error message'}")
    outputs = redact_value(row.outputs or {})
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=json.dumps(outputs, ensure_ascii=False, default=str))],
        structuredContent=outputs if isinstance(outputs, dict) else {"result": outputs},
        isError=False,
        _meta={"pilot/execution_id": row.id},
    )


def build_server() -> Server:
    """The low-level MCP server; its handlers read the authenticated workspace from the request."""
    server: Server = Server("pilot", version=__version__, instructions="Run πlot workflows: each tool is a published workflow.")

    async def list_tools(_req: types.ListToolsRequest) -> types.ServerResult:
        runtime, workspace = _context()
        tools = await published_tools(runtime, workspace.id)
        return types.ServerResult(types.ListToolsResult(tools=[t for t, _, _ in tools.values()]))

    async def call_tool(req: types.CallToolRequest) -> types.ServerResult:
        runtime, workspace = _context()
        try:
            result = await run_workflow_tool(runtime, workspace, req.params.name, dict(req.params.arguments or {}))
        except Exception as exc:  # noqa: BLE001 - a tool error for the client, logged here
            log.exception("MCP call of %r failed", req.params.name)
            result = _error(f"internal error: {type(exc).__name__}")
        return types.ServerResult(result)

    # Registered directly (not through the decorators) so that no tool cache is shared across
    # workspaces: every list and call reads the caller's own workflows.
    server.request_handlers[types.ListToolsRequest] = list_tools
    server.request_handlers[types.CallToolRequest] = call_tool
    return server


def session_manager(max_body_bytes: int) -> StreamableHTTPSessionManager:
    """The streamable HTTP transport (stateless, JSON responses) over :func:`build_server`."""
    return StreamableHTTPSessionManager(app=build_server(), json_response=True, stateless=True,
                                        max_request_body_size=max_body_bytes)
