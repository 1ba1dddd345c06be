"""Dify DSL → πlot: node mapping, references, iterations, classifiers, code and secrets."""

from __future__ import annotations

import json

from pilot.interop.dify_import import import_dify
from pilot.sandbox.syntax import python_error
from tests.unit.interop.helpers import all_nodes, assert_valid, load


def types(graph):
    return sorted(n["type"] for n in all_nodes(graph))


def test_workflow_app_maps_start_llm_if_else_aggregator_end():
    name, description, graph, builder = import_dify(load("dify_translation_workflow.yml"))
    assert_valid(graph)
    assert name == "translation_workflow" and "Agentic Workflow" in description
    assert types(graph) == ["condition", "input", "llm", "llm", "llm", "llm", "output", "transform"]
    start = graph["nodes"][0]
    assert start["type"] == "input" and "trigger" not in start["config"]
    fields = {f["name"] for f in start["config"]["fields"]}
    llms = [n for n in graph["nodes"] if n["type"] == "llm"]
    referenced = {f for n in llms for f in fields if "{{ inputs." + f + " }}" in n["config"]["prompt"] + n["config"]["system"]}
    assert referenced == fields  # every start variable is read as inputs.<name>
    condition = next(n for n in graph["nodes"] if n["type"] == "condition")
    assert condition["config"]["else"] == "false"
    out_handles = {e.get("source_handle") for e in graph["edges"] if e["source"] == condition["id"]}
    assert out_handles == {condition["config"]["cases"][0]["id"], "false"}
    aggregator = next(n for n in graph["nodes"] if n["type"] == "transform")
    assert " if nodes." in aggregator["config"]["fields"]["output"] and "is not none else" in aggregator["config"]["fields"]["output"]
    end = next(n for n in graph["nodes"] if n["type"] == "output")
    assert all(v.startswith("{{ nodes.") for v in end["config"]["outputs"].values())
    assert builder.report("dify").counts.mapped == 8


def test_classifier_becomes_llm_and_route_and_knowledge_names_its_base():
    _name, _d, graph, builder = import_dify(load("dify_document_chat.yml"))
    assert_valid(graph)
    start = graph["nodes"][0]
    assert "trigger" not in start["config"] and start["config"]["fields"][0]["name"] == "input"
    classifier = next(n for n in graph["nodes"] if n["type"] == "llm" and "category" in json.dumps(n["config"].get("output_schema")))
    route = next(n for n in graph["nodes"] if n["id"] == classifier["id"] + "_route")
    names = classifier["config"]["output_schema"]["properties"]["category"]["enum"]
    assert [c["when"] for c in route["config"]["cases"]] == [f'nodes.{classifier["id"]}.output.category == "{n}"' for n in names]
    assert {e["source_handle"] for e in graph["edges"] if e["source"] == route["id"]} <= {c["id"] for c in route["config"]["cases"]}
    assert not any(e["source"] == classifier["id"] and e.get("source_handle") for e in graph["edges"])
    knowledge = [n for n in graph["nodes"] if n["type"] == "knowledge"]
    assert knowledge and all(n["config"]["knowledge_base"] for n in knowledge)
    assert any(i.kind == "parameter" and i.field == "result" for i in builder.items)
    ends = [n for n in graph["nodes"] if n["type"] == "output"]
    assert len(ends) == 5 and all(list(n["config"]["outputs"]) == ["output"] for n in ends)  # one end per branch


def test_chat_app_reads_the_query_as_the_message_input():
    doc = load("dify_translation_workflow.yml")
    doc["app"]["mode"] = "advanced-chat"
    llm = next(n for n in doc["workflow"]["graph"]["nodes"] if n["data"]["type"] == "llm")
    llm["data"]["prompt_template"].append({"role": "user", "text": "Also consider: {{#sys.query#}}"})
    _name, _d, graph, _b = import_dify(doc)
    assert_valid(graph)
    start = graph["nodes"][0]
    assert start["config"]["trigger"] == {"kind": "chat"} and start["config"]["fields"][0]["name"] == "message"
    assert any("Also consider: {{ inputs.message }}" in n["config"].get("prompt", "") for n in graph["nodes"])


def test_iteration_becomes_a_loop_and_code_keeps_dify_calling_convention():
    _name, _d, graph, builder = import_dify(load("dify_jina_reader_iteration.yml"))
    assert_valid(graph)
    loop = next(n for n in graph["nodes"] if n["type"] == "loop")
    body = loop["config"]["body"]
    value = next(n for n in body["nodes"] if n["type"] == "output")
    assert list(value["config"]["outputs"]) == ["value"]
    assert any("item" in json.dumps(n["config"]) for n in body["nodes"] if n["type"] != "output")
    code = next(n for n in all_nodes(graph) if n["type"] == "code")
    assert python_error(code["config"]["code"]) is None
    namespace: dict = {}
    exec(compile("def main(a, b):\n    return {'sum': a + b}\n" + code["config"]["code"][code["config"]["code"].index("\n\n# --- πlot"):], "x", "exec"), namespace)  # noqa: S102
    assert namespace["main"]({"a": 2, "b": 3}) == {"sum": 5}  # πlot's main(inputs) → Dify's main(**variables)
    placeholders = [n for n in all_nodes(graph) if n["type"] == "tool"]
    assert placeholders and all(n["config"]["tool"] == "unmapped:dify:tool" for n in placeholders)
    assert len([i for i in builder.items if i.kind == "placeholder"]) == len(placeholders)


def test_http_api_key_becomes_a_credential_reference_and_is_not_stored():
    _name, _d, graph, builder = import_dify(load("dify_text_to_card.yml"))
    assert_valid(graph)
    assert "fixture-redacted-key-0000" not in json.dumps(graph)
    api = next(n for n in graph["nodes"] if n["type"] == "api")
    credential = f"{api['id']}_api_key"
    assert "{{ credentials." + credential + " }}" in json.dumps(api["config"]["headers"])
    assert any(i.kind == "credential" and credential in i.message for i in builder.items)


def test_unknown_node_type_and_conversation_variables_are_reported():
    doc = {"app": {"name": "x", "mode": "advanced-chat"}, "kind": "app", "version": "0.1.5", "workflow": {"graph": {
        "nodes": [
            {"id": "s", "data": {"type": "start", "title": "Start", "variables": []}},
            {"id": "w", "data": {"type": "assigner", "title": "Remember", "items": []}},
            {"id": "a", "data": {"type": "answer", "title": "Answer", "answer": "{{#conversation.topic#}} / {{#sys.query#}}"}},
        ],
        "edges": [{"source": "s", "target": "w", "sourceHandle": "source"}, {"source": "w", "target": "a", "sourceHandle": "source"}]}}}
    _name, _d, graph, builder = import_dify(doc)
    assert_valid(graph)
    placeholder = next(n for n in graph["nodes"] if n["type"] == "tool")
    assert placeholder["config"]["tool"] == "unmapped:dify:assigner" and placeholder["title"].startswith("⚠")
    answer = next(n for n in graph["nodes"] if n["type"] == "output")["config"]["outputs"]["answer"]
    assert answer == '{{ dify_reference_not_translated("{{#conversation.topic#}}") }} / {{ inputs.message }}'
    kinds = sorted(i.kind for i in builder.items)
    assert kinds == ["expression", "placeholder"]
