"""Users, memberships and role keys for identity tests, made straight in the app's database."""

from __future__ import annotations

import uuid

from pilot.auth.service import add_api_key, get_or_create_workspace
from pilot.auth.users import add_member, create_user

PASSWORD = "correct horse battery staple"


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.test"


async def make_workspace(app, name: str | None = None) -> str:
    async with app.state.runtime.sessions() as db:
        row = await get_or_create_workspace(db, name or f"ws-{uuid.uuid4().hex[:8]}")
        await db.commit()
        return row.id


async def make_user(app, workspace_id: str | None, role: str = "member", *, email: str | None = None,
                    password: str = PASSWORD) -> tuple[str, str]:
    """A user (and their membership with ``role`` when ``workspace_id`` is given): (user id, email)."""
    email = email or unique_email(role)
    async with app.state.runtime.sessions() as db:
        user = await create_user(db, email, password)
        if workspace_id:
            await add_member(db, workspace_id, user.id, role)
        await db.commit()
        return user.id, email


async def make_key(app, workspace_id: str, role: str) -> str:
    async with app.state.runtime.sessions() as db:
        _, raw = await add_api_key(db, workspace_id, f"{role}-key", role)
        await db.commit()
        return raw


async def login(client, email: str, password: str = PASSWORD, **kwargs) -> dict:
    response = await client.post("/api/auth/login", json={"email": email, "password": password}, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


def bearer(token: str, workspace: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if workspace:
        headers["X-Pilot-Workspace"] = workspace
    return headers
