"""n8n workflow JSON → πlot: node mapping, expressions, loops, sub-nodes, placeholders and secrets."""

from __future__ import annotations

import json

from pilot.interop.n8n_import import import_n8n
from tests.unit.interop.helpers import all_nodes, assert_valid, by_title, load

B = "n8n-nodes-base."


def node(name, type_, parameters=None, version=1, **extra):
    return {"name": name, "type": type_, "typeVersion": version, "parameters": parameters or {}, "position": [0, 0], **extra}


def link(*targets, kind="main"):
    return {kind: [[{"node": t, "type": kind, "index": 0} for t in group] for group in targets]}


def webhook_doc():
    return {"name": "Orders", "nodes": [
        node("Webhook", B + "webhook", {"httpMethod": "POST", "path": "orders"}, 2),
        node("Fetch", B + "httpRequest", {"method": "POST", "url": "=https://api.example.com/orders/{{ $json.body.id }}",
                                          "sendHeaders": True, "headerParameters": {"parameters": [
                                              {"name": "Authorization", "value": "Bearer abc123secret"},
                                              {"name": "X-Trace", "value": "={{ $json.body.trace }}"}]},
                                          "sendBody": True, "specifyBody": "json", "jsonBody": '={"note": "{{ $now.toISO() }}"}'}, 4.2),
        node("Paid?", B + "if", {"conditions": {"options": {"caseSensitive": True}, "combinator": "and", "conditions": [
            {"leftValue": "={{ $json.status }}", "rightValue": "paid", "operator": {"type": "string", "operation": "equals"}}]}}, 2.2),
        node("Shape", B + "set", {"assignments": {"assignments": [
            {"name": "order", "type": "string", "value": "={{ $('Fetch').item.json.id }}"},
            {"name": "total", "type": "number", "value": "={{ $json.amount * 1.2 }}"}]}}, 3.4),
        node("Sheet", B + "googleSheets", {"operation": "append", "documentId": "={{ $json.sheet }}"}, 4.5),
        node("Note", B + "stickyNote", {"content": "## Explains the flow"}),
    ], "connections": {"Webhook": link(["Fetch"]), "Fetch": link(["Paid?"]), "Paid?": link(["Shape"], ["Sheet"])}}


def test_webhook_http_if_set_map_to_pilot_nodes_with_translated_references():
    name, _description, graph, builder = import_n8n(webhook_doc())
    assert_valid(graph)
    assert name == "Orders"
    start = by_title(graph, "Webhook")
    assert start["type"] == "input" and start["config"]["trigger"]["kind"] == "webhook"
    fetch = by_title(graph, "Fetch")
    assert fetch["type"] == "api" and fetch["config"]["method"] == "POST"
    assert fetch["config"]["url"] == "https://api.example.com/orders/{{ inputs.id }}"  # $json.body.x of a webhook is an input
    assert fetch["config"]["headers"]["X-Trace"] == "{{ inputs.trace }}"
    paid = by_title(graph, "Paid?")
    assert paid["type"] == "condition" and "nodes.fetch.output.body.status" in paid["config"]["cases"][0]["when"]
    shape = by_title(graph, "Shape")
    assert shape["config"]["fields"] == {"order": "{{ nodes.fetch.output.body.id }}",
                                         "total": "{{ (nodes.fetch.output.body.amount) * (1.2) }}"}
    handles = {(e["source"], e["target"]): e.get("source_handle") for e in graph["edges"]}
    assert handles[(paid["id"], shape["id"])] == "true"
    assert handles[(paid["id"], by_title(graph, "⚠ Sheet (not imported)")["id"])] == "false"
    report = builder.report("n8n")
    assert report.counts.source_nodes == 5 and report.counts.annotations == 1
    assert report.counts.placeholder == 1


def test_unknown_node_is_a_marked_placeholder_that_keeps_the_original():
    _name, _d, graph, builder = import_n8n(webhook_doc())
    sheet = by_title(graph, "⚠ Sheet (not imported)")
    assert sheet["type"] == "tool" and sheet["config"]["tool"] == "unmapped:n8n:n8n-nodes-base.googleSheets"
    original = sheet["config"]["arguments"]["original"]
    assert original["type"] == B + "googleSheets" and original["parameters"]["operation"] == "append"
    assert original["parameters"]["documentId"] == '={{ "{{" }} $json.sheet }}'  # kept as text, never run as jinja2
    [item] = [i for i in builder.items if i.kind == "placeholder"]
    assert item.node_id == sheet["id"] and item.source == "Sheet" and "googleSheets" in item.message


def test_untranslatable_expressions_and_secrets_are_reported_not_guessed():
    _name, _d, graph, builder = import_n8n(webhook_doc())
    fetch = by_title(graph, "Fetch")
    assert fetch["config"]["headers"]["Authorization"] == "{{ credentials.fetch_authorization }}"
    assert "abc123secret" not in json.dumps(graph)
    assert 'n8n_expression_not_translated("$now.toISO()")' in fetch["config"]["body"]
    kinds = {(i.kind, i.field) for i in builder.items if i.node_id == fetch["id"]}
    assert ("credential", "headers.Authorization") in kinds and ("expression", "jsonBody") in kinds
    assert builder.statuses["Fetch"] == "partial"


