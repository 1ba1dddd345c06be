"""diff_graphs: the minimal workflow.* event list, in an order a client can draw."""

from __future__ import annotations

import msgspec

from pilot.chat.diff import build_events, clear_events, diff_graphs
from pilot.chat.edits import RemoveNode, SetSetting, UpdateNode, apply_edits
from pilot.chat.events import EVENT_NAMES, NodeAdded, event_to_payload, payload_to_event
from pilot.chat.ops import AddEdge, AddNode
from pilot.generation.compiler import compile_ops, compile_plan
from pilot.generation.plan import AiStep, BranchStep, Case, Comparison, DeliverStep, SourceStep, WorkflowPlan
from pilot.workflows.model import ScheduleTrigger, WorkflowGraph
from pilot.templates.catalog import default_catalog
from pilot.workflows.layout import apply_layout
from pilot.workflows.validation import to_digraph


def test_a_new_workflow_appears_node_by_node_in_topological_order():
    graph = default_catalog().instantiate("customer_support")
    events = [payload_to_event(e) for e in diff_graphs(None, graph)]
    assert {name for name, _ in events} == {"workflow.node_added", "workflow.edge_added"}
    seen: list[str] = []
    for name, data in events:
        if name == "workflow.node_added":
            seen.append(data["node"]["id"])
        else:  # an edge only after both of its ends
            assert data["edge"]["source"] in seen and data["edge"]["target"] in seen
    assert sorted(seen) == sorted(n.id for n in graph.nodes)
    g = to_digraph(graph)
    for i, nid in enumerate(seen):
        assert all(pred in seen[:i] for pred in g.predecessors(nid))
    assert sum(1 for name, _ in events if name == "workflow.edge_added") == len(graph.edges)


def test_edit_events_are_minimal():
    old = default_catalog().instantiate("translation")
    new = apply_edits(old, [RemoveNode(node_id="review"), UpdateNode(node_id="translate", config={"model": "gpt-4o"}),
                            SetSetting(key="schedule", value="0 9 * * 1")])
    events = [payload_to_event(e) for e in diff_graphs(old, new)]
    names = [n for n, _ in events]
    assert names == ["workflow.edge_removed", "workflow.edge_removed", "workflow.node_removed", "workflow.node_updated",
                     "workflow.node_updated", "workflow.edge_added", "workflow.settings_updated"]
    updated = {d["node_id"]: d["changes"] for n, d in events if n == "workflow.node_updated"}
    assert updated == {"translate": ["config.model"], "result": ["config.outputs"]}
    assert events[-1][1]["changes"] == ["schedule"]


def test_relayout_and_renamed_edge_ids_are_not_changes():
    old = default_catalog().instantiate("summarization")
    moved = msgspec.structs.replace(old, nodes=[msgspec.structs.replace(n, position=msgspec.structs.replace(n.position, x=n.position.x + 7)) for n in old.nodes],
                                    edges=[msgspec.structs.replace(e, id=f"renamed_{e.id}") for e in old.edges])
    assert diff_graphs(old, apply_layout(moved)) == []
    assert diff_graphs(old, moved) == []


def test_event_payloads_round_trip():
    graph = default_catalog().instantiate("translation")
    first = diff_graphs(None, graph)[0]
    name, data = payload_to_event(first)
    assert name == "workflow.node_added" and name in EVENT_NAMES and "event" not in data
    assert event_to_payload(name, data) == first and isinstance(first, NodeAdded)
    assert {"workflow.edge_removed", "message.finished", "error", "clarification"} <= set(EVENT_NAMES)


PLAN = WorkflowPlan(title="Digest", trigger=ScheduleTrigger(cron="0 8 * * *"), steps=[
    SourceStep(id="fetch", service="hacker_news"),
    AiStep(id="score", task="score", instruction="Score each story"),
    BranchStep(id="check", on="score", field="score", cases=[
        Case(label="high", when=Comparison(subject="score", field="score", op="gt", value=7),
             steps=[DeliverStep(id="post", service="slack")])]),
])


def test_a_build_streams_op_by_op_in_the_compilers_order():
    ops = compile_ops(PLAN)
    graph = compile_plan(PLAN)
    events = [payload_to_event(e) for e in build_events(ops, graph)]
    added = [d["node"]["id"] for n, d in events if n == "workflow.node_added"]
    assert added == [op.node["id"] for op in ops if isinstance(op, AddNode)]  # one per node, compiler order
    assert len(added) == len(graph.nodes)
    edges = [(d["edge"]["source"], d["edge"]["target"], d["edge"].get("source_handle")) for n, d in events if n == "workflow.edge_added"]
    assert edges == [(op.source, op.target, op.source_handle) for op in ops if isinstance(op, AddEdge)]
    assert len(edges) == len(graph.edges)
    seen: set[str] = set()
    final = {n["id"]: n for n in msgspec.to_builtins(graph.nodes)}
    for name, data in events:
        if name == "workflow.node_added":
            seen.add(data["node"]["id"])
            assert data["node"] == final[data["node"]["id"]]  # laid-out position and validated defaults
        elif name == "workflow.edge_added":
            assert {data["edge"]["source"], data["edge"]["target"]} <= seen
    assert [d for n, d in events if n == "workflow.settings_updated"] == [
        {"settings": msgspec.to_builtins(graph.settings), "changes": ["schedule"]}]


def test_a_build_holds_back_edges_and_fills_in_what_the_ops_did_not_announce():
    graph = compile_plan(PLAN)
    ops = [op for op in compile_ops(PLAN) if isinstance(op, AddEdge)] + [op for op in compile_ops(PLAN) if isinstance(op, AddNode)][:2]
    events = [payload_to_event(e) for e in build_events(ops, graph)]
    seen: set[str] = set()
    for name, data in events:
        if name == "workflow.node_added":
            seen.add(data["node"]["id"])
        elif name == "workflow.edge_added":
            assert {data["edge"]["source"], data["edge"]["target"]} <= seen
    assert seen == {n.id for n in graph.nodes}
    assert sum(1 for n, _ in events if n == "workflow.edge_added") == len(graph.edges)


def test_clearing_a_workflow_removes_every_edge_then_every_node():
    graph = default_catalog().instantiate("translation")
    names = [payload_to_event(e)[0] for e in clear_events(graph)]
    assert names == ["workflow.edge_removed"] * len(graph.edges) + ["workflow.node_removed"] * len(graph.nodes)
    assert clear_events(WorkflowGraph(nodes=[])) == []
