"""Readiness of what agent and table steps use from the workspace (used by :mod:`pilot.readiness.service`):

- ``tool_config`` (``agent_tool_missing``): an ``agent`` node's ``tool:<name>`` reference that no
  tool instance of the workspace (by id or name, ``/api/tools``) and no connector answers, or an
  ``api:<name>`` that is no ``http``/``webhook`` tool instance. The run would fail the node naming
  it (:mod:`pilot.agents.resolvers`); readiness asks for a tool of that name. The plan compiler
  names an agent's tools this way (``tool:web_search``, ``tool:currency_conversion_api``).
- ``table`` (``table_missing``): a ``tool`` node of the ``table`` connector whose literal
  ``table`` is no data table of the workspace. The table tool does not create tables, so the
  item names the columns the node writes (``data`` json, ``key`` string as the key column of an
  upsert: the shape the plan compiler gives "save it to a database").

Both block publishing. Templated names (``{{ … }}``) are decided at run time and not checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from pilot.readiness.lookups import ResourceLookups, has_table, tool_connector
from pilot.tools.binding import HTTP_CONNECTORS
from pilot.tools.registry import ToolRegistry
from pilot.workflows.model import Node, WorkflowGraph, node_type
from pilot.workflows.validation import iter_all_nodes

CHECKED_PREFIXES = ("tool", "api")


@dataclass
class Missing:
    """The agent tool references (``tool:x``) and data tables the workspace does not have."""

    tool_refs: set[str] = field(default_factory=set)
    tables: set[str] = field(default_factory=set)


def _literal(text: Any) -> bool:
    return isinstance(text, str) and bool(text.strip()) and "{{" not in text and "{%" not in text


def _agent_refs(node: Node) -> list[str]:
    refs = [] if node_type(node) != "agent" else list(node.config.tools)
    return [r for r in refs if r.partition(":")[0] in CHECKED_PREFIXES and _literal(r.partition(":")[2])]


def _table_ref(node: Node) -> str | None:
    if node_type(node) != "tool" or node.config.tool != "table":
        return None
    table = node.config.arguments.get("table")
    return table.strip() if _literal(table) else None


async def missing_resources(session: AsyncSession, workspace_id: str, graph: WorkflowGraph,
                            registry: ToolRegistry, lookups: ResourceLookups | None = None) -> Missing:
    """The graph's agent tool references and data tables the workspace lacks; with ``lookups``
    (advisory reports only) its tool instances and tables are looked up through that cache."""
    missing = Missing()
    refs = {r for n in iter_all_nodes(graph) for r in _agent_refs(n)}
    tables = {t for n in iter_all_nodes(graph) if (t := _table_ref(n))}
    connectors = set(registry.names())
    for ref in sorted(refs):
        prefix, _, name = ref.partition(":")
        if prefix == "tool" and name in connectors:  # a connector answers it whether or not an instance does
            continue
        connector = await (lookups.tool_connector(session, workspace_id, name) if lookups is not None
                           else tool_connector(session, workspace_id, name))
        if (prefix == "tool" and connector is None and name not in registry.names()) or (
                prefix == "api" and connector not in HTTP_CONNECTORS):
            missing.tool_refs.add(ref)
    for table in sorted(tables):
        if not await (lookups.has_table(session, workspace_id, table) if lookups is not None
                      else has_table(session, workspace_id, table)):
            missing.tables.add(table)
    return missing


def _columns(arguments: dict[str, Any]) -> str:
    row = arguments.get("row")
    rows = arguments.get("rows")
    sample = row if isinstance(row, dict) else rows[0] if isinstance(rows, list) and rows and isinstance(rows[0], dict) else {}
    keyed = arguments.get("op") == "upsert"
    parts = [f"{name} (string, key column)" if keyed and name == "key" else f"{name} (json)" for name in sample]
    return ", ".join(parts) or "the ones it reads and writes"


def resource_items(node: Node, missing: Missing) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """``(kind, message key, name, values)`` for each missing agent tool or data table of ``node``."""
    for ref in _agent_refs(node):
        if ref in missing.tool_refs:
            prefix, _, name = ref.partition(":")
            yield "tool_config", f"agent_{prefix}_missing", name, {"ref": ref}
    table = _table_ref(node)
    if table is not None and table in missing.tables:
        yield "table", "table_missing", table, {"columns": _columns(node.config.arguments)}
