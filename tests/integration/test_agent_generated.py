"""Issue 13, done when: a *generated* research agent (offline planner → compiler → ``agent`` node with
``tool:web_search`` and ``tool:currency_conversion_api``) runs against the fake OpenAI server with
scripted tool calls once the workspace has tools of those names (http tool instances pointing at a
local server), streaming ``node.tool_call`` over a real SSE socket; and a generated "save every
processed order to a database" workflow writes its rows to a workspace data table."""

from __future__ import annotations

import asyncio
import secrets
from urllib.parse import urlsplit

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pilot.app import create_app
from pilot.generation.pipeline import Planner
from tests.conftest import build_settings, new_workspace_key
from tests.support.fake_openai import reply, tool_calls
from tests.support.runs import RunClient
from tests.support.servers import serve_in_thread

TOKEN = "srch-" + secrets.token_urlsafe(24)
AGENT_PROMPT = ("A research agent that uses a web search tool and a currency conversion API tool to answer questions "
                "about prices in other countries")


async def _search(request: Request) -> JSONResponse:
    if request.headers.get("authorization") != f"Bearer {TOKEN}":
        return JSONResponse({"error": "bad token"}, status_code=401)
    return JSONResponse({"results": [{"title": f"Big Mac index: {request.query_params.get('q', '')}",
                                      "url": "https://example.org/bigmac", "price": "450 JPY"}]})


async def _convert(request: Request) -> JSONResponse:
    amount = float(request.query_params["amount"])
    return JSONResponse({"from": request.query_params["from"], "to": request.query_params["to"],
                         "result": round(amount * 0.0067, 2)})


@pytest.fixture(scope="module")
def prices_api():
    with serve_in_thread(Starlette(routes=[Route("/search", _search), Route("/convert", _convert)]), lifespan="off") as url:
        yield url


@pytest.fixture(scope="module")
def server(tmp_path_factory, fake_openai_server, prices_api):
    settings = build_settings(tmp_path_factory.mktemp("agent-generated") / ".pilot", None, OPENAI_API_KEY="sk-test",
                              OPENAI_BASE_URL=fake_openai_server.base_url, PILOT_HTTP_ALLOWLIST=urlsplit(prices_api).netloc)
    app = create_app(settings)
    with serve_in_thread(app) as url:
        yield url, app


@pytest.fixture
async def rc(server, monkeypatch):
    # The key points the agent at the fake LLM; generation still plans offline (the "generated" path).
    monkeypatch.setattr("pilot.generation.service.Planner", lambda *a, **kw: Planner(None))
    url, app = server
    client = RunClient(url, await new_workspace_key(app))
    yield client
    await client.aclose()


