"""Tenancy and authentication: a workspace sees only its own workflows; other workspaces' answer 404."""

from __future__ import annotations

import pytest

from tests.support.workflows import workflow_body


async def test_other_workspace_cannot_read_list_update_or_delete(api, other_api):
    mine = (await api.post("/api/workflows", json=workflow_body("secret plan"))).json()
    theirs = (await other_api.post("/api/workflows", json=workflow_body("their plan"))).json()
    wid = mine["id"]

    not_found = {"status_code": 404, "detail": f"workflow '{wid}' not found"}
    for response in (
        await other_api.get(f"/api/workflows/{wid}"),
        await other_api.put(f"/api/workflows/{wid}", json={"name": "pwned"}),
        await other_api.delete(f"/api/workflows/{wid}"),
        await other_api.post(f"/api/workflows/{wid}/publish"),
        await other_api.post(f"/api/workflows/{wid}/validate"),
        await other_api.get(f"/api/workflows/{wid}/versions"),
        await other_api.get(f"/api/workflows/{wid}/versions/1"),
    ):
        assert response.status_code == 404
        assert response.json() == not_found  # identical to a missing id: existence is not leaked

    listing = (await other_api.get("/api/workflows", params={"name": "plan"})).json()
    assert [w["id"] for w in listing["items"]] == [theirs["id"]]
    assert listing["total"] == 1

    # The owner's workflow is exactly as it was.
    after = await api.get(f"/api/workflows/{wid}")
    assert after.status_code == 200
    assert after.json() == mine
    assert [w["id"] for w in (await api.get("/api/workflows")).json()["items"]] == [wid]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer pk_not_a_real_key"}, {"Authorization": "Bearer "}, {"Authorization": "Basic dXNlcjpwYXNz"}],
    ids=["missing", "invalid", "empty", "wrong-scheme"],
)
async def test_requests_without_a_valid_key_are_401(client, api, headers):
    wid = (await api.post("/api/workflows", json=workflow_body())).json()["id"]
    for method, url, kwargs in (
        ("get", "/api/workflows", {}),
        ("post", "/api/workflows", {"json": workflow_body()}),
        ("get", f"/api/workflows/{wid}", {}),
        ("put", f"/api/workflows/{wid}", {"json": {"name": "x"}}),
        ("delete", f"/api/workflows/{wid}", {}),
    ):
        response = await getattr(client, method)(url, headers=headers, **kwargs)
        assert response.status_code == 401, (method, url, response.text)
        body = response.json()
        assert body["status_code"] == 401 and "API key" in body["detail"]
    assert (await api.get(f"/api/workflows/{wid}")).json()["name"] == "Demo workflow"


async def test_revoked_key_is_401(client, api):
    import sqlalchemy as sa

    from pilot.auth.service import hash_key
    from pilot.core.ids import utcnow
    from pilot.db.models import ApiKeyRow

    assert (await api.get("/api/workflows")).status_code == 200
    async with client.app.state.runtime.sessions() as session:
        await session.execute(sa.update(ApiKeyRow).where(ApiKeyRow.key_hash == hash_key(api.key)).values(revoked_at=utcnow()))
        await session.commit()
    assert (await api.get("/api/workflows")).status_code == 401


# ------------------------------------------------------------------ the principal cache (pilot.auth.principals)


async def test_cached_keys_never_answer_for_another_workspace(api, other_api):
    """Both keys cached and interleaved: every request acts in its own key's workspace."""
    for _ in range(3):  # warm both entries
        assert (await api.get("/api/workflows")).status_code == 200
        assert (await other_api.get("/api/workflows")).status_code == 200
    mine, theirs = [], []
    for i in range(4):
        mine.append((await api.post("/api/workflows", json=workflow_body(f"mine {i}"))).json()["id"])
        theirs.append((await other_api.post("/api/workflows", json=workflow_body(f"theirs {i}"))).json()["id"])
        assert [w["id"] for w in (await api.get("/api/workflows", params={"order_by": "name", "order": "asc"})).json()["items"]] == mine
        assert [w["id"] for w in (await other_api.get("/api/workflows", params={"order_by": "name", "order": "asc"})).json()["items"]] == theirs
        assert (await other_api.get(f"/api/workflows/{mine[-1]}")).status_code == 404


async def test_over_http_a_revoked_key_is_refused_on_the_very_next_request(live_server):
    """A real server (uvicorn, a socket) in this process: revoking a cached key, or deleting its
    workspace, takes effect for the next request, not after the cache's TTL."""
    import httpx
    import sqlalchemy as sa

    from pilot.auth.service import hash_key
    from pilot.core.ids import utcnow
    from pilot.db.models import ApiKeyRow, WorkspaceRow

    keys = [await live_server.new_key(), await live_server.new_key()]
    sessions = live_server.app.state.runtime.sessions
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
        def get(key):
            return http.get("/api/workflows", headers={"Authorization": f"Bearer {key}"})

        for key in keys * 2:
            assert (await get(key)).status_code == 200  # both cached now
        async with sessions() as session:  # revoke the first one the way an ORM caller would
            row = await session.scalar(sa.select(ApiKeyRow).where(ApiKeyRow.key_hash == hash_key(keys[0])))
            row.revoked_at = utcnow()
            await session.commit()
        refused = await get(keys[0])
        assert refused.status_code == 401 and refused.json()["detail"] == "invalid API key"
        assert (await get(keys[1])).status_code == 200  # others keep working
        async with sessions() as session:  # delete the second key's workspace (its keys go with it)
            key_row = await session.scalar(sa.select(ApiKeyRow).where(ApiKeyRow.key_hash == hash_key(keys[1])))
            await session.execute(sa.delete(WorkspaceRow).where(WorkspaceRow.id == key_row.workspace_id))
            await session.commit()
        assert (await get(keys[1])).status_code == 401
