"""Property-based: on random graphs validation never crashes and accepts exactly the acyclic,
well-formed ones (every node reachable from the input, an output present)."""

from __future__ import annotations

import networkx as nx
from hypothesis import given, settings, strategies as st

from pilot.workflows.validation import validate_data

TYPES = ["llm", "api", "knowledge", "tool", "output", "condition"]


def _node(nid: str, ntype: str) -> dict:
    configs = {
        "input": {"fields": [{"name": "q"}]},
        "llm": {"prompt": "{{ inputs.q }}"},
        "api": {"url": "https://example.com"},
        "knowledge": {"knowledge_base": "kb", "query": "{{ inputs.q }}"},
        "tool": {"tool": "webhook", "arguments": {"url": "https://example.com"}},
        "output": {"outputs": {"r": "{{ inputs.q }}"}},
        "condition": {"cases": [{"id": "yes", "when": "inputs.q"}]},
    }
    return {"id": nid, "type": ntype, "config": configs[ntype]}


@st.composite
def random_graphs(draw):
    n = draw(st.integers(min_value=1, max_value=9))
    types = ["input"] + [draw(st.sampled_from(TYPES)) for _ in range(n - 1)]
    nodes = [_node(f"n{i}", t) for i, t in enumerate(types)]
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=14, unique=True))
    edges = []
    for k, (a, b) in enumerate(pairs):
        edge = {"id": f"e{k}", "source": f"n{a}", "target": f"n{b}"}
        if types[a] == "condition":
            edge["source_handle"] = draw(st.sampled_from(["yes", "else"]))
        edges.append(edge)
    return {"nodes": nodes, "edges": edges}


def expected_valid(data: dict) -> bool:
    g = nx.DiGraph()
    g.add_nodes_from(n["id"] for n in data["nodes"])
    g.add_edges_from((e["source"], e["target"]) for e in data["edges"])
    types = {n["id"]: n["type"] for n in data["nodes"]}
    if not nx.is_directed_acyclic_graph(g):
        return False
    if g.in_degree("n0"):
        return False  # the input node takes no incoming edges
    if "output" not in types.values():
        return False
    reachable = {"n0"} | nx.descendants(g, "n0")
    if reachable != set(g.nodes):
        return False
    seen = set()
    for e in data["edges"]:
        key = (e["source"], e["target"], e.get("source_handle"))
        if key in seen:
            return False
        seen.add(key)
    return True


@settings(max_examples=300, deadline=None)
@given(random_graphs())
def test_validation_accepts_exactly_acyclic_well_formed(data):
    graph, report = validate_data(data)
    assert report.valid == expected_valid(data), report.problems
    if report.valid:
        assert graph is not None
        assert sorted(n for level in report.levels for n in level) == sorted(n["id"] for n in data["nodes"])


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=6), c, max_size=4), max_leaves=20))
def test_validation_never_crashes_on_garbage(data):
    graph, report = validate_data(data if not isinstance(data, dict) else {"nodes": [data], "edges": [data]})
    assert graph is None or report.valid in (True, False)
    if not report.valid:
        assert all(p.message for p in report.problems)
