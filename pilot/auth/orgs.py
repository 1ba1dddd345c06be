"""Organisations → teams → workspaces. Every workspace belongs to a team, every team to an
organisation; until someone makes others, everything lives in the ``default`` team of the
``default`` organisation (the identity migration put existing workspaces there)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from pilot.db.models import OrganizationRow, TeamRow, WorkspaceRow

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
