"""Runs over a real socket: execute a workflow and read its SSE stream (input/condition/loop/output)."""

from __future__ import annotations

import pytest

from tests.support.runs import RunClient, edge, finished, node

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
async def rc(live_server):
    client = RunClient(live_server.url, await live_server.new_key())
    yield client
    await client.aclose()


async def test_input_condition_output_run(rc: RunClient) -> None:
    nodes = [
        node("start", "input", fields=[{"name": "n", "type": "integer"}]),
        node("check", "condition", cases=[{"id": "big", "when": "inputs.n > 3"}]),
        node("big", "output", outputs={"size": "big", "n": "{{ inputs.n }}"}),
        node("small", "output", outputs={"size": "small"}),
    ]
    edges = [edge("start", "check"), edge("check", "big", "big"), edge("check", "small", "else")]
    execution_id, events = await rc.run(nodes, edges, {"n": 5})
    names = [e for _, e, _ in events]
    assert names[0] == "run.started" and names[-1] == "run.finished"
    assert [s for s, _, _ in events] == list(range(1, len(events) + 1))
    done = finished(events)
    assert done["check"]["output"] == {"branch": "big"}
    assert done["small"]["status"] == "skipped"
    assert events[-1][2]["status"] == "succeeded"
    assert events[-1][2]["outputs"] == {"size": "big", "n": 5}
    detail = await rc.execution(execution_id)
    assert detail["status"] == "succeeded" and detail["outputs"] == {"size": "big", "n": 5}
    assert {r["node_id"]: r["status"] for r in detail["node_results"]} == {
        "start": "succeeded", "check": "succeeded", "big": "succeeded", "small": "skipped",
    }
