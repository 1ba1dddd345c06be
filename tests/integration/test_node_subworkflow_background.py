"""The ``workflow`` node in background mode: the parent runs on an arq worker PROCESS (real Redis
and PostgreSQL; the cluster of tests/integration/test_background_runs.py), its child runs in the
same worker, awaited, its events reach the parent's stream through the Redis bus, and a cancel
sent through another API process stops the child too."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.conftest import new_workspace_key
from tests.integration import test_background_runs as bg
from tests.integration.test_background_runs import create_workflow, execute, get_execution, slow_chain, stream

# The background suite's module-scoped fixtures (a cluster of its own for this module).
echo, cluster, api_a, api_b = bg.echo, bg.cluster, bg.api_a, bg.api_b

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

CHILD = {"name": "child", "nodes": [
    {"id": "start", "type": "input", "config": {"fields": [{"name": "n", "type": "integer"}]}},
    {"id": "t", "type": "transform", "config": {"fields": {"square": "{{ inputs.n * inputs.n }}"}}},
    {"id": "out", "type": "output", "config": {"outputs": {"square": "{{ nodes.t.output.square }}"}}},
], "edges": [{"id": "e1", "source": "start", "target": "t"}, {"id": "e2", "source": "t", "target": "out"}]}


def caller(workflow_id: str, inputs: dict[str, str]) -> dict:
    return {"name": "parent", "nodes": [
        {"id": "start", "type": "input", "config": {"fields": []}},
        {"id": "call", "type": "workflow", "config": {"workflow_id": workflow_id, "inputs": inputs}},
        {"id": "out", "type": "output", "config": {"outputs": {"result": "{{ nodes.call.output }}"}}},
    ], "edges": [{"id": "e1", "source": "start", "target": "call"}, {"id": "e2", "source": "call", "target": "out"}]}


async def publish(url: str, key: str, workflow_id: str) -> None:
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}) as client:
        response = await client.post(f"/api/workflows/{workflow_id}/publish", params={"force": "true"})
        assert response.status_code == 200, response.text


async def test_a_background_parent_runs_its_child_in_the_worker(cluster, api_a, api_b):
    app_b, url_b = api_b
    key = await new_workspace_key(app_b)
    child = await create_workflow(api_a, key, CHILD)
    await publish(api_a, key, child)
    parent = await create_workflow(api_a, key, caller(child, {"n": "{{ 7 }}"}))
    execution_id = await execute(api_a, key, parent)
    events = await stream(url_b, key, execution_id)  # read through the other API process

    assert events[-1][1] == "run.finished" and events[-1][2]["status"] == "succeeded", events[-1]
    assert events[-1][2]["outputs"] == {"result": {"square": 49}}
    forwarded = [d for _, e, d in events if e == "node.child_event"]
    assert forwarded[0]["child_event"] == "run.started" and forwarded[-1]["child_event"] == "run.finished"
    child_id = forwarded[0]["child_execution_id"]
    detail = await get_execution(api_a, key, execution_id)
    assert detail["mode"] == "background" and [c["id"] for c in detail["children"]] == [child_id]
    child_detail = await get_execution(api_a, key, child_id)
    assert child_detail["parent_id"] == execution_id and child_detail["depth"] == 1
    assert child_detail["mode"] == "inline" and child_detail["status"] == "succeeded"  # ran inside its parent's worker


async def test_cancel_through_another_api_process_reaches_the_child(cluster, api_a, api_b):
    app_b, url_b = api_b
    key = await new_workspace_key(app_b)
    child = await create_workflow(api_a, key, slow_chain(cluster.echo_url, 1, 20, "subworkflow-cancel"))
    await publish(api_a, key, child)
    execution_id = await execute(api_a, key, await create_workflow(api_a, key, caller(child, {})))
    cancelled = asyncio.Event()

    async def on_event(seq: int, name: str, data: dict) -> None:
        started = name == "node.child_event" and data["child_event"] == "node.started"
        if started and data["data"]["node_id"] == "a1" and not cancelled.is_set():  # the slow call runs
            cancelled.set()
            async with httpx.AsyncClient(base_url=url_b, headers={"Authorization": f"Bearer {key}"}) as client:
                assert (await client.post(f"/api/executions/{execution_id}/cancel")).status_code == 202

    events = await stream(api_a, key, execution_id, on_event=on_event, timeout=15)
    assert cancelled.is_set() and events[-1][2]["status"] == "cancelled", events[-1]
    child_id = next(d["child_execution_id"] for _, e, d in events if e == "node.child_event")
    assert (await get_execution(api_a, key, child_id))["status"] == "cancelled"
    assert events[-1][2]["elapsed_ms"] < 10_000  # the 20 s call did not run to its end
