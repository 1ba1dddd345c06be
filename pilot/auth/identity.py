"""The database reads behind a request's principal (cached by :mod:`pilot.auth.principals`):
an API key → its workspace and role; a login session → its user; a user + a workspace
reference → the membership's role."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from pilot.auth.roles import Principal
from pilot.auth.service import Workspace, hash_key
from pilot.core.errors import AuthenticationError, ForbiddenError, NotFoundError
from pilot.core.ids import aware, utcnow
from pilot.db.models import ApiKeyRow, AuthSessionRow, MembershipRow, UserRow, WorkspaceRow

WORKSPACE_HEADER = "x-pilot-workspace"


async def key_principal(session: AsyncSession, raw_key: str) -> Principal:
    """An active key's workspace, role and id, or 401 (without saying which part was wrong)."""
    stmt = (
        sa.select(WorkspaceRow.id, WorkspaceRow.name, ApiKeyRow.id.label("key_id"), ApiKeyRow.role)
        .join(ApiKeyRow, ApiKeyRow.workspace_id == WorkspaceRow.id)
        .where(ApiKeyRow.key_hash == hash_key(raw_key), ApiKeyRow.revoked_at.is_(None))
    )
    found = (await session.execute(stmt)).first()
    if found is None:
        raise AuthenticationError("invalid API key")
    return Principal(workspace=Workspace(id=found.id, name=found.name), role=found.role, key_id=found.key_id)


async def session_principal(session: AsyncSession, session_id: str) -> Principal:
    """The user of a live login session (not revoked, not expired, user not disabled), or 401."""
    found = (await session.execute(
        sa.select(UserRow.id, UserRow.email, AuthSessionRow.expires_at)
        .join(AuthSessionRow, AuthSessionRow.user_id == UserRow.id)
        .where(AuthSessionRow.id == session_id, AuthSessionRow.revoked_at.is_(None), UserRow.disabled_at.is_(None))
    )).first()
    if found is None or aware(found.expires_at) <= utcnow():
        raise AuthenticationError("the session has ended (logged out or expired): log in again")
    return Principal(workspace=None, role=None, user_id=found.id, email=found.email, session_id=session_id)


async def membership(session: AsyncSession, user_id: str, workspace_ref: str | None) -> tuple[Workspace, str]:
    """The workspace (by id, else by name; None: the user's first) and the user's role in it.

    A workspace the user is not a member of answers 404, exactly like one that does not exist
    (tenancy never says what exists elsewhere); a user in no workspace at all gets 403."""
    stmt = (
        sa.select(WorkspaceRow.id, WorkspaceRow.name, MembershipRow.role)
        .join(MembershipRow, MembershipRow.workspace_id == WorkspaceRow.id)
        .where(MembershipRow.user_id == user_id)
    )
    if workspace_ref:
        stmt = stmt.where(sa.or_(WorkspaceRow.id == workspace_ref, WorkspaceRow.name == workspace_ref))
    found = (await session.execute(stmt.order_by(MembershipRow.created_at, MembershipRow.id).limit(1))).first()
    if found is None:
        if workspace_ref:
            raise NotFoundError(f"workspace {workspace_ref!r} not found (header X-Pilot-Workspace)")
        raise ForbiddenError("you are not a member of any workspace yet: ask an admin for an invitation")
    return Workspace(id=found.id, name=found.name), found.role
