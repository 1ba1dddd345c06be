"""Organisations → teams → workspaces. Every workspace belongs to a team, every team to an
organisation; until someone makes others, everything lives in the ``default`` team of the
``default`` organisation (the identity migration put existing workspaces there). A signed-in
user creates an organisation and owns it: the owner creates its teams and their workspaces
(:class:`Structure`)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pilot.auth.roles import ADMIN, Principal
from pilot.auth.schemas import OrgOut, TeamOut, WorkspaceOut
from pilot.auth.users import add_member
from pilot.core.errors import ConflictError, ForbiddenError, NotFoundError
from pilot.core.ids import aware
from pilot.db.models import MembershipRow, OrganizationRow, TeamRow, WorkspaceRow

DEFAULT_ORG_ID = "org_default"  # the same ids as the identity migration (0011_identity)
DEFAULT_TEAM_ID = "team_default"


async def default_team_id(session: AsyncSession) -> str:
    """The default team's id, creating it (and its organisation) if a database has none yet."""
    if await session.get(TeamRow, DEFAULT_TEAM_ID) is None:
        if await session.get(OrganizationRow, DEFAULT_ORG_ID) is None:
            session.add(OrganizationRow(id=DEFAULT_ORG_ID, name="default"))
            await session.flush()
        session.add(TeamRow(id=DEFAULT_TEAM_ID, organization_id=DEFAULT_ORG_ID, name="default"))
        await session.flush()
    return DEFAULT_TEAM_ID


async def placement(session: AsyncSession, workspace_ids: list[str]) -> dict[str, tuple[str | None, str | None]]:
    """``workspace id → (team name, organisation name)`` (None for a workspace in no team)."""
    if not workspace_ids:
        return {}
    rows = (await session.execute(
        sa.select(WorkspaceRow.id, TeamRow.name, OrganizationRow.name)
        .outerjoin(TeamRow, TeamRow.id == WorkspaceRow.team_id)
        .outerjoin(OrganizationRow, OrganizationRow.id == TeamRow.organization_id)
        .where(WorkspaceRow.id.in_(workspace_ids))
    )).all()
    return {ws: (team, org) for ws, team, org in rows}


