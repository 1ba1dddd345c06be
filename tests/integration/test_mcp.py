"""MCP both ways, with real servers on real sockets.

Client: a real MCP server process (tests/support/mcp_server.py, the SDK's FastMCP, streamable
HTTP and SSE, bearer-token protected) registered through ``/api/mcp-servers``; its tools listed,
the connection test, ``tool`` nodes calling it in runs, the outbound guard, credentials never
echoed, and tenancy.

Server: the SDK's client against πlot's ``/mcp`` on uvicorn: published workflows listed with
their input schema and called (outputs back, errors as tool errors), a wrong or absent API key
refused, another workspace's workflows invisible; and the round trip — a ``tool`` node calling a
published workflow through πlot's own ``/mcp`` as a registered MCP server.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from pilot.app import create_app
from tests.conftest import build_settings, new_workspace_key
from tests.support.mcp_server import mcp_server_process
from tests.support.runs import RunClient, edge, finished, node
from tests.support.servers import free_port, serve_in_thread

pytestmark = pytest.mark.asyncio(loop_scope="session")

TOKEN = "mcp-" + secrets.token_urlsafe(18)


@pytest.fixture(scope="module")
def tools_url() -> Iterator[str]:
    with mcp_server_process(token=TOKEN) as url:
        yield url


@pytest.fixture(scope="module")
def sse_url() -> Iterator[str]:
    with mcp_server_process(transport="sse", token=TOKEN) as url:
        yield url


@pytest.fixture(scope="module")
def pilot_url(tools_url: str, sse_url: str, tmp_path_factory) -> Iterator[tuple[str, Any]]:
    """πlot on uvicorn (SQLite) whose outbound guard allows the two MCP servers and itself."""
    port = free_port()
    allow = ",".join([tools_url.split("/")[2], sse_url.split("/")[2], f"127.0.0.1:{port}"])
    settings = build_settings(tmp_path_factory.mktemp("pilot-mcp") / ".pilot", PILOT_HTTP_ALLOWLIST=allow)
    app = create_app(settings)
    with serve_in_thread(app, port=port) as url:
        yield url, app


@pytest.fixture
async def pc(pilot_url) -> AsyncIterator[RunClient]:
    url, app = pilot_url
    client = RunClient(url, await new_workspace_key(app))
    yield client
    await client.aclose()


async def _credential(rc: RunClient, name: str, value: str, type_: str = "bearer_token") -> None:
    r = await rc.http.post("/api/credentials", json={"name": name, "type": type_, "value": value})
    assert r.status_code == 201, r.text


async def _server(rc: RunClient, **body: Any) -> dict:
    r = await rc.http.post("/api/mcp-servers", json=body)
    assert r.status_code == 201, r.text
    assert TOKEN not in r.text
    return r.json()


# ---------------------------------------------------------------- client


async def test_register_list_tools_test_and_crud(pc: RunClient, tools_url: str) -> None:
    await _credential(pc, "mcp_token", TOKEN)
    server = await _server(pc, name="tools", url=tools_url, credential="mcp_token", description="test tools")
    assert server["id"].startswith("mcp_") and server["credential"] == "mcp_token" and server["transport"] == "streamable_http"
    listed = (await pc.http.get("/api/mcp-servers")).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == server["id"]

    tools = await pc.http.get(f"/api/mcp-servers/{server['id']}/tools")
    assert tools.status_code == 200, tools.text
    by_name = {t["name"]: t for t in tools.json()["items"]}
    assert sorted(by_name) == ["add", "echo", "fail", "slow"]
    assert by_name["add"]["input_schema"]["properties"]["a"]["type"] == "integer"
    assert by_name["echo"]["description"] == "Echo the text back."

    test = (await pc.http.post(f"/api/mcp-servers/{server['id']}/test")).json()
    assert test["ok"] is True and test["error"] is None and test["server_name"] == "test-tools"
    assert test["elapsed_ms"] > 0 and "add" in test["tools"] and test["protocol_version"]

    # Without the credential the server answers 401: the test says so, and never shows the token.
    r = await pc.http.put(f"/api/mcp-servers/{server['id']}", json={"credential": None})
    assert r.status_code == 200 and r.json()["credential"] is None and r.json()["url"] == tools_url
    failed = await pc.http.post("/api/mcp-servers/tools/test")
    assert failed.status_code == 200 and failed.json()["ok"] is False
    assert "HTTP 401" in failed.json()["error"] and TOKEN not in failed.text
    no_tools = await pc.http.get(f"/api/mcp-servers/{server['id']}/tools")
    assert no_tools.status_code == 502 and "HTTP 401" in no_tools.json()["detail"]

    assert (await pc.http.delete(f"/api/mcp-servers/{server['id']}")).status_code == 204
    assert (await pc.http.get(f"/api/mcp-servers/{server['id']}")).status_code == 404
    assert (await pc.http.post(f"/api/mcp-servers/{server['id']}/test")).status_code == 404


async def test_bad_registrations_name_the_field(pc: RunClient, tools_url: str) -> None:
    cases = [
        ({"name": "s", "transport": "stdio", "command": "npx"}, "transport", "PILOT_MCP_STDIO"),
        ({"name": "s"}, "url", "needs its URL"),
        ({"name": "s", "url": "ftp://example.com/mcp"}, "url", "http://"),
        ({"name": "s", "url": tools_url, "headers": {"Authorization": f"Bearer {TOKEN}"}}, "headers.Authorization", "credential"),
        ({"name": "s", "url": tools_url, "headers": {"X-Key": "sk-" + "a" * 40}}, "headers.X-Key", "looks like a secret"),
        ({"name": "s", "url": tools_url, "credential": "missing_one"}, "credential", "no credential named 'missing_one'"),
    ]
    for body, field, message in cases:
        r = await pc.http.post("/api/mcp-servers", json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["detail"].startswith(field) and message in r.json()["detail"], r.text
        assert TOKEN not in r.text
    await _server(pc, name="dup", url=tools_url)
    assert (await pc.http.post("/api/mcp-servers", json={"name": "dup", "url": tools_url})).status_code == 409
    assert (await pc.http.get("/api/mcp-servers")).json()["total"] == 1


async def test_tool_nodes_call_the_mcp_server(pc: RunClient, tools_url: str) -> None:
    await _credential(pc, "mcp_token", TOKEN)
    await _server(pc, name="tools", url=tools_url, credential="mcp_token")
    nodes = [
        node("start", "input", fields=[{"name": "a", "type": "integer"}, {"name": "text"}]),
        node("sum", "tool", tool="mcp", arguments={"server": "tools", "tool": "add", "arguments": {"a": "{{ inputs.a }}", "b": 5}}),
        node("say", "tool", tool="mcp", arguments={"server": "tools", "tool": "echo", "arguments": {
            "text": "{{ inputs.text }} = {{ nodes.sum.output.structured.result }}"}}),
        node("out", "output", outputs={"sum": "{{ nodes.sum.output.structured.result }}", "said": "{{ nodes.say.output.text }}"}),
    ]
    edges = [edge("start", "sum"), edge("sum", "say"), edge("say", "out")]
    execution_id, events = await pc.run(nodes, edges, {"a": 37, "text": "sum"})
    assert events[-1][2]["status"] == "succeeded", events[-1]
    assert events[-1][2]["outputs"] == {"sum": 42, "said": "echo: sum = 42"}
    assert finished(events)["sum"]["output"]["content"] == [{"type": "text", "text": "42"}]
    assert TOKEN not in str(await pc.execution(execution_id))

    # A tool error fails the node with the server's message (not retried).
    _, events = await pc.run([node("boom", "tool", tool="mcp", arguments={
        "server": "tools", "tool": "fail", "arguments": {"reason": "no stock"}})], [])
    failed = [d for _, e, d in events if e == "node.failed"]
    assert failed and "refusing: no stock" in failed[0]["error"] and events[-1][2]["status"] == "failed"
    assert not [d for _, e, d in events if e == "node.retry"]


async def test_sse_transport(pc: RunClient, sse_url: str) -> None:
    await _credential(pc, "mcp_token", TOKEN)
    server = await _server(pc, name="legacy", transport="sse", url=sse_url, credential="mcp_token")
    test = (await pc.http.post(f"/api/mcp-servers/{server['id']}/test")).json()
    assert test["ok"] is True, test
    _, events = await pc.run([node("sum", "tool", tool="mcp", arguments={
        "server": server["id"], "tool": "add", "arguments": {"a": 1, "b": 2}})], [])
    assert events[-1][2]["status"] == "succeeded" and finished(events)["sum"]["output"]["structured"] == {"result": 3}


async def test_another_workspace_cannot_use_the_server(pc: RunClient, pilot_url, tools_url: str) -> None:
    await _credential(pc, "mcp_token", TOKEN)
    server = await _server(pc, name="tools", url=tools_url, credential="mcp_token")
    url, app = pilot_url
    other = RunClient(url, await new_workspace_key(app))
    try:
        for method, path in (("get", ""), ("get", "/tools"), ("post", "/test"), ("delete", "")):
            r = await getattr(other.http, method)(f"/api/mcp-servers/{server['id']}{path}")
            assert r.status_code == 404, (method, path, r.text)
        _, events = await other.run([node("sum", "tool", tool="mcp", arguments={
            "server": server["id"], "tool": "add", "arguments": {"a": 1, "b": 2}})], [])
        failed = [d for _, e, d in events if e == "node.failed"]
        assert failed and f"MCP server '{server['id']}' not found" in failed[0]["error"]
    finally:
        await other.aclose()


async def test_outbound_guard_refuses_loopback_by_default(api, tools_url: str) -> None:
    """The session app has no allowlist: a loopback MCP server is refused, with the reason."""
    r = await api.post("/api/mcp-servers", json={"name": "local", "url": tools_url})
    assert r.status_code == 201, r.text
    test = (await api.post(f"/api/mcp-servers/{r.json()['id']}/test")).json()
    assert test["ok"] is False and "refused" in test["error"] and "loopback" in test["error"]


# ---------------------------------------------------------------- server (/mcp)


def _workflow(name: str) -> dict[str, Any]:
    return {"name": name, "description": f"{name}: shouts the text", "nodes": [
        node("start", "input", fields=[{"name": "text", "description": "what to shout"},
                                       {"name": "times", "type": "integer", "required": False, "default": 2}]),
        node("t", "transform", fields={"shout": "{{ inputs.text | upper }}", "n": "{{ inputs.times * 2 }}"}),
        node("out", "output", outputs={"shout": "{{ nodes.t.output.shout }}", "n": "{{ nodes.t.output.n }}"}),
    ], "edges": [edge("start", "t"), edge("t", "out")]}


async def _published(rc: RunClient, name: str, *, publish: bool = True) -> str:
    r = await rc.http.post("/api/workflows", json=_workflow(name))
    assert r.status_code == 201, r.text
    if publish:
        p = await rc.http.post(f"/api/workflows/{r.json()['id']}/publish", params={"force": "true"})
        assert p.status_code == 200, p.text
    return r.json()["id"]


async def _mcp(base_url: str, key: str | None):
    """An initialized SDK client session on πlot's /mcp (as an async context manager)."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def session():
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        async with httpx.AsyncClient(headers=headers, timeout=30) as http:
            async with streamable_http_client(f"{base_url}/mcp", http_client=http) as (read, write, _):
                async with ClientSession(read, write) as s:
                    await s.initialize()
                    yield s

    return session()


