"""Reliability over a real socket: retries with growing delays, Retry-After, no retry on 4xx,
cancel mid-run, and the real llm runner against the fake OpenAI server (flaky model, 429,
dead primary model → node.fallback)."""

from __future__ import annotations

import asyncio
import time

import pytest

from pilot.app import create_app
from tests.support.fake_openai import fail, reply
from tests.support.runs import RunClient, edge, finished, node
from tests.support.scripted import tool
from tests.support.servers import serve_in_thread

pytestmark = pytest.mark.asyncio(loop_scope="session")

NO_JITTER = {"max_attempts": 4, "initial_delay_s": 0.1, "backoff": 2.0, "max_delay_s": 5.0, "jitter": 0.0}


async def test_retries_with_growing_delays_then_success(rc: RunClient, probe) -> None:
    nodes = [tool("flaky", fail=[{"status": 500}, {"status": 503}], retry=NO_JITTER)]
    execution_id, events = await rc.run(nodes, [])
    retries = [d for _, e, d in events if e == "node.retry"]
    assert retries == [
        {"node_id": "flaky", "attempt": 2, "error": "HTTP 500", "delay_s": 0.1},
        {"node_id": "flaky", "attempt": 3, "error": "HTTP 503", "delay_s": 0.2},
    ]
    assert [d["attempt"] for _, e, d in events if e == "node.started" and d["node_id"] == "flaky"] == [1, 2, 3]
    calls = probe.of("flaky")
    gaps = [calls[i + 1][2] - calls[i][3] for i in range(len(calls) - 1)]
    assert gaps[0] >= 0.095 and gaps[1] >= 0.195 and gaps[1] > gaps[0]
    assert events[-1][2]["status"] == "succeeded"
    results = {r["node_id"]: r for r in (await rc.execution(execution_id))["node_results"]}
    assert results["flaky"]["attempts"] == 3 and results["flaky"]["status"] == "succeeded"


async def test_retry_after_is_honoured(rc: RunClient, probe) -> None:
    policy = {**NO_JITTER, "initial_delay_s": 0.01}
    _, events = await rc.run([tool("limited", fail=[{"status": 429, "retry_after": 0.4}], retry=policy)], [])
    retry = next(d for _, e, d in events if e == "node.retry")
    assert retry["delay_s"] == 0.4
    first, second = probe.of("limited")
    assert second[2] - first[3] >= 0.39
    assert events[-1][2]["status"] == "succeeded"


async def test_client_errors_are_not_retried(rc: RunClient, probe) -> None:
    _, events = await rc.run([tool("bad", fail=[{"status": 422}, {"status": 422}], retry=NO_JITTER)], [])
    assert not [e for _, e, _ in events if e == "node.retry"]
    assert len(probe.of("bad")) == 1
    assert events[-1][2]["status"] == "failed"


async def test_retries_exhausted_fail_the_node(rc: RunClient, probe) -> None:
    policy = {**NO_JITTER, "max_attempts": 2, "initial_delay_s": 0.01}
    _, events = await rc.run([tool("down", fail=[{"status": 500}] * 5, retry=policy)], [])
    assert len(probe.of("down")) == 2
    assert [(d["node_id"], d["error"], d["attempts"]) for _, e, d in events if e == "node.failed"] == [("down", "HTTP 500", 2)]


async def test_cancel_mid_run(rc: RunClient, probe) -> None:
    workflow_id = await rc.workflow([tool("slow", sleep=30), tool("other", sleep=30)], [])
    execution_id = await rc.start(workflow_id)
    reader = asyncio.create_task(rc.events(execution_id))
    for _ in range(100):  # wait until both nodes run
        await asyncio.sleep(0.05)
        if len(probe.calls) == 0 and probe.active == 2:
            break
    t0 = time.monotonic()
    response = await rc.http.post(f"/api/executions/{execution_id}/cancel")
    assert response.status_code == 202 and response.json()["cancel_requested"] is True
    events = await asyncio.wait_for(reader, 10)
    assert time.monotonic() - t0 < 2.0
    assert events[-1][1] == "run.finished" and events[-1][2]["status"] == "cancelled"
    assert {d["node_id"] for _, e, d in events if e == "node.failed"} == {"slow", "other"}
    detail = await rc.execution(execution_id)
    assert detail["status"] == "cancelled" and detail["finished_at"]
    # Cancelling a finished run is a no-op.
    again = await rc.http.post(f"/api/executions/{execution_id}/cancel")
    assert again.status_code == 202 and again.json()["status"] == "cancelled"


