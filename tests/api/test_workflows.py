"""Workflow CRUD and listing over HTTP (runs on SQLite and PostgreSQL via the ``api`` fixture)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from tests.support.workflows import cyclic_graph, linear_graph, workflow_body


async def create(api, name: str = "Demo workflow", **extra) -> dict:
    response = await api.post("/api/workflows", json=workflow_body(name, **extra))
    assert response.status_code == 201, response.text
    return response.json()


async def test_create_returns_the_stored_workflow(api):
    body = await create(api, "Daily digest", description="news", template_id="scheduled_digest")
    assert body["id"].startswith("wf_")
    assert (body["name"], body["description"], body["template_id"]) == ("Daily digest", "news", "scheduled_digest")
    assert (body["version"], body["status"]) == (1, "draft")
    assert [n["id"] for n in body["nodes"]] == ["inp", "write", "out"]
    assert [(e["source"], e["target"]) for e in body["edges"]] == [("inp", "write"), ("write", "out")]
    assert body["nodes"][1]["config"]["prompt"] == "Write about {{ inputs.topic }}"
    assert body["created_at"] == body["updated_at"]
    # Unpositioned graphs are laid out left to right.
    xs = [n["position"]["x"] for n in body["nodes"]]
    assert xs == sorted(xs) and len(set(xs)) == 3

    fetched = await api.get(f"/api/workflows/{body['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == body


async def test_given_positions_are_kept(api):
    graph = linear_graph()
    for i, node in enumerate(graph["nodes"]):
        node["position"] = {"x": 10.0 * i, "y": 5.0}
    response = await api.post("/api/workflows", json={"name": "positioned", **graph})
    assert response.status_code == 201
    assert [n["position"] for n in response.json()["nodes"]] == [{"x": 0.0, "y": 5.0}, {"x": 10.0, "y": 5.0}, {"x": 20.0, "y": 5.0}]


async def test_create_invalid_graph_lists_every_problem(api):
    graph = cyclic_graph()
    graph["nodes"].append({"id": "weird", "type": "teleport", "config": {}})
    response = await api.post("/api/workflows", json={"name": "bad", **graph})
    assert response.status_code == 422
    body = response.json()
    assert body["status_code"] == 422
    codes = {p["code"] for p in body["extra"]}
    assert {"cycle", "unknown_node_type"} <= codes, codes
    unknown = next(p for p in body["extra"] if p["code"] == "unknown_node_type")
    assert unknown["node_ids"] == ["weird"]
    listing = await api.get("/api/workflows")
    assert listing.json()["total"] == 0  # nothing half-written


async def test_update_draft_in_place(api):
    wf = await create(api)
    graph = linear_graph()
    graph["nodes"][1]["config"]["prompt"] = "Write a poem about {{ inputs.topic }}"
    response = await api.put(f"/api/workflows/{wf['id']}", json={"name": "Renamed", "nodes": graph["nodes"]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "Renamed"
    assert body["version"] == 1 and body["status"] == "draft"
    assert body["nodes"][1]["config"]["prompt"] == "Write a poem about {{ inputs.topic }}"
    assert body["edges"] == wf["edges"]  # edges left out: kept
    assert body["description"] == wf["description"]
    assert datetime.fromisoformat(body["updated_at"]) >= datetime.fromisoformat(wf["updated_at"])
    again = (await api.get(f"/api/workflows/{wf['id']}")).json()
    assert again == body


async def test_update_with_stale_base_version_conflicts(api):
    wf = await create(api)
    await api.post(f"/api/workflows/{wf['id']}/publish")
    await api.put(f"/api/workflows/{wf['id']}", json={"name": "v2"})
    response = await api.put(f"/api/workflows/{wf['id']}", json={"name": "late", "base_version": 1})
    assert response.status_code == 409
    assert response.json()["extra"] == {"current_version": 2}
    ok = await api.put(f"/api/workflows/{wf['id']}", json={"name": "fresh", "base_version": 2})
    assert ok.status_code == 200 and ok.json()["name"] == "fresh"


async def test_delete(api):
    wf = await create(api)
    response = await api.delete(f"/api/workflows/{wf['id']}")
    assert response.status_code == 204
    assert (await api.get(f"/api/workflows/{wf['id']}")).status_code == 404
    assert (await api.get(f"/api/workflows/{wf['id']}/versions")).status_code == 404
    assert (await api.delete(f"/api/workflows/{wf['id']}")).status_code == 404


async def test_unknown_id_is_404(api):
    for call in (api.get("/api/workflows/wf_missing"), api.put("/api/workflows/wf_missing", json={"name": "x"}),
                 api.delete("/api/workflows/wf_missing"), api.post("/api/workflows/wf_missing/publish"),
                 api.post("/api/workflows/wf_missing/validate")):
        response = await call
        assert response.status_code == 404
        assert response.json() == {"status_code": 404, "detail": "workflow 'wf_missing' not found"}


# ------------------------------------------------------------------ listing


async def test_list_pagination_and_total(api):
    names = [f"wf {i:02d}" for i in range(7)]
    for name in names:
        await create(api, name)
    page1 = (await api.get("/api/workflows", params={"limit": 3, "order_by": "name", "order": "asc"})).json()
    page3 = (await api.get("/api/workflows", params={"limit": 3, "offset": 6, "order_by": "name", "order": "asc"})).json()
    assert (page1["total"], page1["limit"], page1["offset"]) == (7, 3, 0)
    assert [w["name"] for w in page1["items"]] == names[:3]
    assert [w["name"] for w in page3["items"]] == names[6:]
    everything = []
    for offset in range(0, 7, 2):
        page = (await api.get("/api/workflows", params={"limit": 2, "offset": offset, "order_by": "name", "order": "desc"})).json()
        everything += [w["name"] for w in page["items"]]
    assert everything == sorted(names, reverse=True)


async def test_list_order_by_updated_and_created(api):
    a = await create(api, "a")
    b = await create(api, "b")
    c = await create(api, "c")
    await asyncio.sleep(0.01)
    await api.put(f"/api/workflows/{a['id']}", json={"description": "touched"})
    by_updated = (await api.get("/api/workflows", params={"order_by": "updated_at", "order": "desc"})).json()
    assert by_updated["items"][0]["id"] == a["id"]
    by_created = (await api.get("/api/workflows", params={"order_by": "created_at", "order": "asc"})).json()
    assert [w["id"] for w in by_created["items"]] == [a["id"], b["id"], c["id"]]
    default = (await api.get("/api/workflows")).json()  # updated_at desc
    assert default["items"][0]["id"] == a["id"]


async def test_list_filters(api):
    digest = await create(api, "Morning Digest", template_id="scheduled_digest")
    support = await create(api, "Support bot", template_id="customer_support")
    other = await create(api, "100% organic_stuff")
    await api.post(f"/api/workflows/{support['id']}/publish")

    async def ids(**params) -> set[str]:
        response = await api.get("/api/workflows", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["total"] == len(body["items"])
        return {w["id"] for w in body["items"]}

    assert await ids(status="published") == {support["id"]}
    assert await ids(status="draft") == {digest["id"], other["id"]}
    assert await ids(template_id="scheduled_digest") == {digest["id"]}
    assert await ids(name="DIGEST") == {digest["id"]}  # case-insensitive contains
    assert await ids(name="o") == {digest["id"], support["id"], other["id"]}
    assert await ids(name="%") == {other["id"]}  # LIKE wildcards match literally
    assert await ids(name="org_nic") == set()  # "_" is not a wildcard either
    assert await ids(name="ic_st") == {other["id"]}
    assert await ids(status="published", name="digest") == set()

    created = datetime.fromisoformat(digest["created_at"])
    assert await ids(created_after=(created - timedelta(minutes=5)).isoformat()) == {digest["id"], support["id"], other["id"]}
    assert await ids(created_before=(created - timedelta(minutes=5)).isoformat()) == set()
    assert await ids(created_after=(created + timedelta(minutes=5)).isoformat()) == set()
    assert await ids(updated_before=(created + timedelta(minutes=5)).isoformat()) == {digest["id"], support["id"], other["id"]}
    assert await ids(updated_after=(created + timedelta(minutes=5)).isoformat()) == set()
    later = datetime.fromisoformat(other["created_at"])
    assert await ids(created_after=later.isoformat()) == {other["id"]}
    assert await ids(created_before=later.isoformat()) == {digest["id"], support["id"]}


async def test_list_rejects_bad_parameters(api):
    for params, key in (({"limit": 0}, "limit"), ({"limit": 201}, "limit"), ({"offset": -1}, "offset"),
                        ({"order_by": "id"}, "order_by"), ({"order": "up"}, "order"), ({"status": "archived"}, "status"),
                        ({"created_after": "yesterday"}, "created_after")):
        response = await api.get("/api/workflows", params=params)
        assert response.status_code == 400, (params, response.text)
        body = response.json()
        assert body["status_code"] == 400
        assert f"query parameter '{key}'" in body["detail"], body
        assert body["extra"][0]["key"] == key
