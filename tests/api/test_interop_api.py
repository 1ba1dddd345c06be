"""``POST /api/workflows/import`` and ``GET /api/workflows/{id}/export`` over the real app and database."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.unit.interop.helpers import load, text


async def import_file(api, fixture: str, **extra) -> dict:
    response = await api.post("/api/workflows/import", json={"document": text(fixture), **extra})
    assert response.status_code == 201, response.text
    return response.json()


def node_types(workflow: dict) -> list[str]:
    return sorted(n["type"] for n in workflow["nodes"])


async def test_import_a_real_dify_app(api):
    result = await import_file(api, "dify_translation_workflow.yml")
    assert result["report"]["format"] == "dify"
    assert result["report"]["counts"] | {"source_nodes": 8, "mapped": 8, "placeholder": 0} == result["report"]["counts"]
    assert result["report"]["expressions"]["translated"] >= 8 and result["report"]["expressions"]["kept"] == 0
    workflow = result["workflow"]
    assert workflow["name"] == "translation_workflow" and workflow["status"] == "draft" and workflow["version"] == 1
    assert node_types(workflow) == ["condition", "input", "llm", "llm", "llm", "llm", "output", "transform"]
    assert len({(n["position"]["x"], n["position"]["y"]) for n in workflow["nodes"]}) == len(workflow["nodes"])  # laid out
    stored = (await api.get(f"/api/workflows/{result['workflow_id']}")).json()
    assert stored["nodes"] == workflow["nodes"] and stored["edges"] == workflow["edges"]
    assert (await api.post(f"/api/workflows/{result['workflow_id']}/validate")).json()["valid"] is True


async def test_import_a_real_n8n_workflow(api):
    result = await import_file(api, "n8n_line_webhook_reply.json")
    report, workflow = result["report"], result["workflow"]
    assert report["format"] == "n8n" and workflow["name"] == "line message api demo"
    start = next(n for n in workflow["nodes"] if n["type"] == "input")
    assert start["config"]["trigger"]["kind"] == "webhook"
    assert node_types(workflow).count("api") == 2 and "condition" in node_types(workflow)
    apis = [n for n in workflow["nodes"] if n["type"] == "api"]
    assert any("inputs." in json.dumps(n["config"]) for n in apis)  # $json.body.… of the webhook
    assert any(i["kind"] == "credential" for i in report["items"])  # the LINE token is asked for, not stored


async def test_export_in_all_three_formats(api):
    wid = (await import_file(api, "dify_jina_reader_iteration.yml"))["workflow_id"]
    pilot = await api.get(f"/api/workflows/{wid}/export", params={"format": "pilot"})
    assert pilot.status_code == 200 and pilot.headers["content-type"].startswith("application/json")
    assert pilot.headers["content-disposition"] == 'attachment; filename="Jina-Reader-Jinja.pilot.json"'
    assert pilot.json()["format"] == "pilot" and pilot.json()["nodes"]
    dify = await api.get(f"/api/workflows/{wid}/export", params={"format": "dify"})
    assert dify.status_code == 200 and dify.headers["content-type"].startswith("application/x-yaml")
    dsl = yaml.safe_load(dify.text)
    assert dsl["kind"] == "app" and dsl["app"]["name"] == "Jina Reader Jinja"
    assert {n["data"]["type"] for n in dsl["workflow"]["graph"]["nodes"]} >= {"start", "iteration", "iteration-start", "code", "end"}
    n8n = await api.get(f"/api/workflows/{wid}/export", params={"format": "n8n"})
    assert n8n.status_code == 200
    doc = n8n.json()
    assert doc["connections"] and all({"type", "typeVersion", "parameters", "position"} <= n.keys() for n in doc["nodes"])
    assert int(n8n.headers["x-pilot-export-notes"]) >= 1  # the tool placeholders are written back and noted
    default = await api.get(f"/api/workflows/{wid}/export")
    assert default.json()["format"] == "pilot"
    first = await api.get(f"/api/workflows/{wid}/export", params={"version": 1})
    assert first.json()["nodes"] == default.json()["nodes"]
    assert (await api.get(f"/api/workflows/{wid}/export", params={"version": 2})).status_code == 404


@pytest.mark.parametrize(("name", "fmt"), [("dify_document_chat.yml", "dify"), ("n8n_switch_merge.json", "n8n"),
                                           ("n8n_form_chain_llm.json", "dify"), ("dify_translation_workflow.yml", "n8n")])
async def test_round_trip_keeps_nodes_and_edges(api, name, fmt):
    first = (await import_file(api, name))["workflow"]
    exported = await api.get(f"/api/workflows/{first['id']}/export", params={"format": fmt})
    again = await api.post("/api/workflows/import", json={"document": exported.text, "name": "again"})
    assert again.status_code == 201, again.text
    second = again.json()["workflow"]
    assert again.json()["report"]["format"] == fmt and second["name"] == "again"
    assert node_types(second) == node_types(first)
    assert len(second["edges"]) == len(first["edges"])
    pilot = await api.get(f"/api/workflows/{second['id']}/export")
    third = (await api.post("/api/workflows/import", json={"document": pilot.json()})).json()["workflow"]
    assert [(n["id"], n["type"], n["config"]) for n in third["nodes"]] == [(n["id"], n["type"], n["config"]) for n in second["nodes"]]


async def test_unknown_node_is_a_placeholder_listed_in_the_report_and_blocks_publishing(api):
    doc = {"name": "Sheets sync", "nodes": [
        {"name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1, "parameters": {}, "position": [0, 0]},
        {"name": "Append row", "type": "n8n-nodes-base.googleSheets", "typeVersion": 4.5, "parameters": {"operation": "append"},
         "position": [200, 0]}],
        "connections": {"Start": {"main": [[{"node": "Append row", "type": "main", "index": 0}]]}}}
    result = (await api.post("/api/workflows/import", json={"document": doc})).json()
    [item] = [i for i in result["report"]["items"] if i["kind"] == "placeholder"]
    assert item["source"] == "Append row" and item["source_type"] == "n8n-nodes-base.googleSheets"
    placeholder = next(n for n in result["workflow"]["nodes"] if n["id"] == item["node_id"])
    assert placeholder["type"] == "tool" and placeholder["config"]["tool"] == "unmapped:n8n:n8n-nodes-base.googleSheets"
    assert placeholder["title"] == "⚠ Append row (not imported)"
    readiness = (await api.get(f"/api/workflows/{result['workflow_id']}/readiness")).json()
    assert any(i["kind"] == "tool_config" and i["node_id"] == item["node_id"] for i in readiness["items"])
    refused = await api.post(f"/api/workflows/{result['workflow_id']}/publish")
    assert refused.status_code == 409
    n8n = (await api.get(f"/api/workflows/{result['workflow_id']}/export", params={"format": "n8n"})).json()
    restored = next(n for n in n8n["nodes"] if n["name"] == "Append row")  # the original comes back on export
    assert restored["type"] == "n8n-nodes-base.googleSheets" and restored["parameters"] == {"operation": "append"}


async def test_another_workspace_cannot_export(api, other_api):
    wid = (await import_file(api, "n8n_ai_agent_chat.json"))["workflow_id"]
    for fmt in ("pilot", "dify", "n8n"):
        response = await other_api.get(f"/api/workflows/{wid}/export", params={"format": fmt})
        assert response.status_code == 404
        assert response.json() == {"status_code": 404, "detail": f"workflow '{wid}' not found"}
    assert (await other_api.get("/api/workflows")).json()["total"] == 0
    missing = await api.get("/api/workflows/wf_missing/export")
    assert missing.status_code == 404


@pytest.mark.parametrize(("body", "status", "field"), [
    ({}, 400, "document"),
    ({"document": "nodes: [unclosed"}, 400, "document"),
    ({"document": "- just\n- a list"}, 400, "document"),
    ({"document": {"hello": "world"}}, 400, "document"),
    ({"document": "a: &x [1, 2]\nb: *x"}, 400, "document"),
    ({"document": {"nodes": []}, "format": "zapier"}, 400, "format"),
    ({"document": {"nodes": []}, "colour": "red"}, 400, "colour"),
    ({"document": {"nodes": []}, "name": "   "}, 400, "name"),
    ({"document": {"app": {"name": "chat only"}, "kind": "app"}}, 400, "document"),
])
async def test_bad_bodies_answer_4xx_naming_the_field(api, body, status, field):
    before = (await api.get("/api/workflows")).json()["total"]
    response = await api.post("/api/workflows/import", json=body)
    assert response.status_code == status, response.text
    assert field in response.json()["detail"]
    assert (await api.get("/api/workflows")).json()["total"] == before  # nothing was stored


async def test_an_invalid_pilot_file_answers_422_with_every_problem(api):
    bad = {"format": "pilot", "name": "broken", "nodes": [{"id": "a", "type": "llm", "config": {"prompt": "{{ nodes.b.output }}"}}]}
    response = await api.post("/api/workflows/import", json={"document": bad})
    assert response.status_code == 422
    codes = {p["code"] for p in response.json()["extra"]}
    assert {"missing_input", "missing_output"} <= codes


async def test_export_rejects_an_unknown_format(api):
    wid = (await import_file(api, "n8n_ai_agent_chat.json"))["workflow_id"]
    response = await api.get(f"/api/workflows/{wid}/export", params={"format": "zapier"})
    assert response.status_code == 400 and "format" in response.json()["detail"]


async def test_format_can_be_given_and_the_name_overridden(api):
    result = await import_file(api, "n8n_namesilo_loop_wait.json", format="n8n", name="Domains")
    assert result["workflow"]["name"] == "Domains" and result["report"]["format"] == "n8n"
    assert any(n["type"] == "loop" for n in result["workflow"]["nodes"])
    document = load("n8n_namesilo_loop_wait.json")  # a JSON object works as well as the file's text
    again = await api.post("/api/workflows/import", json={"document": document})
    assert again.status_code == 201 and node_types(again.json()["workflow"]) == node_types(result["workflow"])
