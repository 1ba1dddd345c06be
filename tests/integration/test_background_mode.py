"""Mode selection: without REDIS_URL background runs are refused (400 naming ``mode``), nothing is stored."""

from __future__ import annotations

WORKFLOW = {
    "name": "mode check",
    "nodes": [
        {"id": "start", "type": "input"},
        {"id": "out", "type": "output", "config": {"outputs": {"ok": "{{ true }}"}}},
    ],
    "edges": [{"id": "e1", "source": "start", "target": "out"}],
}


async def test_background_mode_without_redis_is_a_400_naming_mode(api):
    created = await api.post("/api/workflows", json=WORKFLOW)
    assert created.status_code == 201, created.text
    workflow_id = created.json()["id"]
    response = await api.post(f"/api/workflows/{workflow_id}/execute", json={"input_data": {}, "mode": "background"})
    assert response.status_code == 400
    body = response.json()
    assert "mode" in body["detail"] and "REDIS_URL" in body["detail"]
    assert body["extra"]["field"] == "mode"
    listed = await api.get("/api/executions", params={"workflow_id": workflow_id})
    assert listed.json()["total"] == 0  # refused before anything was stored


async def test_default_mode_without_redis_is_inline(api):
    created = await api.post("/api/workflows", json=WORKFLOW)
    workflow_id = created.json()["id"]
    response = await api.post(f"/api/workflows/{workflow_id}/execute", json={"input_data": {}})
    assert response.status_code == 202, response.text
    execution = await api.get(f"/api/executions/{response.json()['execution_id']}")
    assert execution.json()["mode"] == "inline"
