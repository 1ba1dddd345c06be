"""``GET /api/tools``'s pages of a workspace's tool instances, cached per process.

The listing is read far more often than tools change (the panel lists them whenever it opens a
tool picker), and the read is a database session and a query: ~0.8 ms of a ~1.5 ms request on
SQLite. :class:`ToolListings` keeps each page for ``PILOT_AUTH_CACHE_TTL_S`` seconds and drops
every page as soon as a tool instance is created, changed or deleted through a session of this
process, or — with Redis — of any process (:mod:`pilot.db.watched`,
:mod:`pilot.background.invalidation`). A cache hit opens no database session at all.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pilot.db.models import ToolInstanceRow
from pilot.db.watched import WatchedCache
from pilot.tools.instances import ToolInstance, list_page


class ToolListings:
    """(workspace id, limit, offset) → that page of tool instances and the workspace's total."""

    def __init__(self, ttl_s: float = 10.0) -> None:
        self._pages: WatchedCache[tuple[list[ToolInstance], int]] = WatchedCache(
            (ToolInstanceRow,), ttl_s, max_entries=2_000, inserts=True)

    async def page(self, sessions: async_sessionmaker[AsyncSession], workspace_id: str, *,
                   limit: int, offset: int) -> tuple[list[ToolInstance], int]:
        """The page (read in its own session when not cached). Callers must not mutate it: it is shared."""

        async def read() -> tuple[list[ToolInstance], int]:
            async with sessions() as session:
                return await list_page(session, workspace_id, limit=limit, offset=offset)

        return await self._pages.get((workspace_id, limit, offset), read)