def test_loop_over_items_becomes_a_loop_with_its_body_and_the_done_branch_after_it():
    doc = {"nodes": [
        node("Every day", B + "scheduleTrigger", {"rule": {"interval": [{"field": "days", "triggerAtHour": 8}]}}, 1.2),
        node("List", B + "httpRequest", {"url": "https://example.com/items"}, 4.2),
        node("Loop", B + "splitInBatches", {"batchSize": 5}, 3),
        node("Tag", B + "set", {"assignments": {"assignments": [{"name": "tagged", "value": "={{ $json.name }}!"}]}}, 3.4),
        node("Pause", B + "wait", {"amount": 2, "unit": "seconds"}, 1.1),
        node("Mail", B + "emailSend", {"toEmail": "ops@example.com", "subject": "done", "emailFormat": "text", "text": "all tagged"}, 2.1),
    ], "connections": {"Every day": link(["List"]), "List": link(["Loop"]),
                       "Loop": {"main": [[{"node": "Mail", "type": "main", "index": 0}], [{"node": "Tag", "type": "main", "index": 0}]]},
                       "Tag": link(["Pause"]), "Pause": link(["Loop"])}}
    _name, _d, graph, builder = import_n8n(doc)
    assert_valid(graph)
    start = graph["nodes"][0]
    assert start["config"]["trigger"] == {"kind": "schedule", "cron": "0 8 * * *", "timezone": "UTC"}
    loop = by_title(graph, "Loop")
    assert loop["type"] == "loop" and loop["config"]["items"] == "nodes.list.output.body"
    assert loop["config"]["max_concurrency"] == 5
    body = {n["title"]: n for n in loop["config"]["body"]["nodes"]}
    assert body["Tag"]["config"]["fields"] == {"tagged": "{{ item.name }}!"}  # the loop's current item
    # A wait pauses the whole run, so πlot refuses it inside a loop: the validator's reason is reported.
    assert body["⚠ Pause (not imported)"]["type"] == "tool"
    assert any("wait" in i.message for i in builder.items if i.kind == "placeholder")
    mail = by_title(graph, "Mail")
    assert mail["config"] == {"tool": "email", "arguments": {"to": ["ops@example.com"], "subject": "done", "body": "all tagged"}}
    assert {"source": loop["id"], "target": mail["id"]}.items() <= next(e for e in graph["edges"] if e["target"] == mail["id"]).items()


def test_ai_agent_takes_its_model_and_tools_from_sub_nodes():
    _name, _d, graph, builder = import_n8n(load("n8n_ai_agent_chat.json"))
    assert_valid(graph)
    start = graph["nodes"][0]
    assert start["config"]["trigger"] == {"kind": "chat"} and start["config"]["fields"][0]["name"] == "message"
    agent = next(n for n in all_nodes(graph) if n["type"] == "agent")
    assert agent["config"]["prompt"] == "{{ inputs.message }}"  # $json.chatInput of the chat trigger
    assert agent["config"]["model"] not in ("", None)
    report = builder.report("n8n")
    assert report.counts.folded >= 1 and any(i.kind == "folded" for i in report.items)


def test_switch_cases_keep_their_outputs_and_merge_is_the_join():
    doc = {"nodes": [
        node("Start", B + "manualTrigger"),
        node("Route", B + "switch", {"rules": {"values": [
            {"conditions": {"conditions": [{"leftValue": "={{ $json.kind }}", "rightValue": "a", "operator": {"type": "string", "operation": "equals"}}]}},
            {"conditions": {"conditions": [{"leftValue": "={{ $json.n }}", "rightValue": 5, "operator": {"type": "number", "operation": "gt"}}]}}]},
            "options": {"fallbackOutput": "extra"}}, 3.2),
        node("A", B + "set", {"assignments": {"assignments": [{"name": "x", "value": "a"}]}}, 3.4),
        node("B", B + "set", {"assignments": {"assignments": [{"name": "x", "value": "b"}]}}, 3.4),
        node("Other", B + "set", {"assignments": {"assignments": [{"name": "x", "value": "other"}]}}, 3.4),
        node("Merge", B + "merge", {}, 3),
        node("Final", B + "set", {"assignments": {"assignments": [{"name": "picked", "value": "={{ $json.x }}"}]}}, 3.4),
    ], "connections": {"Start": link(["Route"]), "Route": link(["A"], ["B"], ["Other"]), "A": link(["Merge"]), "B": link(["Merge"]),
                       "Other": link(["Final"]), "Merge": link(["Final"])}}
    _name, _d, graph, builder = import_n8n(doc)
    assert_valid(graph)
    route = by_title(graph, "Route")
    assert [c["id"] for c in route["config"]["cases"]] == ["output_0", "output_1"] and route["config"]["else"] == "fallback"
    handles = {by_title(graph, t)["id"]: h for t, h in (("A", "output_0"), ("B", "output_1"), ("Other", "fallback"))}
    for edge in graph["edges"]:
        if edge["source"] == route["id"]:
            assert handles[edge["target"]] == edge["source_handle"]
    final = by_title(graph, "Final")
    assert sorted(e["source"] for e in graph["edges"] if e["target"] == final["id"]) == sorted(["a", "b", "other"])
    picked = final["config"]["fields"]["picked"]  # the input that ran, first to last
    assert picked == ("{{ (nodes.other.output.x if nodes.other.output is not none else "
                      "(nodes.a.output.x if nodes.a.output is not none else nodes.b.output.x)) }}")
    assert builder.statuses["Merge"] == "folded"


def test_real_n8n_files_import_and_validate():
    for name in ("n8n_line_webhook_reply.json", "n8n_namesilo_loop_wait.json", "n8n_switch_merge.json", "n8n_form_chain_llm.json"):
        _n, _d, graph, builder = import_n8n(load(name))
        assert_valid(graph)
        report = builder.report("n8n")
        counted = report.counts.mapped + report.counts.partial + report.counts.folded + report.counts.placeholder + report.counts.disconnected
        assert counted == report.counts.source_nodes > 0, name
        placeholders = [n for n in all_nodes(graph) if n["type"] == "tool" and n["config"]["tool"].startswith("unmapped:")]
        assert len(placeholders) == len([i for i in report.items if i.kind == "placeholder"]), name  # every one is listed
