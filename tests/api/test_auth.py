"""Users and login (pilot.auth): argon2 hashes, access tokens (JWT) + rotating refresh tokens,
logout and revocation through the principal cache, the workspace header, expiry, brute force."""

from __future__ import annotations

import asyncio
import time

import jwt
import sqlalchemy as sa
from argon2 import PasswordHasher
from litestar.testing import AsyncTestClient

from pilot.app import create_app
from pilot.db.models import AuthSessionRow, UserRow
from tests.support.identity import PASSWORD, bearer, login, make_key, make_user, make_workspace, unique_email
from tests.support.workflows import workflow_body


async def _user_row(client, email: str) -> UserRow:
    async with client.app.state.runtime.sessions() as db:
        return await db.scalar(sa.select(UserRow).where(UserRow.email == email))


async def test_login_stores_only_an_argon2_hash_and_tokens_act_in_the_workspace(client):
    ws = await make_workspace(client.app)
    user_id, email = await make_user(client.app, ws, "member", email=unique_email("Mixed.Case"))
    row = await _user_row(client, email.lower())
    assert row.password_hash.startswith("$argon2id$") and PASSWORD not in row.password_hash

    tokens = await login(client, email.upper())  # e-mail compared case-insensitively
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 900
    assert tokens["user"] == {"id": user_id, "email": email.lower(), "name": "", "created_at": tokens["user"]["created_at"]}
    assert tokens["refresh_token"].startswith("prt_") and tokens["access_token"].count(".") == 2
    async with client.app.state.runtime.sessions() as db:  # the refresh token is stored hashed only
        stored = (await db.execute(sa.text("SELECT token_hash FROM refresh_tokens"))).scalars().all()
    assert tokens["refresh_token"] not in stored and len(stored[0]) == 64

    me = (await client.get("/api/auth/me", headers=bearer(tokens["access_token"]))).json()
    assert me["kind"] == "user" and me["user"]["id"] == user_id
    assert me["workspace"]["id"] == ws and me["workspace"]["role"] == "member"
    assert me["workspace"]["team"] == "default" and me["workspace"]["organization"] == "default"
    created = await client.post("/api/workflows", json=workflow_body("by a user"), headers=bearer(tokens["access_token"]))
    assert created.status_code == 201, created.text
    listed = (await client.get("/api/workflows", headers=bearer(tokens["access_token"]))).json()
    assert [w["id"] for w in listed["items"]] == [created.json()["id"]]  # the membership's workspace


async def test_wrong_password_and_unknown_email_get_the_same_401(client):
    _, email = await make_user(client.app, await make_workspace(client.app))
    wrong = await client.post("/api/auth/login", json={"email": email, "password": "not it at all"})
    unknown = await client.post("/api/auth/login", json={"email": unique_email(), "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"status_code": 401, "detail": "wrong email or password"}
    assert wrong.headers["www-authenticate"] == 'Bearer realm="pilot"'
    bad = await client.post("/api/auth/login", json={"email": "no-at-sign", "password": "x"})
    assert bad.status_code == 400 and "email" in bad.json()["detail"]


async def test_a_hash_with_old_parameters_is_replaced_at_login(client):
    _, email = await make_user(client.app, await make_workspace(client.app))
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    async with client.app.state.runtime.sessions() as db:
        await db.execute(sa.update(UserRow).where(UserRow.email == email).values(password_hash=weak))
        await db.commit()
    await login(client, email)
    rehashed = (await _user_row(client, email)).password_hash
    assert rehashed != weak and "m=65536,t=3" in rehashed
    await login(client, email)  # and the new hash verifies


async def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_session(client):
    _, email = await make_user(client.app, await make_workspace(client.app))
    first = await login(client, email)
    second = (await client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})).json()
    assert second["refresh_token"] != first["refresh_token"] and second["session_id"] == first["session_id"]
    assert (await client.get("/api/workflows", headers=bearer(second["access_token"]))).status_code == 200

    replay = await client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})  # stolen copy
    assert replay.status_code == 401 and "already used" in replay.json()["detail"]
    # The whole family is revoked: the current refresh token and access token stop working too.
    assert (await client.post("/api/auth/refresh", json={"refresh_token": second["refresh_token"]})).status_code == 401
    after = await client.get("/api/workflows", headers=bearer(second["access_token"]))
    assert after.status_code == 401 and "session has ended" in after.json()["detail"]
    async with client.app.state.runtime.sessions() as db:
        session_row = await db.get(AuthSessionRow, first["session_id"])
    assert session_row.revoked_reason == "refresh token reused"
    assert (await client.post("/api/auth/refresh", json={"refresh_token": "prt_nope"})).status_code == 401


