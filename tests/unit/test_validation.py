"""Each validation failure is rejected with a message naming the culprit."""

from __future__ import annotations

import copy

import pytest

from pilot.core.errors import GraphValidationError
from pilot.workflows.layout import apply_layout
from pilot.workflows.validation import ensure_valid, parallel_levels, validate_data

VALID = {
    "nodes": [
        {"id": "start", "type": "input", "config": {"fields": [{"name": "q"}]}},
        {"id": "ask", "type": "llm", "config": {"prompt": "Answer {{ inputs.q }}"}},
        {"id": "fetch", "type": "api", "config": {"url": "https://example.com/?q={{ inputs.q }}"}},
        {"id": "route", "type": "condition", "config": {"cases": [{"id": "long", "when": "nodes.ask.output | length > 100"}]}},
        {
            "id": "each",
            "type": "loop",
            "config": {
                "items": "{{ nodes.fetch.output.body['items'] }}",
                "body": {
                    "nodes": [
                        {"id": "w", "type": "llm", "config": {"prompt": "{{ item }} {{ nodes.ask.output }}"}},
                        {"id": "w2", "type": "llm", "config": {"prompt": "{{ nodes.w.output }}"}},
                    ],
                    "edges": [{"id": "b1", "source": "w", "target": "w2"}],
                },
            },
        },
        {"id": "done", "type": "output", "config": {"outputs": {"answer": "{{ nodes.ask.output }}"}}},
    ],
    "edges": [
        {"id": "e1", "source": "start", "target": "ask"},
        {"id": "e2", "source": "start", "target": "fetch"},
        {"id": "e3", "source": "ask", "target": "route"},
        {"id": "e4", "source": "fetch", "target": "route"},
        {"id": "e5", "source": "route", "target": "each", "source_handle": "long"},
        {"id": "e6", "source": "route", "target": "done", "source_handle": "else"},
        {"id": "e7", "source": "each", "target": "done"},
    ],
}


def problems_of(data):
    _graph, report = validate_data(data)
    assert not report.valid
    return report.problems


def mutated(fn):
    data = copy.deepcopy(VALID)
    fn(data)
    return data


def test_valid_graph_passes_and_has_levels():
    graph, report = validate_data(VALID)
    assert report.valid, report.problems
    assert report.levels == [["start"], ["ask", "fetch"], ["route"], ["each"], ["done"]]
    assert parallel_levels(graph) == report.levels


def test_cycle_is_printed():
    data = mutated(lambda d: d["edges"].append({"id": "back", "source": "route", "target": "ask", "source_handle": "long"}))
    [cycle] = [p for p in problems_of(data) if p.code == "cycle"]
    assert "ask → route → ask" in cycle.message or "route → ask → route" in cycle.message
    assert set(cycle.node_ids) == {"ask", "route"}


def test_dangling_edge_names_edge_and_node():
    data = mutated(lambda d: d["edges"].append({"id": "ghost", "source": "ask", "target": "nowhere"}))
    [p] = [p for p in problems_of(data) if p.code == "dangling_edge"]
    assert "ghost" in p.message and "nowhere" in p.message


def test_duplicate_node_ids():
    data = mutated(lambda d: d["nodes"].append({"id": "ask", "type": "llm", "config": {"prompt": "x"}}))
    [p] = [p for p in problems_of(data) if p.code == "duplicate_node_id"]
    assert "'ask'" in p.message


def test_duplicate_ids_across_loop_body():
    data = mutated(lambda d: d["nodes"][4]["config"]["body"]["nodes"][0].__setitem__("id", "ask"))
    codes = [p.code for p in problems_of(data)]
    assert "duplicate_node_id" in codes


def test_unknown_node_type_names_node():
    data = mutated(lambda d: d["nodes"].append({"id": "magic", "type": "teleport", "config": {}}))
    [p] = problems_of(data)[:1]
    assert p.code == "unknown_node_type" and "magic" in p.message and "teleport" in p.message


def test_missing_required_config_names_node_and_field():
    data = mutated(lambda d: d["nodes"][1]["config"].pop("prompt"))
    [p] = [p for p in problems_of(data) if p.code == "missing_config"]
    assert "'ask'" in p.message and "prompt" in p.message


def test_condition_edge_with_unknown_case():
    data = mutated(lambda d: d["edges"][4].__setitem__("source_handle", "short"))
    [p] = [p for p in problems_of(data) if p.code == "bad_source_handle"]
    assert "'short'" in p.message and "route" in p.message and "long" in p.message


def test_unreachable_nodes_listed():
    data = mutated(lambda d: d["nodes"].append({"id": "orphan", "type": "llm", "config": {"prompt": "x"}}))
    [p] = [p for p in problems_of(data) if p.code == "unreachable"]
    assert p.node_ids == ["orphan"]


def test_missing_output_and_input():
    data = mutated(lambda d: (d["nodes"].pop(), d["edges"].pop(), d["edges"].pop()))
    assert "missing_output" in [p.code for p in problems_of(data)]
    no_input = {"nodes": [{"id": "o", "type": "output", "config": {"outputs": {}}}], "edges": []}
    assert "missing_input" in [p.code for p in problems_of(no_input)]


def test_bad_jinja_syntax_names_field():
    data = mutated(lambda d: d["nodes"][1]["config"].__setitem__("prompt", "Answer {{ inputs.q "))
    [p] = [p for p in problems_of(data) if p.code == "template_syntax"]
    assert "'ask'" in p.message and "config.prompt" in p.message


def test_bad_expression_syntax_in_condition():
    data = mutated(lambda d: d["nodes"][3]["config"]["cases"][0].__setitem__("when", "nodes.ask.output >"))
    [p] = [p for p in problems_of(data) if p.code == "template_syntax"]
    assert "cases[0].when" in p.message


def test_reference_to_node_not_upstream():
    # 'ask' runs parallel to 'fetch'; referencing fetch from ask is not upstream
    data = mutated(lambda d: d["nodes"][1]["config"].__setitem__("prompt", "{{ nodes.fetch.output }}"))
    [p] = [p for p in problems_of(data) if p.code == "reference_not_upstream"]
    assert "nodes.fetch" in p.message and "'ask'" in p.message


def test_loop_body_may_reference_outer_ancestors_but_not_downstream():
    ok = copy.deepcopy(VALID)
    ensure_valid(ok)
    data = mutated(lambda d: d["nodes"][4]["config"]["body"]["nodes"][0]["config"].__setitem__("prompt", "{{ nodes.done.output }}"))
    [p] = [p for p in problems_of(data) if p.code == "reference_not_upstream"]
    assert "loop 'each'" in p.message


def test_every_problem_is_listed_at_once():
    def break_everything(d):
        d["nodes"].append({"id": "x", "type": "bogus"})
        d["nodes"][1]["config"]["prompt"] = "{{ nodes.fetch.output }}"
        d["edges"][4]["source_handle"] = "nope"

    with pytest.raises(GraphValidationError) as info:
        ensure_valid(mutated(break_everything))
    codes = {p["code"] for p in info.value.extra}
    assert {"unknown_node_type", "reference_not_upstream", "bad_source_handle"} <= codes
    assert info.value.status_code == 422


def test_layout_left_to_right():
    graph = apply_layout(ensure_valid(VALID))
    pos = {n.id: n.position for n in graph.nodes}
    assert pos["start"].x < pos["ask"].x == pos["fetch"].x < pos["route"].x < pos["each"].x < pos["done"].x
    assert pos["ask"].y != pos["fetch"].y
    body = next(n for n in graph.nodes if n.id == "each").config.body
    assert body.nodes[0].position.x < body.nodes[1].position.x