# ------------------------------------------------------------------- the real llm runner


@pytest.fixture(scope="module")
def llm_server(fake_openai_server, tmp_path_factory):
    from tests.conftest import build_settings

    settings = build_settings(
        tmp_path_factory.mktemp("llm-runs") / ".pilot", None,
        OPENAI_API_KEY="sk-test", OPENAI_BASE_URL=fake_openai_server.base_url,
    )
    app = create_app(settings)
    with serve_in_thread(app) as url:
        yield url, app


@pytest.fixture
async def llm_rc(llm_server, fake_openai):
    from tests.conftest import new_workspace_key

    url, app = llm_server
    client = RunClient(url, await new_workspace_key(app))
    yield client
    await client.aclose()


def llm(id: str, **config) -> dict:
    return node(id, "llm", prompt="Say hi to {{ inputs.who }}", **config)


def llm_graph(**config):
    nodes = [node("start", "input", fields=[{"name": "who", "type": "string"}]), llm("ask", **config), node("out", "output", outputs={"text": "{{ nodes.ask.output }}"})]
    return nodes, [edge("start", "ask"), edge("ask", "out")]


async def test_llm_flaky_model_retries_then_streams(llm_rc: RunClient, fake_openai) -> None:
    fake_openai.script(fail(500), fail(500), reply("hello there friend"), model="gpt-4o-mini")
    nodes, edges = llm_graph(model="gpt-4o-mini", retry={**NO_JITTER, "initial_delay_s": 0.05})
    _, events = await llm_rc.run(nodes, edges, {"who": "Ada"})
    retries = [d for _, e, d in events if e == "node.retry"]
    assert [r["delay_s"] for r in retries] == [0.05, 0.1]
    deltas = "".join(d["text"] for _, e, d in events if e == "node.delta")
    assert "hello there friend" in deltas
    assert events[-1][2]["status"] == "succeeded"
    assert events[-1][2]["outputs"]["text"] == "hello there friend"
    assert finished(events)["ask"]["usage"].get("total_tokens", 0) > 0
    assert events[-1][2]["usage"].get("total_tokens", 0) > 0


async def test_llm_429_retry_after_honoured(llm_rc: RunClient, fake_openai) -> None:
    fake_openai.script(fail(429, retry_after=0.5), reply("ok"), model="gpt-4o-mini")
    nodes, edges = llm_graph(model="gpt-4o-mini", retry={**NO_JITTER, "initial_delay_s": 0.01})
    _, events = await llm_rc.run(nodes, edges, {"who": "Bo"})
    retry = next(d for _, e, d in events if e == "node.retry")
    assert retry["delay_s"] >= 0.5
    first, second = (r.received_at for r in fake_openai.chat_requests())
    assert second - first >= 0.49
    assert events[-1][2]["status"] == "succeeded"


async def test_llm_dead_primary_falls_back(llm_rc: RunClient, fake_openai) -> None:
    fake_openai.missing_models.add("gone-model")
    nodes, edges = llm_graph(model="gone-model", fallback_models=["backup-model"])
    _, events = await llm_rc.run(nodes, edges, {"who": "Cy"})
    fallbacks = [d for _, e, d in events if e == "node.fallback"]
    assert fallbacks == [{"node_id": "ask", "from_model": "gone-model", "to_model": "backup-model"}]
    assert events[-1][2]["status"] == "succeeded"
    assert [r.model for r in fake_openai.chat_requests()] == ["gone-model", "backup-model"]
