"""Runs over a real socket: each control node, concurrency, on_error, input validation, the API."""

from __future__ import annotations

import pytest

from tests.support.runs import RunClient, edge, finished, node
from tests.support.scripted import tool

pytestmark = pytest.mark.asyncio(loop_scope="session")


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
    assert done["start"]["output"] == {"n": 5}
    assert done["check"]["output"] == {"branch": "big"}
    assert done["small"]["status"] == "skipped"
    assert events[-1][2]["status"] == "succeeded"
    assert events[-1][2]["outputs"] == {"size": "big", "n": 5}
    detail = await rc.execution(execution_id)
    assert detail["status"] == "succeeded" and detail["outputs"] == {"size": "big", "n": 5}
    assert detail["started_at"] and detail["finished_at"] and detail["elapsed_ms"] >= 0
    assert {r["node_id"]: r["status"] for r in detail["node_results"]} == {
        "start": "succeeded", "check": "succeeded", "big": "succeeded", "small": "skipped",
    }

    # The else branch, with an optional input's default applied.
    _, events = await rc.run(nodes, edges, {"n": 1})
    assert events[-1][2]["outputs"] == {"size": "small"}
    assert finished(events)["big"]["status"] == "skipped"


async def test_loop_runs_body_per_item_in_order_with_bounded_concurrency(rc: RunClient, probe) -> None:
    body = {
        "nodes": [tool("work", sleep=0.1, value="{{ item * 10 }}"), node("emit", "output", outputs={"v": "{{ nodes.work.output }}", "i": "{{ loop.index }}"})],
        "edges": [edge("work", "emit")],
    }
    nodes = [
        node("start", "input", fields=[{"name": "xs", "type": "array"}]),
        node("each", "loop", items="inputs.xs", body=body, max_concurrency=2, max_items=5),
        node("out", "output", outputs={"results": "{{ nodes.each.output }}"}),
    ]
    # the scripted tool returns its raw argument (a template string); resolve happens in output
    _, events = await rc.run(nodes, [edge("start", "each"), edge("each", "out")], {"xs": [1, 2, 3, 4, 5, 6, 7]})
    assert events[-1][2]["status"] == "succeeded", events[-1]
    results = events[-1][2]["outputs"]["results"]
    assert [r["i"] for r in results] == [0, 1, 2, 3, 4]  # max_items=5, item order kept
    assert probe.max_active == 2  # max_concurrency
    body_ids = {d["node_id"] for _, e, d in events if e == "node.started"}
    assert {"each[0].work", "each[4].emit"} <= body_ids and "each[5].work" not in body_ids
    assert finished(events)["each"]["usage"] == {"calls": 5}


async def test_loop_over_empty_items_outputs_empty_list(rc: RunClient) -> None:
    nodes = [
        node("each", "loop", items="[]", body={"nodes": [node("o", "output", outputs={"x": "{{ item }}"})], "edges": []}),
        node("out", "output", outputs={"r": "{{ nodes.each.output }}"}),
    ]
    _, events = await rc.run(nodes, [edge("each", "out")])
    assert events[-1][2]["outputs"] == {"r": []}


async def test_parallel_branches_overlap(rc: RunClient, probe) -> None:
    nodes = [node("start", "input"), tool("a", sleep=0.4), tool("b", sleep=0.4), node("out", "output", outputs={"a": "{{ nodes.a.output }}", "b": "{{ nodes.b.output }}"})]
    edges = [edge("start", "a"), edge("start", "b"), edge("a", "out"), edge("b", "out")]
    _, events = await rc.run(nodes, edges)
    assert events[-1][2]["outputs"] == {"a": "a", "b": "b"}
    (_, _, a0, a1), (_, _, b0, b1) = probe.of("a")[0], probe.of("b")[0]
    assert a0 < b1 and b0 < a1  # the intervals overlap
    assert events[-1][2]["elapsed_ms"] < 750  # not 0.8 s sequential


