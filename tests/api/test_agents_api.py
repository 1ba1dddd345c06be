"""Agents API (SQLite and PostgreSQL): create/list/get/update/delete, versions (every change is a
new version, a no-op is none, restore makes a new one), conditional updates, bad tool references
naming the field, and tenancy (another workspace's agent is a 404)."""

from __future__ import annotations

URL = "/api/agents"
BODY = {"name": "researcher", "model": "gpt-4o", "system": "You research.", "tools": ["tool:web_search", "mcp:files/read"],
        "max_steps": 5}


async def _create(api, **extra) -> dict:
    r = await api.post(URL, json={**BODY, **extra})
    assert r.status_code == 201, r.text
    return r.json()


async def test_crud_and_versions(api) -> None:
    agent = await _create(api)
    assert agent["id"].startswith("agent_") and agent["version"] == 1
    assert (agent["model"], agent["system"], agent["tools"], agent["max_steps"]) == (
        "gpt-4o", "You research.", ["tool:web_search", "mcp:files/read"], 5)
    assert agent["temperature"] == 0.2 and agent["output_schema"] is None
    r = await api.put(f"{URL}/{agent['id']}", json={"system": "You research carefully.", "max_steps": 6})
    assert r.status_code == 200 and r.json()["version"] == 2 and r.json()["max_steps"] == 6
    assert r.json()["tools"] == BODY["tools"]  # left out: kept
    same = await api.put(f"{URL}/{agent['id']}", json={"max_steps": 6})
    assert same.json()["version"] == 2  # a no-op makes no version
    r = await api.put(f"{URL}/{agent['id']}", json={"name": "x", "base_version": 1})
    assert r.status_code == 409 and r.json()["extra"]["current_version"] == 2
    versions = (await api.get(f"{URL}/{agent['id']}/versions")).json()
    assert [v["version"] for v in versions["items"]] == [2, 1] and versions["total"] == 2
    v1 = (await api.get(f"{URL}/{agent['id']}/versions/1")).json()
    assert v1["config"]["system"] == "You research." and v1["config"]["max_steps"] == 5
    assert (await api.get(f"{URL}/{agent['id']}/versions/9")).status_code == 404
    restored = (await api.post(f"{URL}/{agent['id']}/versions/1/restore")).json()
    assert restored["version"] == 3 and restored["system"] == "You research." and restored["max_steps"] == 5
    listing = (await api.get(URL)).json()
    assert [a["id"] for a in listing["items"]] == [agent["id"]] and listing["total"] == 1
    assert (await api.delete(f"{URL}/{agent['id']}")).status_code == 204
    assert (await api.get(f"{URL}/{agent['id']}")).status_code == 404
    assert (await api.get(f"{URL}/{agent['id']}/versions")).status_code == 404


async def test_another_workspace_gets_404(api, other_api) -> None:
    agent = await _create(api)
    for method, path in [("get", ""), ("put", ""), ("delete", ""), ("get", "/versions"), ("get", "/versions/1"),
                         ("post", "/versions/1/restore")]:
        kwargs = {"json": {"name": "stolen"}} if method == "put" else {}
        r = await getattr(other_api, method)(f"{URL}/{agent['id']}{path}", **kwargs)
        assert r.status_code == 404, (method, path, r.text)
    assert (await other_api.get(URL)).json()["items"] == []
    assert (await api.get(f"{URL}/{agent['id']}")).json()["name"] == "researcher"  # untouched


async def test_bad_input_names_the_field(api) -> None:
    r = await api.post(URL, json={**BODY, "tools": ["tool:a", "ftp:server"]})
    assert r.status_code == 400 and "tools[1]" in r.json()["detail"] and "unknown tool reference prefix 'ftp'" in r.json()["detail"]
    r = await api.post(URL, json={**BODY, "max_steps": 0})
    assert r.status_code == 400 and "max_steps" in r.json()["detail"]
    r = await api.post(URL, json={**BODY, "colour": "red"})
    assert r.status_code == 400 and "colour" in r.json()["detail"]
    agent = await _create(api)
    r = await api.put(f"{URL}/{agent['id']}", json={"tools": ["workflow:"]})
    assert r.status_code == 400 and "names nothing" in r.json()["detail"]
    assert (await api.get(f"{URL}/{agent['id']}")).json()["version"] == 1  # nothing half-written
