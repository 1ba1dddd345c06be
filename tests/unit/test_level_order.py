"""pilot.workflows.order against networkx on random directed graphs (duplicate edges, self-loops
and edges to unknown nodes included): the same generations, cycles and reachability."""

from __future__ import annotations

import networkx as nx
from hypothesis import given, settings, strategies as st

from pilot.workflows.order import LevelOrder


@st.composite
def graphs(draw):
    n = draw(st.integers(min_value=0, max_value=12))
    ids = [f"n{i}" for i in range(n)]
    names = [*ids, "ghost"]  # "ghost" is no node: its edges are left out
    pairs = draw(st.lists(st.tuples(st.sampled_from(names), st.sampled_from(names)), max_size=30)) if n else []
    return ids, pairs


@settings(max_examples=400, deadline=None)
@given(graphs())
def test_level_order_answers_as_networkx(graph) -> None:
    ids, pairs = graph
    g = nx.DiGraph()
    g.add_nodes_from(ids)
    g.add_edges_from((s, t) for s, t in pairs if s in g and t in g)
    order = LevelOrder(ids, pairs)
    if nx.is_directed_acyclic_graph(g):
        assert [sorted(level) for level in order.generations()] == [sorted(level) for level in nx.topological_generations(g)]
        position = {nid: i for i, nid in enumerate(order.topological())}
        assert sorted(position) == sorted(ids)
        assert all(position[s] < position[t] for s, t in g.edges)
    else:
        assert order.generations() is None and order.topological() is None and not order.acyclic()
    for source in ids[:3]:
        assert order.reachable_from([source]) == nx.descendants(g, source) | {source}
    # every edge between known nodes, duplicates kept (Kahn counts each one down)
    assert {nid: sorted(order.pred[nid]) for nid in ids} == {nid: sorted(s for s, t in pairs if t == nid and s in g) for nid in ids}
