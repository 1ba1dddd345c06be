"""Re-run from a node: a new execution re-executes the node and everything downstream, reusing
the finished run's outputs for the nodes upstream (they are not run again)."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.runs import RunClient, edge, finished
from tests.support.scripted import tool

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_rerun_from_a_node_reuses_upstream_outputs(rc: RunClient, probe) -> None:
    nodes = [tool("fetch", value="{{ 'data' }}"), tool("shape", value="{{ nodes.fetch.output }}!"),
             tool("send", value="{{ nodes.shape.output }}?"), tool("side", value="{{ 'independent' }}")]
    edges = [edge("fetch", "shape"), edge("shape", "send")]
    execution_id, first = await rc.run(nodes, edges)
    assert first[-1][2]["status"] == "succeeded"
    assert {k for k, *_ in probe.calls} == {"fetch", "shape", "send", "side"}
    probe.calls.clear()

    response = await rc.http.post(f"/api/executions/{execution_id}/rerun", json={"from_node": "shape"})
    assert response.status_code == 202, response.text
    rerun_id = response.json()["execution_id"]
    events = await rc.events(rerun_id)
    assert events[0][2]["trigger"] == "rerun" and events[-1][2]["status"] == "succeeded"
    assert sorted(k for k, *_ in probe.calls) == ["send", "shape"]  # only from_node and downstream ran
    done = finished(events)
    assert done["fetch"]["reused_from"] == execution_id and done["side"]["reused_from"] == execution_id
    assert "reused_from" not in done["shape"] and "reused_from" not in done["send"]
    assert {k: v["output"] for k, v in done.items()} == {k: v["output"] for k, v in finished(first).items()}
    detail = await rc.execution(rerun_id)
    assert detail["rerun_of"] == execution_id and detail["trigger"] == "rerun"
    assert {r["node_id"] for r in detail["node_results"]} >= {"fetch", "shape", "send", "side"}
    assert detail["outputs"] == (await rc.execution(execution_id))["outputs"]


async def test_rerun_names_a_bad_node_and_waits_for_the_end(rc: RunClient, probe) -> None:
    execution_id, _ = await rc.run([tool("only", value="{{ 1 }}")], [])
    bad = await rc.http.post(f"/api/executions/{execution_id}/rerun", json={"from_node": "ghost"})
    assert bad.status_code == 422 and "from_node" in bad.text
    workflow_id = await rc.workflow([tool("slow", sleep=5)], [])
    running = await rc.start(workflow_id)
    await asyncio.sleep(0.2)
    busy = await rc.http.post(f"/api/executions/{running}/rerun", json={"from_node": "slow"})
    assert busy.status_code == 409
    await rc.http.post(f"/api/executions/{running}/cancel")
    missing = await rc.http.post("/api/executions/exe_nope/rerun", json={"from_node": "x"})
    assert missing.status_code == 404
