"""Workspace and API-key operations. Keys are ``pk_<random>``; only their sha256 is stored.
A key is a service account of one workspace with a role (:mod:`pilot.auth.roles`)."""

from __future__ import annotations

import hashlib

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from pilot.core.errors import AuthenticationError
from pilot.core.ids import new_token, utcnow
from pilot.db.models import ApiKeyRow, WorkspaceRow

KEY_PREFIX = "pk_"


class Workspace(msgspec.Struct, frozen=True):
    """The authenticated tenant of a request."""

    id: str
    name: str


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


async def get_or_create_workspace(session: AsyncSession, name: str) -> WorkspaceRow:
    """The workspace named ``name``; a new one joins the default team (:mod:`pilot.auth.orgs`)."""
    row = (await session.execute(sa.select(WorkspaceRow).where(WorkspaceRow.name == name))).scalar_one_or_none()
    if row is None:
        from pilot.auth.orgs import default_team_id

        row = WorkspaceRow(name=name, team_id=await default_team_id(session))
        session.add(row)
        await session.flush()
    return row


async def add_api_key(session: AsyncSession, workspace_id: str, key_name: str = "default",
                      role: str = "admin") -> tuple[ApiKeyRow, str]:
    """A new key (a service account with ``role``) of the workspace: its row and the raw key, shown once."""
    raw = KEY_PREFIX + new_token(24)
    row = ApiKeyRow(workspace_id=workspace_id, name=key_name, prefix=raw[:10], key_hash=hash_key(raw), role=role)
    session.add(row)
    await session.flush()
    return row, raw


async def create_api_key(session: AsyncSession, workspace_name: str, key_name: str = "default", role: str = "admin") -> str:
    """Create (if needed) the workspace and a new key for it; returns the raw key, shown once.
    Keys default to ``admin`` (what every key could do before roles existed)."""
    workspace = await get_or_create_workspace(session, workspace_name)
    return (await add_api_key(session, workspace.id, key_name, role))[1]


async def authenticate(session: AsyncSession, raw_key: str | None) -> Workspace:
    """Resolve a raw key to its workspace or raise 401 (without saying which part was wrong)."""
    if not raw_key:
        raise AuthenticationError("missing API key: send 'Authorization: Bearer <key>'")
    stmt = (
        sa.select(WorkspaceRow.id, WorkspaceRow.name)
        .join(ApiKeyRow, ApiKeyRow.workspace_id == WorkspaceRow.id)
        .where(ApiKeyRow.key_hash == hash_key(raw_key), ApiKeyRow.revoked_at.is_(None))
    )
    found = (await session.execute(stmt)).first()
    if found is None:
        raise AuthenticationError("invalid API key")
    return Workspace(id=found.id, name=found.name)


async def workspace_has_keys(session: AsyncSession) -> bool:
    return (await session.execute(sa.select(sa.func.count()).select_from(ApiKeyRow))).scalar_one() > 0


async def touch_key(session: AsyncSession, raw_key: str) -> None:
    await session.execute(sa.update(ApiKeyRow).where(ApiKeyRow.key_hash == hash_key(raw_key)).values(last_used_at=utcnow()))