async def _post(rc: RunClient, path: str, body: dict) -> dict:
    response = await rc.http.post(path, json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def _readiness(rc: RunClient, workflow_id: str) -> list[dict]:
    response = await rc.http.get(f"/api/workflows/{workflow_id}/readiness")
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_generated_research_agent_calls_both_tools_over_sse(rc, fake_openai, prices_api) -> None:
    generated = await _post(rc, "/api/workflows/generate", {"prompt": AGENT_PROMPT})
    assert generated["blueprint"]["source"] == "offline"
    workflow_id, nodes = generated["workflow_id"], generated["workflow"]["nodes"]
    [agent] = [n for n in nodes if n["type"] == "agent"]
    assert agent["config"]["tools"] == ["tool:web_search", "tool:currency_conversion_api"]
    assert not [n for n in nodes if n["type"] in ("api", "llm")]  # the agent searches; nothing fetched before it
    # readiness asks for the two tools by name, and blocks publishing until they exist
    missing = [i for i in generated["readiness"]["items"] if i["kind"] == "tool_config"]
    assert {i["name"] for i in missing} == {"web_search", "currency_conversion_api"}
    assert all(f"configure a tool named {i['name']}" in i["message"] for i in missing)
    assert generated["readiness"]["publishable"] is False

    await _post(rc, "/api/credentials", {"name": "search_key", "type": "bearer_token", "value": TOKEN})
    await _post(rc, "/api/tools", {"name": "web_search", "connector": "http", "credential": "search_key",
                                   "description": "Search the web; put the query in query.q",
                                   "defaults": {"url": f"{prices_api}/search", "method": "GET"}})
    await _post(rc, "/api/tools", {"name": "currency_conversion_api", "connector": "http",
                                   "description": "Convert money: query.from, query.to, query.amount",
                                   "defaults": {"url": f"{prices_api}/convert"}})
    assert not [i for i in await _readiness(rc, workflow_id) if i["kind"] == "tool_config"]

    fake_openai.script(
        tool_calls(("web_search", {"query": {"q": "Big Mac price Japan"}}),
                   ("currency_conversion_api", {"query": {"from": "JPY", "to": "USD", "amount": 450}})),
        reply("A Big Mac costs 450 JPY in Japan, about 3.02 USD (source: https://example.org/bigmac)."),
    )
    execution_id = await rc.start(workflow_id, {"text": "How much is a Big Mac in Japan, in US dollars?"})
    async with rc.http.stream("GET", f"/api/executions/{execution_id}/stream") as response:
        assert response.status_code == 200
        raw = (await asyncio.wait_for(response.aread(), 30)).decode()
    events = await rc.events(execution_id)
    assert events[-1][1] == "run.finished" and events[-1][2]["status"] == "succeeded", events[-1]
    calls = {d["tool"]: d for _, e, d in events if e == "node.tool_call"}
    assert set(calls) == {"web_search", "currency_conversion_api"}
    assert calls["web_search"]["ref"] == "tool:web_search" and "error" not in calls["web_search"]
    assert calls["web_search"]["result"]["body"]["results"][0]["price"] == "450 JPY"
    assert calls["currency_conversion_api"]["result"]["body"]["result"] == 3.02
    assert raw.count("event: node.tool_call") == 2 and TOKEN not in raw  # over the socket, credential redacted
    execution = await rc.execution(execution_id)
    assert execution["outputs"]["agent"].startswith("A Big Mac costs 450 JPY")
    sent = fake_openai.chat_requests()[0].body
    assert sorted(t["function"]["name"] for t in sent["tools"]) == ["currency_conversion_api", "web_search"]


async def _wait(rc: RunClient, execution_id: str) -> dict:
    for _ in range(600):
        execution = await rc.execution(execution_id)
        if execution["status"] in ("succeeded", "failed", "cancelled"):
            return execution
        await asyncio.sleep(0.05)
    raise AssertionError(f"run {execution_id} did not finish")


async def _rows(rc: RunClient, table: str) -> list[dict]:
    response = await rc.http.get(f"/api/tables/{table}/rows")
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_generated_storage_writes_to_a_data_table(rc) -> None:
    generated = await _post(rc, "/api/workflows/generate", {"prompt": "Save every processed order to a database"})
    loop = next(n for n in generated["workflow"]["nodes"] if n["type"] == "loop")
    [save] = loop["config"]["body"]["nodes"]
    assert save["type"] == "tool" and save["config"]["tool"] == "table"
    assert save["config"]["arguments"] == {"table": "processed_orders", "op": "insert", "row": {"data": "{{ item }}"}}
    [item] = [i for i in generated["readiness"]["items"] if i["kind"] == "table"]
    assert item["name"] == "processed_orders" and "create the data table processed_orders" in item["message"]
    assert "data (json)" in item["message"]

    await _post(rc, "/api/tables", {"name": "processed_orders", "columns": [{"name": "data", "type": "json"}]})
    assert not [i for i in await _readiness(rc, generated["workflow_id"]) if i["kind"] == "table"]
    orders = [{"id": "A-1", "total": 120.5}, {"id": "A-2", "total": 80}]
    execution = await _wait(rc, await rc.start(generated["workflow_id"], {"items_list": orders}))
    assert execution["status"] == "succeeded", execution
    # the loop runs items concurrently: rows land in any order
    assert sorted((r["data"] for r in await _rows(rc, "processed_orders")), key=lambda d: d["id"]) == orders

    # "sync" upserts by the record's id: a second run updates the rows instead of adding them
    assert (await rc.http.delete("/api/tables/processed_orders")).status_code in (200, 204)
    synced = await _post(rc, "/api/workflows/generate", {"prompt": "Sync every processed order to our database"})
    args = next(n for n in synced["workflow"]["nodes"] if n["type"] == "loop")["config"]["body"]["nodes"][0]["config"]["arguments"]
    assert args["op"] == "upsert" and args["table"] == "processed_orders" and set(args["row"]) == {"key", "data"}
    [item] = [i for i in synced["readiness"]["items"] if i["kind"] == "table"]  # a key column this time
    assert "key (string, key column)" in item["message"]
    await _post(rc, "/api/tables", {"name": "processed_orders", "key_columns": ["key"],
                                    "columns": [{"name": "key", "type": "string"}, {"name": "data", "type": "json"}]})
    for total in (1, 2):
        batch = [{"id": "A-1", "total": total}, {"id": "A-2", "total": total}]
        execution = await _wait(rc, await rc.start(synced["workflow_id"], {"items_list": batch}))
        assert execution["status"] == "succeeded", execution
    rows = await _rows(rc, "processed_orders")
    assert sorted((r["key"], r["data"]["total"]) for r in rows) == [("A-1", 2), ("A-2", 2)]
