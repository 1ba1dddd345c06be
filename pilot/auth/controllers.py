"""HTTP API of identity: ``/api/auth`` (login, refresh, logout, me, accepting an invitation),
``/api/workspace`` (the current workspace; admins: members, invitations, API keys) and
``/api/orgs`` / ``/api/teams`` (organisations → teams → workspaces)."""

from __future__ import annotations

import sqlalchemy as sa
from litestar import Controller, Request, delete, get, post, put
from litestar.params import FromPath, JSONBody

from pilot.auth import sessions
from pilot.auth.members import WorkspaceAdmin, accept_invitation
from pilot.auth.orgs import Structure, placement
from pilot.auth.roles import ADMIN_ONLY, GUEST, PUBLIC, SIGNED_IN
from pilot.auth.schemas import (
    Accepted, InvitationAccept, InvitationCreate, InvitationList, InvitationOut, KeyCreate, KeyList, KeyOut,
    LoginRequest, Me, MemberList, MemberOut, NameCreate, OrgList, OrgOut, RefreshRequest, RoleUpdate, TeamList, TeamOut,
    TokenPair, WorkspaceList, WorkspaceOut,
)
from pilot.core.errors import AuthenticationError, BadRequestError
from pilot.db.models import MembershipRow, UserRow, WorkspaceRow
from pilot.dependencies import CurrentPrincipal, DbSession, RuntimeDep


class AuthController(Controller):
    """Log in with e-mail and password; access tokens are short-lived, refresh tokens rotate."""

    path = "/api/auth"
    tags = ("auth",)

    @post("/login", status_code=200, opt=PUBLIC)
    async def login(self, request: Request, data: JSONBody[LoginRequest], db: DbSession, runtime: RuntimeDep) -> TokenPair:
        """``{email, password}`` → an access token (``Authorization: Bearer …``, ``expires_in``
        seconds) and a refresh token. 401 for a wrong e-mail or password (the same answer for
        both); 429 with ``Retry-After`` after too many failures for the account or the address."""
        limits = runtime.login_limits
        ip = request.client.host if request.client else "unknown"
        await limits.check(data.email, ip)
        try:
            user = await sessions.check_password(db, data.email, data.password)
        except AuthenticationError:
            await limits.failed(data.email, ip)
            raise
        await limits.succeeded(data.email)
        return await sessions.start_session(db, runtime.settings, user)

    @post("/refresh", status_code=200, opt=PUBLIC)
    async def refresh(self, data: JSONBody[RefreshRequest], db: DbSession, runtime: RuntimeDep) -> TokenPair:
        """Exchange the refresh token for a new pair (the old one stops working). Presenting an
        already exchanged token revokes the whole session (401): log in again."""
        return await sessions.refresh(db, runtime.settings, data.refresh_token)

    @post("/logout", status_code=204, opt=SIGNED_IN)
    async def logout(self, db: DbSession, principal: CurrentPrincipal) -> None:
        """End the access token's session: it and its refresh tokens stop working."""
        if principal.session_id is None:
            raise BadRequestError("logout ends a login session; an API key is revoked with DELETE /api/workspace/keys/{id}")
        await sessions.revoke(db, principal.session_id, "logout")

    @get("/me", opt=SIGNED_IN)
    async def me(self, db: DbSession, principal: CurrentPrincipal) -> Me:
        """Who the credentials are, the workspace this request acts in, and (users) every workspace
        they belong to with their role (choose one with the ``X-Pilot-Workspace`` header)."""
        current = None
        if principal.workspace is not None:
            current = WorkspaceOut(id=principal.workspace.id, name=principal.workspace.name, role=principal.role)
        if principal.user_id is None:
            return Me(kind="api_key", workspace=await _placed(db, current), key_id=principal.key_id)
        rows = (await db.execute(
            sa.select(WorkspaceRow.id, WorkspaceRow.name, MembershipRow.role)
            .join(MembershipRow, MembershipRow.workspace_id == WorkspaceRow.id)
            .where(MembershipRow.user_id == principal.user_id).order_by(MembershipRow.created_at, MembershipRow.id)
        )).all()
        places = await placement(db, [r.id for r in rows])
        workspaces = [WorkspaceOut(id=r.id, name=r.name, role=r.role, team=places.get(r.id, (None, None))[0],
                                   organization=places.get(r.id, (None, None))[1]) for r in rows]
        user = await db.get(UserRow, principal.user_id)
        return Me(kind="user", workspace=await _placed(db, current), user=sessions.user_out(user),
                  session_id=principal.session_id, workspaces=workspaces)

    @post("/invitations/accept", status_code=200, opt=PUBLIC)
    async def accept(self, data: JSONBody[InvitationAccept], db: DbSession) -> Accepted:
        """Join a workspace with an invitation's token (creating the account with ``password`` if
        the invited e-mail has none). 404 unknown token; 409 used, revoked or expired."""
        return await accept_invitation(db, data)


async def _placed(db, workspace: WorkspaceOut | None) -> WorkspaceOut | None:
    if workspace is not None:
        workspace.team, workspace.organization = (await placement(db, [workspace.id])).get(workspace.id, (None, None))
    return workspace


