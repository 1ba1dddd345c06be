"""Generated workflows actually run: generate → execute (offline LLM) → succeeded."""

from __future__ import annotations

import asyncio

import pytest


def _inputs(workflow: dict) -> dict:
    values = {}
    for node in workflow["nodes"]:
        if node["type"] == "input":
            for f in node["config"]["fields"]:
                if f["type"] == "array":
                    values[f["name"]] = ["I love it", "terrible and broken, very negative"]
                elif f["type"] == "string":
                    values[f["name"]] = "The new release is great but the battery is terrible."
                elif f.get("default") is not None:
                    values[f["name"]] = f["default"]
    return values


@pytest.mark.parametrize("prompt", [
    "translate this into French",
    "批量把用户评论逐条翻译成英文",  # composed loop over inputs.item_list
    "translate the review into English and if it is negative write an apology, otherwise thank them",  # composed condition
])
async def test_generated_workflow_runs(api, prompt):
    r = await api.post("/api/workflows/generate", json={"prompt": prompt})
    assert r.status_code == 201, r.text
    body = r.json()
    r = await api.post(f"/api/workflows/{body['workflow_id']}/execute", json={"input_data": _inputs(body["workflow"])})
    assert r.status_code == 202, r.text
    execution_id = r.json()["execution_id"]
    for _ in range(200):
        execution = (await api.get(f"/api/executions/{execution_id}")).json()
        if execution["status"] in ("succeeded", "failed", "cancelled"):
            break
        await asyncio.sleep(0.05)
    assert execution["status"] == "succeeded", execution


async def test_notification_target_is_a_required_input(api):
    r = await api.post("/api/workflows/generate", json={"prompt": "summarise this transcript and send it to Telegram"})
    body = r.json()
    start = next(n for n in body["workflow"]["nodes"] if n["type"] == "input")
    hook = next(f for f in start["config"]["fields"] if f["name"] == "telegram_webhook_url")
    assert hook["required"] is True
    r = await api.post(f"/api/workflows/{body['workflow_id']}/execute", json={"input_data": {"text": "hello"}})
    assert r.status_code == 422 and "telegram_webhook_url" in r.text
