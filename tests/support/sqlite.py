"""A file-backed SQLite database with two workspaces (``acme``, ``globex``, each with an API key)
that records the statements a cache under test sends to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import async_sessionmaker

from pilot.auth.service import create_api_key
from pilot.db.engine import create_engine, create_session_factory
from pilot.db.models import Base, WorkspaceRow
from pilot.settings import DatabaseSettings


@asynccontextmanager
async def two_workspaces(path: Path, counted: Callable[[str], bool]) -> AsyncIterator[tuple[async_sessionmaker, list[str], dict[str, str], list[str]]]:
    """Yield ``(sessions, keys, workspace ids by name, statements)``: ``statements`` collects each
    statement for which ``counted`` is true; ``keys`` are the raw API keys of acme and globex."""
    engine = create_engine(DatabaseSettings(url=f"sqlite+aiosqlite:///{path}"))
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    seen: list[str] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _count(_conn, _cursor, statement, *_args) -> None:
        if counted(statement):
            seen.append(statement)

    sessions = create_session_factory(engine)
    async with sessions() as session:
        keys = [await create_api_key(session, "acme"), await create_api_key(session, "globex")]
        await session.commit()
        ids = {w.name: w.id for w in (await session.scalars(sa.select(WorkspaceRow))).all()}
    try:
        yield sessions, keys, ids, seen
    finally:
        await engine.dispose()
