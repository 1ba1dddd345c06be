"""Login sessions: log in (password → access + refresh token), refresh (rotation with reuse
detection), log out.

A session is one login. Its refresh tokens form a family: each refresh exchanges the current
token for a new one (the old one is marked ``rotated_at``). Presenting a token that was already
exchanged means it leaked (or two clients share it): the whole session is revoked, so both the
thief's and the owner's tokens stop working and the owner logs in again. Two refreshes racing
with the same token count as such a reuse (the loser's UPDATE finds it rotated).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from pilot.auth.passwords import burn_verification, verify_password
from pilot.auth.schemas import TokenPair, UserOut
from pilot.auth.tokens import issue_access_token, new_refresh_token, token_hash
from pilot.core.errors import AuthenticationError
from pilot.core.ids import aware, utcnow
from pilot.db.models import AuthSessionRow, RefreshTokenRow, UserRow
from pilot.settings import Settings

BAD_LOGIN = "wrong email or password"


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def check_password(db: AsyncSession, email: str, password: str) -> UserRow:
    """The user whose password this is, or 401 (same answer, same work, for an unknown email);
    a hash made with older argon2 parameters is replaced."""
    user = await db.scalar(sa.select(UserRow).where(UserRow.email == normalise_email(email)))
    if user is None or user.disabled_at is not None:
        await asyncio.to_thread(burn_verification, password)
        raise AuthenticationError(BAD_LOGIN)
    ok, new_hash = await asyncio.to_thread(verify_password, user.password_hash, password)
    if not ok:
        raise AuthenticationError(BAD_LOGIN)
    if new_hash is not None:
        user.password_hash = new_hash
    user.last_login_at = utcnow()
    return user


async def start_session(db: AsyncSession, settings: Settings, user: UserRow) -> TokenPair:
    """A new login session of ``user`` and its first token pair."""
    row = AuthSessionRow(user_id=user.id, expires_at=utcnow() + timedelta(seconds=settings.auth.refresh_token_ttl_s))
    db.add(row)
    await db.flush()
    return await _pair(db, settings, row, user)


async def refresh(db: AsyncSession, settings: Settings, raw_refresh: str) -> TokenPair:
    """Exchange a refresh token for a new pair (see the module doc for reuse)."""
    found = (await db.execute(
        sa.select(RefreshTokenRow, AuthSessionRow, UserRow)
        .join(AuthSessionRow, AuthSessionRow.id == RefreshTokenRow.session_id)
        .join(UserRow, UserRow.id == AuthSessionRow.user_id)
        .where(RefreshTokenRow.token_hash == token_hash(raw_refresh))
    )).first()
    if found is None:
        raise AuthenticationError("invalid refresh token")
    token, login, user = found
    if login.revoked_at is not None or aware(login.expires_at) <= utcnow() or user.disabled_at is not None:
        raise AuthenticationError("the session has ended (logged out or expired): log in again")
    claimed = await db.execute(
        sa.update(RefreshTokenRow).where(RefreshTokenRow.id == token.id, RefreshTokenRow.rotated_at.is_(None))
        .values(rotated_at=utcnow()).execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # already exchanged: the token was replayed
        await revoke(db, login.id, "refresh token reused")
        await db.commit()  # the revocation stands although the request fails
        raise AuthenticationError("refresh token already used: the session is revoked for safety, log in again")
    return await _pair(db, settings, login, user)


async def revoke(db: AsyncSession, session_id: str, reason: str) -> bool:
    """Revoke a login session (its access and refresh tokens stop working); False if it already was.
    An ORM UPDATE of ``auth_sessions``: the principal caches of this process forget it."""
    result = await db.execute(
        sa.update(AuthSessionRow).where(AuthSessionRow.id == session_id, AuthSessionRow.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason).execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


async def _pair(db: AsyncSession, settings: Settings, login: AuthSessionRow, user: UserRow) -> TokenPair:
    raw = new_refresh_token()
    db.add(RefreshTokenRow(session_id=login.id, token_hash=token_hash(raw)))
    await db.flush()
    access, expires_in = issue_access_token(settings, user.id, login.id)
    refresh_left = max(1, round((aware(login.expires_at) - utcnow()).total_seconds()))
    return TokenPair(access_token=access, expires_in=expires_in, refresh_token=raw, refresh_expires_in=refresh_left,
                     session_id=login.id, user=user_out(user))


def user_out(user: UserRow) -> UserOut:
    return UserOut(id=user.id, email=user.email, name=user.name, created_at=aware(user.created_at))

