"""A secret pasted into a request is refused (422) with where it belongs instead, and nothing is
stored: generated workflows and chat histories never hold a secret from the prompt."""

from __future__ import annotations

import pytest

from pilot.core.pasted_secrets import find_pasted_secret

SLACK = "https://hooks.slack.com/services/T0A1B2C3D/B0A1B2C3D/abcdefghijklmnopqrstuvwx"


@pytest.mark.parametrize(("text", "label"), [
    (f"post the summary to {SLACK}", "Slack incoming-webhook"),
    ("use my key sk-proj-abcdefghijklmnopqrstuvwxyz0123 for the LLM", "OpenAI API key"),
    ("发到钉钉 https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef0123456789abcdef", "DingTalk"),
    ("token ghp_abcdefghijklmnopqrstuvwxyz0123456789", "GitHub token"),
])
def test_shapes_are_recognised(text: str, label: str) -> None:
    found = find_pasted_secret(text)
    assert found is not None and label in found[0]


@pytest.mark.parametrize("text", [
    "Every morning summarise Hacker News and post it to Slack",
    "skip customers we already contacted; ask for the sk- prefix later",
    "每天早上9点抓取36氪的科技新闻发到钉钉群",
])
def test_ordinary_requests_pass(text: str) -> None:
    assert find_pasted_secret(text) is None


async def test_generate_refuses_a_pasted_webhook_and_stores_nothing(api) -> None:
    before = (await api.get("/api/workflows")).json()["total"]
    response = await api.post("/api/workflows/generate", json={"prompt": f"Every morning send the news to Slack {SLACK}"})
    assert response.status_code == 422
    body = response.json()
    assert body["extra"]["field"] == "prompt" and "POST /api/credentials" in body["detail"]
    assert "{{ credentials.slack_webhook }}" in body["detail"] and SLACK not in response.text
    assert (await api.get("/api/workflows")).json()["total"] == before
    zh = await api.post("/api/workflows/generate", json={"prompt": f"每天把新闻发到 Slack {SLACK}"})
    assert zh.status_code == 422 and "凭据" in zh.json()["detail"]


async def test_chat_refuses_a_pasted_key(api) -> None:
    session = (await api.post("/api/chat/sessions", json={"title": "s"})).json()
    response = await api.post(f"/api/chat/sessions/{session['id']}/messages",
                              json={"content": "use sk-abcdefghijklmnopqrstuvwxyz012345 for the model"})
    assert response.status_code == 422 and response.json()["extra"]["field"] == "content"
    history = (await api.get(f"/api/chat/sessions/{session['id']}")).json()
    assert "sk-abcdefghijklmnopqrstuvwxyz012345" not in str(history)