async def test_no_superstep_barrier(rc: RunClient, probe) -> None:
    # slow (1 s) and fast (0.05 s) start together; fast2 depends only on fast and must not wait for slow.
    nodes = [tool("slow", sleep=1.0), tool("fast", sleep=0.05), tool("fast2", sleep=0.05)]
    _, events = await rc.run(nodes, [edge("fast", "fast2")])
    assert events[-1][2]["status"] == "succeeded"
    slow_end = probe.of("slow")[0][3]
    fast2_start, fast2_end = probe.of("fast2")[0][2:]
    assert fast2_end < slow_end - 0.5
    assert fast2_start - probe.of("fast")[0][3] < 0.05  # started right after its only predecessor


async def test_on_error_continue_and_default(rc: RunClient, probe) -> None:
    nodes = [
        tool("flaky", fail=[{"status": 400}], on_error="continue"),
        tool("fallback", fail=[{"status": 400}], on_error="default", default_output={"ok": False}),
        node("out", "output", outputs={"a": "{{ nodes.flaky.output }}", "b": "{{ nodes.fallback.output }}"}),
    ]
    _, events = await rc.run(nodes, [edge("flaky", "out"), edge("fallback", "out")])
    done = finished(events)
    assert done["flaky"]["status"] == "succeeded" and done["flaky"]["output"] is None
    assert done["flaky"]["error"] == "HTTP 400"
    assert done["fallback"]["output"] == {"ok": False}
    assert events[-1][2]["status"] == "succeeded"
    assert events[-1][2]["outputs"] == {"a": None, "b": {"ok": False}}


async def test_failing_node_fails_the_run_and_stops_downstream(rc: RunClient, probe) -> None:
    nodes = [tool("bad", fail=[{"status": 404}]), tool("after"), tool("slow", sleep=5)]
    execution_id, events = await rc.run(nodes, [edge("bad", "after")])
    names = [(e, d.get("node_id")) for _, e, d in events]
    assert ("node.failed", "bad") in names
    assert ("node.started", "after") not in names
    assert ("node.failed", "slow") in names  # the unrelated running branch was stopped
    end = events[-1][2]
    assert end["status"] == "failed" and "bad" in end["error"] and "HTTP 404" in end["error"]
    assert end["elapsed_ms"] < 3000
    detail = await rc.execution(execution_id)
    assert detail["status"] == "failed" and detail["error"] == end["error"]
    assert {r["node_id"]: r["status"] for r in detail["node_results"]}["bad"] == "failed"


async def test_node_timeout(rc: RunClient, probe) -> None:
    _, events = await rc.run([tool("sleepy", sleep=5, timeout_s=0.2)], [])
    failed = [d for _, e, d in events if e == "node.failed"]
    assert [(d["node_id"], d["error"]) for d in failed] == [("sleepy", "timed out after 0.2s")]
    assert failed[0]["node_type"] == "tool" and failed[0]["attempts"] == 1 and failed[0]["elapsed_ms"] >= 195
    assert events[-1][2]["status"] == "failed"


async def test_run_deadline(rc: RunClient, probe) -> None:
    _, events = await rc.run([tool("sleepy", sleep=10)], [], settings={"deadline_s": 0.5})
    end = events[-1][2]
    assert end["status"] == "failed" and end["error"] == "run deadline of 0.5s exceeded"
    assert end["elapsed_ms"] < 2500


async def test_template_sandbox_escape_fails_the_node(rc: RunClient) -> None:
    nodes = [node("out", "output", outputs={"x": "{{ ().__class__.__mro__ }}"})]
    response = await rc.http.post("/api/workflows", json={"name": "t", "nodes": nodes, "edges": []})
    if response.status_code == 422:  # validation may already refuse it: equally safe
        return
    execution_id = await rc.start(response.json()["id"])
    events = await rc.events(execution_id)
    assert events[-1][2]["status"] == "failed"
    assert [d for _, e, d in events if e == "node.failed"][0]["error"].startswith("outputs.x")


