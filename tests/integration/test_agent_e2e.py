"""End to end over real sockets: a research agent with a web-search tool and a currency-conversion
API tool (tool instances of the ``http`` connector pointing at a local HTTP server, the search one
authenticated by a stored credential) runs against the fake OpenAI server with scripted parallel
tool calls and streams ``node.tool_call`` over SSE; a workflow as a tool; a saved agent
definition referenced by ``agent_id``."""

from __future__ import annotations

import asyncio
import json
import secrets
from urllib.parse import urlsplit

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pilot.app import create_app
from tests.conftest import build_settings, new_workspace_key
from tests.support.fake_openai import reply, tool_call, tool_calls
from tests.support.runs import RunClient, edge, node
from tests.support.servers import serve_in_thread

TOKEN = "srch-" + secrets.token_urlsafe(24)


async def _search(request: Request) -> JSONResponse:
    if request.headers.get("authorization") != f"Bearer {TOKEN}":
        return JSONResponse({"error": "bad token"}, status_code=401)
    q = request.query_params.get("q", "")
    return JSONResponse({"results": [{"title": f"ECB rates for {q}", "url": "https://example.org/ecb"}]})


async def _convert(request: Request) -> JSONResponse:
    amount = float(request.query_params["amount"])
    rate = {"EUR": 0.92, "CNY": 7.1}[request.query_params["to"]]
    return JSONResponse({"from": request.query_params["from"], "to": request.query_params["to"], "result": round(amount * rate, 2)})


@pytest.fixture(scope="module")
def research_api():
    with serve_in_thread(Starlette(routes=[Route("/search", _search), Route("/convert", _convert)]), lifespan="off") as url:
        yield url


@pytest.fixture(scope="module")
def server(tmp_path_factory, fake_openai_server, research_api):
    settings = build_settings(tmp_path_factory.mktemp("agent-e2e") / ".pilot", None, OPENAI_API_KEY="sk-test",
                              OPENAI_BASE_URL=fake_openai_server.base_url, PILOT_HTTP_ALLOWLIST=urlsplit(research_api).netloc)
    app = create_app(settings)
    with serve_in_thread(app) as url:
        yield url, app


@pytest.fixture
async def rc(server):
    url, app = server
    client = RunClient(url, await new_workspace_key(app))
    yield client
    await client.aclose()


