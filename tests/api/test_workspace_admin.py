"""Workspace administration (admins): invitations and accepting them, members and roles, API
keys with roles; and usage ``by=user`` (runs record who started them)."""

from __future__ import annotations

import sqlalchemy as sa

from pilot.db.models import InvitationRow
from tests.support.identity import PASSWORD, bearer, login, make_key, make_user, make_workspace, unique_email
from tests.support.workflows import workflow_body


async def test_an_invitation_is_accepted_once_and_gives_its_role(client):
    ws = await make_workspace(client.app)
    admin = bearer(await make_key(client.app, ws, "admin"))
    email = unique_email("invitee")
    created = await client.post("/api/workspace/invitations", json={"email": email.upper(), "role": "guest"}, headers=admin)
    assert created.status_code == 201, created.text
    invitation = created.json()
    token = invitation["token"]
    assert invitation["email"] == email and invitation["role"] == "guest" and invitation["status"] == "pending"
    async with client.app.state.runtime.sessions() as db:  # only the token's sha256 is stored
        stored = await db.get(InvitationRow, invitation["id"])
    assert stored.token_hash != token and len(stored.token_hash) == 64 and token not in str(stored.__dict__)
    listed = (await client.get("/api/workspace/invitations", headers=admin)).json()["items"]
    assert [i["id"] for i in listed] == [invitation["id"]] and listed[0]["token"] is None

    no_password = await client.post("/api/auth/invitations/accept", json={"token": token})
    assert no_password.status_code == 422 and "password" in no_password.json()["detail"]
    short = await client.post("/api/auth/invitations/accept", json={"token": token, "password": "short"})
    assert short.status_code == 400 and "password" in short.json()["detail"]
    accepted = await client.post("/api/auth/invitations/accept", json={"token": token, "password": PASSWORD, "name": "Ada"})
    assert accepted.status_code == 200, accepted.text
    body = accepted.json()
    assert body["created_account"] is True and body["workspace"]["id"] == ws and body["workspace"]["role"] == "guest"
    again = await client.post("/api/auth/invitations/accept", json={"token": token, "password": PASSWORD})
    assert again.status_code == 409 and "accepted" in again.json()["detail"]
    assert (await client.post("/api/auth/invitations/accept", json={"token": "pinv_nope"})).status_code == 404

    access = (await login(client, email))["access_token"]
    assert (await client.get("/api/workflows", headers=bearer(access))).status_code == 200
    assert (await client.post("/api/workflows", json=workflow_body(), headers=bearer(access))).status_code == 403
    statuses = [i["status"] for i in (await client.get("/api/workspace/invitations", headers=admin)).json()["items"]]
    assert statuses == ["accepted"]


async def test_an_existing_account_joins_and_expired_or_revoked_invitations_are_refused(client):
    ws, elsewhere = await make_workspace(client.app), await make_workspace(client.app)
    admin = bearer(await make_key(client.app, ws, "admin"))
    user_id, email = await make_user(client.app, elsewhere, "admin")
    token = (await client.post("/api/workspace/invitations", json={"email": email, "role": "member"}, headers=admin)).json()["token"]
    joined = (await client.post("/api/auth/invitations/accept", json={"token": token})).json()
    assert joined["created_account"] is False and joined["user"]["id"] == user_id
    me = (await client.get("/api/auth/me", headers=bearer((await login(client, email))["access_token"]))).json()
    assert {(w["id"], w["role"]) for w in me["workspaces"]} == {(elsewhere, "admin"), (ws, "member")}
    dup = await client.post("/api/workspace/invitations", json={"email": email}, headers=admin)
    assert dup.status_code == 409 and "member already" in dup.json()["detail"]

    late = (await client.post("/api/workspace/invitations", json={"email": unique_email()}, headers=admin)).json()
    async with client.app.state.runtime.sessions() as db:
        await db.execute(sa.update(InvitationRow).where(InvitationRow.id == late["id"])
                         .values(expires_at=InvitationRow.created_at))
        await db.commit()
    expired = await client.post("/api/auth/invitations/accept", json={"token": late["token"], "password": PASSWORD})
    assert expired.status_code == 409 and "expired" in expired.json()["detail"]
    revoked = (await client.post("/api/workspace/invitations", json={"email": unique_email()}, headers=admin)).json()
    assert (await client.delete(f"/api/workspace/invitations/{revoked['id']}", headers=admin)).status_code == 204
    refused = await client.post("/api/auth/invitations/accept", json={"token": revoked["token"], "password": PASSWORD})
    assert refused.status_code == 409 and "revoked" in refused.json()["detail"]


