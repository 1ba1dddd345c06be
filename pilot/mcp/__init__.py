"""MCP (Model Context Protocol), both ways, with the official ``mcp`` SDK.

- client: MCP servers registered per workspace (:mod:`pilot.mcp.registry`, ``/api/mcp-servers``),
  called from ``tool`` nodes (the ``mcp`` connector) and ``agent`` nodes (``mcp:<server>[/<tool>]``),
  see :mod:`pilot.mcp.client` and :mod:`pilot.mcp.tool`;
- server: the workspace's published workflows as MCP tools at ``/mcp`` (:mod:`pilot.mcp.server`).
"""

# Importing the package registers the ``mcp:`` agent resolver (pilot.agents.toolset.RESOLVER_MODULES).
from pilot.mcp import tool as _tool  # noqa: E402,F401