async def _post(rc: RunClient, path: str, body: dict) -> dict:
    response = await rc.http.post(path, json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def _run(rc: RunClient, agent_config: dict) -> tuple[str, list[tuple[int, str, dict]], str]:
    nodes = [node("start", "input", fields=[{"name": "question"}]), node("research", "agent", **agent_config),
             node("out", "output", outputs={"answer": "{{ nodes.research.output }}"})]
    workflow_id = await rc.workflow(nodes, [edge("start", "research"), edge("research", "out")])
    execution_id = await rc.start(workflow_id, {"question": "What is 100 USD in EUR, and the source?"})
    async with rc.http.stream("GET", f"/api/executions/{execution_id}/stream") as response:
        raw = (await asyncio.wait_for(response.aread(), 30)).decode()
    return execution_id, await rc.events(execution_id), raw


async def test_research_agent_streams_tool_calls(rc, fake_openai, research_api) -> None:
    await _post(rc, "/api/credentials", {"name": "search_key", "type": "bearer_token", "value": TOKEN})
    await _post(rc, "/api/tools", {"name": "web_search", "connector": "http", "credential": "search_key",
                                   "description": "Search the web; put the query in query.q",
                                   "defaults": {"url": f"{research_api}/search", "method": "GET"}})
    await _post(rc, "/api/tools", {"name": "convert_currency", "connector": "http",
                                   "defaults": {"url": f"{research_api}/convert"}})
    fake_openai.script(
        tool_calls(("web_search", {"query": {"q": "USD EUR"}}),
                   ("convert_currency", {"query": {"from": "USD", "to": "EUR", "amount": 100}})),
        reply("100 USD is 92.0 EUR (source: https://example.org/ecb)."),
    )
    execution_id, events, raw = await _run(rc, {
        "model": "gpt-4o-mini", "prompt": "{{ inputs.question }}", "system": "You are a research agent.",
        "tools": ["tool:web_search", "api:convert_currency"], "max_steps": 4})
    names = [e for _, e, _ in events]
    assert names[-1] == "run.finished" and events[-1][2]["status"] == "succeeded", events[-1]
    calls = {d["tool"]: d for _, e, d in events if e == "node.tool_call"}
    assert set(calls) == {"web_search", "convert_currency"}
    assert calls["web_search"]["result"]["body"]["results"][0]["url"] == "https://example.org/ecb"
    assert calls["convert_currency"]["result"]["body"]["result"] == 92.0
    assert calls["convert_currency"]["ref"] == "api:convert_currency" and calls["web_search"]["elapsed_ms"] > 0
    research_done = next(i for i, (_, e, d) in enumerate(events) if e == "node.finished" and d["node_id"] == "research")
    assert max(i for i, name in enumerate(names) if name == "node.tool_call") < research_done  # streamed live
    assert "event: node.tool_call" in raw and TOKEN not in raw  # the credential never reaches the stream
    execution = await rc.execution(execution_id)
    assert execution["outputs"]["answer"].startswith("100 USD is 92.0 EUR")
    sent = fake_openai.chat_requests()[0].body["tools"]
    params = {t["function"]["name"]: t["function"]["parameters"] for t in sent}
    assert "url" not in params["web_search"]["properties"] and "query" in params["web_search"]["properties"]
    finished = next(d for _, e, d in events if e == "node.finished" and d["node_id"] == "research")
    assert finished["usage"]["llm_calls"] == 2


async def test_a_workflow_is_a_tool_with_its_input_schema(rc, fake_openai) -> None:
    child = {"name": "doubler", "description": "Doubles n.", "nodes": [
        node("start", "input", fields=[{"name": "n", "type": "integer", "description": "the number"}]),
        node("t", "transform", fields={"double": "{{ inputs.n * 2 }}"}),
        node("out", "output", outputs={"double": "{{ nodes.t.output.double }}"})],
        "edges": [edge("start", "t"), edge("t", "out")]}
    child_id = (await _post(rc, "/api/workflows", child))["id"]
    response = await rc.http.post(f"/api/workflows/{child_id}/publish", params={"force": "true"})
    assert response.status_code == 200, response.text
    fake_openai.script(tool_call("workflow_doubler", {"n": 21}), reply("It is 42."))
    _, events, _ = await _run(rc, {"prompt": "double 21", "tools": [f"workflow:{child_id}"]})
    assert events[-1][2]["status"] == "succeeded", events[-1]
    [call] = [d for _, e, d in events if e == "node.tool_call"]
    assert call["result"] == {"double": 42} and call["tool"] == "workflow_doubler"
    assert any(e == "node.child_event" for _, e, _ in events)  # the child's run, on the parent's stream
    function = fake_openai.chat_requests()[0].body["tools"][0]["function"]
    assert function["description"] == "Doubles n."
    assert function["parameters"] == {"type": "object", "required": ["n"],
                                      "properties": {"n": {"type": "integer", "description": "the number"}}}


async def test_agent_definition_is_used_and_overridden(rc, fake_openai, research_api, server) -> None:
    await _post(rc, "/api/tools", {"name": "convert_currency", "connector": "http",
                                   "defaults": {"url": f"{research_api}/convert"}})
    agent = await _post(rc, "/api/agents", {"name": "fx", "model": "gpt-4o", "system": "You convert money.",
                                            "tools": ["tool:convert_currency"], "max_steps": 2})
    fake_openai.script(reply("fine"), model="gpt-4o")
    _, events, _ = await _run(rc, {"prompt": "hi", "agent_id": agent["id"]})
    assert events[-1][2]["status"] == "succeeded", events[-1]
    request = fake_openai.chat_requests()[-1]
    assert request.model == "gpt-4o" and request.messages[0] == {"role": "system", "content": "You convert money."}
    assert [t["function"]["name"] for t in request.body["tools"]] == ["convert_currency"]
    fake_openai.script(reply("node model"), model="gpt-4.1-mini")  # a node field overrides the agent's
    _, events, _ = await _run(rc, {"prompt": "hi", "agent_id": agent["id"], "model": "gpt-4.1-mini"})
    assert events[-1][2]["outputs"] == {"answer": "node model"}
    other = RunClient(server[0], await new_workspace_key(server[1]))
    try:  # another workspace's agent is a missing one
        _, events, _ = await _run(other, {"prompt": "hi", "agent_id": agent["id"]})
        failed = next(d for _, e, d in events if e == "node.failed")
        assert f"agent '{agent['id']}' not found" in failed["error"]
    finally:
        await other.aclose()


def test_tool_call_events_decode() -> None:
    from pilot.events.schemas import decode_run_event

    event = decode_run_event("node.tool_call", json.dumps({"node_id": "a", "tool": "t", "arguments": {}, "result": 1,
                                                           "elapsed_ms": 2.0}))
    assert event.tool == "t" and event.result == 1
