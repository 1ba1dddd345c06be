"""The ``workflow`` node (sub-workflow) over the real API on a uvicorn socket, SSE included:
mapped inputs, output = the child's outputs, links both ways, the child's events on the parent's
stream, failure, cancel following the parent, pinned versions vs the published head, static
recursion (422), the run-time depth limit and another workspace's workflow."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from pilot.app import create_app
from tests.conftest import build_settings, new_workspace_key
from tests.support.runs import RunClient, edge, node
from tests.support.scripted import tool
from tests.support.servers import serve_in_thread

pytestmark = pytest.mark.asyncio(loop_scope="session")


# ---------------------------------------------------------------- helpers


def child_graph(expr: str = "{{ inputs.n * 2 }}") -> dict[str, Any]:
    """input (n: integer, who: string = "you") → transform → output {double, greet}."""
    return {"nodes": [
        node("start", "input", fields=[{"name": "n", "type": "integer"}, {"name": "who", "required": False, "default": "you"}]),
        node("t", "transform", fields={"double": expr, "greet": "hi {{ inputs.who }}"}),
        node("out", "output", outputs={"double": "{{ nodes.t.output.double }}", "greet": "{{ nodes.t.output.greet }}"}),
    ], "edges": [edge("start", "t"), edge("t", "out")]}


def caller_graph(workflow_id: str, inputs: dict[str, str], *, version: int | None = None, node_id: str = "call",
                 fields: list | None = None) -> dict[str, Any]:
    """input → workflow node → output {result: the call's output}."""
    config: dict[str, Any] = {"workflow_id": workflow_id, "inputs": inputs}
    if version is not None:
        config["version"] = version
    return {"nodes": [
        node("start", "input", fields=fields or []),
        node(node_id, "workflow", **config),
        node("out", "output", outputs={"result": f"{{{{ nodes.{node_id}.output }}}}"}),
    ], "edges": [edge("start", node_id), edge(node_id, "out")]}


async def create(rc: RunClient, graph: dict[str, Any], name: str = "wf") -> str:
    response = await rc.http.post("/api/workflows", json={"name": name, **graph})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def publish(rc: RunClient, workflow_id: str) -> None:
    response = await rc.http.post(f"/api/workflows/{workflow_id}/publish", params={"force": "true"})
    assert response.status_code == 200, response.text


async def run(rc: RunClient, workflow_id: str, input_data: dict | None = None) -> tuple[str, list[tuple[int, str, dict]]]:
    execution_id = await rc.start(workflow_id, input_data)
    return execution_id, await asyncio.wait_for(rc.events(execution_id), 30)


def child_events(events: list[tuple[int, str, dict]]) -> list[dict]:
    return [d for _, e, d in events if e == "node.child_event"]


def node_failed(events: list[tuple[int, str, dict]], node_id: str) -> str:
    return next(d["error"] for _, e, d in events if e == "node.failed" and d["node_id"] == node_id)


# ---------------------------------------------------------------- a call, end to end


async def test_child_runs_with_mapped_inputs_and_is_linked_both_ways(rc: RunClient) -> None:
    child = await create(rc, child_graph(), "doubler")
    await publish(rc, child)
    parent = await create(rc, caller_graph(child, {"n": "{{ inputs.x + 1 }}"}, fields=[{"name": "x", "type": "integer"}]))
    parent_id, events = await run(rc, parent, {"x": 20})

    finished = events[-1][2]
    assert events[-1][1] == "run.finished" and finished["status"] == "succeeded", finished
    assert finished["outputs"] == {"result": {"double": 42, "greet": "hi you"}}  # typed: 42 stays a number

    # The child's whole stream was forwarded under the parent's node, in order.
    forwarded = child_events(events)
    child_id = forwarded[0]["child_execution_id"]
    assert {d["node_id"] for d in forwarded} == {"call"} and {d["child_execution_id"] for d in forwarded} == {child_id}
    assert [d["child_seq"] for d in forwarded] == list(range(1, len(forwarded) + 1))
    assert forwarded[0]["child_event"] == "run.started" and forwarded[-1]["child_event"] == "run.finished"
    assert forwarded[-1]["data"]["outputs"] == {"double": 42, "greet": "hi you"}
    own = await rc.events(child_id)  # the child's own stream holds exactly what was forwarded
    assert [(s, e, d) for s, e, d in own] == [(d["child_seq"], d["child_event"], d["data"]) for d in forwarded]
    # … all of it before the parent's node finished.
    call_done = next(s for s, e, d in events if e == "node.finished" and d["node_id"] == "call")
    assert max(s for s, e, _ in events if e == "node.child_event") < call_done

    # Linked both ways.
    detail = await rc.execution(parent_id)
    assert detail["parent_id"] is None and detail["depth"] == 0
    assert [(c["id"], c["workflow_id"], c["parent_node"], c["status"]) for c in detail["children"]] == [
        (child_id, child, "call", "succeeded")]
    assert detail["children"][0]["stream_url"] == f"/api/executions/{child_id}/stream"
    call = next(r for r in detail["node_results"] if r["node_id"] == "call")
    assert call["node_type"] == "workflow" and call["output"] == {"double": 42, "greet": "hi you"}
    child_detail = await rc.execution(child_id)
    assert (child_detail["parent_id"], child_detail["parent_node"], child_detail["depth"]) == (parent_id, "call", 1)
    assert child_detail["trigger"] == "workflow" and child_detail["input_data"] == {"n": 21, "who": "you"}
    assert child_detail["status"] == "succeeded" and child_detail["children"] is None


async def test_pinned_version_or_published_head(rc: RunClient) -> None:
    child = await create(rc, child_graph("{{ inputs.n * 2 }}"), "versions")
    await publish(rc, child)  # v1 published
    update = await rc.http.put(f"/api/workflows/{child}", json=child_graph("{{ inputs.n * 3 }}"))
    assert update.status_code == 200 and update.json()["version"] == 2  # v2: a draft head
    head = await create(rc, caller_graph(child, {"n": "{{ 5 }}"}))
    pinned = await create(rc, caller_graph(child, {"n": "{{ 5 }}"}, version=2))
    _, events = await run(rc, head)
    assert events[-1][2]["status"] == "succeeded", events[-1][2].get("error")
    assert events[-1][2]["outputs"]["result"]["double"] == 10  # the published version, not the draft
    _, events = await run(rc, pinned)
    assert events[-1][2]["outputs"]["result"]["double"] == 15

    draft = await create(rc, child_graph(), "never published")
    _, events = await run(rc, await create(rc, caller_graph(draft, {"n": "{{ 1 }}"})))
    assert events[-1][2]["status"] == "failed"
    assert f"workflow '{draft}' is not published: publish it or pin a version" in node_failed(events, "call")
    _, events = await run(rc, await create(rc, caller_graph(draft, {"n": "{{ 1 }}"}, version=7)))
    assert f"workflow '{draft}' has no version 7" in node_failed(events, "call")


async def test_inputs_are_checked_against_the_child_input_node(rc: RunClient) -> None:
    child = await create(rc, child_graph(), "strict")
    await publish(rc, child)
    _, events = await run(rc, await create(rc, caller_graph(child, {"n": "abc"})))
    assert node_failed(events, "call") == f"inputs.n must be an integer, got str (workflow '{child}')"
    _, events = await run(rc, await create(rc, caller_graph(child, {"who": "ada"})))
    assert node_failed(events, "call") == f"inputs.n is required (integer) (workflow '{child}')"
    assert not child_events(events)  # nothing was started


async def test_child_failure_fails_the_parent_node(rc: RunClient) -> None:
    child = await create(rc, child_graph("{{ inputs.n.nope.deeper }}"), "broken")
    await publish(rc, child)
    parent_id, events = await run(rc, await create(rc, caller_graph(child, {"n": "{{ 4 }}"})))
    error = node_failed(events, "call")
    child_id = child_events(events)[0]["child_execution_id"]
    assert error.startswith(f"sub-workflow '{child}' failed (execution {child_id}): node 't' failed: fields.double:")
    assert events[-1][2]["status"] == "failed" and child_id in events[-1][2]["error"]
    assert (await rc.execution(child_id))["status"] == "failed"
    assert [c["status"] for c in (await rc.execution(parent_id))["children"]] == ["failed"]


async def test_cancelling_the_parent_cancels_a_slow_child(rc: RunClient, probe) -> None:
    slow = {"nodes": [node("start", "input"), tool("slow", sleep=20), node("out", "output", outputs={"x": "1"})],
            "edges": [edge("start", "slow"), edge("slow", "out")]}
    child = await create(rc, slow, "slow child")
    await publish(rc, child)
    parent_id = await rc.start(await create(rc, caller_graph(child, {})))
    reader = asyncio.create_task(rc.events(parent_id))
    for _ in range(200):  # until the child's tool node runs
        await asyncio.sleep(0.05)
        if probe.active == 1:
            break
    assert probe.active == 1
    t0 = time.monotonic()
    response = await rc.http.post(f"/api/executions/{parent_id}/cancel")
    assert response.status_code == 202
    events = await asyncio.wait_for(reader, 15)
    assert time.monotonic() - t0 < 5.0 and probe.calls and probe.calls[-1][3] - probe.calls[-1][2] < 10
    assert events[-1][1] == "run.finished" and events[-1][2]["status"] == "cancelled"
    forwarded = child_events(events)
    assert forwarded[-1]["child_event"] == "run.finished" and forwarded[-1]["data"]["status"] == "cancelled"
    child_id = forwarded[0]["child_execution_id"]
    child_detail = await rc.execution(child_id)
    assert child_detail["status"] == "cancelled" and child_detail["cancel_requested"] is True
    assert child_detail["finished_at"] and (await rc.execution(parent_id))["status"] == "cancelled"


# ---------------------------------------------------------------- recursion and tenancy


async def test_static_recursion_is_refused_with_a_422(rc: RunClient) -> None:
    b = await create(rc, child_graph(), "B")
    a = await create(rc, caller_graph(b, {"n": "{{ 1 }}"}, node_id="call_b"), "A")  # A → B: fine
    response = await rc.http.put(f"/api/workflows/{b}", json=caller_graph(a, {}, node_id="call_a"))  # B → A → B
    assert response.status_code == 422, response.text
    body = response.json()
    assert f"node 'call_a' (workflow) makes sub-workflows recurse: {b} → {a} → {b}" in body["detail"]
    assert body["extra"][0]["code"] == "subworkflow_cycle" and body["extra"][0]["node_ids"] == ["call_a"]
    assert (await rc.http.get(f"/api/workflows/{b}")).json()["version"] == 1  # nothing was written

    # A workflow calling itself, also from inside a loop body, and through a pinned version.
    looped = {"nodes": [node("start", "input"), node("each", "loop", items="[1, 2]", body={
        "nodes": [node("again", "workflow", workflow_id=a, version=1)], "edges": []}),
        node("out", "output", outputs={"x": "1"})], "edges": [edge("start", "each"), edge("each", "out")]}
    response = await rc.http.put(f"/api/workflows/{a}", json=looped)
    assert response.status_code == 422 and f"{a} → {a}" in response.json()["detail"], response.text
    # The published version counts too: C's head no longer calls D, but its published version does.
    d = await create(rc, child_graph(), "D")
    c = await create(rc, caller_graph(d, {"n": "{{ 1 }}"}), "C")
    await publish(rc, c)
    assert (await rc.http.put(f"/api/workflows/{c}", json=child_graph())).status_code == 200
    response = await rc.http.put(f"/api/workflows/{d}", json=caller_graph(c, {}))
    assert response.status_code == 422 and f"{d} → {c} → {d}" in response.json()["detail"], response.text


async def test_another_workspace_workflow_is_not_found(rc: RunClient, live_server) -> None:
    other = RunClient(live_server.url, await live_server.new_key())
    try:
        theirs = await create(other, child_graph(), "theirs")
        await publish(other, theirs)
    finally:
        await other.aclose()
    _, events = await run(rc, await create(rc, caller_graph(theirs, {"n": "{{ 1 }}"})))
    assert node_failed(events, "call") == f"workflow_id: workflow '{theirs}' not found"
    assert events[-1][2]["status"] == "failed" and not child_events(events)


@pytest.fixture(scope="module")
def shallow_server(tmp_path_factory):
    """A server allowing one level of sub-workflows (PILOT_SUBWORKFLOW_MAX_DEPTH=1)."""
    settings = build_settings(tmp_path_factory.mktemp("subworkflow-depth") / ".pilot", None, PILOT_SUBWORKFLOW_MAX_DEPTH="1")
    app = create_app(settings)
    with serve_in_thread(app) as url:
        yield url, app


async def test_depth_limit_at_run_time(shallow_server) -> None:
    url, app = shallow_server
    rc = RunClient(url, await new_workspace_key(app))
    try:
        leaf = await create(rc, child_graph(), "leaf")
        await publish(rc, leaf)
        middle = await create(rc, caller_graph(leaf, {"n": "{{ inputs.n }}"}, node_id="call_leaf",
                                               fields=[{"name": "n", "type": "integer"}]), "middle")
        await publish(rc, middle)
        _, ok = await run(rc, middle, {"n": 2})  # one level: allowed
        assert ok[-1][2]["outputs"] == {"result": {"double": 4, "greet": "hi you"}}
        top = await create(rc, caller_graph(middle, {"n": "{{ 3 }}"}, node_id="call_middle"), "top")
        parent_id, events = await run(rc, top)
    finally:
        await rc.aclose()
    assert events[-1][2]["status"] == "failed"
    error = node_failed(events, "call_middle")
    assert "would nest sub-workflows 2 deep; the limit is 1 (PILOT_SUBWORKFLOW_MAX_DEPTH)" in error
    # The grandchild call failed inside the child: its node.failed reached the top stream, nested once.
    nested = [d["data"] for d in child_events(events) if d["child_event"] == "node.failed"]
    assert nested and nested[0]["node_id"] == "call_leaf" and "PILOT_SUBWORKFLOW_MAX_DEPTH" in nested[0]["error"]


async def test_a_test_run_runs_its_child_as_a_dry_run(rc: RunClient) -> None:
    child = await create(rc, child_graph(), "dry child")
    await publish(rc, child)
    parent = await create(rc, caller_graph(child, {"n": "{{ 2 }}"}))
    response = await rc.http.post(f"/api/workflows/{parent}/test", json={"input_data": {}})
    assert response.status_code == 202, response.text
    events = await asyncio.wait_for(rc.events(response.json()["execution_id"]), 30)
    assert events[-1][2]["outputs"] == {"result": {"double": 4, "greet": "hi you"}}
    child_id = child_events(events)[0]["child_execution_id"]
    assert (await rc.execution(child_id))["trigger"] == "test"  # deliveries inside it are recorded, not sent
