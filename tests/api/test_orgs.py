"""Organisations → teams → workspaces over the API: a signed-in user creates an organisation (and
owns it), its teams and their workspaces, and works in a new workspace as its admin; members see
only their own part; everyone else gets 404, exactly as for an id that does not exist."""

from __future__ import annotations

import uuid

from tests.support.identity import PASSWORD, bearer, login, make_key, make_user, make_workspace, unique_email
from tests.support.workflows import workflow_body


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def _signed_in(client, workspace_id: str | None = None, role: str = "member") -> tuple[str, dict[str, str]]:
    user_id, email = await make_user(client.app, workspace_id, role)
    return user_id, bearer((await login(client, email))["access_token"])


async def _created(response, status: int = 201) -> dict:
    assert response.status_code == status, response.text
    return response.json()


async def test_a_user_builds_org_team_workspace_and_works_there_as_admin(client):
    _, owner = await _signed_in(client)  # in no workspace yet
    assert (await client.get("/api/workflows", headers=owner)).status_code == 403  # nowhere to work
    org = await _created(await client.post("/api/orgs", json={"name": "Acme"}, headers=owner))
    assert org["name"] == "Acme" and org["role"] == "owner" and org["id"].startswith("org_")
    team = await _created(await client.post(f"/api/orgs/{org['id']}/teams", json={"name": "Research"}, headers=owner))
    assert team["organization_id"] == org["id"] and team["organization"] == "Acme" and team["name"] == "Research"
    ws_name = _name("lab")
    ws = await _created(await client.post(f"/api/teams/{team['id']}/workspaces", json={"name": ws_name}, headers=owner))
    assert ws == {"id": ws["id"], "name": ws_name, "role": "admin", "team": "Research", "organization": "Acme"}

    assert [o["id"] for o in (await client.get("/api/orgs", headers=owner)).json()["items"]] == [org["id"]]
    assert (await client.get(f"/api/orgs/{org['id']}", headers=owner)).json()["role"] == "owner"
    assert [t["id"] for t in (await client.get(f"/api/orgs/{org['id']}/teams", headers=owner)).json()["items"]] == [team["id"]]
    listed = (await client.get(f"/api/teams/{team['id']}/workspaces", headers=owner)).json()["items"]
    assert [(w["id"], w["role"]) for w in listed] == [(ws["id"], "admin")]

    # The creator works in the new workspace as its admin, by name or by id.
    here = {**owner, "X-Pilot-Workspace": ws_name}
    current = (await client.get("/api/workspace", headers=here)).json()
    assert (current["id"], current["role"], current["team"], current["organization"]) == (ws["id"], "admin", "Research", "Acme")
    wf = await _created(await client.post("/api/workflows", json=workflow_body("in the lab"), headers=here))
    assert (await client.get(f"/api/workflows/{wf['id']}", headers={**owner, "X-Pilot-Workspace": ws["id"]})).status_code == 200
    key = await _created(await client.post("/api/workspace/keys", json={"name": "ci"}, headers=here))  # admin only
    assert (await client.get("/api/workflows", headers=bearer(key["key"]))).json()["total"] == 1
    me = (await client.get("/api/auth/me", headers=owner)).json()
    assert [(w["name"], w["role"], w["team"], w["organization"]) for w in me["workspaces"]] == [(ws_name, "admin", "Research", "Acme")]


async def test_another_tenant_cannot_see_or_touch_the_org_and_gets_404(client):
    _, owner = await _signed_in(client)
    org = await _created(await client.post("/api/orgs", json={"name": "Private"}, headers=owner))
    team = await _created(await client.post(f"/api/orgs/{org['id']}/teams", json={"name": "core"}, headers=owner))
    ws = await _created(await client.post(f"/api/teams/{team['id']}/workspaces", json={"name": _name("secret")}, headers=owner))

    elsewhere = await make_workspace(client.app)
    _, stranger = await _signed_in(client, elsewhere, "admin")
    stranger_key = bearer(await make_key(client.app, elsewhere, "admin"))
    for who in (stranger, stranger_key):
        for method, path, body in (
            ("GET", f"/api/orgs/{org['id']}", None), ("GET", f"/api/orgs/{org['id']}/teams", None),
            ("POST", f"/api/orgs/{org['id']}/teams", {"name": "mine now"}),
            ("GET", f"/api/teams/{team['id']}/workspaces", None),
            ("POST", f"/api/teams/{team['id']}/workspaces", {"name": _name("mine")}),
        ):
            real = await client.request(method, path, json=body, headers=who)
            missing = await client.request(method, path.replace(org["id"], "org_missing").replace(team["id"], "team_missing"),
                                           json=body, headers=who)
            assert real.status_code == missing.status_code == 404, (method, path, real.text)
            assert org["name"] not in real.text and team["name"] not in real.text
        assert org["id"] not in (await client.get("/api/orgs", headers=who)).text
    assert (await client.get("/api/workflows", headers={**stranger, "X-Pilot-Workspace": ws["id"]})).status_code == 404
    # Organisation names are per owner: the same name elsewhere is no conflict and reveals nothing.
    assert (await client.post("/api/orgs", json={"name": "Private"}, headers=stranger)).status_code == 201
    listed = (await client.get(f"/api/orgs/{org['id']}/teams", headers=owner)).json()["items"]
    assert [t["name"] for t in listed] == ["core"]  # nothing was added by the attempts