async def test_logout_ends_the_session_on_the_very_next_request(client):
    _, email = await make_user(client.app, await make_workspace(client.app))
    tokens = await login(client, email)
    other = await login(client, email)  # a second login (another device) is another session
    for _ in range(2):  # cached in the principal cache now
        assert (await client.get("/api/workflows", headers=bearer(tokens["access_token"]))).status_code == 200
    assert (await client.post("/api/auth/logout", headers=bearer(tokens["access_token"]))).status_code == 204
    refused = await client.get("/api/workflows", headers=bearer(tokens["access_token"]))
    assert refused.status_code == 401
    assert (await client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})).status_code == 401
    assert (await client.get("/api/workflows", headers=bearer(other["access_token"]))).status_code == 200
    key_logout = await client.post("/api/auth/logout", headers=bearer(await make_key(client.app, await make_workspace(client.app), "member")))
    assert key_logout.status_code == 400 and "/api/workspace/keys" in key_logout.json()["detail"]


async def test_the_workspace_header_picks_a_membership_and_others_are_404(client):
    first, second, foreign = [await make_workspace(client.app) for _ in range(3)]
    user_id, email = await make_user(client.app, first, "guest")
    async with client.app.state.runtime.sessions() as db:
        from pilot.auth.users import add_member

        await add_member(db, second, user_id, "admin")
        await db.commit()
    token = (await login(client, email))["access_token"]
    me = (await client.get("/api/auth/me", headers=bearer(token))).json()
    assert me["workspace"]["id"] == first  # no header: the first membership
    assert [(w["id"], w["role"]) for w in me["workspaces"]] == [(first, "guest"), (second, "admin")]
    assert (await client.post("/api/workflows", json=workflow_body(), headers=bearer(token))).status_code == 403
    in_second = await client.post("/api/workflows", json=workflow_body(), headers=bearer(token, second))
    assert in_second.status_code == 201
    for ref in (foreign, "no-such-workspace"):  # not a member: the same 404 as a missing workspace
        r = await client.get("/api/workflows", headers=bearer(token, ref))
        assert r.status_code == 404 and "X-Pilot-Workspace" in r.json()["detail"]
    # A user in no workspace may still ask who they are, and gets 403 elsewhere.
    _, lonely = await make_user(client.app, None)
    lonely_token = (await login(client, lonely))["access_token"]
    me = await client.get("/api/auth/me", headers=bearer(lonely_token))
    assert me.status_code == 200 and me.json()["workspace"] is None and me.json()["workspaces"] == []
    assert (await client.get("/api/workflows", headers=bearer(lonely_token))).status_code == 403


async def test_an_access_token_expires(make_settings):
    app = create_app(make_settings(PILOT_ACCESS_TOKEN_TTL_S="3"))
    async with AsyncTestClient(app=app) as client:
        _, email = await make_user(app, await make_workspace(app))
        tokens = await login(client, email)
        assert tokens["expires_in"] == 3
        exp = jwt.decode(tokens["access_token"], options={"verify_signature": False})["exp"]
        assert exp >= time.time() + 2  # it lives its TTL (a loaded machine only makes what follows slower, never wrong)
        assert (await client.get("/api/workflows", headers=bearer(tokens["access_token"]))).status_code == 200
        await asyncio.sleep(max(0.0, exp - time.time()) + 0.3)  # until it has expired, however long the steps above took
        expired = await client.get("/api/workflows", headers=bearer(tokens["access_token"]))
        assert expired.status_code == 401 and "expired" in expired.json()["detail"]
        fresh = (await client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})).json()
        assert (await client.get("/api/workflows", headers=bearer(fresh["access_token"]))).status_code == 200
        forged = tokens["access_token"][:-4] + ("AAAA" if not tokens["access_token"].endswith("AAAA") else "BBBB")
        assert (await client.get("/api/workflows", headers=bearer(forged))).json()["detail"] == "invalid access token"
