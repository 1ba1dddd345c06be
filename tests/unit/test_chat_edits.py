"""apply_edits: every operation, reconnection, reference rewriting, all-or-nothing."""

from __future__ import annotations

import msgspec
import pytest

from pilot.chat.edits import (
    AddEdge,
    AddNode,
    EditError,
    RemoveEdge,
    RemoveNode,
    SetSetting,
    UpdateNode,
    WrapInLoop,
    apply_edits,
    decode_ops,
    merge_patch,
)
from pilot.workflows.model import LoopNode, WorkflowGraph, graph_from_builtins
from pilot.workflows.validation import validate_graph


def chain() -> WorkflowGraph:
    """start → draft → review → result (review reads draft; result reads review)."""
    return graph_from_builtins({
        "nodes": [
            {"id": "start", "type": "input", "config": {"fields": [{"name": "text"}]}},
            {"id": "draft", "type": "llm", "title": "Draft", "config": {"prompt": "Write about {{ inputs.text }}"}},
            {"id": "review", "type": "llm", "title": "Review", "config": {"prompt": "Fix: {{ nodes.draft.output }}"}},
            {"id": "result", "type": "output", "config": {"outputs": {"text": "{{ nodes.review.output }}"}}},
        ],
        "edges": [
            {"id": "e1", "source": "start", "target": "draft"},
            {"id": "e2", "source": "draft", "target": "review"},
            {"id": "e3", "source": "review", "target": "result"},
        ],
    })


def pairs(graph: WorkflowGraph) -> set[tuple[str, str]]:
    return {(e.source, e.target) for e in graph.edges}


EMAIL = {"id": "mail", "type": "tool", "title": "Email", "config": {"tool": "email", "arguments": {
    "to": "a@b.co", "subject": "Result", "body": "{{ nodes.review.output }}"}}}


def test_add_node_before_takes_over_incoming_edges():
    g = apply_edits(chain(), [AddNode(node=EMAIL, before=["result"])])
    assert pairs(g) == {("start", "draft"), ("draft", "review"), ("review", "mail"), ("mail", "result")}
    assert [n.id for n in g.nodes] == ["start", "draft", "review", "mail", "result"]
    assert validate_graph(g).valid
    assert len({n.position.x for n in g.nodes}) == 5  # laid out again: one column per step


def test_add_node_between_splits_the_edge_and_after_only_branches():
    node = {"id": "polish", "type": "llm", "config": {"prompt": "{{ nodes.draft.output }}"}}
    g = apply_edits(chain(), [AddNode(node=node, after=["draft"], before=["review"])])
    assert ("draft", "review") not in pairs(g)
    assert {("draft", "polish"), ("polish", "review")} <= pairs(g)
    side = {"id": "log", "type": "tool", "config": {"tool": "webhook", "arguments": {"url": "https://x.example/h"}}}
    g2 = apply_edits(chain(), [AddNode(node=side, after=["draft"])])
    assert ("draft", "log") in pairs(g2) and ("draft", "review") in pairs(g2)


def test_remove_node_reconnects_and_points_readers_at_the_predecessor():
    g = apply_edits(chain(), [RemoveNode(node_id="review")])
    assert pairs(g) == {("start", "draft"), ("draft", "result")}
    assert g.nodes[-1].config.outputs == {"text": "{{ nodes.draft.output }}"}


def test_remove_node_whose_output_is_essential_is_refused_and_nothing_changes():
    original = chain()
    before = msgspec.json.encode(original)
    with pytest.raises(EditError) as err:
        apply_edits(original, [RemoveNode(node_id="draft")])  # review needs it; its predecessor is the input
    assert "review" in err.value.detail
    assert err.value.extra["op_index"] == 0
    assert msgspec.json.encode(original) == before


def test_input_and_output_cannot_be_removed():
    for nid in ("start", "result"):
        with pytest.raises(EditError, match="cannot be removed"):
            apply_edits(chain(), [RemoveNode(node_id=nid)])


