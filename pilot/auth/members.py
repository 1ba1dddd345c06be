"""Workspace administration: members and their roles, invitations, API keys.

Every operation acts in one workspace (the caller's); another workspace's member, invitation or
key answers 404 like a missing one. A workspace always keeps an admin: demoting or removing the
last admin member is refused (409) unless an active admin API key remains, and vice versa.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from pilot.auth.roles import ADMIN, Principal
from pilot.auth.schemas import (
    Accepted, InvitationAccept, InvitationCreate, InvitationOut, KeyCreate, KeyOut, MemberOut, WorkspaceOut,
)
from pilot.auth.service import add_api_key
from pilot.auth.sessions import normalise_email, user_out
from pilot.auth.tokens import new_invitation_token, token_hash
from pilot.auth.users import add_member, create_user
from pilot.core.errors import ConflictError, NotFoundError, UnprocessableError
from pilot.core.ids import aware, utcnow
from pilot.db.models import ApiKeyRow, InvitationRow, MembershipRow, UserRow, WorkspaceRow
from pilot.settings import Settings


class WorkspaceAdmin:
    """Members, invitations and keys of one workspace, on behalf of ``actor``."""

    def __init__(self, db: AsyncSession, principal: Principal) -> None:
        assert principal.workspace is not None
        self.db = db
        self.workspace_id = principal.workspace.id
        self.actor = principal

    # ------------------------------------------------------------------ members

    async def members(self) -> list[MemberOut]:
        rows = (await self.db.execute(
            sa.select(MembershipRow, UserRow).join(UserRow, UserRow.id == MembershipRow.user_id)
            .where(MembershipRow.workspace_id == self.workspace_id).order_by(MembershipRow.created_at, MembershipRow.id)
        )).all()
        return [_member(m, u) for m, u in rows]

    async def set_role(self, user_id: str, role: str) -> MemberOut:
        membership, user = await self._member(user_id)
        if membership.role == ADMIN and role != ADMIN:
            await self._keep_an_admin(f"cannot make {user.email!r} a {role}")
        membership.role = role
        await self.db.flush()
        return _member(membership, user)

    async def remove(self, user_id: str) -> None:
        membership, user = await self._member(user_id)
        if membership.role == ADMIN:
            await self._keep_an_admin(f"cannot remove {user.email!r}")
        await self.db.delete(membership)
        await self.db.flush()

    async def _member(self, user_id: str) -> tuple[MembershipRow, UserRow]:
        found = (await self.db.execute(
            sa.select(MembershipRow, UserRow).join(UserRow, UserRow.id == MembershipRow.user_id)
            .where(MembershipRow.workspace_id == self.workspace_id, MembershipRow.user_id == user_id)
        )).first()
        if found is None:
            raise NotFoundError(f"member '{user_id}' not found")
        return found[0], found[1]

    async def _keep_an_admin(self, what: str, *, leaving_key: str | None = None, leaving_members: int = 1) -> None:
        admins = await self.db.scalar(sa.select(sa.func.count()).select_from(MembershipRow).where(
            MembershipRow.workspace_id == self.workspace_id, MembershipRow.role == ADMIN))
        other_keys = ApiKeyRow.id != leaving_key if leaving_key else sa.true()
        keys = await self.db.scalar(sa.select(sa.func.count()).select_from(ApiKeyRow).where(
            ApiKeyRow.workspace_id == self.workspace_id, ApiKeyRow.role == ADMIN, ApiKeyRow.revoked_at.is_(None),
            other_keys))
        if admins - leaving_members + keys < 1:
            raise ConflictError(f"{what}: the workspace would have no admin left (make someone else admin first)")

    # ------------------------------------------------------------------ invitations

    async def invite(self, settings: Settings, data: InvitationCreate) -> InvitationOut:
        """A pending invitation and its token (returned once; only its sha256 is stored)."""
        email = normalise_email(data.email)
        already = await self.db.scalar(
            sa.select(MembershipRow.id).join(UserRow, UserRow.id == MembershipRow.user_id)
            .where(MembershipRow.workspace_id == self.workspace_id, UserRow.email == email))
        if already is not None:
            raise ConflictError(f"email: {email!r} is a member already (change their role instead)", extra={"field": "email"})
        raw = new_invitation_token()
        row = InvitationRow(workspace_id=self.workspace_id, email=email, role=data.role, token_hash=token_hash(raw),
                            invited_by=self.actor.actor_id,
                            expires_at=utcnow() + timedelta(seconds=settings.auth.invitation_ttl_s))
        self.db.add(row)
        await self.db.flush()
        out = _invitation(row)
        out.token = raw
        return out

    async def invitations(self) -> list[InvitationOut]:
        rows = (await self.db.scalars(sa.select(InvitationRow).where(InvitationRow.workspace_id == self.workspace_id)
                                      .order_by(InvitationRow.created_at.desc(), InvitationRow.id))).all()
        return [_invitation(r) for r in rows]

    async def revoke_invitation(self, invitation_id: str) -> None:
        row = await self.db.scalar(sa.select(InvitationRow).where(
            InvitationRow.workspace_id == self.workspace_id, InvitationRow.id == invitation_id))
        if row is None:
            raise NotFoundError(f"invitation '{invitation_id}' not found")
        if row.accepted_at is None and row.revoked_at is None:
            row.revoked_at = utcnow()
            await self.db.flush()

    # ------------------------------------------------------------------ API keys

    async def keys(self) -> list[KeyOut]:
        rows = (await self.db.scalars(sa.select(ApiKeyRow).where(ApiKeyRow.workspace_id == self.workspace_id)
                                      .order_by(ApiKeyRow.created_at, ApiKeyRow.id))).all()
        return [_key(r) for r in rows]

    async def create_key(self, data: KeyCreate) -> KeyOut:
        row, raw = await add_api_key(self.db, self.workspace_id, data.name, data.role)
        out = _key(row)
        out.key = raw
        return out

    async def revoke_key(self, key_id: str) -> None:
        """Revoke a key: it is refused from the next request on (the principal caches forget it)."""
        row = await self.db.scalar(sa.select(ApiKeyRow).where(
            ApiKeyRow.workspace_id == self.workspace_id, ApiKeyRow.id == key_id))
        if row is None:
            raise NotFoundError(f"API key '{key_id}' not found")
        if row.revoked_at is None:
            if row.role == ADMIN:
                await self._keep_an_admin(f"cannot revoke key {row.name!r}", leaving_key=row.id, leaving_members=0)
            row.revoked_at = utcnow()
            await self.db.flush()


async def accept_invitation(db: AsyncSession, data: InvitationAccept) -> Accepted:
    """Join the invitation's workspace with its role: as the existing account of its e-mail, or
    as a new account with ``password``. 404 for an unknown token; 409 once used, revoked or expired."""
    row = await db.scalar(sa.select(InvitationRow).where(InvitationRow.token_hash == token_hash(data.token)))
    if row is None:
        raise NotFoundError("invitation not found (check the token)")
    status = _status(row)
    if status != "pending":
        raise ConflictError(f"this invitation is {status}: ask for a new one")
    user = await db.scalar(sa.select(UserRow).where(UserRow.email == row.email))
    created = user is None
    if user is None:
        if data.password is None:
            raise UnprocessableError("password: required to create the account of the invitation",
                                     extra={"field": "password"})
        user = await create_user(db, row.email, data.password, data.name)
    await add_member(db, row.workspace_id, user.id, row.role)
    claimed = await db.execute(
        sa.update(InvitationRow).where(InvitationRow.id == row.id, InvitationRow.accepted_at.is_(None))
        .values(accepted_at=utcnow(), accepted_by=user.id).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        raise ConflictError("this invitation is accepted: ask for a new one")
    workspace = await db.get(WorkspaceRow, row.workspace_id)
    return Accepted(workspace=WorkspaceOut(id=workspace.id, name=workspace.name, role=row.role),
                    user=user_out(user), created_account=created)


def _status(row: InvitationRow) -> str:
    if row.accepted_at is not None:
        return "accepted"
    if row.revoked_at is not None:
        return "revoked"
    return "expired" if aware(row.expires_at) <= utcnow() else "pending"


def _invitation(row: InvitationRow) -> InvitationOut:
    return InvitationOut(id=row.id, email=row.email, role=row.role, status=_status(row),  # type: ignore[arg-type]
                         created_at=aware(row.created_at), expires_at=aware(row.expires_at), invited_by=row.invited_by)


def _member(m: MembershipRow, u: UserRow) -> MemberOut:
    return MemberOut(user_id=u.id, email=u.email, name=u.name, role=m.role, joined_at=aware(m.created_at))


def _key(row: ApiKeyRow) -> KeyOut:
    return KeyOut(id=row.id, name=row.name, prefix=row.prefix, role=row.role, created_at=aware(row.created_at),
                  last_used_at=aware(row.last_used_at), revoked_at=aware(row.revoked_at))
