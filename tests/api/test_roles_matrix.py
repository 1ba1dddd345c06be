"""Route × role: EVERY route of the app, enumerated from the Litestar app itself (a new route is
covered automatically, and one the role rule cannot classify fails here), is called as a guest,
a member and an admin of a workspace; below the route's role it must answer 403, at or above it
never 401/403. Every route that names a tenant object is also called by another workspace's
admin with a real object of the first workspace: the answer must be exactly the one for a
missing object (404 for reads and deletes), so nothing of another tenant is reachable or leaked."""

from __future__ import annotations

import re
import uuid

import pytest

from pilot.auth.roles import ADMIN, AUTHENTICATED, GUEST, MEMBER, PUBLIC_ROLE, RANK, UnclassifiedRouteError, required_role
from tests.support.identity import bearer, login, make_key, make_user, make_workspace
from tests.support.workflows import workflow_body

ROLES = (GUEST, MEMBER, ADMIN)
# Path parameters naming an object owned by a workspace: the tenant check needs one of each.
TENANT_PARAMS = {"workflow_id", "execution_id", "kb_id", "tool_id", "agent_id", "session_id", "credential_id",
                 "server_id", "table_id", "user_id", "invitation_id", "key_id", "org_id", "team_id"}
# Path parameters that are not tenant objects (global catalogues, public ids, parts of an object).
OTHER_PARAMS = {"template_id": "summarization", "hook_id": "hook_missing", "file_path": "index.html",
                "path": "nothing", "version": "1", "node_id": "write", "message_id": "msg_missing"}
# What the rule must say about the routes that are not plain "GET reads, other methods write".
EXPECTED_ADMIN = {
    "GET /api/workspace/members", "PUT /api/workspace/members/{user_id}", "DELETE /api/workspace/members/{user_id}",
    "GET /api/workspace/invitations", "POST /api/workspace/invitations", "DELETE /api/workspace/invitations/{invitation_id}",
    "GET /api/workspace/keys", "POST /api/workspace/keys", "DELETE /api/workspace/keys/{key_id}",
    "POST /api/credentials", "PUT /api/credentials/{credential_id}", "DELETE /api/credentials/{credential_id}",
    "PUT /api/usage/budget", "PUT /api/usage/prices",
}
# Routes not scoped to the X-Pilot-Workspace workspace: any valid credentials, no workspace role
# (organisations decide per object who sees and manages what: pilot.auth.orgs.Structure).
EXPECTED_SIGNED_IN = {
    "GET /api/auth/me", "POST /api/auth/logout",
    "GET /api/orgs", "POST /api/orgs", "GET /api/orgs/{org_id}", "GET /api/orgs/{org_id}/teams",
    "POST /api/orgs/{org_id}/teams", "GET /api/teams/{team_id}/workspaces", "POST /api/teams/{team_id}/workspaces",
}
EXPECTED_PUBLIC_PREFIXES = ("/health", "/ready", "/ping", "/metrics", "/panel", "/hooks/", "/schema",
                            "/api/auth/login", "/api/auth/refresh", "/api/auth/invitations/accept")


def _routes(app) -> list[tuple[str, str, object]]:
    """(method, path template, handler) for every route handler of the app (Litestar's automatic
    OPTIONS handlers included); an ASGI mount is listed once as ``*``."""
    found = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", None) or [route.route_handler]:  # HTTP routes / ASGI mounts
            methods = sorted(getattr(handler, "http_methods", None) or ["*"])
            found.extend((method, re.sub(r":[a-z]+}", "}", route.path), handler) for method in methods)
    return found


def _url(path: str, values: dict[str, str]) -> str:
    return re.sub(r"{(\w+)}", lambda m: values[m.group(1)], path)


