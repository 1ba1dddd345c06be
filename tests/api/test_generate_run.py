"""Generated workflows actually run: generate → execute (offline LLM) → succeeded."""

from __future__ import annotations

import asyncio

import pytest


async def _wait(client, execution_id: str, headers: dict | None = None, timeout_s: float = 60.0) -> dict:
    """Poll until the run is terminal (generous: CI machines can be slow)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        execution = (await client.get(f"/api/executions/{execution_id}", **({"headers": headers} if headers else {}))).json()
        if execution["status"] in ("succeeded", "failed", "cancelled") or asyncio.get_running_loop().time() > deadline:
            return execution
        await asyncio.sleep(0.05)


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
    "classify each review as positive, neutral or negative and summarise the negative ones",  # classification + filter
    "score this lead from 0 to 10; if the score is above 7 write a personal intro, otherwise write a polite no",  # numeric branch
    "把这批用户评论每50条一批交给AI总结要点",  # batches over an array input
    "从这段合同文本中提取甲方、乙方和金额，金额大于10000的让AI写一段风险提示",  # extract fields + comparison
])
async def test_generated_workflow_runs(api, prompt):
    r = await api.post("/api/workflows/generate", json={"prompt": prompt})
    assert r.status_code == 201, r.text
    body = r.json()
    r = await api.post(f"/api/workflows/{body['workflow_id']}/execute", json={"input_data": _inputs(body["workflow"])})
    assert r.status_code == 202, r.text
    execution = await _wait(api, r.json()["execution_id"])
    assert execution["status"] == "succeeded", execution


async def test_notification_secret_is_a_credential_not_a_run_input(api):
    r = await api.post("/api/workflows/generate", json={"prompt": "summarise this transcript and send it to Telegram"})
    body = r.json()
    start = next(n for n in body["workflow"]["nodes"] if n["type"] == "input")
    send = next(n for n in body["workflow"]["nodes"] if n["type"] == "api" and n["config"]["service"] == "telegram")
    # the bot's endpoint, not a generic webhook; its token is a credential (redacted, never stored with a run)
    assert "{{ credentials.telegram_bot_token }}" in send["config"]["url"]
    assert not [f for f in start["config"]["fields"] if "token" in f["name"]]
    missing = [(i["kind"], i.get("name")) for i in body["readiness"]["items"]]
    assert ("credential", "telegram_bot_token") in missing and body["readiness"]["ready"] is False
    r = await api.get(f"/api/workflows/{body['workflow_id']}/readiness")
    assert ("credential", "telegram_bot_token") in [(i["kind"], i.get("name")) for i in r.json()["items"]]


async def test_loop_over_fetched_items_runs(make_settings):
    """A URL in the request becomes an api node; "each" loops over its JSON body."""
    from litestar.testing import AsyncTestClient
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from pilot.app import create_app
    from tests.conftest import new_workspace_key
    from tests.support.servers import serve_in_thread

    async def items(_):
        return JSONResponse([{"title": "first story"}, {"title": "second story"}, {"title": "third story"}])

    with serve_in_thread(Starlette(routes=[Route("/items", items)])) as url:
        settings = make_settings(PILOT_HTTP_ALLOW_PRIVATE="1")
        async with AsyncTestClient(app=create_app(settings)) as client:
            headers = {"Authorization": f"Bearer {await new_workspace_key(client.app)}"}
            prompt = f"translate each story title from {url}/items into German"
            r = await client.post("/api/workflows/generate", json={"prompt": prompt}, headers=headers)
            assert r.status_code == 201, r.text
            wf = r.json()["workflow"]
            api_node = next(n for n in wf["nodes"] if n["type"] == "api")
            loop = next(n for n in wf["nodes"] if n["type"] == "loop")
            assert api_node["config"]["url"] == f"{url}/items"
            assert loop["config"]["items"] == f"{{{{ nodes.{api_node['id']}.output.body }}}}"
            r = await client.post(f"/api/workflows/{r.json()['workflow_id']}/execute",
                                  json={"input_data": _inputs(wf)}, headers=headers)
            execution = await _wait(client, r.json()["execution_id"], headers)
            assert execution["status"] == "succeeded", execution
            # the per-item results (one per fetched story) reached the template's translation step
            assert all(t in str(execution["outputs"]) for t in ("first story", "second story", "third story"))