async def test_members_see_their_own_part_and_only_the_owner_creates(client):
    _, owner = await _signed_in(client)
    org = await _created(await client.post("/api/orgs", json={"name": "Shared"}, headers=owner))
    t1 = await _created(await client.post(f"/api/orgs/{org['id']}/teams", json={"name": "one"}, headers=owner))
    t2 = await _created(await client.post(f"/api/orgs/{org['id']}/teams", json={"name": "two"}, headers=owner))
    a = await _created(await client.post(f"/api/teams/{t1['id']}/workspaces", json={"name": _name("a")}, headers=owner))
    a2 = await _created(await client.post(f"/api/teams/{t1['id']}/workspaces", json={"name": _name("a2")}, headers=owner))
    await _created(await client.post(f"/api/teams/{t2['id']}/workspaces", json={"name": _name("b")}, headers=owner))

    email = unique_email("colleague")  # invited into workspace a as a member, through the API
    invitation = await _created(await client.post("/api/workspace/invitations", json={"email": email, "role": "member"},
                                                  headers={**owner, "X-Pilot-Workspace": a["id"]}))
    await _created(await client.post("/api/auth/invitations/accept", json={"token": invitation["token"], "password": PASSWORD}), 200)
    colleague = bearer((await login(client, email))["access_token"])

    assert [(o["id"], o["role"]) for o in (await client.get("/api/orgs", headers=colleague)).json()["items"]] == [(org["id"], "member")]
    assert [t["id"] for t in (await client.get(f"/api/orgs/{org['id']}/teams", headers=colleague)).json()["items"]] == [t1["id"]]
    mine = (await client.get(f"/api/teams/{t1['id']}/workspaces", headers=colleague)).json()["items"]
    assert [(w["id"], w["role"]) for w in mine] == [(a["id"], "member")]  # not a2: not a member there
    assert (await client.get(f"/api/teams/{t2['id']}/workspaces", headers=colleague)).status_code == 404
    refused = await client.post(f"/api/orgs/{org['id']}/teams", json={"name": "three"}, headers=colleague)
    assert refused.status_code == 403 and "owner" in refused.json()["detail"]
    assert (await client.post(f"/api/teams/{t1['id']}/workspaces", json={"name": _name("c")}, headers=colleague)).status_code == 403
    assert (await client.post(f"/api/teams/{t2['id']}/workspaces", json={"name": _name("c")}, headers=colleague)).status_code == 404

    everything = (await client.get(f"/api/teams/{t1['id']}/workspaces", headers=owner)).json()["items"]
    assert [w["id"] for w in everything] == [a["id"], a2["id"]]
    assert [t["name"] for t in (await client.get(f"/api/orgs/{org['id']}/teams", headers=owner)).json()["items"]] == ["one", "two"]


async def test_the_default_org_shows_each_tenant_only_its_own_workspaces(client):
    mine, theirs = await make_workspace(client.app), await make_workspace(client.app)
    _, user = await _signed_in(client, mine, "guest")
    await _signed_in(client, theirs, "admin")
    orgs = (await client.get("/api/orgs", headers=user)).json()["items"]
    assert [(o["id"], o["role"]) for o in orgs] == [("org_default", "member")]
    assert [t["id"] for t in (await client.get("/api/orgs/org_default/teams", headers=user)).json()["items"]] == ["team_default"]
    listed = (await client.get("/api/teams/team_default/workspaces", headers=user)).json()["items"]
    assert [(w["id"], w["role"]) for w in listed] == [(mine, "guest")]  # not `theirs`, nor any other tenant's
    refused = await client.post("/api/teams/team_default/workspaces", json={"name": _name("x")}, headers=user)
    assert refused.status_code == 403  # the default organisation has no owner: operators manage it (CLI)

    key = bearer(await make_key(client.app, mine, "admin"))  # an API key: its own workspace's organisation
    assert [o["id"] for o in (await client.get("/api/orgs", headers=key)).json()["items"]] == ["org_default"]
    assert [(w["id"], w["role"]) for w in (await client.get("/api/teams/team_default/workspaces", headers=key)).json()["items"]] == [(mine, "admin")]
    no_owner = await client.post("/api/orgs", json={"name": "by key"}, headers=key)
    assert no_owner.status_code == 403 and "log in" in no_owner.json()["detail"]


async def test_bad_names_and_taken_names(client):
    _, owner = await _signed_in(client)
    missing = await client.post("/api/orgs", json={}, headers=owner)
    assert missing.status_code == 400 and "name" in missing.json()["detail"]
    for bad in ("", "  padded ", "line\nbreak", "x" * 201):
        r = await client.post("/api/orgs", json={"name": bad}, headers=owner)
        assert r.status_code == 400 and "name" in r.json()["detail"], (bad, r.text)
    org = await _created(await client.post("/api/orgs", json={"name": "Twice"}, headers=owner))
    again = await client.post("/api/orgs", json={"name": "Twice"}, headers=owner)
    assert again.status_code == 409 and again.json()["extra"] == {"field": "name"}
    team = await _created(await client.post(f"/api/orgs/{org['id']}/teams", json={"name": "t"}, headers=owner))
    assert (await client.post(f"/api/orgs/{org['id']}/teams", json={"name": "t"}, headers=owner)).status_code == 409

    taken = await make_workspace(client.app, _name("taken"))  # someone else's workspace, in another organisation
    async with client.app.state.runtime.sessions() as db:
        from pilot.db.models import WorkspaceRow

        taken_name = (await db.get(WorkspaceRow, taken)).name
    clash = await client.post(f"/api/teams/{team['id']}/workspaces", json={"name": taken_name}, headers=owner)
    assert clash.status_code == 409 and taken not in clash.text and "default" not in clash.text
    assert (await client.get(f"/api/teams/{team['id']}/workspaces", headers=owner)).json()["items"] == []
