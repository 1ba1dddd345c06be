"""Test runs (POST /api/workflows/{id}/test) send nothing over the network: the same workflow
run for real reaches a local HTTP listener, an SMTP server and an OpenAI-compatible server; run
as a test it reaches none of them, and its node outputs show the requests it would have sent."""

from __future__ import annotations

import pytest

from pilot.app import create_app
from tests.conftest import build_settings, new_workspace_key
from tests.support.echo_server import echo_server
from tests.support.runs import RunClient, edge, node
from tests.support.servers import serve_in_thread
from tests.support.smtp_server import smtp_server

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _workflow(echo_url: str) -> tuple[list[dict], list[dict]]:
    nodes = [
        {"id": "start", "type": "input", "config": {"fields": [
            {"name": "customer", "type": "string", "required": True}, {"name": "amount", "type": "number", "required": True}]}},
        node("draft", "llm", model="gpt-4o-mini", prompt="Thank {{ inputs.customer }} for {{ inputs.amount }}"),
        node("crm", "api", method="POST", url=f"{echo_url}/echo", body='{"customer": "{{ inputs.customer }}"}'),
        node("hook", "tool", tool="webhook", arguments={"url": f"{echo_url}/echo", "payload": {"c": "{{ inputs.customer }}"}}),
        node("mail", "tool", tool="email", arguments={"to": "ops@example.com", "subject": "Paid", "body": "{{ nodes.draft.output }}"}),
        node("end", "output", outputs={"mail": "{{ nodes.mail.output }}", "crm": "{{ nodes.crm.output }}"}),
    ]
    edges = [edge("start", "draft"), edge("draft", "crm"), edge("crm", "hook"), edge("hook", "mail"), edge("mail", "end")]
    return nodes, edges


async def test_a_test_run_sends_nothing_and_shows_what_it_would_send(tmp_path, fake_openai) -> None:
    with echo_server() as (echo_url, echo_app), smtp_server() as smtp:
        settings = build_settings(
            tmp_path, PILOT_HTTP_ALLOWLIST=echo_url.split("//")[1], OPENAI_API_KEY="sk-test-runs-key",
            OPENAI_BASE_URL=fake_openai.base_url, SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp.server_address[1]),
            SMTP_STARTTLS="false",
        )
        app = create_app(settings)
        with serve_in_thread(app) as url:
            rc = RunClient(url, await new_workspace_key(app))
            try:
                nodes, edges = _workflow(echo_url)
                workflow_id = await rc.workflow(nodes, edges)

                tested = await rc.http.post(f"/api/workflows/{workflow_id}/test", json={"input_data": {"customer": "Ada"}})
                assert tested.status_code == 202, tested.text
                events = await rc.events(tested.json()["execution_id"])
                assert events[0][2]["trigger"] == "test" and events[0][2]["input_data"] == {"customer": "Ada", "amount": 1.5}
                last = events[-1][2]
                assert last["status"] == "succeeded", last
                assert (echo_app.received, smtp.messages, fake_openai.chat_requests()) == ([], [], [])  # nothing sent
                crm = last["outputs"]["crm"]
                assert crm["dry_run"] and crm["request"]["method"] == "POST" and crm["request"]["body"] == '{"customer": "Ada"}'
                assert last["outputs"]["mail"] == {"dry_run": True, "tool": "email", "arguments": {
                    "to": "ops@example.com", "subject": "Paid", "body": last["outputs"]["mail"]["arguments"]["body"]}}
                assert "[offline]" in last["outputs"]["mail"]["arguments"]["body"]
                listed = (await rc.http.get("/api/executions", params={"workflow_id": workflow_id, "trigger": "test"})).json()
                assert [r["trigger"] for r in listed["items"]] == ["test"]

                # The same workflow run for real does reach all three (the test above is not vacuous).
                execution_id = await rc.start(workflow_id, {"customer": "Ada", "amount": 3})
                real = await rc.events(execution_id)
                assert real[-1][2]["status"] == "succeeded", real[-1][2]
                assert len(echo_app.received) == 2 and len(smtp.messages) == 1 and len(fake_openai.chat_requests()) == 1
            finally:
                await rc.aclose()
