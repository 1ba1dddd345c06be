"""HTTP API of MCP servers: ``/api/mcp-servers`` (workspace-scoped), their tools and a connection test."""

from __future__ import annotations

import time
from typing import Annotated

from litestar import Controller, delete, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from pilot.core.errors import PilotError
from pilot.dependencies import CurrentWorkspace, DbSession, RuntimeDep
from pilot.mcp import client, registry
from pilot.mcp.client import Guard, McpFailure
from pilot.mcp.schemas import McpServer, McpServerCreate, McpServerPage, McpServerUpdate, McpTestResult, McpToolInfo, McpToolList
from pilot.outbound import GuardedHttp

Limit = Annotated[int, Parameter(ge=1, le=200, description="page size (1..200)")]
Offset = Annotated[int, Parameter(ge=0, le=2**31 - 1)]


class McpBadGateway(PilotError):
    """The MCP server could not be reached or answered with an error (502)."""

    status_code = 502
    default_detail = "the MCP server failed"


def _guard(runtime) -> Guard:
    services = getattr(runtime, "engine_services", None)
    http = getattr(services, "http", None) or GuardedHttp(runtime.settings.engine)
    return Guard.of(http)


class McpServerController(Controller):
    """MCP servers a workspace's ``tool`` and ``agent`` nodes can call (``mcp`` tool, ``mcp:<id>`` references)."""

    path = "/api/mcp-servers"
    tags = ("mcp",)

    @post("/")
    async def create_server(self, data: JSONBody[McpServerCreate], db: DbSession, workspace: CurrentWorkspace, runtime: RuntimeDep) -> McpServer:
        """Register a server (201; name unique per workspace). Nothing is contacted: see ``/test``."""
        return await registry.create_server(db, workspace.id, data, runtime.settings)

    @get("/")
    async def list_servers(
        self, db: DbSession, workspace: CurrentWorkspace, limit: FromQuery[Limit] = 50, offset: FromQuery[Offset] = 0,
    ) -> McpServerPage:
        """The workspace's MCP servers by name (credential names only, never values)."""
        items, total = await registry.list_servers(db, workspace.id, limit=limit, offset=offset)
        return McpServerPage(items=items, total=total, limit=limit, offset=offset)

    @get("/{server_id:str}")
    async def get_server(self, server_id: FromPath[str], db: DbSession, workspace: CurrentWorkspace) -> McpServer:
        """One server, by id or name."""
        return await registry.get_server(db, workspace.id, server_id)

    @put("/{server_id:str}")
    async def update_server(
        self, server_id: FromPath[str], data: JSONBody[McpServerUpdate], db: DbSession, workspace: CurrentWorkspace, runtime: RuntimeDep,
    ) -> McpServer:
        """Change any field (fields left out are kept)."""
        return await registry.update_server(db, workspace.id, server_id, data, runtime.settings)

    @delete("/{server_id:str}", status_code=204)
    async def delete_server(self, server_id: FromPath[str], db: DbSession, workspace: CurrentWorkspace) -> None:
        """Remove a server; nodes that use it fail from their next call, naming it."""
        await registry.delete_server(db, workspace.id, server_id)

    @get("/{server_id:str}/tools")
    async def list_tools(self, server_id: FromPath[str], db: DbSession, workspace: CurrentWorkspace, runtime: RuntimeDep) -> McpToolList:
        """Connect and list the server's tools (502 naming the problem when it cannot)."""
        try:
            row, spec = await registry.server_spec(db, runtime.settings, workspace.id, server_id)
            await db.commit()  # no transaction held while the server answers
            _, tools = await client.list_tools(spec, _guard(runtime))
        except McpFailure as exc:
            raise McpBadGateway(exc.message) from None
        return McpToolList(server_id=row.id, items=[
            McpToolInfo(name=t.name, description=t.description or "", input_schema=dict(t.inputSchema or {})) for t in tools
        ])

    @post("/{server_id:str}/test", status_code=200)
    async def test_server(self, server_id: FromPath[str], db: DbSession, workspace: CurrentWorkspace, runtime: RuntimeDep) -> McpTestResult:
        """Connect, initialize and list tools: ``{ok, elapsed_ms, server_name, protocol_version,
        tools}`` or ``{ok: false, error}`` (200 either way; 404 for an unknown server)."""
        started = time.perf_counter()
        try:
            _, spec = await registry.server_spec(db, runtime.settings, workspace.id, server_id)
            await db.commit()
            init, tools = await client.list_tools(spec, _guard(runtime))
        except McpFailure as exc:
            return McpTestResult(ok=False, elapsed_ms=round((time.perf_counter() - started) * 1000, 1), error=exc.message)
        return McpTestResult(
            ok=True, elapsed_ms=round((time.perf_counter() - started) * 1000, 1), server_name=init.serverInfo.name,
            server_version=init.serverInfo.version, protocol_version=str(init.protocolVersion), tools=[t.name for t in tools],
        )
