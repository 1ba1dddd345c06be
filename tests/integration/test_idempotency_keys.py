"""Issue 10 / defect 9: side-effecting calls carry an idempotency key that is stable per logical
call (execution × node × loop-item path) — the same across the engine's retries and across a
re-execution of the same node after a crash — and different for every other call.

Runs go through the API (inline mode) against a real loopback HTTP receiver
(tests/support/echo_server.py) that records every request's headers."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from litestar.testing import AsyncTestClient

from pilot.engine.executor import execute
from pilot.app import create_app
from pilot.db.models import ExecutionRow, NodeResultRow
from pilot.tools.base import ToolContext
from pilot.tools.registry import default_registry
from tests.conftest import new_workspace_key
from tests.support.echo_server import echo_server
from tests.support.runs import edge, node, with_input
from tests.support.smtp_server import smtp_server

KEY = "idempotency-key"
NO_JITTER = {"jitter": 0, "initial_delay_s": 0.01}


@pytest.fixture(scope="module")
def receiver():
    with echo_server() as (url, app):
        yield url, app


@pytest.fixture
async def api(receiver, make_settings):
    url, _ = receiver
    settings = make_settings(PILOT_HTTP_ALLOWLIST=urlsplit(url).netloc)
    async with AsyncTestClient(app=create_app(settings)) as client:
        key = await new_workspace_key(client.app)
        client.headers["Authorization"] = f"Bearer {key}"
        yield client


async def create(client, nodes: list[dict], edges: list[dict]) -> str:
    nodes, edges = with_input(nodes, edges)
    response = await client.post("/api/workflows", json={"name": "idem", "nodes": nodes, "edges": edges})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def run(client, workflow_id: str) -> dict:
    response = await client.post(f"/api/workflows/{workflow_id}/execute", json={"input_data": {}})
    assert response.status_code == 202, response.text
    return await wait(client, response.json()["execution_id"])


async def wait(client, execution_id: str) -> dict:
    for _ in range(500):
        detail = (await client.get(f"/api/executions/{execution_id}")).json()
        if detail["status"] in ("succeeded", "failed", "cancelled"):
            return detail
        await asyncio.sleep(0.02)
    raise AssertionError(f"execution {execution_id} did not finish")


def sent(app, start: int, tag: str) -> list[dict]:
    """Requests the receiver got since index ``start`` whose query names ``tag``."""
    return [r for r in app.received[start:] if r["query"].get("n") == tag]


def api_node(id: str, url: str, tag: str, method: str = "POST", **config) -> dict:
    return node(id, "api", method=method, url=f"{url}/{config.pop('path', 'echo')}",
                query={"n": tag, **config.pop("query", {})}, **config)


async def test_api_and_tool_calls_carry_one_key_per_logical_call(api, receiver):
    url, app = receiver
    inner_body = {"nodes": [api_node("icall", url, "inner", "PATCH", query={"o": "{{ outer }}", "i": "{{ item }}"})],
                  "edges": []}
    nodes = [
        # 503 every time: three attempts of one logical call.
        api_node("flaky", url, "flaky", path="status/503", body='{"x": 1}', on_error="continue",
                 retry={"max_attempts": 3, **NO_JITTER}),
        api_node("post", url, "post", body='{"x": 1}'),
        api_node("own", url, "own", headers={"Idempotency-Key": "chosen-by-the-user"}),
        api_node("get", url, "get", method="GET"),
        node("hook", "tool", tool="webhook", arguments={"url": f"{url}/echo?n=hook", "payload": {"a": 1}}),
        node("slack", "tool", tool="slack", arguments={"webhook_url": f"{url}/echo?n=slack", "text": "hi"}),
        node("feishu", "tool", tool="feishu", arguments={"webhook_url": f"{url}/echo?n=feishu", "text": "hi"}),
        node("each", "loop", items="[0, 1, 2]", body={"nodes": [api_node("call", url, "item", "PUT", query={"i": "{{ item }}"})],
                                                      "edges": []}),
        node("outer", "loop", items="[0, 1]", item_var="outer",
             body={"nodes": [node("inner", "loop", items="[0, 1]", body=inner_body)], "edges": []}),
    ]
    edges = [edge("flaky", "post"), edge("post", "own"), edge("own", "get"), edge("get", "hook"),
             edge("hook", "slack"), edge("slack", "feishu"), edge("feishu", "each"), edge("each", "outer")]
    workflow_id = await create(api, nodes, edges)

    keys: list[dict[str, object]] = []
    for _ in range(2):  # two executions of the same workflow
        start = len(app.received)
        detail = await run(api, workflow_id)
        assert detail["status"] == "succeeded", detail
        flaky = sent(app, start, "flaky")
        assert len(flaky) == 3 and len({r["headers"][KEY] for r in flaky}) == 1  # retries reuse the key
        assert sent(app, start, "own")[0]["headers"][KEY] == "chosen-by-the-user"  # the node's own header wins
        assert KEY not in sent(app, start, "get")[0]["headers"]  # GET has no side effect: no key
        items = sorted(sent(app, start, "item"), key=lambda r: r["query"]["i"])
        inner = sorted(sent(app, start, "inner"), key=lambda r: (r["query"]["o"], r["query"]["i"]))
        assert len(items) == 3 and len(inner) == 4
        keys.append({
            "flaky": flaky[0]["headers"][KEY],
            **{tag: sent(app, start, tag)[0]["headers"][KEY] for tag in ("post", "hook", "slack", "feishu")},
            **{f"item{r['query']['i']}": r["headers"][KEY] for r in items},
            **{f"inner{r['query']['o']}.{r['query']['i']}": r["headers"][KEY] for r in inner},
        })
    first, second = keys
    assert len(first) == 12
    # Every node and every loop item (nested loops included) is its own call: distinct keys...
    assert len(set(first.values())) == len(first) and len(set(second.values())) == len(second)
    # ...and another execution of the same workflow is another call for every one of them.
    assert not set(first.values()) & set(second.values())


async def test_a_node_re_executed_after_a_crash_sends_the_same_key(api, receiver):
    url, app = receiver
    nodes = [api_node("post", url, "resume-post", body='{"charge": 100}'),
             node("hook", "tool", tool="webhook", arguments={"url": f"{url}/echo?n=resume-hook", "payload": {"a": 1}})]
    workflow_id = await create(api, nodes, [edge("post", "hook")])
    start = len(app.received)
    detail = await run(api, workflow_id)
    assert detail["status"] == "succeeded"
    execution_id = detail["id"]
    first = {tag: sent(app, start, tag)[0]["headers"][KEY] for tag in ("resume-post", "resume-hook")}

    # A worker died after both calls completed but before their results were stored: the
    # execution is still "running" and the next attempt re-runs both nodes.
    runtime = api.app.state.runtime
    while execution_id in runtime.runs.deps.active:  # the first attempt has fully ended (stream closed)
        await asyncio.sleep(0.01)
    async with runtime.sessions() as session:
        await session.execute(sa.delete(NodeResultRow).where(
            NodeResultRow.execution_id == execution_id, NodeResultRow.node_id.in_(["post", "hook", "end"])))
        # As the sweeper leaves a dead worker's run: queued again, no holder.
        await session.execute(sa.update(ExecutionRow).where(ExecutionRow.id == execution_id).values(
            status="queued", worker_id=None, finished_at=None, outputs=None))
        await session.commit()
    resumed_from = len(app.received)
    status = await execute(execution_id, runtime.runs.deps)
    assert status == "succeeded", (await api.get(f"/api/executions/{execution_id}")).json()
    again = {tag: sent(app, resumed_from, tag) for tag in ("resume-post", "resume-hook")}
    assert all(len(requests) == 1 for requests in again.values())  # both calls were made again...
    assert {tag: r[0]["headers"][KEY] for tag, r in again.items()} == first  # ...with the same keys
    assert first["resume-post"] != first["resume-hook"]

    # A new execution of the same workflow is a new logical call.
    start = len(app.received)
    assert (await run(api, workflow_id))["status"] == "succeeded"
    assert sent(app, start, "resume-post")[0]["headers"][KEY] != first["resume-post"]


async def test_email_message_id_follows_the_idempotency_key():
    from pilot.outbound import GuardedHttp
    from pilot.settings import Settings

    with smtp_server() as smtp:
        settings = Settings.from_env({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp.server_address[1]),
                                      "SMTP_STARTTLS": "false", "SMTP_FROM": "pilot@example.com"})
        registry = default_registry()
        args = {"to": "ops@example.com", "subject": "s", "body": "b"}
        outs = []
        for key in ("6f1c0a52-0000-5000-8000-000000000001", "6f1c0a52-0000-5000-8000-000000000001", None):
            ctx = ToolContext(settings=settings, http=GuardedHttp(settings.engine), timeout_s=5, idempotency_key=key)
            outs.append(await registry.invoke("email", args, ctx))
        received = [m["message"]["Message-ID"] for m in smtp.messages[-3:]]
    # A resent mail (same logical call) has the same Message-ID, so mailboxes can collapse it.
    assert received[0] == received[1] == "<6f1c0a52-0000-5000-8000-000000000001@example.com>"
    assert received[2] != received[0] and [o["message_id"] for o in outs] == received
