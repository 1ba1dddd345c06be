"""Versions, publish immutability and the validate endpoints."""

from __future__ import annotations

from tests.support.workflows import cyclic_graph, fan_out_graph, linear_graph, workflow_body


async def create(api, **extra) -> dict:
    response = await api.post("/api/workflows", json=workflow_body(**extra))
    assert response.status_code == 201, response.text
    return response.json()


async def test_publish_then_update_creates_a_new_draft_version(api):
    wf = await create(api)
    published = await api.post(f"/api/workflows/{wf['id']}/publish")
    assert published.status_code == 200
    assert (published.json()["status"], published.json()["version"]) == ("published", 1)

    graph = linear_graph()
    graph["nodes"][1]["config"]["prompt"] = "v2 prompt about {{ inputs.topic }}"
    updated = (await api.put(f"/api/workflows/{wf['id']}", json={"name": "v2", "nodes": graph["nodes"]})).json()
    assert (updated["version"], updated["status"], updated["name"]) == (2, "draft", "v2")

    # The published version is untouched.
    v1 = (await api.get(f"/api/workflows/{wf['id']}/versions/1")).json()
    assert (v1["version"], v1["status"], v1["name"]) == (1, "published", "Demo workflow")
    assert v1["nodes"][1]["config"]["prompt"] == "Write about {{ inputs.topic }}"

    # A second edit of the new draft stays on version 2.
    again = (await api.put(f"/api/workflows/{wf['id']}", json={"description": "more"})).json()
    assert (again["version"], again["status"]) == (2, "draft")
    v2 = (await api.get(f"/api/workflows/{wf['id']}/versions/2")).json()
    assert (v2["status"], v2["name"], v2["description"]) == ("draft", "v2", "more")
    assert v2["nodes"][1]["config"]["prompt"] == "v2 prompt about {{ inputs.topic }}"

    versions = (await api.get(f"/api/workflows/{wf['id']}/versions")).json()
    assert versions["total"] == 2
    assert [(v["version"], v["status"]) for v in versions["items"]] == [(2, "draft"), (1, "published")]

    # Publish v2, edit again: v3 draft, v1 and v2 both frozen.
    await api.post(f"/api/workflows/{wf['id']}/publish")
    v3 = (await api.put(f"/api/workflows/{wf['id']}", json={"name": "v3"})).json()
    assert (v3["version"], v3["status"]) == (3, "draft")
    statuses = [(v["version"], v["status"], v["name"]) for v in (await api.get(f"/api/workflows/{wf['id']}/versions")).json()["items"]]
    assert statuses == [(3, "draft", "v3"), (2, "published", "v2"), (1, "published", "Demo workflow")]


async def test_publish_is_idempotent(api):
    wf = await create(api)
    first = (await api.post(f"/api/workflows/{wf['id']}/publish")).json()
    second = await api.post(f"/api/workflows/{wf['id']}/publish")
    assert second.status_code == 200
    assert second.json() == first
    assert (await api.get(f"/api/workflows/{wf['id']}/versions")).json()["total"] == 1


async def test_versions_pagination_and_unknown_version(api):
    wf = await create(api)
    for i in range(3):
        await api.post(f"/api/workflows/{wf['id']}/publish")
        await api.put(f"/api/workflows/{wf['id']}", json={"name": f"n{i}"})
    page = (await api.get(f"/api/workflows/{wf['id']}/versions", params={"limit": 2, "offset": 1})).json()
    assert page["total"] == 4
    assert [v["version"] for v in page["items"]] == [3, 2]
    missing = await api.get(f"/api/workflows/{wf['id']}/versions/9")
    assert missing.status_code == 404
    assert "version 9" in missing.json()["detail"]


async def test_validate_stored_workflow_reports_levels(api):
    response = await api.post("/api/workflows", json={"name": "fan", **fan_out_graph()})
    wf = response.json()
    report = await api.post(f"/api/workflows/{wf['id']}/validate")
    assert report.status_code == 200
    assert report.json() == {"valid": True, "problems": [], "levels": [["inp"], ["a", "b"], ["out"]]}


