"""``transform`` nodes in real runs over the API and the SSE stream on a real socket: typed JSON
flows to the next node (a number stays a number), every mode works end to end, and a bad
expression fails the run with the field named, ending in ``run.finished``."""

from __future__ import annotations

import pytest

from tests.support.runs import RunClient, edge, finished, node

pytestmark = pytest.mark.asyncio(loop_scope="session")

ORDERS = [{"region": "eu", "amount": 120.5, "email": "a@x.io"}, {"region": "us", "amount": 80, "email": "b@x.io"},
          {"region": "eu", "amount": 30, "email": "a@x.io"}]


def _graph(**config) -> tuple[list[dict], list[dict]]:
    nodes = [
        node("start", "input", fields=[{"name": "orders", "type": "array"}]),
        node("shape", "transform", **config),
        node("check", "condition", cases=[{"id": "big", "when": "nodes.shape.output | length > 1"}]),
        node("end", "output", outputs={"result": "{{ nodes.shape.output }}"}),
    ]
    return nodes, [edge("start", "shape"), edge("shape", "check"), edge("check", "end", "big")]


async def test_group_by_totals_are_typed_and_drive_the_next_nodes(rc: RunClient) -> None:
    _, events = await rc.run(*_graph(mode="aggregate", items="inputs.orders", group_by="item.region",
                                     aggregates={"total": {"op": "sum", "of": "item.amount"}, "n": {"op": "count"}}),
                             input_data={"orders": ORDERS})
    shape = finished(events)["shape"]
    assert shape["status"] == "succeeded"
    assert shape["output"] == [{"key": "eu", "total": 150.5, "n": 2}, {"key": "us", "total": 80, "n": 1}]
    run = events[-1][2]
    assert events[-1][1] == "run.finished" and run["status"] == "succeeded"
    assert run["outputs"]["result"][1]["total"] == 80  # a number, not the string "80"


async def test_map_filter_and_dedupe_modes_over_the_api(rc: RunClient) -> None:
    _, events = await rc.run(*_graph(mode="map", items="inputs.orders",
                                     fields={"who": "{{ item.email }}", "cents": "{{ (item.amount * 100) | int }}"}),
                             input_data={"orders": ORDERS})
    assert finished(events)["shape"]["output"][0] == {"who": "a@x.io", "cents": 12050}
    _, events = await rc.run(*_graph(mode="filter", items="inputs.orders", where="item.amount >= 80"),
                             input_data={"orders": ORDERS})
    assert [o["email"] for o in finished(events)["shape"]["output"]] == ["a@x.io", "b@x.io"]
    _, events = await rc.run(*_graph(mode="aggregate", items="inputs.orders", group_by="item.email",
                                     aggregates={"row": {"op": "first", "of": "item"}}), input_data={"orders": ORDERS})
    assert [g["row"]["amount"] for g in finished(events)["shape"]["output"]] == [120.5, 80]


async def test_a_failing_expression_fails_the_run_naming_the_field(rc: RunClient) -> None:
    _, events = await rc.run(*_graph(mode="map", items="inputs.orders", fields={"x": "{{ item.amount / 0 }}"}),
                             input_data={"orders": ORDERS})
    failed = [d for _, e, d in events if e == "node.failed"]
    assert failed and failed[0]["node_id"] == "shape" and "fields.x" in failed[0]["error"]
    assert events[-1][1] == "run.finished" and events[-1][2]["status"] == "failed"
