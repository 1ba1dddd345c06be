"""Hostile workflows never strand or lose a run (issue 10): whatever an expression returns, a run
ends in a terminal state, its last event is ``run.finished``, its stored events are exactly the
ones published (1..N, none missing) and its stored row agrees with the stream."""

from __future__ import annotations

import pytest

from tests.support.runs import RunClient, edge, node

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _assert_complete(events: list[tuple[int, str, dict]], stored: dict) -> dict:
    """The stream is gap-free, ends with run.finished, and the row says the same thing."""
    assert [seq for seq, _, _ in events] == list(range(1, len(events) + 1))
    seq, name, last = events[-1]
    assert name == "run.finished"
    assert stored["status"] == last["status"] and stored["status"] in ("succeeded", "failed")
    return last


@pytest.mark.parametrize(
    ("expression", "expected"),
    [("{{ range(3) }}", [0, 1, 2]), ("{{ inputs.keys() }}", ["name"]), ("{{ {1: 'a'} }}", {"1": "a"})],
)
async def test_expression_values_become_json(rc: RunClient, expression: str, expected) -> None:
    nodes = [
        {"id": "start", "type": "input", "config": {"fields": [{"name": "name", "type": "string", "required": False}]}},
        node("out", "output", outputs={"value": expression}),
    ]
    execution_id, events = await rc.run(nodes, [edge("start", "out")], {"name": "x"})
    stored = await rc.execution(execution_id)
    last = _assert_complete(events, stored)
    assert last["status"] == "succeeded", last.get("error")
    assert last["outputs"] == {"value": expected} == stored["outputs"]
    replay = await rc.events(execution_id)
    assert replay == events  # what was published is what was stored


async def test_a_value_with_no_json_form_fails_the_node_clearly(rc: RunClient) -> None:
    nodes = [node("out", "output", outputs={"value": "{{ lipsum }}"})]
    execution_id, events = await rc.run(nodes, [])
    stored = await rc.execution(execution_id)
    last = _assert_complete(events, stored)
    assert last["status"] == "failed"
    assert "no JSON form" in last["error"] and "lipsum" in last["error"]
    assert stored["error"] == last["error"]
    assert await rc.events(execution_id) == events


async def test_nul_characters_are_stored_the_same_on_both_databases(rc: RunClient) -> None:
    nodes = [node("out", "output", outputs={"value": "{{ 'a' ~ '\\x00' ~ 'b' }}", "k": "{{ {'\\x00': 1} }}"})]
    execution_id, events = await rc.run(nodes, [])
    stored = await rc.execution(execution_id)
    last = _assert_complete(events, stored)
    assert last["status"] == "succeeded", last.get("error")
    assert stored["outputs"] == last["outputs"] == {"value": "a\ufffdb", "k": {"\ufffd": 1}}
    assert await rc.events(execution_id) == events


async def test_non_finite_numbers_are_null(rc: RunClient) -> None:
    nodes = [
        {"id": "start", "type": "input", "config": {"fields": [{"name": "x", "type": "string", "required": True}]}},
        node("out", "output", outputs={"value": "{{ inputs.x | float }}", "inf": "{{ [(inputs.x | float) + 1] }}"}),
    ]
    execution_id, events = await rc.run(nodes, [edge("start", "out")], {"x": "nan"})
    stored = await rc.execution(execution_id)
    last = _assert_complete(events, stored)
    assert last["status"] == "succeeded", last.get("error")
    assert stored["outputs"] == last["outputs"] == {"value": None, "inf": [None]}
    execution_id, events = await rc.run(nodes, [edge("start", "out")], {"x": "-1e400"})
    stored = await rc.execution(execution_id)
    last = _assert_complete(events, stored)
    assert last["status"] == "succeeded", last.get("error")
    assert stored["outputs"] == last["outputs"] == {"value": None, "inf": [None]}
