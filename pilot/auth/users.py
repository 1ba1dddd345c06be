"""Users: creating one, and the first admin of an embedded installation."""

from __future__ import annotations

import asyncio
import secrets

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from pilot.auth.passwords import hash_password
from pilot.auth.sessions import normalise_email
from pilot.core.errors import ConflictError
from pilot.db.models import MembershipRow, UserRow


async def create_user(db: AsyncSession, email: str, password: str, name: str = "") -> UserRow:
    """A new user with an argon2 hash of ``password``; 409 when the e-mail has an account."""
    email = normalise_email(email)
    if await db.scalar(sa.select(UserRow.id).where(UserRow.email == email)) is not None:
        raise ConflictError(f"email: an account for {email!r} exists already", extra={"field": "email"})
    user = UserRow(email=email, name=name, password_hash=await asyncio.to_thread(hash_password, password))
    db.add(user)
    await db.flush()
    return user


async def add_member(db: AsyncSession, workspace_id: str, user_id: str, role: str) -> MembershipRow:
    """Make the user a member with ``role`` (an existing membership takes the new role)."""
    row = await db.scalar(sa.select(MembershipRow).where(
        MembershipRow.workspace_id == workspace_id, MembershipRow.user_id == user_id))
    if row is None:
        row = MembershipRow(workspace_id=workspace_id, user_id=user_id, role=role)
        db.add(row)
    else:
        row.role = role
    await db.flush()
    return row


async def has_users(db: AsyncSession) -> bool:
    return await db.scalar(sa.select(sa.func.count()).select_from(UserRow)) > 0


async def create_first_admin(db: AsyncSession, email: str, workspace_id: str) -> tuple[UserRow, str]:
    """The first user: admin of ``workspace_id`` with a random password (returned, shown once)."""
    password = secrets.token_urlsafe(15)
    user = await create_user(db, email, password, name="admin")
    await add_member(db, workspace_id, user.id, "admin")
    return user, password


async def ensure_first_admin(runtime) -> str | None:
    """Start-up step, embedded mode (SQLite) only: with no user yet, create the admin user
    (``PILOT_ADMIN_EMAIL``, admin@localhost) of the ``local`` workspace with a random password,
    print how to log in once, and save the password to ``<data_dir>/admin-password`` (mode 600)."""
    if not runtime.settings.db.is_sqlite:
        return None
    from pilot.auth.service import get_or_create_workspace
    from pilot.startup import DEV_WORKSPACE

    email = runtime.settings.auth.admin_email
    async with runtime.sessions() as db:
        if await has_users(db):
            return None
        workspace = await get_or_create_workspace(db, DEV_WORKSPACE)
        _, password = await create_first_admin(db, email, workspace.id)
        await db.commit()
    path = runtime.settings.app.data_dir / "admin-password"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(password + "\n")
    path.chmod(0o600)
    # Printed (not logged) once, like the dev key, so it never ends up in a log aggregator by default.
    print(f"πlot: created admin user {email} with password {password} (saved to {path}); log in with "
          f"POST /api/auth/login {{\"email\": \"{email}\", \"password\": \"…\"}}", flush=True)
    return password