def test_update_node_merge_patch_and_fields():
    g = apply_edits(chain(), [UpdateNode(node_id="draft", config={"model": "gpt-4o", "temperature": 0.1},
                                         fields={"title": "First draft", "retry": {"max_attempts": 4}})])
    draft = g.nodes[1]
    assert (draft.config.model, draft.config.temperature, draft.title, draft.retry.max_attempts) == ("gpt-4o", 0.1, "First draft", 4)
    assert draft.config.prompt == "Write about {{ inputs.text }}"  # untouched by the patch
    with pytest.raises(EditError, match="immutable"):
        apply_edits(chain(), [UpdateNode(node_id="draft", fields={"type": "tool"})])
    assert merge_patch({"a": 1, "b": {"c": 2, "d": 3}}, {"b": {"c": None, "e": 4}, "f": [1]}) == {"a": 1, "b": {"d": 3, "e": 4}, "f": [1]}


def test_edges_and_settings():
    g = apply_edits(chain(), [AddEdge(source="start", target="review"), SetSetting(key="schedule", value="0 9 * * 1")])
    assert ("start", "review") in pairs(g) and g.settings.schedule == "0 9 * * 1"
    g2 = apply_edits(g, [RemoveEdge(source="start", target="review"), SetSetting(key="schedule", value=None)])
    assert pairs(g2) == pairs(chain()) and g2.settings.schedule is None
    with pytest.raises(EditError, match="no such connection"):
        apply_edits(chain(), [RemoveEdge(source="start", target="result")])


def test_an_edit_that_breaks_the_graph_is_rejected_with_the_problems():
    with pytest.raises(EditError) as err:
        apply_edits(chain(), [AddEdge(source="review", target="draft")])  # a cycle
    assert "cycle" in err.value.detail
    assert err.value.extra["problems"]
    with pytest.raises(EditError, match="unknown type"):
        apply_edits(chain(), [AddNode(node={"id": "x", "type": "magic", "config": {}}, after=["draft"])])
    with pytest.raises(EditError, match="already exists"):
        apply_edits(chain(), [AddNode(node={**EMAIL, "id": "draft"}, before=["result"])])
    with pytest.raises(EditError, match="nothing to change"):
        apply_edits(chain(), [])


def test_all_or_nothing_when_a_later_op_fails():
    with pytest.raises(EditError) as err:
        apply_edits(chain(), [UpdateNode(node_id="draft", config={"model": "gpt-4o"}), RemoveNode(node_id="ghost")])
    assert err.value.extra == {"op_index": 1, "op": "remove_node"}


def test_wrap_in_loop_moves_steps_into_the_body():
    graph = apply_edits(chain(), [
        UpdateNode(node_id="start", config={"fields": [{"name": "rows", "type": "array"}]}),
        WrapInLoop(node_ids=["draft", "review"], loop_id="each_row", items="inputs.rows", per_item_input="text"),
    ])
    loop = next(n for n in graph.nodes if isinstance(n, LoopNode))
    assert [n.id for n in loop.config.body.nodes] == ["draft", "review"]
    assert [(e.source, e.target) for e in loop.config.body.edges] == [("draft", "review")]
    assert loop.config.body.nodes[0].config.prompt == "Write about {{ item }}"
    assert pairs(graph) == {("start", "each_row"), ("each_row", "result")}
    assert graph.nodes[-1].config.outputs == {"text": "{{ nodes.each_row.output }}"}
    assert validate_graph(graph).valid


def test_decode_ops_names_the_bad_operation():
    ops = decode_ops([{"op": "remove_node", "node_id": "review"}, {"op": "set_setting", "key": "schedule", "value": "0 8 * * *"}])
    assert isinstance(ops[0], RemoveNode) and isinstance(ops[1], SetSetting)
    with pytest.raises(EditError, match="#2"):
        decode_ops([{"op": "remove_node", "node_id": "a"}, {"op": "explode"}])
    with pytest.raises(EditError, match="#1"):
        decode_ops([{"op": "set_setting", "key": "colour"}])
