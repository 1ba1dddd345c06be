"""The run stream over a real socket: wire format, resume with Last-Event-ID (nothing lost or
duplicated), full replay after the end, pings, clean end on server shutdown."""

from __future__ import annotations

import asyncio
import signal

import httpx
import pytest

from pilot.app import create_app
from tests.conftest import build_settings, new_workspace_key
from tests.support.runs import RunClient, edge, node
from tests.support.scripted import tool
from tests.support.servers import serve_in_thread

pytestmark = pytest.mark.asyncio(loop_scope="session")


def busy_graph(items: int = 12, sleep: float = 0.03):
    body = {"nodes": [tool("work", sleep=sleep)], "edges": []}
    nodes = [
        node("start", "input"),
        node("each", "loop", items=f"range({items}) | list", body=body, max_concurrency=2),
        node("out", "output", outputs={"n": "{{ nodes.each.output | length }}"}),
    ]
    return nodes, [edge("start", "each"), edge("each", "out")]


async def test_disconnect_and_resume_loses_and_duplicates_nothing(rc: RunClient, probe) -> None:
    workflow_id = await rc.workflow(*busy_graph())
    execution_id = await rc.start(workflow_id)
    first = await rc.events(execution_id, limit=7)  # then the client disconnects mid-run
    assert [s for s, _, _ in first] == list(range(1, 8))
    rest = await rc.events(execution_id, last_event_id=7)
    combined = first + rest
    assert [s for s, _, _ in combined] == list(range(1, len(combined) + 1))
    assert combined[-1][1] == "run.finished" and combined[-1][2]["outputs"] == {"n": 12}
    # A second resume from the middle, after the end, gets exactly the tail again.
    tail = await rc.events(execution_id, last_event_id=len(combined) - 3)
    assert tail == combined[-3:]
    # And a client joining after the end gets the full replay, identical to what was streamed.
    assert await rc.events(execution_id) == combined


async def test_resume_from_the_last_event_of_a_finished_stream_ends_at_once(rc: RunClient) -> None:
    execution_id, events = await rc.run([node("out", "output", outputs={"x": "1"})], [])
    last = events[-1][0]
    assert await asyncio.wait_for(rc.events(execution_id, last_event_id=last), 5) == []
    # the query parameter works as well as the header (EventSource cannot set headers)
    async with rc.http.stream("GET", f"/api/executions/{execution_id}/stream", params={"last_event_id": str(last - 1)}) as response:
        body = (await response.aread()).decode()
    assert f"id: {last}" in body and "event: run.finished" in body and f"id: {last - 1}\n" not in body


async def test_wire_format(rc: RunClient) -> None:
    execution_id, _ = await rc.run([node("out", "output", outputs={"x": "1"})], [])
    async with rc.http.stream("GET", f"/api/executions/{execution_id}/stream") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = (await response.aread()).decode().replace("\r\n", "\n")
    blocks = [b for b in raw.strip().split("\n\n") if b and not b.startswith(":")]
    first = dict(line.split(": ", 1) for line in blocks[0].split("\n"))
    assert first["id"] == "1" and first["event"] == "run.started"
    assert '"execution_id"' in first["data"]
    last = dict(line.split(": ", 1) for line in blocks[-1].split("\n"))
    assert last["event"] == "run.finished" and int(last["id"]) == len(blocks)


@pytest.fixture(scope="module")
def ping_server(tmp_path_factory):
    settings = build_settings(tmp_path_factory.mktemp("sse-ping") / ".pilot", None, PILOT_SSE_PING_S="0.2")
    app = create_app(settings)
    with serve_in_thread(app) as url:
        yield url, app


async def test_pings_keep_an_idle_stream_alive(ping_server, probe) -> None:
    url, app = ping_server
    client = RunClient(url, await new_workspace_key(app))
    try:
        workflow_id = await client.workflow([tool("slow", sleep=1.0)], [])
        execution_id = await client.start(workflow_id)
        async with client.http.stream("GET", f"/api/executions/{execution_id}/stream") as response:
            raw = (await response.aread()).decode()
        assert raw.count(": ping") >= 3
        assert "event: run.finished" in raw
    finally:
        await client.aclose()


async def test_stream_ends_cleanly_on_server_shutdown_and_the_run_is_ended(tmp_path, fake_openai) -> None:
    """A real API process (uvicorn with its signal handlers) gets SIGTERM mid-run: the open SSE
    response ends cleanly (no error, promptly) and the run ends ``cancelled`` with run.finished."""
    import sqlalchemy as sa

    from pilot.auth.service import create_api_key
    from pilot.db.migrate import upgrade
    from pilot.db.models import ExecutionRow, StreamEventRow
    from pilot.runtime import Runtime
    from tests.support.background import start_api, stop
    from tests.support.fake_openai import hang

    data_dir = tmp_path / ".pilot"
    settings = build_settings(data_dir, None)
    await asyncio.to_thread(upgrade, settings.db.url)
    runtime = Runtime.build(settings)
    async with runtime.sessions() as session:
        key = await create_api_key(session, "shutdown-test")
        await session.commit()
    env = {"PILOT_DATA_DIR": str(data_dir), "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": fake_openai.base_url}
    proc, url = await asyncio.to_thread(start_api, env, tmp_path / "api.log")
    client = RunClient(url, key)
    try:
        fake_openai.script(hang(60), model="gpt-4o-mini")
        workflow_id = await client.workflow([node("ask", "llm", prompt="wait", model="gpt-4o-mini")], [])
        execution_id = await client.start(workflow_id)
        seen: list[str] = []

        async def read() -> None:
            try:
                async with client.http.stream("GET", f"/api/executions/{execution_id}/stream") as response:
                    async for line in response.aiter_lines():
                        if line.startswith("event: "):
                            seen.append(line[7:])
            except httpx.HTTPError as exc:
                seen.append(f"<error {type(exc).__name__}>")

        reader = asyncio.create_task(read())
        for _ in range(200):
            if "node.started" in seen and seen.count("node.started") >= 2:
                break
            await asyncio.sleep(0.05)
        assert seen.count("node.started") >= 2, seen
        t0 = asyncio.get_running_loop().time()
        code = await asyncio.to_thread(stop, proc)
        await asyncio.wait_for(reader, 10)
        assert asyncio.get_running_loop().time() - t0 < 5
        assert code in (0, -signal.SIGTERM)  # uvicorn re-raises the signal after a graceful shutdown
        assert not [s for s in seen if s.startswith("<error")], seen
    finally:
        await client.aclose()
        stop(proc)
    async with runtime.sessions() as session:
        row = await session.get(ExecutionRow, execution_id)
        last = (await session.execute(
            sa.select(StreamEventRow.event, StreamEventRow.data).where(StreamEventRow.stream_id == execution_id)
            .order_by(StreamEventRow.seq.desc()).limit(1)
        )).one()
    await runtime.aclose()
    assert row.status == "cancelled" and row.finished_at is not None
    assert last.event == "run.finished" and last.data["status"] == "cancelled"
