"""The ``table`` tool in real runs over the API on a uvicorn socket (SQLite and PostgreSQL): a
"skip customers we already contacted" workflow (find by key → condition → upsert), update and
delete by filter, a type error failing the node naming the column, tenancy (another workspace's
table is "not found" to the tool), and the ``table:`` agent functions."""

from __future__ import annotations

import pytest

from pilot.agents.toolset import RESOLVERS
from tests.support.node_ctx import make_ctx, services
from tests.support.runs import RunClient, edge, finished, node

pytestmark = pytest.mark.asyncio(loop_scope="session")

TABLE = {"name": "contacted", "columns": [
    {"name": "email", "type": "string"}, {"name": "name", "type": "string"}, {"name": "visits", "type": "integer"},
], "key_columns": ["email"]}


async def _table(rc: RunClient) -> str:
    r = await rc.http.post("/api/tables", json=TABLE)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _contact_flow(table: str) -> tuple[list[dict], list[dict]]:
    """input(email, name) → find by key → new? → upsert (visits 1) → output; else → output 'skipped'."""
    nodes = [
        node("start", "input", fields=[{"name": "email"}, {"name": "name"}]),
        node("seen", "tool", tool="table", arguments={"table": table, "op": "find", "key": {"email": "{{ inputs.email }}"}}),
        node("check", "condition", cases=[{"id": "new", "when": "nodes.seen.output.count == 0"}]),
        node("save", "tool", tool="table", arguments={"table": table, "op": "upsert", "row": {
            "email": "{{ inputs.email }}", "name": "{{ inputs.name }}", "visits": 1}}),
        node("done", "output", outputs={"saved": "{{ nodes.save.output.inserted }}"}),
        node("skip", "output", outputs={"skipped": "{{ nodes.seen.output.rows[0].name }}"}),
    ]
    edges = [edge("start", "seen"), edge("seen", "check"), edge("check", "save", "new"), edge("check", "skip", "else"),
             edge("save", "done")]
    return nodes, edges


async def test_skip_customers_already_contacted(rc: RunClient) -> None:
    table = await _table(rc)
    nodes, edges = _contact_flow(table)
    workflow_id = await rc.workflow(nodes, edges)
    first = await rc.events(await rc.start(workflow_id, {"email": "ada@example.com", "name": "Ada"}))
    assert first[-1][2]["status"] == "succeeded", first[-1]
    assert first[-1][2]["outputs"] == {"saved": 1}
    again = await rc.events(await rc.start(workflow_id, {"email": "ada@example.com", "name": "Ada again"}))
    assert again[-1][2]["outputs"] == {"skipped": "Ada"}
    assert finished(again)["save"]["status"] == "skipped"
    rows = (await rc.http.get(f"/api/tables/{table}/rows")).json()["items"]
    assert [(r["email"], r["name"], r["visits"]) for r in rows] == [("ada@example.com", "Ada", 1)]


async def test_insert_update_delete_in_one_run(rc: RunClient) -> None:
    table = await _table(rc)
    nodes = [
        node("add", "tool", tool="table", arguments={"table": "contacted", "op": "insert", "rows": [
            {"email": "a@x.io", "name": "A", "visits": 1}, {"email": "b@x.io", "name": "B", "visits": 5}]}),
        node("bump", "tool", tool="table", arguments={"table": "contacted", "op": "update", "filter": {"visits": {"gte": 5}},
                                                      "set": {"visits": 6}}),
        node("drop", "tool", tool="table", arguments={"table": "contacted", "op": "delete", "key": {"email": "a@x.io"}}),
        node("left", "tool", tool="table", arguments={"table": "contacted", "op": "find", "filter": {"name": {"in": ["A", "B"]}}}),
    ]
    edges = [edge("add", "bump"), edge("bump", "drop"), edge("drop", "left")]
    _, events = await rc.run(nodes, edges)
    assert events[-1][2]["status"] == "succeeded", events[-1]
    done = finished(events)
    assert done["add"]["output"]["inserted"] == 2
    assert done["bump"]["output"] == {"updated": 1}
    assert done["drop"]["output"] == {"deleted": 1}
    assert [(r["email"], r["visits"]) for r in done["left"]["output"]["rows"]] == [("b@x.io", 6)]
    assert (await rc.http.get(f"/api/tables/{table}")).json()["row_count"] == 1