async def test_validate_unsaved_graph_is_200_even_when_invalid(api):
    good = await api.post("/api/workflows/validate", json=linear_graph())
    assert good.status_code == 200 and good.json()["valid"] is True
    bad = await api.post("/api/workflows/validate", json=cyclic_graph())
    assert bad.status_code == 200
    body = bad.json()
    assert body["valid"] is False
    cycle = next(p for p in body["problems"] if p["code"] == "cycle")
    assert {"write", "check"} <= set(cycle["node_ids"])


async def test_invalid_update_of_published_workflow_changes_nothing(api):
    wf = await create(api)
    await api.post(f"/api/workflows/{wf['id']}/publish")
    response = await api.put(f"/api/workflows/{wf['id']}", json={"name": "broken", **cyclic_graph()})
    assert response.status_code == 422
    head = (await api.get(f"/api/workflows/{wf['id']}")).json()
    assert (head["version"], head["status"], head["name"]) == (1, "published", "Demo workflow")
    assert (await api.get(f"/api/workflows/{wf['id']}/versions")).json()["total"] == 1


async def test_concurrent_edits_of_a_published_workflow_never_fork_or_500(api):
    import asyncio

    wf = await create(api)
    await api.post(f"/api/workflows/{wf['id']}/publish")
    responses = await asyncio.gather(*(api.put(f"/api/workflows/{wf['id']}", json={"name": f"edit {i}"}) for i in range(6)))
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {200, 409}, [r.text for r in responses]
    assert 200 in statuses
    versions = (await api.get(f"/api/workflows/{wf['id']}/versions")).json()["items"]
    head = (await api.get(f"/api/workflows/{wf['id']}")).json()
    assert [v["version"] for v in versions] == list(range(head["version"], 0, -1))
    assert versions[-1]["status"] == "published" and versions[-1]["name"] == "Demo workflow"
    assert versions[0]["name"] == head["name"]


async def test_restore_an_earlier_version_as_a_new_draft(api):
    wf = await create(api)
    graph = linear_graph()
    graph["nodes"][1]["config"]["prompt"] = "changed {{ inputs.topic }}"
    await api.put(f"/api/workflows/{wf['id']}", json={"name": "changed", "nodes": graph["nodes"]})
    assert (await api.get(f"/api/workflows/{wf['id']}")).json()["version"] == 1  # draft edited in place
    await api.post(f"/api/workflows/{wf['id']}/publish")
    await api.put(f"/api/workflows/{wf['id']}", json={"name": "v2 draft"})
    restored = await api.post(f"/api/workflows/{wf['id']}/versions/1/restore")
    assert restored.status_code == 200
    body = restored.json()
    assert (body["version"], body["status"], body["name"]) == (3, "draft", "changed")
    assert body["nodes"][1]["config"]["prompt"] == "changed {{ inputs.topic }}"
    history = [(v["version"], v["name"]) for v in (await api.get(f"/api/workflows/{wf['id']}/versions")).json()["items"]]
    assert history == [(3, "changed"), (2, "v2 draft"), (1, "changed")]
    assert (await api.post(f"/api/workflows/{wf['id']}/versions/7/restore")).status_code == 404


async def test_noop_update_of_a_published_workflow_creates_no_version(api):
    wf = await create(api)
    published = (await api.post(f"/api/workflows/{wf['id']}/publish")).json()
    same = await api.put(f"/api/workflows/{wf['id']}", json={"name": wf["name"], "nodes": published["nodes"], "edges": published["edges"]})
    assert same.status_code == 200
    assert same.json() == published
    empty = await api.put(f"/api/workflows/{wf['id']}", json={})
    assert empty.json() == published
    assert (await api.get(f"/api/workflows/{wf['id']}/versions")).json()["total"] == 1
