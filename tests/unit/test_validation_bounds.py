"""Validation stays bounded whatever the graph holds (issue 10, defects 3 and 4).

- Dense cycles: cycles are reported from a bounded search (one per strongly connected
  component, at most MAX_REPORTED_CYCLES), never enumerated — a complete graph of 12 nodes used
  to run for minutes and out of memory.
- Loop bodies: nodes and edges count against the limits across every nesting level (5,000 body
  nodes used to be accepted, and took seconds to check), and the checks are linear: the
  deterministic call-count test below fails on the old per-node ``nx.ancestors`` scans.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest

from pilot.core.errors import GraphValidationError
from pilot.workflows.validation import (
    MAX_EDGES,
    MAX_NODES,
    MAX_REPORTED_CYCLES,
    count_all,
    decode_graph,
    ensure_valid,
    validate_data,
)

INPUT = {"id": "inp", "type": "input"}


def llm(nid: str, prompt: str = "{{ inputs.q }}") -> dict[str, Any]:
    return {"id": nid, "type": "llm", "config": {"prompt": prompt}}


def output(ref: str | None = None) -> dict[str, Any]:
    return {"id": "out", "type": "output", "config": {"outputs": {"a": f"{{{{ nodes.{ref}.output }}}}" if ref else "x"}}}


def loop(nid: str, body_nodes: list[dict], body_edges: list[dict]) -> dict[str, Any]:
    return {"id": nid, "type": "loop", "config": {"items": "[1, 2]", "body": {"nodes": body_nodes, "edges": body_edges}}}


def edge(a: str, b: str) -> dict[str, Any]:
    return {"id": f"{a}->{b}", "source": a, "target": b}


def chain(prefix: str, count: int, first_ref: str | None = None, salt: str = "") -> tuple[list[dict], list[dict]]:
    """``count`` llm nodes in a chain, each referencing its predecessor (the first: ``first_ref``)."""
    nodes, edges, prev = [], [], first_ref
    for i in range(count):
        nid = f"{prefix}{i}"
        nodes.append(llm(nid, f"{salt}{{{{ nodes.{prev}.output }}}}" if prev else f"{salt}{{{{ item }}}}"))
        if i:
            edges.append(edge(f"{prefix}{i - 1}", nid))
        prev = nid
    return nodes, edges


def wrap(inner: dict[str, Any]) -> dict[str, Any]:
    """input → inner → output."""
    return {"nodes": [INPUT, inner, output()], "edges": [edge("inp", inner["id"]), edge(inner["id"], "out")]}


def complete_graph(n: int) -> dict[str, Any]:
    ids = [f"c{i}" for i in range(n)]
    nodes = [INPUT, *(llm(i) for i in ids), output()]
    edges = [edge("inp", "c0"), edge("c0", "out")] + [edge(a, b) for a in ids for b in ids if a != b]
    return {"nodes": nodes, "edges": edges}


def cycle_problems(data: dict[str, Any]) -> list:
    _graph, report = validate_data(data)
    assert not report.valid
    return [p for p in report.problems if p.code == "cycle"]


def assert_real_cycle(problem, data: dict[str, Any]) -> None:
    """The printed path closes on itself, follows existing edges and names its nodes."""
    path = problem.message.split("the graph has a cycle: ", 1)[1].split(" → ")
    assert path[0] == path[-1] and len(path) >= 2
    pairs = {(e["source"], e["target"]) for e in data["edges"]}
    assert all((a, b) in pairs for a, b in zip(path, path[1:])), problem.message
    assert problem.node_ids == path[:-1]
    assert len(set(problem.node_ids)) == len(problem.node_ids)  # a simple cycle


# ---------------------------------------------------------------- defect 3: dense cycles


@pytest.mark.timeout(30)  # the old enumeration never finished (minutes, then out of memory)
@pytest.mark.parametrize("n", [10, 12])
def test_complete_graph_reports_a_bounded_number_of_cycles(n):
    data = complete_graph(n)
    cycles = cycle_problems(data)
    assert 1 <= len(cycles) <= MAX_REPORTED_CYCLES
    for problem in cycles:
        assert_real_cycle(problem, data)


def test_one_cycle_per_component_and_at_most_five():
    pairs = [(f"a{i}", f"b{i}") for i in range(8)]  # eight separate 2-cycles hanging off the input
    nodes = [INPUT, *(llm(x) for pair in pairs for x in pair), output()]
    edges = [e for a, b in pairs for e in (edge("inp", a), edge(a, b), edge(b, a), edge(b, "out"))]
    data = {"nodes": nodes, "edges": edges}
    cycles = cycle_problems(data)
    assert len(cycles) == MAX_REPORTED_CYCLES == 5
    assert len({frozenset(p.node_ids) for p in cycles}) == 5  # five different components
    for problem in cycles:
        assert_real_cycle(problem, data)


def test_self_loop_is_a_cycle():
    data = {"nodes": [INPUT, llm("a"), output()], "edges": [edge("inp", "a"), edge("a", "a"), edge("a", "out")]}
    [problem] = cycle_problems(data)
    assert problem.message == "the graph has a cycle: a → a"
    assert problem.node_ids == ["a"]


def test_cycle_inside_a_loop_body_names_the_loop():
    body = [llm("x", "{{ item }}"), llm("y", "{{ item }}")]
    data = wrap(loop("each", body, [edge("x", "y"), edge("y", "x")]))
    [problem] = cycle_problems(data)
    assert problem.message.startswith("in loop 'each': the graph has a cycle: ")
    assert set(problem.node_ids) == {"x", "y"}


# ---------------------------------------------------------------- defect 4: limits over every level


def body_chain(count: int) -> dict[str, Any]:
    """One loop whose body is a chain of ``count`` nodes."""
    nodes, edges = chain("b", count)
    return wrap(loop("each", nodes, edges))


@pytest.mark.timeout(60)  # the old code took seconds here, then accepted the graph
def test_5000_nodes_in_a_loop_body_are_rejected_with_the_node_limit():
    _graph, report = validate_data(body_chain(5_000))
    assert not report.valid
    [problem] = [p for p in report.problems if p.code == "too_many_nodes"]
    assert f"at most {MAX_NODES}" in problem.message and "5003 nodes" in problem.message
    assert problem.message.startswith("field 'nodes'")
    # Over the limits nothing else is checked (the work stays bounded).
    assert {p.code for p in report.problems} <= {"too_many_nodes", "too_many_edges"}
    with pytest.raises(GraphValidationError) as err:
        ensure_valid(body_chain(5_000))
    assert err.value.status_code == 422
    assert "too_many_nodes" in {p["code"] for p in err.value.extra}
    assert f"at most {MAX_NODES}" in err.value.detail


def test_nodes_split_across_nesting_levels_count_together():
    third = MAX_NODES // 3 + 1  # each level alone is well under the limit, together they are over
    inner_nodes, inner_edges = chain("c", third)
    mid_nodes, mid_edges = chain("b", third)
    mid_nodes.append(loop("inner", inner_nodes, inner_edges))
    mid_edges.append(edge(mid_nodes[-2]["id"], "inner"))
    top_nodes, top_edges = chain("t", third, first_ref="inp")
    data = {
        "nodes": [INPUT, *top_nodes, loop("outer", mid_nodes, mid_edges), output()],
        "edges": [edge("inp", "t0"), *top_edges, edge(top_nodes[-1]["id"], "outer"), edge("outer", "out")],
    }
    total = 3 * third + 4
    assert total > MAX_NODES and count_all(decode_graph(data)[0])[0] == total
    _graph, report = validate_data(data)
    assert [p.code for p in report.problems] == ["too_many_nodes"]
    assert f"has {total} nodes" in report.problems[0].message


def test_edges_in_loop_bodies_count_against_the_edge_limit():
    # A few nodes, many (duplicate) edges: the body holds more edges than the whole graph may.
    body_edges = [{"id": f"x{i}", "source": "b0", "target": "b1"} for i in range(MAX_EDGES)]
    data = wrap(loop("each", [llm("b0", "{{ item }}"), llm("b1", "{{ item }}")], body_edges))
    _graph, report = validate_data(data)
    assert [p.code for p in report.problems] == ["too_many_edges"]
    assert report.problems[0].message.startswith("field 'edges'")
    assert f"at most {MAX_EDGES}" in report.problems[0].message


def max_size_graph(total: int = MAX_NODES, depth: int = 3, per_body: int = 100) -> dict[str, Any]:
    """``total`` nodes: a top-level chain, then loop0 whose body chain ends in loop1, … ``depth``
    levels deep. Every node references its predecessor; body chains start from ``{{ item }}`` and
    the deepest one also references a top-level node (an outer ancestor of its loop)."""
    body = None
    for d in reversed(range(depth)):
        nodes, edges = chain(f"d{d}n", per_body, first_ref="t0" if body is None else None)
        if body is not None:
            nodes.append(loop(f"loop{d + 1}", *body))
            edges.append(edge(nodes[-2]["id"], f"loop{d + 1}"))
        body = (nodes, edges)
    top, top_edges = chain("t", total - depth * per_body - depth - 2, first_ref="inp")
    return {
        "nodes": [INPUT, *top, loop("loop0", *body), output(top[-1]["id"])],
        "edges": [edge("inp", "t0"), *top_edges, edge(top[-1]["id"], "loop0"), edge("loop0", "out")],
    }


@pytest.mark.timeout(60)
def test_the_largest_allowed_graph_with_nested_loops_is_valid():
    data = max_size_graph()
    graph, report = validate_data(data)
    assert count_all(graph)[0] == MAX_NODES
    assert report.valid, report.problems[:3]
    assert report.levels[0] == ["inp"] and report.levels[-1] == ["out"]


def test_one_node_over_the_limit_is_rejected():
    data = max_size_graph()
    data["nodes"][-2]["config"]["body"]["nodes"].append(llm("extra", "{{ item }}"))
    _graph, report = validate_data(data)
    assert [p.code for p in report.problems] == ["too_many_nodes"]


def test_upstream_references_are_still_checked_in_a_large_graph():
    data = max_size_graph()
    deepest = data["nodes"][-2]["config"]["body"]["nodes"][-1]["config"]["body"]["nodes"][-1]["config"]["body"]["nodes"]
    deepest[0]["config"]["prompt"] = "{{ nodes.out.output }} {{ nodes.d2n5.output }} {{ nodes.t3.output }}"
    _graph, report = validate_data(data)
    bad = sorted((p.node_ids[0], p.node_ids[1]) for p in report.problems if p.code == "reference_not_upstream")
    # `out` is downstream, d2n5 is downstream of d2n0 in the same body; t3 is an outer ancestor.
    assert bad == [("d2n0", "d2n5"), ("d2n0", "out")]
    assert {p.code for p in report.problems} == {"reference_not_upstream"}


def test_deeply_nested_loops_are_a_problem_not_a_crash():
    body: dict[str, Any] = {"nodes": [llm("leaf", "{{ item }}")], "edges": []}
    for d in range(600):
        body = {"nodes": [loop(f"l{d}", body["nodes"], body["edges"])], "edges": []}
    _graph, report = validate_data(wrap(body["nodes"][0]))
    assert not report.valid
    assert any("nested too deeply" in p.message for p in report.problems)


# ---------------------------------------------------------------- scaling (no wall clock)


def calls_during_validation(data: dict[str, Any]) -> int:
    """Python function calls (and generator resumptions) made while validating ``data``: a
    deterministic measure of work, unlike wall-clock time."""
    calls = 0

    def profile(_frame, event, _arg):
        nonlocal calls
        if event == "call":
            calls += 1

    sys.setprofile(profile)
    try:
        validate_data(data)
    finally:
        sys.setprofile(None)
    return calls


def top_chain(n: int, salt: str) -> dict[str, Any]:
    nodes, edges = chain("n", n, first_ref="inp", salt=salt)
    return {"nodes": [INPUT, *nodes, output(nodes[-1]["id"])], "edges": [edge("inp", "n0"), *edges, edge(nodes[-1]["id"], "out")]}


def loop_chain(n: int, salt: str) -> dict[str, Any]:
    nodes, edges = chain("b", n, salt=salt)
    return wrap(loop("each", nodes, edges))


def dense_cycles(n: int, salt: str) -> dict[str, Any]:
    """n/4 complete graphs of 4 nodes (many cycles each) in a chain."""
    nodes, edges = [INPUT], [edge("inp", "k0_0")]
    for k in range(n // 4):
        ids = [f"k{k}_{i}" for i in range(4)]
        nodes += [llm(i, f"{salt}{{{{ inputs.q }}}}") for i in ids]
        edges += [edge(a, b) for a in ids for b in ids if a != b]
        if k:
            edges.append(edge(f"k{k - 1}_0", ids[0]))
    nodes.append(output())
    edges.append(edge(f"k{n // 4 - 1}_0", "out"))
    return {"nodes": nodes, "edges": edges}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("shape", [top_chain, loop_chain, dense_cycles])
def test_validation_work_grows_linearly(shape):
    # Salted prompts: every graph has fresh template strings, so the templating caches can't
    # hide work. 4× the nodes must cost about 4× the calls; quadratic code costs about 16×.
    small = calls_during_validation(shape(200, salt="s1 "))
    large = calls_during_validation(shape(800, salt="s2 "))
    assert large / small < 6, (small, large)
