"""``GET /api/tools``: the registered tools, whether each is configured, and its argument schema."""

from __future__ import annotations

from litestar import get
from msgspec import Struct

from pilot.dependencies import CurrentWorkspace, RuntimeDep
from pilot.tools.registry import ToolInfo, default_registry


class ToolList(Struct, frozen=True):
    items: list[ToolInfo]


@get("/api/tools", tags=["tools"])
async def list_tools(runtime: RuntimeDep, workspace: CurrentWorkspace) -> ToolList:
    """Tools a ``tool`` node can call (names for ``config.tool``, JSON Schema for ``config.arguments``)."""
    return ToolList(items=default_registry().describe(runtime.settings))
