"""The one guard of every route: who is calling, and may they do this here?

Installed app-wide (``Litestar(guards=[authorize])``), so a route added tomorrow is covered
without anyone remembering to. For each request it

1. derives the role the route needs (:func:`pilot.auth.roles.required_role`); ``public`` routes
   pass untouched;
2. authenticates the bearer credentials — an API key (``pk_…``: its workspace and role) or an
   access token (JWT: signature and expiry, then its login session and the user's membership of
   the workspace named by ``X-Pilot-Workspace``, id or name, else their first workspace) —
   through the principal cache; missing or invalid credentials → 401;
3. refuses a workspace role below the route's → 403 naming both roles. A workspace the user
   is not a member of → 404, the same answer as one that does not exist.

The principal is kept on the connection's scope; :func:`current_principal` hands it to the
dependencies (``CurrentWorkspace``, ``CurrentPrincipal``). Objects of another workspace keep
answering 404 in the services, which filter by the principal's workspace.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection

from pilot.auth.identity import WORKSPACE_HEADER
from pilot.auth.roles import AUTHENTICATED, PUBLIC_ROLE, Principal, allows, required_role
from pilot.auth.tokens import decode_access_token, looks_like_access_token
from pilot.core.errors import ForbiddenError, PilotError
from pilot.observability.logs import bind_request

PRINCIPAL_SCOPE_KEY = "pilot.principal"


def bearer_credentials(connection: ASGIConnection | Any) -> str | None:
    """The bearer token (API key or access token) of ``Authorization``, else ``X-API-Key``."""
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return connection.headers.get("x-api-key") or None


async def resolve_principal(runtime: Any, connection: ASGIConnection | Any, *, need_workspace: bool = True) -> Principal:
    """The caller's principal (401/403/404 as in the module doc). A user on a route that needs no
    workspace gets ``workspace=None`` when they belong to none."""
    token = bearer_credentials(connection)
    cache = runtime.principals
    if not token or not looks_like_access_token(token):
        return await cache.key(runtime.sessions, token)
    claims = decode_access_token(runtime.settings, token)
    user = await cache.login_session(runtime.sessions, claims.sid)
    ref = (connection.headers.get(WORKSPACE_HEADER) or "").strip() or None
    try:
        workspace, role = await cache.membership(runtime.sessions, user.user_id, ref)
    except PilotError:
        if need_workspace or ref:
            raise
        return user
    return Principal(workspace=workspace, role=role, user_id=user.user_id, email=user.email, session_id=claims.sid)


async def authorize(connection: ASGIConnection, handler: Any) -> None:
    """The app-wide guard (see the module doc)."""
    required = required_role(handler)
    if required == PUBLIC_ROLE:
        return
    principal = await resolve_principal(connection.app.state.runtime, connection,
                                        need_workspace=required != AUTHENTICATED)
    connection.scope[PRINCIPAL_SCOPE_KEY] = principal  # type: ignore[literal-required]
    if principal.workspace is not None:
        bind_request(workspace_id=principal.workspace.id)  # every log record of this request names its workspace
    if required != AUTHENTICATED and not allows(principal.role, required):
        who = "this API key has" if principal.key_id else "you have"
        raise ForbiddenError(
            f"this needs the {required!r} role in workspace {principal.workspace.name!r}; {who} {principal.role!r}",
            extra={"required_role": required, "role": principal.role},
        )


def current_principal(connection: ASGIConnection | Any) -> Principal:
    """The principal :func:`authorize` established for this request."""
    principal = connection.scope.get(PRINCIPAL_SCOPE_KEY)
    if principal is None:  # a public route asked for a principal: a wiring mistake, not bad input
        raise RuntimeError(f"{connection.scope.get('path')}: no principal (the route is public); mark it with a role")
    return principal