class Structure:
    """Organisations, teams and workspaces as one principal may see and manage them.

    Who sees what (tenancy: anything else answers 404, exactly like a missing id):

    - a user *belongs to* an organisation they own or in which they are a member of a workspace;
      an API key to its workspace's organisation;
    - the organisation's **owner** sees every team and workspace in it and may create teams and
      workspaces there (becoming admin of each workspace they create);
    - anyone else sees the teams holding their workspaces, and only their own workspaces there.

    Another user of an organisation that can see it but does not own it gets 403 on creating.
    """

    def __init__(self, db: AsyncSession, principal: Principal) -> None:
        self.db = db
        self.principal = principal
        self.user_id = principal.user_id

    # ------------------------------------------------------------------ reading

    async def orgs(self) -> list[OrgOut]:
        """Every organisation the caller belongs to (owned first, then by creation)."""
        owned = OrganizationRow.owner_id == self.user_id if self.user_id else sa.false()
        via = sa.select(TeamRow.organization_id).join(WorkspaceRow, WorkspaceRow.team_id == TeamRow.id).where(
            WorkspaceRow.id.in_(self._my_workspaces()))
        rows = (await self.db.scalars(sa.select(OrganizationRow).where(sa.or_(owned, OrganizationRow.id.in_(via)))
                                      .order_by(OrganizationRow.created_at, OrganizationRow.id))).all()
        return sorted((self._org(r) for r in rows), key=lambda o: o.role != "owner")

    async def org(self, org_id: str) -> OrgOut:
        """One organisation the caller belongs to, else 404."""
        return self._org(await self._visible_org(org_id))

    async def teams(self, org_id: str) -> list[TeamOut]:
        org = await self._visible_org(org_id)
        stmt = sa.select(TeamRow).where(TeamRow.organization_id == org.id)
        if not self._owns(org):
            stmt = stmt.where(TeamRow.id.in_(sa.select(WorkspaceRow.team_id).where(WorkspaceRow.id.in_(self._my_workspaces()))))
        rows = (await self.db.scalars(stmt.order_by(TeamRow.created_at, TeamRow.id))).all()
        return [_team(t, org) for t in rows]

    async def workspaces(self, team_id: str) -> list[WorkspaceOut]:
        team, org = await self._visible_team(team_id)
        role = sa.select(MembershipRow.role).where(MembershipRow.workspace_id == WorkspaceRow.id,
                                                   MembershipRow.user_id == self.user_id).scalar_subquery()
        stmt = sa.select(WorkspaceRow.id, WorkspaceRow.name, role.label("role")).where(WorkspaceRow.team_id == team.id)
        if not self._owns(org):
            stmt = stmt.where(WorkspaceRow.id.in_(self._my_workspaces()))
        rows = (await self.db.execute(stmt.order_by(WorkspaceRow.created_at, WorkspaceRow.id))).all()
        key_role = self.principal.role if self.user_id is None else None  # an API key: its own workspace
        return [WorkspaceOut(id=r.id, name=r.name, role=r.role or key_role, team=team.name, organization=org.name)
                for r in rows]

    # ------------------------------------------------------------------ creating

    async def create_org(self, name: str) -> OrgOut:
        """A new organisation owned by the calling user (API keys act in their workspace only: 403)."""
        if self.user_id is None:
            raise ForbiddenError("an organisation is owned by a user: log in (POST /api/auth/login) to create one; "
                                 "API keys act only in their own workspace")
        taken = await self.db.scalar(sa.select(OrganizationRow.id).where(
            OrganizationRow.owner_id == self.user_id, OrganizationRow.name == name))
        if taken is not None:
            raise _taken("you have an organisation named", name)
        row = OrganizationRow(name=name, owner_id=self.user_id)
        await self._insert(row, "you have an organisation named", name)
        return self._org(row)

    async def create_team(self, org_id: str, name: str) -> TeamOut:
        """A new team of an organisation the caller owns."""
        org = await self._owned_org(org_id, "create teams")
        if await self.db.scalar(sa.select(TeamRow.id).where(TeamRow.organization_id == org.id, TeamRow.name == name)):
            raise _taken(f"organisation {org.name!r} has a team named", name)
        row = TeamRow(organization_id=org.id, name=name)
        await self._insert(row, f"organisation {org.name!r} has a team named", name)
        return _team(row, org)

    async def create_workspace(self, team_id: str, name: str) -> WorkspaceOut:
        """A new workspace in a team of an organisation the caller owns; the caller becomes its admin."""
        team, org = await self._visible_team(team_id)
        self._require_owner(org, "create workspaces")
        # Workspace names are unique on the whole server (X-Pilot-Workspace and the CLI name them),
        # so the answer says the name is taken, never where.
        if await self.db.scalar(sa.select(WorkspaceRow.id).where(WorkspaceRow.name == name)):
            raise _taken("a workspace on this server is named", name)
        row = WorkspaceRow(name=name, team_id=team.id)
        await self._insert(row, "a workspace on this server is named", name)
        await add_member(self.db, row.id, self.user_id, ADMIN)
        return WorkspaceOut(id=row.id, name=row.name, role=ADMIN, team=team.name, organization=org.name)

    # ------------------------------------------------------------------ helpers

    def _my_workspaces(self) -> sa.Select | list[str]:
        """The workspaces the caller is in: a user's memberships, an API key's own workspace."""
        if self.user_id is not None:
            return sa.select(MembershipRow.workspace_id).where(MembershipRow.user_id == self.user_id)
        return [self.principal.workspace.id] if self.principal.workspace is not None else []

    def _owns(self, org: OrganizationRow) -> bool:
        return self.user_id is not None and org.owner_id == self.user_id

    def _org(self, row: OrganizationRow) -> OrgOut:
        return OrgOut(id=row.id, name=row.name, role="owner" if self._owns(row) else "member",
                      created_at=aware(row.created_at))

    async def _visible_org(self, org_id: str) -> OrganizationRow:
        row = await self.db.get(OrganizationRow, org_id)
        if row is None or not (self._owns(row) or await self._has_workspace_in(TeamRow.organization_id == org_id)):
            raise NotFoundError(f"organisation '{org_id}' not found")
        return row

    async def _visible_team(self, team_id: str) -> tuple[TeamRow, OrganizationRow]:
        found = (await self.db.execute(sa.select(TeamRow, OrganizationRow).join(
            OrganizationRow, OrganizationRow.id == TeamRow.organization_id).where(TeamRow.id == team_id))).first()
        if found is None or not (self._owns(found[1]) or await self._has_workspace_in(TeamRow.id == team_id)):
            raise NotFoundError(f"team '{team_id}' not found")
        return found[0], found[1]

    async def _has_workspace_in(self, where: sa.ColumnElement[bool]) -> bool:
        stmt = sa.select(WorkspaceRow.id).join(TeamRow, TeamRow.id == WorkspaceRow.team_id).where(
            where, WorkspaceRow.id.in_(self._my_workspaces())).limit(1)
        return await self.db.scalar(stmt) is not None

    async def _owned_org(self, org_id: str, what: str) -> OrganizationRow:
        org = await self._visible_org(org_id)
        self._require_owner(org, what)
        return org

    def _require_owner(self, org: OrganizationRow, what: str) -> None:
        if not self._owns(org):
            raise ForbiddenError(f"only the owner of organisation {org.name!r} may {what} in it",
                                 extra={"required_role": "owner"})

    async def _insert(self, row: object, taken: str, name: str) -> None:
        self.db.add(row)
        try:
            await self.db.flush()
        except IntegrityError as exc:  # a concurrent create with the same name (the request rolls back)
            raise _taken(taken, name) from exc


def _taken(what: str, name: str) -> ConflictError:
    return ConflictError(f"name: {what} {name!r} already", extra={"field": "name"})


def _team(row: TeamRow, org: OrganizationRow) -> TeamOut:
    return TeamOut(id=row.id, name=row.name, organization_id=org.id, organization=org.name,
                   created_at=aware(row.created_at))
