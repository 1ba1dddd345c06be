"""The workspace lookups of :mod:`pilot.readiness.resources`, uncached or cached per process.

An agent's ``tool:``/``api:`` reference is checked against the workspace's tool instances (by id,
else by name) and a ``table`` tool's table against its data tables (by id, else by name): a query
or two per reference on every generation. :class:`ResourceLookups` remembers each answer per
(workspace id, reference) for ``PILOT_AUTH_CACHE_TTL_S`` seconds (:mod:`pilot.db.watched`):

- tool instances: emptied when one is created, changed (a rename, another connector) or deleted;
- data tables: emptied when one is created or deleted, **not** when one is updated. Every write of
  a table's rows updates its ``row_count`` and ``updated_at``; watching updates would empty the
  cache (and, with Redis, publish a message to every process) on each of them. A table's id, name
  and workspace are never changed (there is no rename): if that changes, drop ``updates=False``.

Only advisory readiness reads through it (like :mod:`pilot.credentials.names`).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from pilot.core.errors import NotFoundError
from pilot.db.models import DataTableRow, ToolInstanceRow
from pilot.db.watched import WatchedCache
from pilot.tables.store import table_row
from pilot.tools.instances import find_row


async def tool_connector(session: AsyncSession, workspace_id: str, ref: str) -> str | None:
    """The connector of the workspace's tool instance with id (else name) ``ref``; None if none."""
    row = await find_row(session, workspace_id, ref)
    return row.connector if row is not None else None


async def has_table(session: AsyncSession, workspace_id: str, ref: str) -> bool:
    """Whether the workspace has a data table with id (else name) ``ref``."""
    try:
        await table_row(session, workspace_id, ref)
    except NotFoundError:
        return False
    return True


class ResourceLookups:
    """:func:`tool_connector` and :func:`has_table`, cached per (workspace id, reference)."""

    def __init__(self, ttl_s: float = 10.0) -> None:
        self._tools: WatchedCache[str | None] = WatchedCache((ToolInstanceRow,), ttl_s, inserts=True)
        self._tables: WatchedCache[bool] = WatchedCache((DataTableRow,), ttl_s, inserts=True, updates=False)

    async def tool_connector(self, session: AsyncSession, workspace_id: str, ref: str) -> str | None:
        """:func:`tool_connector`, read through ``session`` when not cached."""
        return await self._tools.get((workspace_id, ref), lambda: tool_connector(session, workspace_id, ref))

    async def has_table(self, session: AsyncSession, workspace_id: str, ref: str) -> bool:
        """:func:`has_table`, read through ``session`` when not cached."""
        return await self._tables.get((workspace_id, ref), lambda: has_table(session, workspace_id, ref))
