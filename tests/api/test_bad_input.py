"""Bad input answers a 4xx in the DESIGN.md error shape naming the field, and changes nothing."""

from __future__ import annotations

import json

import pytest

from tests.support.workflows import linear_graph, workflow_body

JSON = {"content-type": "application/json"}


def assert_error(response, status: int, *needles: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) <= {"status_code", "detail", "extra"}
    assert body["status_code"] == status
    for needle in needles:
        assert needle in body["detail"], (needle, body)
    return body


@pytest.mark.parametrize(
    ("raw", "needles"),
    [
        (b'{"name": "x", "nodes": [', ["JSON is malformed"]),
        (b"not json at all", ["JSON is malformed"]),
        (b"", ["request body is required"]),
        (b"[1, 2]", ["request body", "Expected `object`, got `array`"]),
        (b'{"nodes": []}', ["request body", "missing required field `name`"]),
        (b'{"name": "x"}', ["request body", "missing required field `nodes`"]),
        (b'{"name": 42, "nodes": []}', ["body field 'name'", "Expected `str`"]),
        (b'{"name": "   ", "nodes": []}', ["body field 'name'"]),
        (b'{"name": "x", "nodes": {}}', ["body field 'nodes'", "Expected `array`"]),
        (b'{"name": "x", "nodes": [7]}', ["body field 'nodes[0]'", "Expected `object`"]),
        (b'{"name": "x", "nodes": [], "edges": "e1"}', ["body field 'edges'"]),
        (b'{"name": "x", "nodes": [], "settings": 5}', ["body field 'settings'"]),
        (b'{"name": "x", "nodes": [], "colour": "red"}', ["unknown field `colour`"]),
    ],
    ids=lambda v: v.decode()[:30] if isinstance(v, bytes) else None,
)
async def test_create_rejects_bad_bodies(api, raw, needles):
    response = await api.post("/api/workflows", content=raw, headers=JSON)
    assert_error(response, 400, *needles)
    assert (await api.get("/api/workflows")).json()["total"] == 0


async def test_graph_problems_are_422_naming_nodes(api):
    graph = linear_graph()
    graph["nodes"][1]["config"]["temprature"] = 0.3  # typo inside a node config
    graph["nodes"][2]["config"] = {}  # output without outputs
    response = await api.post("/api/workflows", json={"name": "x", **graph})
    body = assert_error(response, 422, "workflow graph is invalid")
    by_node = {p["node_ids"][0]: p["message"] for p in body["extra"] if p["node_ids"]}
    assert "temprature" in by_node["write"]
    assert "outputs" in by_node["out"]


async def test_oversize_body_is_413(api, client):
    limit = client.app.state.runtime.settings.app.max_body_bytes
    graph = linear_graph()
    graph["nodes"][1]["config"]["prompt"] = "x" * (limit + 10)
    response = await api.post("/api/workflows", content=json.dumps({"name": "big", **graph}).encode(), headers=JSON)
    assert_error(response, 413)
    assert (await api.get("/api/workflows")).json()["total"] == 0


async def test_rejected_updates_leave_the_workflow_unchanged(api, client):
    created = (await api.post("/api/workflows", json=workflow_body(description="original"))).json()
    wid = created["id"]
    limit = client.app.state.runtime.settings.app.max_body_bytes
    bad_graph = linear_graph()
    bad_graph["edges"].append({"id": "e3", "source": "out", "target": "inp"})  # cycle
    attempts = [
        (b'{"name": "half', 400),
        (b'{"name": "new", "unknown": true}', 400),
        (b'{"name": "new", "nodes": "nope"}', 400),
        (b'{"name": "new", "base_version": 0}', 400),
        (json.dumps({"name": "new", "description": "y" * (limit + 1)}).encode(), 413),
        (json.dumps({"name": "new", "description": "changed", **bad_graph}).encode(), 422),
        (json.dumps({"name": "new", "base_version": 5}).encode(), 409),
    ]
    for raw, status in attempts:
        response = await api.put(f"/api/workflows/{wid}", content=raw, headers=JSON)
        assert_error(response, status)
        assert (await api.get(f"/api/workflows/{wid}")).json() == created
    versions = (await api.get(f"/api/workflows/{wid}/versions")).json()
    assert versions["total"] == 1
    assert versions["items"][0]["name"] == created["name"]
    assert versions["items"][0]["description"] == "original"


async def test_bad_path_and_query_values_name_the_parameter(api):
    body = assert_error(await api.get("/api/workflows/wf_x/versions/zero"), 404)
    assert body["detail"]
    body = assert_error(await api.get("/api/workflows/wf_x/versions/0"), 400, "path parameter 'version'")
    assert body["extra"][0]["key"] == "version"
    assert_error(await api.get("/api/workflows", params={"limit": "ten"}), 400, "query parameter 'limit'")