def _status_in(exc: BaseException) -> int | None:
    stack = [exc]
    while stack:
        e = stack.pop()
        if isinstance(e, httpx.HTTPStatusError):
            return e.response.status_code
        stack.extend(getattr(e, "exceptions", ()))
        if e.__cause__ is not None:
            stack.append(e.__cause__)
    return None


async def test_published_workflows_are_mcp_tools(rc: RunClient, live_server) -> None:
    workflow_id = await _published(rc, "Shout It")
    await _published(rc, "Draft only", publish=False)
    async with await _mcp(live_server.url, rc.http.headers["Authorization"].split()[1]) as session:
        tools = (await session.list_tools()).tools
        assert [t.name for t in tools] == [f"shout_it_{workflow_id[3:11]}"]
        tool = tools[0]
        assert tool.description.startswith("Shout It: shouts the text") and workflow_id in tool.description
        assert tool.inputSchema == {"type": "object", "required": ["text"], "properties": {
            "text": {"type": "string", "description": "what to shout"}, "times": {"type": "integer", "default": 2}}}
        result = await session.call_tool(tool.name, {"text": "hello", "times": 3})
        assert result.isError is False, result
        assert result.structuredContent == {"shout": "HELLO", "n": 6}
        assert result.meta["pilot/execution_id"].startswith("exe_")
        bad = await session.call_tool(tool.name, {"times": 3})
        assert bad.isError is True and "text" in bad.content[0].text
        unknown = await session.call_tool("nope_12345678", {})
        assert unknown.isError is True and "unknown tool" in unknown.content[0].text
    runs = (await rc.http.get("/api/executions", params={"workflow_id": workflow_id, "trigger": "mcp"})).json()
    assert runs["total"] == 1 and runs["items"][0]["status"] == "succeeded"
    assert runs["items"][0]["id"] == result.meta["pilot/execution_id"]