async def test_type_error_fails_the_node_naming_the_column(rc: RunClient) -> None:
    await _table(rc)
    nodes = [node("add", "tool", tool="table", arguments={"table": "contacted", "op": "insert", "row": {
        "email": "a@x.io", "visits": "many"}})]
    _, events = await rc.run(nodes, [])
    failed = [d for _, e, d in events if e == "node.failed"]
    assert failed and "rows[0].visits" in failed[0]["error"] and "expects integer" in failed[0]["error"], failed
    assert events[-1][2]["status"] == "failed"


async def test_another_workspaces_table_is_not_found_to_the_tool(rc: RunClient, live_server) -> None:
    table = await _table(rc)
    await rc.http.post(f"/api/tables/{table}/rows", json={"rows": [{"email": "secret@x.io", "name": "S", "visits": 1}]})
    other = RunClient(live_server.url, await live_server.new_key())
    try:
        for op, extra in (("find", {}), ("insert", {"row": {"email": "e@x.io"}}), ("delete", {"filter": {"visits": 1}})):
            _, events = await other.run([node("peek", "tool", tool="table", arguments={"table": table, "op": op, **extra})], [])
            failed = [d for _, e, d in events if e == "node.failed"]
            assert failed and f"table '{table}' not found" in failed[0]["error"], (op, failed)
        assert (await other.http.get(f"/api/tables/{table}/rows")).status_code == 404
    finally:
        await other.aclose()
    rows = (await rc.http.get(f"/api/tables/{table}/rows")).json()["items"]
    assert [r["email"] for r in rows] == ["secret@x.io"]  # nothing written or deleted by the other workspace


async def test_agent_functions_of_a_table(rc: RunClient, live_server) -> None:
    """``table:<id>`` resolves to one function per operation, with the columns in the schemas,
    and the functions read and write the table; another workspace's table does not resolve."""
    from pilot.engine.errors import NodeError

    table = await _table(rc)
    runtime = live_server.app.state.runtime
    workspace_id = await _workspace_of(runtime, table)
    svc = services(runtime.settings, sessions=runtime.sessions)
    ctx = make_ctx({"type": "agent", "config": {"prompt": "x", "tools": [f"table:{table}"]}}, svc, workspace_id=workspace_id)
    import pilot.tables  # noqa: F401 - registers the resolver

    tools = {t.name: t for t in await RESOLVERS["table"].resolve(table, ctx)}
    assert sorted(tools) == ["contacted_delete", "contacted_find", "contacted_insert", "contacted_update", "contacted_upsert"]
    insert = tools["contacted_insert"].parameters["properties"]["rows"]["items"]
    assert insert["properties"]["visits"] == {"type": "integer"} and insert["required"] == ["email"]
    assert (await tools["contacted_upsert"].call({"rows": [{"email": "z@x.io", "visits": 2}]}))["inserted"] == 1
    found = await tools["contacted_find"].call({"filter": {"visits": {"gt": 1}}})
    assert [r["email"] for r in found["rows"]] == ["z@x.io"]
    foreign = make_ctx({"type": "agent", "config": {"prompt": "x"}}, svc, workspace_id="ws_someone_else")
    with pytest.raises(NodeError, match="not found"):
        await RESOLVERS["table"].resolve(table, foreign)


async def _workspace_of(runtime, table_id: str) -> str:
    from pilot.db.models import DataTableRow

    async with runtime.sessions() as session:
        return (await session.get(DataTableRow, table_id)).workspace_id
