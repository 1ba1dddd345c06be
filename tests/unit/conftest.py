"""Fixtures shared by the unit tests."""

from __future__ import annotations

import asyncio

import pytest

from pilot.db.engine import create_engine, create_session_factory
from pilot.db.migrate import upgrade
from pilot.settings import DatabaseSettings


@pytest.fixture
async def sessions(tmp_path):
    """A session factory on a new, migrated SQLite file (a module may override it with rows of its own)."""
    url = f"sqlite+aiosqlite:///{tmp_path}/unit.db"
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(DatabaseSettings(url=url))
    yield create_session_factory(engine)
    await engine.dispose()
