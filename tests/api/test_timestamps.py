"""Every timestamp the API returns is RFC 3339 with an offset (issue 10, defect 6).

SQLite hands ``DateTime(timezone=True)`` columns back without their zone; a response built from
such a row used to say ``2026-11-29T12:00:00.123456`` (no offset) for knowledge bases, documents
and chat sessions/messages. This walks every GET operation of the OpenAPI document (so a new
endpoint is covered the day it is added; SSE streams excepted) plus the write responses, on
SQLite, after creating one of everything, and checks every key ending in ``_at``.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx

from pilot.app import create_app
from tests.conftest import build_settings
from tests.support.servers import serve_in_thread
from tests.support.workflows import workflow_body

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def timestamps(value: Any, path: str = "$") -> list[tuple[str, Any]]:
    """(path, value) of every key ending in ``_at``, at any depth."""
    found: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith("_at"):
                found.append((f"{path}.{key}", item))
            found.extend(timestamps(item, f"{path}.{key}"))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.extend(timestamps(item, f"{path}[{i}]"))
    return found


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.request.method, response.request.url, response.text)
    return response.json() if response.content else None


def test_every_timestamp_in_every_response_has_an_offset_on_sqlite(tmp_path: Path) -> None:
    data_dir = tmp_path / ".pilot"
    # Private addresses allowed: GET /api/mcp-servers/{server_id}/tools lists this server's own /mcp.
    with serve_in_thread(create_app(build_settings(data_dir, PILOT_HTTP_ALLOW_PRIVATE="true"))) as url:
        key = (data_dir / "dev-key").read_text().strip()  # SQLite: the first start makes a dev key
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as http:
            responses: dict[str, Any] = {}
            # one of everything: a workflow with two versions and a finished run, a knowledge base
            # with a document, a chat session with an exchange and an undo
            wf = responses["POST /api/workflows"] = ok(http.post("/api/workflows", json=workflow_body()), 201)
            responses["POST publish"] = ok(http.post(f"/api/workflows/{wf['id']}/publish"))
            responses["PUT /api/workflows/{id}"] = ok(http.put(f"/api/workflows/{wf['id']}", json={"name": "two"}))
            run = ok(http.post(f"/api/workflows/{wf['id']}/execute", json={"input_data": {"topic": "tz"}}), 202)
            deadline = time.monotonic() + 30
            while ok(http.get(f"/api/executions/{run['execution_id']}"))["status"] in ("queued", "running"):
                assert time.monotonic() < deadline, "the run did not finish"
                time.sleep(0.05)
            kb = responses["POST /api/knowledge-bases"] = ok(http.post("/api/knowledge-bases", json={"name": "tz kb"}), 201)
            responses["POST documents"] = ok(
                http.post(f"/api/knowledge-bases/{kb['id']}/documents", json={"title": "t", "content": "hello world"}), 201
            )
            chat = responses["POST /api/chat/sessions"] = ok(http.post("/api/chat/sessions", json={"title": "tz"}), 201)
            reply = http.post(f"/api/chat/sessions/{chat['id']}/messages", json={"content": "Summarise this article in three bullet points"})
            assert reply.status_code == 200 and "message.finished" in reply.text, reply.text
            edit = http.post(f"/api/chat/sessions/{chat['id']}/messages", json={"content": "use gpt-4o"})
            assert edit.status_code == 200 and "message.finished" in edit.text, edit.text
            responses["POST undo"] = ok(http.post(f"/api/chat/sessions/{chat['id']}/undo"))
            template = ok(http.get("/api/templates"))["items"][0]["id"]
            credential = responses["POST /api/credentials"] = ok(
                http.post("/api/credentials", json={"name": "tz_key", "type": "secret", "value": "tz-secret-value"}), 201
            )
            responses["PUT /api/credentials/{id}"] = ok(http.put(f"/api/credentials/{credential['id']}", json={"description": "d"}))
            table = responses["POST /api/tables"] = ok(http.post("/api/tables", json={
                "name": "tz", "columns": [{"name": "at", "type": "datetime"}]}), 201)
            responses["POST rows"] = ok(http.post(f"/api/tables/{table['id']}/rows", json={"rows": [{"at": "2024-01-01T01:00:00+01:00"}]}), 201)
            ok(http.post("/api/credentials", json={"name": "tz_pilot", "type": "bearer_token", "value": key}), 201)
            server = responses["POST /api/mcp-servers"] = ok(http.post("/api/mcp-servers", json={
                "name": "self", "url": f"{url}/mcp", "credential": "tz_pilot"}), 201)

            tool = responses["POST /api/tools"] = ok(http.post("/api/tools", json={
                "name": "tz_hook", "connector": "webhook", "defaults": {"url": "https://example.com/hook"}}), 201)
            agent = responses["POST /api/agents"] = ok(http.post("/api/agents", json={"name": "tz agent"}), 201)

            form_body = workflow_body("form")
            form_body["nodes"][0]["config"]["trigger"] = {"kind": "form", "title": "tz"}
            form_wf = ok(http.post("/api/workflows", json=form_body), 201)
            ok(http.post(f"/api/workflows/{form_wf['id']}/publish"))
            hook = ok(http.get(f"/api/workflows/{form_wf['id']}/triggers"))["items"][0]["hook_path"].rsplit("/", 1)[1]
            ids = {
                "workflow_id": wf["id"], "version": "1", "execution_id": run["execution_id"], "kb_id": kb["id"],
                "session_id": chat["id"], "template_id": template, "credential_id": credential["id"],
                "hook_id": hook, "table_id": table["id"], "server_id": server["id"], "tool_id": tool["id"],
                "agent_id": agent["id"], "org_id": "org_default", "team_id": "team_default",  # the dev key's
            }
            password = (data_dir / "admin-password").read_text().strip()  # SQLite: the first admin user
            token = ok(http.post("/api/auth/login", json={"email": "admin@localhost", "password": password}))["access_token"]
            user = {"Authorization": f"Bearer {token}"}
            org = responses["POST /api/orgs"] = ok(http.post("/api/orgs", json={"name": "tz org"}, headers=user), 201)
            responses["POST teams"] = ok(http.post(f"/api/orgs/{org['id']}/teams", json={"name": "tz"}, headers=user), 201)
            schema = ok(http.get("/schema/openapi.json"))
            # GET /hooks/{hook_id} starts a run (GET webhooks): not a read
            gets = [path for path, ops in schema["paths"].items()
                    if "get" in ops and not path.endswith("/stream") and path != "/hooks/{hook_id}"]
            assert len(gets) >= 15, gets
            for path in gets:
                params = re.findall(r"{(\w+)}", path)
                missing = [p for p in params if p not in ids]
                assert not missing, f"{path}: give this test an id for {missing}"
                responses[f"GET {path}"] = ok(http.get(path.format(**{p: ids[p] for p in params})))

    checked: dict[str, int] = {}
    violations: list[str] = []
    for label, body in responses.items():
        for where, value in timestamps(body):
            if not (value is None or (isinstance(value, str) and RFC3339.match(value))):
                violations.append(f"{label} {where} = {value!r}")
            checked[label] = checked.get(label, 0) + (value is not None)
    assert not violations, "not RFC 3339 with an offset:\n" + "\n".join(violations)
    # every family of resources was actually seen with its timestamps filled in
    for label in (
        "GET /api/workflows", "GET /api/workflows/{workflow_id}", "GET /api/workflows/{workflow_id}/versions",
        "GET /api/workflows/{workflow_id}/versions/{version}", "GET /api/executions",
        "GET /api/executions/{execution_id}", "GET /api/knowledge-bases", "GET /api/knowledge-bases/{kb_id}",
        "GET /api/knowledge-bases/{kb_id}/documents", "GET /api/chat/sessions/{session_id}", "POST undo",
        "GET /api/credentials", "GET /api/credentials/{credential_id}", "PUT /api/credentials/{id}",
        "GET /api/orgs", "GET /api/orgs/{org_id}", "GET /api/orgs/{org_id}/teams", "POST /api/orgs", "POST teams",
    ):
        assert checked.get(label), f"{label}: no timestamp seen"
    session = responses["GET /api/chat/sessions/{session_id}"]
    assert len(session["messages"]) >= 4 and all(RFC3339.match(m["created_at"]) for m in session["messages"])
    execution = responses["GET /api/executions/{execution_id}"]
    assert execution["started_at"] and execution["finished_at"]
