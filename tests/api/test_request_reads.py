"""What a request costs in database reads once its key is cached: none to authenticate, opening
the stream of a finished run is one read (ownership check and replay together), and a repeated
generate reads none of the workspace's knowledge bases, tools or tables (advisory caches that
still see every change at once)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy import event

from pilot.db.models import KnowledgeChunkRow, KnowledgeDocumentRow
from tests.support.workflows import workflow_body


@contextmanager
def _recorded(client, keep: Callable[[str, object], bool]) -> Iterator[list[str]]:
    """The SQL statements the app runs meanwhile that ``keep(statement, parameters)`` accepts."""
    seen: list[str] = []
    engine = client.app.state.runtime.engine.sync_engine

    def record(_conn, _cursor, statement, parameters, *_args) -> None:
        if keep(statement, parameters):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def statements(client, needle: str):
    """The statements whose text or parameters mention ``needle`` (background loops such as the
    scheduler run their own, unrelated statements)."""
    return _recorded(client, lambda statement, parameters: needle in statement or needle in str(parameters))


async def test_a_cached_key_costs_no_database_read(client, api):
    assert (await api.get("/api/tools/connectors")).status_code == 200
    with statements(client, "api_keys") as seen:
        for _ in range(3):
            assert (await api.get("/api/tools/connectors")).status_code == 200
    assert seen == []


async def test_opening_a_finished_run_stream_is_one_read(client, api, other_api):
    wid = (await api.post("/api/workflows", json=workflow_body())).json()["id"]
    run = await api.post(f"/api/workflows/{wid}/execute", json={"input_data": {"topic": "reads"}})
    execution_id = run.json()["execution_id"]
    for _ in range(200):
        if (await api.get(f"/api/executions/{execution_id}")).json()["status"] == "succeeded":
            break
        await asyncio.sleep(0.05)
    url = f"/api/executions/{execution_id}/stream"
    full = await api.get(url)
    with statements(client, execution_id) as seen:
        again = await api.get(url)
        tail = await api.get(url, headers={"Last-Event-ID": "2"})
    assert len(seen) == 2, seen  # one per open
    assert again.status_code == 200 and again.headers["content-type"].startswith("text/event-stream")
    assert again.text == full.text  # the same replay every time
    blocks = [b for b in again.text.split("\r\n\r\n") if b.strip()]
    assert blocks[0].startswith("id: 1\r\nevent: run.started") and "event: run.finished" in blocks[-1]
    assert tail.text == "".join(b + "\r\n\r\n" for b in blocks[2:])  # exactly what came after id 2
    # another workspace: the same 404 as for a missing execution
    denied = await other_api.get(url)
    assert denied.status_code == 404 and denied.json()["detail"] == f"execution {execution_id!r} not found"


# ---------------------------------------------------------------- generate: the workspace's knowledge, tools, tables

KNOWLEDGE_PROMPT = "Answer customer questions using our product manual and reply by email"
AGENT_PROMPT = "A research agent that uses a web search tool and a currency conversion API tool to answer questions"
STORAGE_PROMPT = "Save every processed order to a database"
ADVISORY_TABLES = ("knowledge_bases", "knowledge_documents", "tool_instances", "data_tables")


def reads_of(client, tables: tuple[str, ...]):
    """The SELECTs the app runs meanwhile that read one of ``tables``."""
    return _recorded(client, lambda statement, _parameters: statement.lstrip().upper().startswith("SELECT")
                     and any(t in statement for t in tables))


async def _generate(api, prompt: str) -> dict:
    response = await api.post("/api/workflows/generate", json={"prompt": prompt})
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_repeated_generate_reads_no_knowledge_tool_or_table(client, api):
    await api.post("/api/knowledge-bases", json={"name": "drafts"})  # a base: its documents are counted too
    bodies = {}
    with reads_of(client, ADVISORY_TABLES) as cold:
        for prompt in (KNOWLEDGE_PROMPT, AGENT_PROMPT, STORAGE_PROMPT):
            bodies[prompt] = await _generate(api, prompt)
    # the graphs need all four lookups, and the first requests made them
    nodes = [n for body in bodies.values() for n in body["workflow"]["nodes"]]
    assert {"knowledge", "agent", "loop"} <= {n["type"] for n in nodes}
    assert {t for t in ADVISORY_TABLES if any(t in s for s in cold)} == set(ADVISORY_TABLES), cold
    with reads_of(client, ADVISORY_TABLES) as warm:
        for prompt in (KNOWLEDGE_PROMPT, AGENT_PROMPT, STORAGE_PROMPT):
            again = await _generate(api, prompt)
            assert again["readiness"] == bodies[prompt]["readiness"]
    assert warm == []


def _knowledge_items(body: dict) -> list[tuple[str, str]]:
    return [(i["name"], i["message"]) for i in body["items"] if i["kind"] == "knowledge_base"]


async def _check(api, prompt: str) -> tuple[str, list[tuple[str, str]]]:
    """Generate: the knowledge step's base and the report's knowledge items, which must be what
    ``GET …/readiness`` (reading the tables, never the caches) says of the saved workflow."""
    body = await _generate(api, prompt)
    [step] = [n for n in body["workflow"]["nodes"] if n["type"] == "knowledge"]
    items = _knowledge_items(body["readiness"])
    assert items == _knowledge_items((await api.get(f"/api/workflows/{body['workflow_id']}/readiness")).json())
    return step["config"]["knowledge_base"], items


async def test_generate_sees_knowledge_changes_at_once_and_only_its_workspace(client, api, other_api):
    named, items = await _check(api, KNOWLEDGE_PROMPT)  # the base the compiler names, missing
    assert [name for name, _ in items] == [named] and "does not exist" in items[0][1]
    assert await _check(other_api, KNOWLEDGE_PROMPT) == (named, items)

    kb = (await api.post("/api/knowledge-bases", json={"name": named})).json()
    base, items = await _check(api, KNOWLEDGE_PROMPT)  # created without documents: empty
    assert base == named and len(items) == 1 and "has no documents" in items[0][1]

    added = await api.post(f"/api/knowledge-bases/{kb['id']}/documents", json={"title": "Setup", "content": "Plug it in."})
    assert added.status_code == 201, added.text
    assert await _check(api, KNOWLEDGE_PROMPT) == (named, [])  # usable
    other, items = await _check(other_api, KNOWLEDGE_PROMPT)  # another workspace never sees it
    assert other == named and "does not exist" in items[0][1]

    async with client.app.state.runtime.sessions() as session:  # its last document deleted (no API does that yet)
        doc = await session.scalar(sa.select(KnowledgeDocumentRow).where(KnowledgeDocumentRow.knowledge_base_id == kb["id"]))
        await session.execute(sa.delete(KnowledgeChunkRow).where(KnowledgeChunkRow.document_id == doc.id))
        await session.delete(doc)
        await session.commit()
    base, items = await _check(api, KNOWLEDGE_PROMPT)
    assert base == named and "has no documents" in items[0][1]

    assert (await api.delete(f"/api/knowledge-bases/{kb['id']}")).status_code in (200, 204)
    base, items = await _check(api, KNOWLEDGE_PROMPT)  # deleted: missing again
    assert base == named and "does not exist" in items[0][1]

    fitting = (await api.post("/api/knowledge-bases", json={"name": "acme-product-manual", "description": "the product manual"})).json()
    await api.post(f"/api/knowledge-bases/{fitting['id']}/documents", json={"title": "Setup", "content": "Plug it in."})
    assert await _check(api, KNOWLEDGE_PROMPT) == ("acme-product-manual", [])  # the step fitted to a base with documents
    assert (await api.delete(f"/api/knowledge-bases/{fitting['id']}")).status_code in (200, 204)
    base, items = await _check(api, KNOWLEDGE_PROMPT)
    assert base == named and "does not exist" in items[0][1]


async def test_generate_sees_a_new_tool_and_table_at_once(api):
    body = await _generate(api, AGENT_PROMPT)
    assert {i["name"] for i in body["readiness"]["items"] if i["kind"] == "tool_config"} == {"web_search", "currency_conversion_api"}
    await api.post("/api/tools", json={"name": "web_search", "connector": "http", "defaults": {"url": "https://example.com/s"}})
    body = await _generate(api, AGENT_PROMPT)
    assert {i["name"] for i in body["readiness"]["items"] if i["kind"] == "tool_config"} == {"currency_conversion_api"}

    body = await _generate(api, STORAGE_PROMPT)
    assert [i["name"] for i in body["readiness"]["items"] if i["kind"] == "table"] == ["processed_orders"]
    created = await api.post("/api/tables", json={"name": "processed_orders", "columns": [{"name": "data", "type": "json"}]})
    assert created.status_code == 201, created.text
    body = await _generate(api, STORAGE_PROMPT)
    assert not [i for i in body["readiness"]["items"] if i["kind"] == "table"]
    assert (await api.delete("/api/tables/processed_orders")).status_code in (200, 204)
    body = await _generate(api, STORAGE_PROMPT)
    assert [i["name"] for i in body["readiness"]["items"] if i["kind"] == "table"] == ["processed_orders"]


async def test_publishing_and_get_readiness_read_the_tables_not_the_caches(client, api):
    """Raw SQL bypasses the caches' hooks (pilot.db.watched): the advisory report may lag within the
    TTL, but the readiness endpoint and publishing see the change at once."""
    kb = (await api.post("/api/knowledge-bases", json={"name": "acme-product-manual", "description": "the product manual"})).json()
    await api.post(f"/api/knowledge-bases/{kb['id']}/documents", json={"title": "Setup", "content": "Plug it in."})
    body = await _generate(api, KNOWLEDGE_PROMPT)
    assert not _knowledge_items(body["readiness"])
    async with client.app.state.runtime.sessions() as session:
        for table in ("knowledge_chunks", "knowledge_documents"):
            await session.execute(sa.text(f"DELETE FROM {table} WHERE knowledge_base_id = :kb"), {"kb": kb["id"]})
        await session.commit()
    assert not _knowledge_items((await _generate(api, KNOWLEDGE_PROMPT))["readiness"])  # cached (within the TTL)
    wid = body["workflow_id"]
    assert ["acme-product-manual"] == [n for n, _ in _knowledge_items((await api.get(f"/api/workflows/{wid}/readiness")).json())]
    refused = await api.post(f"/api/workflows/{wid}/publish")
    assert refused.status_code == 409 and ("knowledge_base", "acme-product-manual") in [(i["kind"], i["name"]) for i in refused.json()["extra"]]
