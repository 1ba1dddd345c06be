"""Malformed or hostile documents: a 400 naming the document, or an import with placeholders —
never an unexpected exception (the API would answer 500)."""

from __future__ import annotations

import pytest

from pilot.core.errors import BadRequestError
from pilot.interop.service import convert, read_document
from tests.unit.interop.helpers import assert_valid

B = "n8n-nodes-base."


@pytest.mark.parametrize(("fmt", "doc"), [
    ("n8n", {"nodes": [1, "x", {"name": 5}, {"name": "a"}], "connections": []}),
    ("n8n", {"nodes": [{"name": "a", "type": B + "if", "parameters": {"conditions": [1, 2]}},
                       {"name": "b", "type": B + "set", "parameters": {"values": ["x"]}, "typeVersion": "two"}],
             "connections": {"a": {"main": "x"}, "b": {"main": [[{"node": "a"}], None, [5]]}, "zzz": {}}}),
    ("n8n", {"nodes": [{"name": "t", "type": B + "scheduleTrigger", "parameters": {"rule": {"interval": [{"field": "cronExpression",
                                                                                                            "expression": "={{ $json.x }}"}]}}}],
             "connections": {}}),
    ("dify", {"workflow": {"graph": {"nodes": [{"id": "s", "data": {"type": "start", "variables": "x"}},
                                               {"id": "l", "data": {"type": "llm", "prompt_template": 5, "model": "x"}},
                                               {"id": 7, "data": {"type": "iteration", "iterator_selector": {}}}],
                                     "edges": [1, {"source": "s", "target": "l", "sourceHandle": None}]}}}),
    ("dify", {"workflow": {"graph": {"nodes": [{"id": "s", "data": {"type": "start"}}, {"id": "c", "data": {
        "type": "if-else", "cases": [{"case_id": "1", "conditions": [{"comparison_operator": "regex", "variable_selector": ["s", "x"]}]}]}}],
        "edges": [{"source": "s", "target": "c"}, {"source": "c", "target": "c", "sourceHandle": "1"}]}}}),
])
def test_malformed_documents_import_with_placeholders_or_are_refused(fmt, doc):
    try:
        _name, _description, graph, report = convert(doc, fmt)
    except BadRequestError as exc:
        assert "document" in exc.detail
        return
    assert_valid(graph)
    assert report.counts.source_nodes >= 1


def test_long_chains_and_wide_joins_stay_cheap():
    nodes = [{"name": "start", "type": B + "manualTrigger"}]
    connections = {}
    previous = "start"
    for i in range(400):  # no-ops are bypassed one after the other
        nodes.append({"name": f"n{i}", "type": B + "noOp"})
        connections[previous] = {"main": [[{"node": f"n{i}"}]]}
        previous = f"n{i}"
    nodes.append({"name": "end", "type": B + "set", "typeVersion": 3.4,
                  "parameters": {"assignments": {"assignments": [{"name": "x", "value": "={{ $json.x }}"}]}}})
    connections[previous] = {"main": [[{"node": "end"}]]}
    _name, _d, graph, report = convert({"nodes": nodes, "connections": connections}, "n8n")
    assert_valid(graph)
    assert report.counts.folded == 400


@pytest.mark.parametrize("text", ["a: &x [1, 2]\nb: [*x, *x]", "{" * 5000, "- 1", "key: [unclosed"])
def test_unreadable_text_is_a_400_naming_the_document(text):
    with pytest.raises(BadRequestError, match="document"):
        read_document(text)
