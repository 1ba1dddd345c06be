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
