"""Advisory readiness's tool-instance and data-table lookups (pilot.readiness.lookups, on
pilot.db.watched) on a real SQLite database: each reference is read once per TTL per workspace,
a tool created, renamed or deleted and a table created or deleted shows on the very next read,
and writing a table's rows (which updates its row counter) neither empties the table lookups nor
is published to the other processes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from pilot.db import watched
from pilot.db.models import DataTableRow, ToolInstanceRow
from pilot.readiness.lookups import ResourceLookups
from pilot.readiness.resources import missing_resources
from pilot.settings import ToolSettings
from pilot.tables import store as tables
from pilot.tables.schemas import Column, TableCreate
from pilot.tools.registry import default_registry
from pilot.workflows.model import graph_from_builtins
from tests.support.sqlite import two_workspaces


@pytest.fixture
async def db(tmp_path):
    def counted(statement: str) -> bool:
        return statement.startswith("SELECT tool_instances.") or statement.startswith("SELECT data_tables.")

    async with two_workspaces(tmp_path / "r.db", counted) as (sessions, _keys, ids, reads):
        yield sessions, ids, reads


async def _connector(lookups: ResourceLookups, sessions, workspace_id: str, ref: str) -> str | None:
    async with sessions() as session:
        return await lookups.tool_connector(session, workspace_id, ref)


async def _has_table(lookups: ResourceLookups, sessions, workspace_id: str, ref: str) -> bool:
    async with sessions() as session:
        return await lookups.has_table(session, workspace_id, ref)


async def test_a_tool_reference_is_read_once_until_a_tool_changes(db) -> None:
    sessions, ids, reads = db
    acme, globex = ids["acme"], ids["globex"]
    lookups = ResourceLookups(ttl_s=300)
    assert await _connector(lookups, sessions, acme, "crm") is None
    cold = len(reads)
    assert cold == 2  # by id, then by name
    assert await _connector(lookups, sessions, acme, "crm") is None and len(reads) == cold  # cached, absence too

    async with sessions() as session:  # an insert
        row = ToolInstanceRow(workspace_id=acme, name="crm", connector="http")
        session.add(row)
        await session.commit()
        tool_id = row.id
    assert await _connector(lookups, sessions, acme, "crm") == "http"
    assert await _connector(lookups, sessions, acme, tool_id) == "http"
    assert await _connector(lookups, sessions, globex, "crm") is None  # never another workspace's tool
    assert await _connector(lookups, sessions, globex, tool_id) is None

    async with sessions() as session:  # a rename of a loaded row
        row = await session.get(ToolInstanceRow, tool_id)
        row.name = "sales"
        await session.commit()
    assert await _connector(lookups, sessions, acme, "crm") is None
    assert await _connector(lookups, sessions, acme, "sales") == "http"

    async with sessions() as session:  # an ORM delete statement
        await session.execute(sa.delete(ToolInstanceRow).where(ToolInstanceRow.id == tool_id))
        await session.commit()
    assert await _connector(lookups, sessions, acme, "sales") is None


async def test_a_table_reference_is_read_once_until_a_table_is_created_or_deleted(db) -> None:
    sessions, ids, reads = db
    acme, globex = ids["acme"], ids["globex"]
    limits = ToolSettings()
    lookups = ResourceLookups(ttl_s=300)
    published: list[frozenset[str]] = []
    remove = watched.add_publisher(published.append)
    try:
        assert await _has_table(lookups, sessions, acme, "orders") is False
        cold = len(reads)
        assert await _has_table(lookups, sessions, acme, "orders") is False and len(reads) == cold

        async with sessions() as session:  # created: seen at once, and told to the other processes
            await tables.create_table(session, acme, TableCreate(name="orders", columns=[Column(name="data", type="json")]), limits)
            await session.commit()
        assert "data_tables" in published[-1]
        assert await _has_table(lookups, sessions, acme, "orders") is True
        assert await _has_table(lookups, sessions, globex, "orders") is False  # its own entry

        published.clear()
        async with sessions() as session:  # rows written: the table's row_count and updated_at change
            table = await tables.table_row(session, acme, "orders", lock=True)
            await tables.write_rows(session, table, [{"data": {"id": 1}}], "insert", limits)
            await session.commit()
            assert table.row_count == 1
        async with sessions() as session:  # ... or through an ORM update statement
            await session.execute(sa.update(DataTableRow).where(DataTableRow.name == "orders").values(row_count=1))
            await session.commit()
        assert published == []  # no other process is told, and this one keeps its answers
        settled = len(reads)
        assert await _has_table(lookups, sessions, acme, "orders") is True and len(reads) == settled

        async with sessions() as session:  # deleted
            await tables.delete_table(session, acme, "orders")
            await session.commit()
        assert "data_tables" in published[-1]
        assert await _has_table(lookups, sessions, acme, "orders") is False
    finally:
        remove()


async def test_missing_resources_through_the_lookups_answers_as_the_tables_do(db) -> None:
    sessions, ids, reads = db
    acme, globex = ids["acme"], ids["globex"]
    async with sessions() as session:
        session.add_all([ToolInstanceRow(workspace_id=acme, name="crm", connector="http"),
                         ToolInstanceRow(workspace_id=acme, name="mailer", connector="email")])
        await tables.create_table(session, acme, TableCreate(name="orders", columns=[Column(name="data", type="json")]), ToolSettings())
        await session.commit()
    agent = {"id": "agent", "type": "agent", "config": {"model": "gpt-4o", "system": "s", "prompt": "p",
             "tools": ["tool:crm", "api:crm", "api:mailer", "tool:slack", "tool:web_search", "api:nothing"]}}
    saves = [{"id": f"save_{t}", "type": "tool", "config": {"tool": "table", "arguments": {"table": t, "op": "insert", "row": {}}}}
             for t in ("orders", "invoices")]
    graph = graph_from_builtins({"nodes": [agent, *saves]})
    registry = default_registry()
    lookups = ResourceLookups(ttl_s=300)
    async with sessions() as session:
        for workspace_id in (acme, globex):
            tables_answer = await missing_resources(session, workspace_id, graph, registry)
            assert await missing_resources(session, workspace_id, graph, registry, lookups) == tables_answer
        before = len(reads)
        cached = await missing_resources(session, acme, graph, registry, lookups)
        assert len(reads) == before  # every reference answered from the cache
    assert cached.tool_refs == {"api:mailer", "tool:web_search", "api:nothing"}  # mailer: no http/webhook tool; slack: a connector
    assert cached.tables == {"invoices"}
