"""``/api/tools``: the workspace's configured tools (CRUD + a test call) and the connectors.

- ``GET /api/tools/connectors``: the registered connectors, whether each is configured by the
  process settings, and its argument JSON Schema (what ``GET /api/tools`` listed before tool
  instances existed; the listing still carries them as ``connectors``).
- ``GET/POST /api/tools``, ``GET/PUT/DELETE /api/tools/{id}`` (id or name): tool instances
  (:mod:`pilot.tools.instances`).
- ``POST /api/tools/{id}/test``: a real, harmless call (:mod:`pilot.tools.probe`).
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from msgspec import Struct

from pilot.dependencies import CurrentWorkspace, DbSession, RuntimeDep
from pilot.outbound import GuardedHttp
from pilot.tools import instances
from pilot.tools.base import ToolContext, ToolError
from pilot.tools.binding import bind
from pilot.tools.probe import ToolTestResult, probe_tool
from pilot.tools.registry import ToolInfo, default_registry

Limit = Annotated[int, Parameter(ge=1, le=200, description="page size (1..200)")]
Offset = Annotated[int, Parameter(ge=0, le=2**31 - 1)]


class ToolList(Struct, frozen=True):
    items: list[ToolInfo]


class ToolController(Controller):
    """Configured tools of the workspace (a connector + credential reference + defaults)."""

    path = "/api/tools"
    tags = ("tools",)

    @get("/connectors")
    async def list_connectors(self, runtime: RuntimeDep, workspace: CurrentWorkspace) -> ToolList:
        """Connectors a ``tool`` node or a tool instance can use (names, JSON Schema of the arguments)."""
        return ToolList(items=default_registry().describe(runtime.settings))

    @get("/")
    async def list_tools(self, workspace: CurrentWorkspace, runtime: RuntimeDep,
                         limit: FromQuery[Limit] = 50, offset: FromQuery[Offset] = 0) -> instances.ToolInstancePage:
        """The workspace's tool instances by name, plus the available ``connectors`` (cached per
        process until a tool changes: :mod:`pilot.tools.listing`)."""
        items, total = await runtime.tool_listings.page(runtime.sessions, workspace.id, limit=limit, offset=offset)
        return instances.ToolInstancePage(items=items, total=total, limit=limit, offset=offset,
                                          connectors=default_registry().describe(runtime.settings))

    @post("/")
    async def create_tool(self, data: JSONBody[instances.ToolInstanceCreate], db: DbSession,
                          workspace: CurrentWorkspace) -> instances.ToolInstance:
        """Configure a tool (name unique in the workspace: 409 otherwise)."""
        return await instances.create(db, workspace.id, data, default_registry())

    @get("/{tool_id:str}")
    async def get_tool(self, tool_id: FromPath[str], db: DbSession, workspace: CurrentWorkspace) -> instances.ToolInstance:
        """One tool instance, by id or name."""
        return instances.to_instance(await instances.get_row(db, workspace.id, tool_id))

    @put("/{tool_id:str}")
    async def update_tool(self, tool_id: FromPath[str], data: JSONBody[instances.ToolInstanceUpdate], db: DbSession,
                          workspace: CurrentWorkspace) -> instances.ToolInstance:
        """Change a tool instance; fields left out keep their value (the connector is fixed)."""
        return await instances.update(db, workspace.id, tool_id, data, default_registry())

    @delete("/{tool_id:str}")
    async def delete_tool(self, tool_id: FromPath[str], db: DbSession, workspace: CurrentWorkspace) -> None:
        """Delete a tool instance; agents referring to it fail from their next run on, naming it."""
        await instances.delete(db, workspace.id, tool_id)

    @post("/{tool_id:str}/test", status_code=200)
    async def test_tool(self, tool_id: FromPath[str], db: DbSession, workspace: CurrentWorkspace,
                        runtime: RuntimeDep) -> ToolTestResult:
        """Make a real, harmless call (HTTP HEAD, bot ping, SMTP NOOP): ``{ok, detail, elapsed_ms}``."""
        row = await instances.get_row(db, workspace.id, tool_id)
        services = runtime.engine_services
        http = services.http if services is not None and services.http is not None else GuardedHttp(runtime.settings.engine)
        try:
            bound = await bind(db, runtime.settings, default_registry(), row)
        except ToolError as exc:
            return ToolTestResult(ok=False, detail=exc.message, elapsed_ms=0.0, tool=row.name, connector=row.connector)
        return await probe_tool(bound, ToolContext(settings=runtime.settings, http=http, workspace_id=workspace.id,
                                                     sessions=runtime.sessions))