async def test_bad_input_data_is_rejected_and_nothing_is_stored(rc: RunClient) -> None:
    nodes = [node("start", "input", fields=[{"name": "n", "type": "integer"}, {"name": "tag", "type": "string", "required": False}]), node("out", "output", outputs={"n": "{{ inputs.n }}"})]
    workflow_id = await rc.workflow(nodes, [edge("start", "out")])
    missing = await rc.execute(workflow_id, {})
    assert missing.status_code == 422
    assert missing.json()["extra"]["field"] == "input_data.n" and "required" in missing.json()["detail"]
    wrong = await rc.execute(workflow_id, {"n": "five"})
    assert wrong.status_code == 422 and wrong.json()["detail"] == "input_data.n must be an integer, got str"
    wrong_optional = await rc.execute(workflow_id, {"n": 1, "tag": 3})
    assert wrong_optional.status_code == 422 and wrong_optional.json()["extra"]["field"] == "input_data.tag"
    listed = (await rc.http.get("/api/executions", params={"workflow_id": workflow_id})).json()
    assert listed["total"] == 0 and listed["items"] == []
    ok = await rc.execute(workflow_id, {"n": 2})
    assert ok.status_code == 202


async def test_bad_request_shapes(rc: RunClient) -> None:
    workflow_id = await rc.workflow([node("out", "output", outputs={"x": "1"})], [])
    assert (await rc.http.post(f"/api/workflows/{workflow_id}/execute", json={"input_data": {}, "bogus": 1})).status_code == 400
    assert (await rc.http.post(f"/api/workflows/{workflow_id}/execute", json={"mode": "sideways"})).status_code == 400
    background = await rc.http.post(f"/api/workflows/{workflow_id}/execute", json={"mode": "background"})
    assert background.status_code in (400, 409) and "REDIS_URL" in background.json()["detail"]
    assert (await rc.http.post("/api/workflows/wf_missing/execute", json={})).status_code == 404


async def test_executions_are_workspace_scoped(rc: RunClient, live_server) -> None:
    execution_id, _ = await rc.run([node("out", "output", outputs={"x": "1"})], [])
    other = RunClient(live_server.url, await live_server.new_key())
    try:
        for method, path in [("GET", ""), ("GET", "/stream"), ("POST", "/cancel")]:
            response = await other.http.request(method, f"/api/executions/{execution_id}{path}")
            assert response.status_code == 404, (method, path)
        assert (await other.http.get("/api/executions")).json()["total"] == 0
    finally:
        await other.aclose()
    assert (await rc.http.get(f"/api/executions/{execution_id}", headers={"Authorization": ""})).status_code == 401


async def test_list_filters_and_pagination(rc: RunClient, probe) -> None:
    wf_ok = await rc.workflow([node("out", "output", outputs={"x": "1"})], [])
    wf_bad = await rc.workflow([tool("bad", fail=[{"status": 400}])], [])
    ids = [await rc.start(wf_ok) for _ in range(3)]
    bad_id = await rc.start(wf_bad)
    for execution_id in [*ids, bad_id]:
        await rc.events(execution_id)
    page = (await rc.http.get("/api/executions", params={"limit": 2})).json()
    assert page["total"] == 4 and len(page["items"]) == 2
    rest = (await rc.http.get("/api/executions", params={"limit": 2, "offset": 2})).json()
    assert {i["id"] for i in page["items"] + rest["items"]} == {*ids, bad_id}
    by_wf = (await rc.http.get("/api/executions", params={"workflow_id": wf_ok})).json()
    assert by_wf["total"] == 3
    failed = (await rc.http.get("/api/executions", params={"status": "failed"})).json()
    assert [i["id"] for i in failed["items"]] == [bad_id]
    created = page["items"][0]["created_at"]
    after = (await rc.http.get("/api/executions", params={"created_after": "2999-01-01T00:00:00Z"})).json()
    assert after["total"] == 0
    before = (await rc.http.get("/api/executions", params={"created_before": "2999-01-01T00:00:00Z"})).json()
    assert before["total"] == 4 and created
    assert (await rc.http.get("/api/executions", params={"status": "nope"})).status_code == 400
    assert (await rc.http.get("/api/executions", params={"limit": 0})).status_code == 400
