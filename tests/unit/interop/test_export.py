"""πlot → Dify DSL and n8n JSON: files shaped like the tools' own exports, references translated,
and import → export → import keeping every node and edge."""

from __future__ import annotations

import json
from collections import Counter

import msgspec
import pytest
import yaml

from pilot.interop.service import convert, detect_format, export_graph, read_document
from pilot.workflows.layout import apply_layout
from pilot.workflows.validation import validate_data
from tests.unit.interop.helpers import FIXTURES, all_nodes, assert_valid

# Keys that every one of the 46 real Dify apps (../shared/datasets/dify_dsl_zh) has in a node's
# ``data``, per node type: an exported node must have them too.
DIFY_DATA_KEYS = {
    "start": {"selected", "title", "type", "variables"},
    "end": {"desc", "outputs", "selected", "title", "type"},
    "answer": {"answer", "desc", "selected", "title", "type", "variables"},
    "llm": {"context", "desc", "model", "prompt_template", "selected", "title", "type", "variables", "vision"},
    "if-else": {"cases", "desc", "selected", "title", "type"},
    "code": {"code", "code_language", "desc", "outputs", "selected", "title", "type", "variables"},
    "template-transform": {"desc", "selected", "template", "title", "type", "variables"},
    "http-request": {"authorization", "body", "desc", "headers", "method", "params", "selected", "timeout", "title", "type", "url",
                     "variables"},
    "knowledge-retrieval": {"dataset_ids", "desc", "query_variable_selector", "retrieval_mode", "selected", "title", "type"},
    "iteration": {"desc", "height", "iterator_selector", "output_selector", "output_type", "selected", "start_node_id", "title", "type",
                  "width"},
    "iteration-start": {"desc", "isInIteration", "selected", "title", "type"},
    "agent": {"agent_parameters", "agent_strategy_label", "agent_strategy_name", "agent_strategy_provider_name", "desc",
              "output_schema", "plugin_unique_identifier", "selected", "title", "type"},
}
DIFY_NODE_KEYS = {"data", "height", "id", "position", "type", "width"}
DIFY_EDGE_KEYS = {"data", "id", "source", "sourceHandle", "target", "targetHandle", "type"}
# (type, typeVersion) the exporter writes; each pair occurs in the 1,480 real n8n templates
# (../shared/datasets/n8n_templates_cn), except Slack (not in that corpus; n8n's Slack node v2.3).
N8N_TYPES = {
    "n8n-nodes-base.manualTrigger": 1, "n8n-nodes-base.executeWorkflowTrigger": 1.1, "n8n-nodes-base.scheduleTrigger": 1.2,
    "n8n-nodes-base.webhook": 2, "n8n-nodes-base.formTrigger": 2.2, "@n8n/n8n-nodes-langchain.chatTrigger": 1.1,
    "n8n-nodes-base.httpRequest": 4.2, "n8n-nodes-base.set": 3.4, "n8n-nodes-base.if": 2.2, "n8n-nodes-base.switch": 3.2,
    "n8n-nodes-base.filter": 2.2, "n8n-nodes-base.splitInBatches": 3, "@n8n/n8n-nodes-langchain.chainLlm": 1.5,
    "@n8n/n8n-nodes-langchain.agent": 1.7, "@n8n/n8n-nodes-langchain.lmChatOpenAi": 1.2,
    "@n8n/n8n-nodes-langchain.outputParserStructured": 1.2, "n8n-nodes-base.emailSend": 2.1, "n8n-nodes-base.slack": 2.3,
    "n8n-nodes-base.code": 2, "n8n-nodes-base.executeWorkflow": 1.2, "n8n-nodes-base.wait": 1.1, "n8n-nodes-base.stopAndError": 1,
    "n8n-nodes-base.stickyNote": 1,
}
FIXTURE_FILES = sorted(p.name for p in FIXTURES.iterdir() if p.suffix in (".json", ".yml"))