class WorkspaceController(Controller):
    """The current workspace; its members, invitations and API keys (admins only)."""

    path = "/api/workspace"
    tags = ("workspace",)
    opt = ADMIN_ONLY

    @get("/", opt={"role": GUEST})
    async def current(self, db: DbSession, principal: CurrentPrincipal) -> WorkspaceOut:
        """The workspace this request acts in, its team and organisation, and the caller's role."""
        ws = await db.get(WorkspaceRow, principal.workspace.id)
        return await _placed(db, WorkspaceOut(id=ws.id, name=ws.name, role=principal.role))

    @get("/members")
    async def list_members(self, db: DbSession, principal: CurrentPrincipal) -> MemberList:
        """Every member (user) and their role."""
        return MemberList(items=await WorkspaceAdmin(db, principal).members())

    @put("/members/{user_id:str}")
    async def change_role(self, user_id: FromPath[str], data: JSONBody[RoleUpdate], db: DbSession,
                          principal: CurrentPrincipal) -> MemberOut:
        """Change a member's role (409 if it would leave the workspace without an admin)."""
        return await WorkspaceAdmin(db, principal).set_role(user_id, data.role)

    @delete("/members/{user_id:str}", status_code=204)
    async def remove_member(self, user_id: FromPath[str], db: DbSession, principal: CurrentPrincipal) -> None:
        """Remove a member (their sessions stay, but no longer reach this workspace)."""
        await WorkspaceAdmin(db, principal).remove(user_id)

    @get("/invitations")
    async def list_invitations(self, db: DbSession, principal: CurrentPrincipal) -> InvitationList:
        """Every invitation, newest first, with its status (tokens are never shown again)."""
        return InvitationList(items=await WorkspaceAdmin(db, principal).invitations())

    @post("/invitations", status_code=201)
    async def invite(self, data: JSONBody[InvitationCreate], db: DbSession, principal: CurrentPrincipal,
                     runtime: RuntimeDep) -> InvitationOut:
        """Invite an e-mail with a role; the answer holds the token (once) to send to the invitee,
        who accepts with ``POST /api/auth/invitations/accept``."""
        return await WorkspaceAdmin(db, principal).invite(runtime.settings, data)

    @delete("/invitations/{invitation_id:str}", status_code=204)
    async def revoke_invitation(self, invitation_id: FromPath[str], db: DbSession, principal: CurrentPrincipal) -> None:
        """Revoke a pending invitation (its token stops working)."""
        await WorkspaceAdmin(db, principal).revoke_invitation(invitation_id)

    @get("/keys")
    async def list_keys(self, db: DbSession, principal: CurrentPrincipal) -> KeyList:
        """The workspace's API keys (prefix, role, last use; never the key)."""
        return KeyList(items=await WorkspaceAdmin(db, principal).keys())

    @post("/keys", status_code=201)
    async def create_key(self, data: JSONBody[KeyCreate], db: DbSession, principal: CurrentPrincipal) -> KeyOut:
        """A new API key (a service account with ``role``, default member); the key is in this answer only."""
        return await WorkspaceAdmin(db, principal).create_key(data)

    @delete("/keys/{key_id:str}", status_code=204)
    async def revoke_key(self, key_id: FromPath[str], db: DbSession, principal: CurrentPrincipal) -> None:
        """Revoke a key: refused from the next request on."""
        await WorkspaceAdmin(db, principal).revoke_key(key_id)


class OrgController(Controller):
    """Organisations → teams → workspaces. Not scoped to the ``X-Pilot-Workspace`` workspace, so
    any signed-in caller reaches them (``SIGNED_IN``); what each may see and do is decided per
    object by :class:`pilot.auth.orgs.Structure`: an organisation's owner manages its teams and
    workspaces, members see their own, everything else answers 404."""

    path = "/api"
    tags = ("organisations",)
    opt = SIGNED_IN

    @post("/orgs", status_code=201)
    async def create_org(self, data: JSONBody[NameCreate], db: DbSession, principal: CurrentPrincipal) -> OrgOut:
        """``{name}`` → a new organisation owned by the signed-in user (403 for an API key; 409 if
        you own one with that name)."""
        return await Structure(db, principal).create_org(data.name)

    @get("/orgs")
    async def list_orgs(self, db: DbSession, principal: CurrentPrincipal) -> OrgList:
        """The organisations you own or hold a workspace in (an API key: its workspace's)."""
        return OrgList(items=await Structure(db, principal).orgs())

    @get("/orgs/{org_id:str}")
    async def get_org(self, org_id: FromPath[str], db: DbSession, principal: CurrentPrincipal) -> OrgOut:
        """One organisation you belong to (404 otherwise, like a missing one)."""
        return await Structure(db, principal).org(org_id)

    @post("/orgs/{org_id:str}/teams", status_code=201)
    async def create_team(self, org_id: FromPath[str], data: JSONBody[NameCreate], db: DbSession,
                          principal: CurrentPrincipal) -> TeamOut:
        """``{name}`` → a new team (the organisation's owner only: 403 for its other members)."""
        return await Structure(db, principal).create_team(org_id, data.name)

    @get("/orgs/{org_id:str}/teams")
    async def list_teams(self, org_id: FromPath[str], db: DbSession, principal: CurrentPrincipal) -> TeamList:
        """The owner: every team; a member: the teams holding their workspaces."""
        return TeamList(items=await Structure(db, principal).teams(org_id))

    @post("/teams/{team_id:str}/workspaces", status_code=201)
    async def create_workspace(self, team_id: FromPath[str], data: JSONBody[NameCreate], db: DbSession,
                               principal: CurrentPrincipal) -> WorkspaceOut:
        """``{name}`` → a new workspace in the team; you become its admin (the organisation's owner
        only; 409 if a workspace on this server has that name)."""
        return await Structure(db, principal).create_workspace(team_id, data.name)

    @get("/teams/{team_id:str}/workspaces")
    async def list_workspaces(self, team_id: FromPath[str], db: DbSession, principal: CurrentPrincipal) -> WorkspaceList:
        """The owner: every workspace of the team; a member: their own, with their role."""
        return WorkspaceList(items=await Structure(db, principal).workspaces(team_id))