async def _request(client, method: str, url: str, key: str):
    headers = {"Authorization": f"Bearer {key}", "Accept": "application/json, text/event-stream"}
    if method == "*":  # the MCP mount: a JSON-RPC call
        return await client.post(url, headers=headers, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    kwargs = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    return await client.request(method, url, headers=headers, timeout=30, **kwargs)


async def _objects(client, key: str, workspace_id: str) -> dict[str, str]:
    """One real object of every tenant type, in the workspace of ``key`` (an admin key)."""
    h = {"Authorization": f"Bearer {key}"}

    async def made(path: str, body: dict, headers: dict = h) -> dict:
        r = await client.post(path, json=body, headers=headers)
        assert r.status_code in (201, 202), (path, r.text)
        return r.json()

    wf = (await made("/api/workflows", workflow_body("matrix")))["id"]
    user_id, _ = await make_user(client.app, workspace_id, "member")
    # An organisation and team of a user (organisations belong to users, not to a workspace's keys).
    _, owner_email = await make_user(client.app, None)
    owner = bearer((await login(client, owner_email))["access_token"])
    org_id = (await made("/api/orgs", {"name": "matrix org"}, owner))["id"]
    team_id = (await made(f"/api/orgs/{org_id}/teams", {"name": "matrix team"}, owner))["id"]
    await made(f"/api/teams/{team_id}/workspaces", {"name": f"matrix-{uuid.uuid4().hex[:8]}"}, owner)
    assert len((await client.get(f"/api/teams/{team_id}/workspaces", headers=owner)).json()["items"]) == 1
    return {
        "workflow_id": wf,
        "execution_id": (await made(f"/api/workflows/{wf}/execute", {"input_data": {"topic": "x"}}))["execution_id"],
        "kb_id": (await made("/api/knowledge-bases", {"name": "matrix-kb"}))["id"],
        "tool_id": (await made("/api/tools", {"name": "matrix_hook", "connector": "webhook",
                                               "defaults": {"url": "https://example.com/hook"}}))["id"],
        "agent_id": (await made("/api/agents", {"name": "matrix agent"}))["id"],
        "session_id": (await made("/api/chat/sessions", {"title": "matrix"}))["id"],
        "credential_id": (await made("/api/credentials", {"name": "matrix_token", "type": "bearer_token", "value": "s3cret-value"}))["id"],
        "server_id": (await made("/api/mcp-servers", {"name": "matrix", "url": "https://example.com/mcp"}))["id"],
        "table_id": (await made("/api/tables", {"name": "matrix", "columns": [{"name": "a", "type": "string"}]}))["id"],
        "user_id": user_id,
        "invitation_id": (await made("/api/workspace/invitations", {"email": f"{uuid.uuid4().hex[:8]}@example.test"}))["id"],
        "key_id": (await made("/api/workspace/keys", {"name": "matrix", "role": "guest"}))["id"],
        "org_id": org_id,
        "team_id": team_id,
    }


def test_every_route_has_a_role_and_the_special_ones_are_the_expected_ones(client):
    unclassified, admin, public, signed_in = [], set(), set(), set()
    for method, path, handler in _routes(client.app):
        try:
            role = required_role(handler)
        except UnclassifiedRouteError as exc:
            unclassified.append(f"{method} {path}: {exc}")
            continue
        if role == ADMIN:
            admin.add(f"{method} {path}")
        elif role == PUBLIC_ROLE and method != "OPTIONS":
            public.add(f"{method} {path}")
        elif role == AUTHENTICATED:
            signed_in.add(f"{method} {path}")
        unknown = set(re.findall(r"{(\w+)}", path)) - TENANT_PARAMS - set(OTHER_PARAMS)
        assert not unknown, f"{method} {path}: classify the path parameters {unknown} in this test"
    assert not unclassified, unclassified
    assert admin == EXPECTED_ADMIN
    assert signed_in == EXPECTED_SIGNED_IN
    assert all(p.split(" ", 1)[1].startswith(EXPECTED_PUBLIC_PREFIXES) for p in public), sorted(public)
    assert {"GET /health", "GET /metrics", "POST /hooks/{hook_id}", "POST /api/auth/login", "GET /panel"} <= public


async def test_route_by_role_matrix_and_other_tenants_get_404(client):
    app = client.app
    mine, theirs = await make_workspace(app), await make_workspace(app)
    keys = {role: await make_key(app, mine, role) for role in ROLES}
    outsider = await make_key(app, theirs, ADMIN)
    objects = await _objects(client, keys[ADMIN], mine)
    missing = {name: f"missing_{uuid.uuid4().hex[:8]}" for name in TENANT_PARAMS}

    problems: list[str] = []
    checked = tenant_checked = 0
    for method, path, handler in _routes(app):
        required = required_role(handler)
        if required == PUBLIC_ROLE or method == "OPTIONS":
            continue
        url = _url(path, {**OTHER_PARAMS, **missing})
        for role in ROLES:
            r = await _request(client, method, url, keys[role])
            allowed = required == AUTHENTICATED or RANK[role] >= RANK[required]
            if allowed and r.status_code in (401, 403):
                problems.append(f"{role} {method} {path}: {r.status_code} but the route needs {required}: {r.text[:200]}")
            if not allowed and r.status_code != 403:
                problems.append(f"{role} {method} {path}: {r.status_code}, expected 403 (needs {required})")
            checked += 1
        params = set(re.findall(r"{(\w+)}", path)) & TENANT_PARAMS
        if not params:
            continue
        real = await _request(client, method, _url(path, {**OTHER_PARAMS, **objects}), outsider)
        absent = await _request(client, method, url, outsider)
        tenant_checked += 1
        if real.status_code != absent.status_code or real.status_code < 400:
            problems.append(f"other tenant {method} {path}: {real.status_code} for a real object vs "
                            f"{absent.status_code} for a missing one: {real.text[:200]}")
        elif method in ("GET", "DELETE") and real.status_code != 404:
            problems.append(f"other tenant {method} {path}: {real.status_code}, expected 404")
    assert not problems, "\n".join(problems)
    assert checked > 250 and tenant_checked > 50, (checked, tenant_checked)  # the app's routes really were walked

    # The objects were real: their own workspace reads them (so the 404s above are tenancy, not typos).
    for name, path in (("workflow_id", "/api/workflows/{workflow_id}"), ("execution_id", "/api/executions/{execution_id}"),
                       ("kb_id", "/api/knowledge-bases/{kb_id}"), ("credential_id", "/api/credentials/{credential_id}"),
                       ("table_id", "/api/tables/{table_id}"), ("session_id", "/api/chat/sessions/{session_id}")):
        r = await client.get(_url(path, objects), headers={"Authorization": f"Bearer {keys[MEMBER]}"})
        assert r.status_code == 200, (name, r.text)
    members = (await client.get("/api/workspace/members", headers={"Authorization": f"Bearer {keys[ADMIN]}"})).json()
    assert objects["user_id"] in [m["user_id"] for m in members["items"]]


@pytest.mark.parametrize("role", ROLES)
async def test_the_role_of_a_user_is_enforced_like_a_keys(client, role):
    """The same guard for access tokens: a user's membership role decides."""
    from tests.support.identity import bearer, login

    ws = await make_workspace(client.app)
    _, email = await make_user(client.app, ws, role)
    token = (await login(client, email))["access_token"]
    read = await client.get("/api/workflows", headers=bearer(token))
    write = await client.post("/api/workflows", json=workflow_body(), headers=bearer(token))
    manage = await client.get("/api/workspace/keys", headers=bearer(token))
    assert read.status_code == 200
    assert write.status_code == (403 if role == GUEST else 201)
    assert manage.status_code == (200 if role == ADMIN else 403)
    if role != ADMIN:
        assert manage.json()["extra"] == {"required_role": "admin", "role": role}