def kitchen_sink() -> dict:
    """A πlot workflow with every node type."""
    n = lambda id_, type_, config, **kw: {"id": id_, "type": type_, "title": id_.title(), "config": config, **kw}  # noqa: E731
    nodes = [
        n("start", "input", {"fields": [{"name": "order_id"}, {"name": "email"}], "trigger": {"kind": "webhook"}}),
        n("fetch", "api", {"url": "https://api.example.com/orders/{{ inputs.order_id }}", "headers": {"Authorization": "Bearer {{ credentials.shop_token }}"}}),
        n("paid", "condition", {"cases": [{"id": "yes", "when": 'nodes.fetch.output.body.status == "paid"'}], "else": "no"}),
        n("thank", "llm", {"prompt": "Thank {{ inputs.email }} for order {{ nodes.fetch.output.body.id }}", "model": "gpt-4o-mini",
                           "output_schema": {"type": "object", "properties": {"subject": {"type": "string"}}}}),
        n("helper", "agent", {"prompt": "Check {{ nodes.thank.output.subject }}", "tools": ["tool:crm"]}),
        n("shape", "transform", {"fields": {"summary": "{{ nodes.helper.output }}"}}),
        n("mail", "tool", {"tool": "email", "arguments": {"to": ["{{ inputs.email }}"], "subject": "{{ nodes.thank.output.subject }}", "body": "hi"}}),
        n("done", "output", {"outputs": {"summary": "{{ nodes.shape.output.summary }}"}}),
        n("score", "code", {"code": "def main(inputs):\n    return len(inputs['items'])\n", "inputs": {"items": "{{ nodes.fetch.output.body.items }}"}}),
        n("later", "wait", {"duration_s": 7200}),
        n("child", "workflow", {"workflow_id": "wf_cleanup", "inputs": {"order": "{{ inputs.order_id }}"}}),
        n("docs", "knowledge", {"knowledge_base": "faq", "query": "{{ inputs.email }}"}),
        n("each", "loop", {"items": "{{ nodes.fetch.output.body.items }}", "body": {"nodes": [
            n("line", "llm", {"prompt": "Describe {{ item.name }}"}),
        ], "edges": []}}),
        n("unpaid", "output", {"outputs": {"count": "{{ nodes.score.output.result }}"}}),
    ]
    chain = [("start", "fetch"), ("fetch", "paid"), ("thank", "helper"), ("helper", "shape"), ("shape", "mail"), ("mail", "done"),
             ("score", "later"), ("later", "child"), ("child", "docs"), ("docs", "each"), ("each", "unpaid")]
    edges = [{"id": f"e{i}", "source": s, "target": t} for i, (s, t) in enumerate(chain)]
    edges += [{"id": "y", "source": "paid", "target": "thank", "source_handle": "yes"},
              {"id": "n", "source": "paid", "target": "score", "source_handle": "no"}]
    return msgspec.to_builtins(apply_layout(validate_data({"nodes": nodes, "edges": edges})[0]))


def imported(name: str) -> tuple[str, dict]:
    doc = read_document((FIXTURES / name).read_text(encoding="utf-8"))
    title, _description, graph, _report = convert(doc, detect_format(doc))
    valid, report = validate_data(graph)
    assert report.valid, [p.message for p in report.problems]
    return title, msgspec.to_builtins(apply_layout(valid))


def check_dify(doc: dict) -> None:
    assert doc["kind"] == "app" and doc["version"] and doc["app"]["mode"] in ("workflow", "advanced-chat") and doc["app"]["name"]
    nodes, edges = doc["workflow"]["graph"]["nodes"], doc["workflow"]["graph"]["edges"]
    ids = {node["id"] for node in nodes}
    assert len(ids) == len(nodes)
    for node in nodes:
        assert DIFY_NODE_KEYS <= node.keys(), node["id"]
        kind = node["data"]["type"]
        if node["type"] == "custom-note":
            continue
        assert DIFY_DATA_KEYS.get(kind, {"type", "title"}) <= node["data"].keys(), (kind, node["id"])
        if "parentId" in node:
            assert node["parentId"] in ids and node["data"]["isInIteration"] is True
        for ref in __import__("re").findall(r"\{\{#([^#]+)#\}\}", json.dumps(node["data"], ensure_ascii=False)):
            assert ref.split(".")[0] in ids | {"sys", "env"}, (node["id"], ref)
    for edge in edges:
        assert DIFY_EDGE_KEYS <= edge.keys() and {"sourceType", "targetType"} <= edge["data"].keys()
        assert edge["source"] in ids and edge["target"] in ids


def check_n8n(doc: dict) -> None:
    names = [node["name"] for node in doc["nodes"]]
    assert len(set(names)) == len(names) and isinstance(doc["connections"], dict)
    for node in doc["nodes"]:
        assert {"id", "name", "type", "typeVersion", "position", "parameters"} <= node.keys()
        assert isinstance(node["parameters"], dict) and len(node["position"]) == 2 and all(isinstance(v, int) for v in node["position"])
        if node["type"] in N8N_TYPES:
            assert node["typeVersion"] == N8N_TYPES[node["type"]], node["type"]
    for source, by_kind in doc["connections"].items():
        assert source in names
        for kind, outputs in by_kind.items():
            assert kind == "main" or kind.startswith("ai_")
            for targets in outputs:
                assert all(t["node"] in names and t["type"] == kind for t in targets)


@pytest.mark.parametrize("name", FIXTURE_FILES)
@pytest.mark.parametrize("fmt", ["dify", "n8n", "pilot"])
def test_import_export_import_keeps_every_node_and_edge(name, fmt):
    title, first = imported(name)
    exported = export_graph(title, "", first, fmt)
    doc = read_document(exported.content.decode())
    {"dify": check_dify, "n8n": check_n8n, "pilot": lambda d: None}[fmt](doc)
    assert detect_format(doc) == fmt
    _t, _d, again, _r = convert(doc, fmt)
    assert_valid(again)
    first_types = Counter(n["type"] for n in all_nodes(first))
    again_types = Counter(n["type"] for n in all_nodes(again))
    assert again_types == first_types
    count = lambda g: len(g["edges"]) + sum(len(n["config"]["body"]["edges"]) for n in all_nodes(g) if n["type"] == "loop")  # noqa: E731
    assert count(again) == count(first)