async def test_mcp_endpoint_needs_a_key_and_keeps_workspaces_apart(rc: RunClient, live_server) -> None:
    await _published(rc, "Private Flow")
    for headers in ({}, {"Authorization": "Bearer pk_wrong"}):
        r = httpx.post(f"{live_server.url}/mcp", headers={**headers, "Accept": "application/json, text/event-stream"},
                       json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert r.status_code == 401 and r.json()["status_code"] == 401
    with pytest.raises(BaseException) as info:
        async with await _mcp(live_server.url, "pk_wrong"):
            pass
    assert _status_in(info.value) == 401
    other_key = await live_server.new_key()
    async with await _mcp(live_server.url, other_key) as session:
        assert (await session.list_tools()).tools == []
        mine = await rc.http.get("/api/workflows")
        name = f"private_flow_{mine.json()['items'][0]['id'][3:11]}"
        result = await session.call_tool(name, {"text": "x"})
        assert result.isError is True and "unknown tool" in result.content[0].text


async def test_round_trip_tool_node_calls_a_workflow_over_pilots_own_mcp(pc: RunClient, pilot_url) -> None:
    """A workflow published in πlot, reached by a ``tool`` node through πlot's /mcp as a
    registered MCP server (the API key as its credential)."""
    url, _ = pilot_url
    workflow_id = await _published(pc, "Shout It")
    await _credential(pc, "pilot_key", pc.http.headers["Authorization"].split()[1])
    server = await _server(pc, name="self", url=f"{url}/mcp", credential="pilot_key")
    test = (await pc.http.post(f"/api/mcp-servers/{server['id']}/test")).json()
    assert test["ok"] is True and test["server_name"] == "pilot", test
    tool = f"shout_it_{workflow_id[3:11]}"
    assert test["tools"] == [tool]
    _, events = await pc.run([node("call", "tool", tool="mcp", arguments={
        "server": "self", "tool": tool, "arguments": {"text": "round trip"}})], [])
    assert events[-1][2]["status"] == "succeeded", events[-1]
    assert finished(events)["call"]["output"]["structured"] == {"shout": "ROUND TRIP", "n": 4}


async def test_agent_references_resolve_to_the_servers_tools(pc: RunClient, pilot_url, tools_url: str) -> None:
    """``mcp:<server>`` gives every tool of the server (its input schema as parameters) and
    ``mcp:<server>/<tool>`` one; the functions call the server; unknown tools and another
    workspace's server do not resolve."""
    from pilot.agents.toolset import resolver_for
    from pilot.db.models import McpServerRow
    from pilot.engine.errors import NodeError
    from tests.support.node_ctx import make_ctx, services

    await _credential(pc, "mcp_token", TOKEN)
    server = await _server(pc, name="tools", url=tools_url, credential="mcp_token")
    runtime = pilot_url[1].state.runtime
    async with runtime.sessions() as session:
        workspace_id = (await session.get(McpServerRow, server["id"])).workspace_id
    svc = services(runtime.settings, sessions=runtime.sessions)
    ctx = make_ctx({"type": "agent", "config": {"prompt": "x", "tools": ["mcp:tools"]}}, svc, workspace_id=workspace_id)
    resolver = resolver_for("mcp")
    tools = {t.name: t for t in await resolver.resolve("tools", ctx)}
    assert sorted(tools) == ["add", "echo", "fail", "slow"]
    assert tools["add"].parameters["properties"]["b"]["type"] == "integer" and tools["add"].ref == "mcp:tools/add"
    assert (await tools["add"].call({"a": 20, "b": 22}))["structured"] == {"result": 42}
    only = await resolver.resolve(f"{server['id']}/echo", ctx)
    assert [t.name for t in only] == ["echo"] and (await only[0].call({"text": "hi"}))["text"] == "echo: hi"
    with pytest.raises(NodeError, match="has no tool 'nope'"):
        await resolver.resolve("tools/nope", ctx)
    foreign = make_ctx({"type": "agent", "config": {"prompt": "x"}}, svc, workspace_id="ws_someone_else")
    with pytest.raises(NodeError, match="not found"):
        await resolver.resolve(server["id"], foreign)


async def test_stdio_servers_only_when_the_operator_enables_them(make_settings) -> None:
    import sys

    from litestar.testing import AsyncTestClient

    from tests.conftest import Api

    body = {"name": "local", "transport": "stdio", "command": sys.executable,
            "args": ["-m", "tests.support.mcp_server", "--transport", "stdio"]}
    async with AsyncTestClient(app=create_app(make_settings())) as client:
        api = Api(client, await new_workspace_key(client.app))
        r = await api.post("/api/mcp-servers", json=body)
        assert r.status_code == 422 and "PILOT_MCP_STDIO" in r.json()["detail"]
    async with AsyncTestClient(app=create_app(make_settings(PILOT_MCP_STDIO="true"))) as client:
        api = Api(client, await new_workspace_key(client.app))
        server = await api.post("/api/mcp-servers", json=body)
        assert server.status_code == 201, server.text
        test = (await api.post(f"/api/mcp-servers/{server.json()['id']}/test")).json()
        assert test["ok"] is True and "add" in test["tools"], test
