"""What a request costs in database reads once its key is cached: none to authenticate, and
opening the stream of a finished run is one read (ownership check and replay together)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from tests.support.workflows import workflow_body


@contextmanager
def statements(client, needle: str) -> Iterator[list[str]]:
    """The SQL statements the app runs meanwhile whose text or parameters mention ``needle``
    (background loops such as the scheduler run their own, unrelated statements)."""
    seen: list[str] = []
    engine = client.app.state.runtime.engine.sync_engine

    def record(_conn, _cursor, statement, parameters, *_args) -> None:
        if needle in statement or needle in str(parameters):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


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