async def test_members_change_role_and_a_workspace_keeps_an_admin(client):
    ws = await make_workspace(client.app)
    admin_id, admin_email = await make_user(client.app, ws, "admin")
    member_id, member_email = await make_user(client.app, ws, "member")
    admin = bearer((await login(client, admin_email))["access_token"])
    member_token = (await login(client, member_email))["access_token"]
    members = (await client.get("/api/workspace/members", headers=admin)).json()["items"]
    assert [(m["user_id"], m["role"]) for m in members] == [(admin_id, "admin"), (member_id, "member")]

    assert (await client.post("/api/workflows", json=workflow_body(), headers=bearer(member_token))).status_code == 201
    changed = await client.put(f"/api/workspace/members/{member_id}", json={"role": "guest"}, headers=admin)
    assert changed.status_code == 200 and changed.json()["role"] == "guest"
    # The member's cached principal is forgotten: the very next request has the new role.
    assert (await client.post("/api/workflows", json=workflow_body(), headers=bearer(member_token))).status_code == 403
    bad = await client.put(f"/api/workspace/members/{member_id}", json={"role": "owner"}, headers=admin)
    assert bad.status_code == 400 and "role" in bad.json()["detail"]

    last = await client.put(f"/api/workspace/members/{admin_id}", json={"role": "member"}, headers=admin)
    assert last.status_code == 409 and "no admin left" in last.json()["detail"]
    assert (await client.delete(f"/api/workspace/members/{admin_id}", headers=admin)).status_code == 409
    assert (await client.delete(f"/api/workspace/members/{member_id}", headers=admin)).status_code == 204
    gone = await client.get("/api/workflows", headers=bearer(member_token))
    assert gone.status_code == 403  # still signed in, but in no workspace any more


async def test_keys_are_service_accounts_with_a_role_and_revocation_is_immediate(client):
    ws = await make_workspace(client.app)
    admin = bearer(await make_key(client.app, ws, "admin"))
    made = await client.post("/api/workspace/keys", json={"name": "ci"}, headers=admin)
    assert made.status_code == 201 and made.json()["role"] == "member" and made.json()["key"].startswith("pk_")
    ci = made.json()
    ci_headers = bearer(ci["key"])
    assert (await client.post("/api/workflows", json=workflow_body(), headers=ci_headers)).status_code == 201
    assert (await client.get("/api/workspace/keys", headers=ci_headers)).status_code == 403
    listed = (await client.get("/api/workspace/keys", headers=admin)).json()["items"]
    assert {k["name"]: k["role"] for k in listed} == {"admin-key": "admin", "ci": "member"}
    assert all(k["key"] is None for k in listed)
    me = (await client.get("/api/auth/me", headers=ci_headers)).json()
    assert me["kind"] == "api_key" and me["key_id"] == ci["id"] and me["workspace"]["role"] == "member"

    assert (await client.delete(f"/api/workspace/keys/{ci['id']}", headers=admin)).status_code == 204
    assert (await client.get("/api/workflows", headers=ci_headers)).status_code == 401
    own_id = next(k["id"] for k in listed if k["name"] == "admin-key")
    last = await client.delete(f"/api/workspace/keys/{own_id}", headers=admin)
    assert last.status_code == 409 and "no admin left" in last.json()["detail"]


async def test_usage_by_user_names_who_started_the_runs(client):
    ws = await make_workspace(client.app)
    key = await make_key(client.app, ws, "member")
    user_id, email = await make_user(client.app, ws, "member")
    access = (await login(client, email))["access_token"]
    wf = (await client.post("/api/workflows", json=workflow_body(), headers=bearer(key))).json()["id"]
    started = []
    for headers in (bearer(key), bearer(access), bearer(access)):
        r = await client.post(f"/api/workflows/{wf}/execute", json={"input_data": {"topic": "x"}}, headers=headers)
        assert r.status_code == 202, r.text
        started.append(r.json()["execution_id"])
    breakdown = (await client.get("/api/usage/breakdown", params={"by": "user"}, headers=bearer(key))).json()
    by_key = {item["key"]: (item["label"], item["runs"]) for item in breakdown["items"]}
    key_id = (await client.get("/api/auth/me", headers=bearer(key))).json()["key_id"]
    assert by_key == {user_id: (email, 2), key_id: ("API key member-key", 1)}