@pytest.mark.parametrize("fmt", ["dify", "n8n"])
def test_every_pilot_node_type_survives_a_round_trip(fmt):
    graph = kitchen_sink()
    exported = export_graph("Orders", "every node type", graph, fmt)
    doc = read_document(exported.content.decode())
    {"dify": check_dify, "n8n": check_n8n}[fmt](doc)
    _t, _d, again, _report = convert(doc, fmt)
    assert_valid(again)
    assert {n["id"]: n["type"] for n in all_nodes(again)} == {n["id"]: n["type"] for n in all_nodes(graph)}


def test_n8n_export_translates_references_and_conditions():
    exported = export_graph("Orders", "", kitchen_sink(), "n8n")
    doc = json.loads(exported.content)
    by_name = {n["name"]: n for n in doc["nodes"]}
    assert by_name["Start"]["type"] == "n8n-nodes-base.webhook"
    assert by_name["Fetch"]["parameters"]["url"] == "=https://api.example.com/orders/{{ $('Start').item.json.body.order_id }}"
    assert by_name["Paid"]["parameters"]["conditions"]["conditions"][0]["leftValue"] == "={{ ($('Fetch').item.json.status === \"paid\") }}"
    assert by_name["Thank"]["type"] == "@n8n/n8n-nodes-langchain.chainLlm"
    assert doc["connections"]["Thank model"]["ai_languageModel"][0][0]["node"] == "Thank"
    assert by_name["Helper"]["parameters"]["text"] == "=Check {{ $('Thank').item.json.output.subject }}"
    assert doc["connections"]["Paid"]["main"][0][0]["node"] == "Thank" and doc["connections"]["Paid"]["main"][1][0]["node"] == "Score"
    loop = doc["connections"]["Each"]["main"]
    assert loop[1][0]["node"] == "Line" and doc["connections"]["Line"]["main"][0][0]["node"] == "Each"  # the body comes back
    assert by_name["Later"]["parameters"] == {"amount": 2, "unit": "hours"}
    assert by_name["Docs"]["type"] == "n8n-nodes-base.stopAndError"  # no n8n knowledge step: a marked placeholder
    sticky = next(n for n in doc["nodes"] if n["type"] == "n8n-nodes-base.stickyNote")
    assert "**Docs**" in sticky["parameters"]["content"] and exported.notes


def test_dify_export_translates_references_and_keeps_secrets_as_environment_variables():
    exported = export_graph("Orders", "", kitchen_sink(), "dify")
    doc = yaml.safe_load(exported.content)
    data = {n["id"]: n["data"] for n in doc["workflow"]["graph"]["nodes"]}
    assert data["helper"]["agent_parameters"]["query"]["value"] == "Check {{#thank.structured_output.subject#}}"
    assert data["fetch"]["headers"] == "Authorization:Bearer {{#env.shop_token#}}"
    assert doc["workflow"]["environment_variables"][0] | {"id": None} == {"id": None, "name": "shop_token", "value": "",
                                                                            "value_type": "secret", "description": "πlot credential"}
    assert data["done"]["outputs"] == [{"variable": "summary", "value_selector": ["shape", "output"]}]
    assert data["line"]["isInIteration"] is True and data["line"]["iteration_id"] == "each"
    assert data["each"]["output_selector"] == ["line", "text"]
    # Dify's HTTP node returns its body as text: fields inside it need a code node, so these are noted, not guessed.
    thank = data["thank"]["prompt_template"][-1]
    assert thank["edition_type"] == "jinja2" and thank["jinja2_text"] == "Thank {{ arg1 }} for order {{ arg2 }}"
    assert data["thank"]["variables"] == [{"variable": "arg1", "value_selector": ["start", "email"]},
                                          {"variable": "arg2", "value_selector": []}]
    assert data["paid"]["cases"] == [{"case_id": "yes", "id": "yes", "logical_operator": "and", "conditions": []}]
    assert any("case 'yes' not translated" in note for note in exported.notes)
    assert data["later"]["type"] == "code" and "NotImplementedError" in data["later"]["code"]  # no Dify wait


def test_a_wait_before_a_time_exports_to_n8n_as_that_time_moved():
    from pilot.generation.offline_result import generate_offline
    from pilot.templates.catalog import catalog_for

    graph = generate_offline(catalog_for(None), "Send a reminder SMS to the patient 1 hour before their appointment in Google "
                             "Calendar", None).graph
    doc = json.loads(export_graph("Reminders", "", msgspec.to_builtins(graph), "n8n").content)
    wait = next(n for n in doc["nodes"] if n["type"] == "n8n-nodes-base.wait")
    when = wait["parameters"]["dateTime"]
    # the booking's start an hour earlier, not the start itself (Luxon's DateTime, which n8n expressions have)
    assert when.startswith("={{ DateTime.fromISO(") and ".plus({ seconds: -3600 })" in when and "start_time" in when
