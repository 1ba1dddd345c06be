"""Each workspace's knowledge bases with their document counts, cached per process for advisory reads.

A generation with a knowledge step points it at a fitting base (:mod:`pilot.generation.knowledge_fit`)
and its readiness report asks whether the base it names exists and has documents
(:mod:`pilot.readiness.service`): two to three queries each time, more than the rest of a cached
generation. :class:`KnowledgeSnapshots` keeps one :class:`KnowledgeSnapshot` per workspace for
``PILOT_AUTH_CACHE_TTL_S`` seconds and drops every snapshot as soon as a knowledge base or a
document is created, changed or deleted through a session of this process or, with Redis, of any
process (:mod:`pilot.db.watched`). Chunks are not watched: nothing here reads them, and they are
only ever written together with their document.

Like the credential-name cache (:mod:`pilot.credentials.names`), only advisory paths read through
it (the generate endpoint, chat's ``workflow.ready``); publishing and ``GET …/readiness`` read the
tables.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from pilot.db.models import KnowledgeBaseRow, KnowledgeDocumentRow
from pilot.db.watched import WatchedCache
from pilot.knowledge.schemas import KnowledgeSummary
from pilot.knowledge.store import knowledge_summaries

SNAPSHOT_LIMIT = 200  # bases kept per workspace: what generation has always fitted against


class KnowledgeSnapshot:
    """A workspace's first :data:`SNAPSHOT_LIMIT` bases (oldest first) and whether that is all of them."""

    def __init__(self, bases: list[KnowledgeSummary], complete: bool) -> None:
        self.bases: tuple[KnowledgeSummary, ...] = tuple(bases)
        self.complete = complete
        self._by_id = {b.id: b for b in self.bases}
        self._by_name = {b.name: b for b in self.bases}  # names are unique per workspace

    def find(self, ref: str) -> KnowledgeSummary | None:
        """The base with id ``ref``, else with the name ``ref.strip()`` — the lookup of
        :func:`pilot.knowledge.store.get_knowledge_base`. Only conclusive when ``complete``."""
        found = self._by_id.get(ref)
        return found if found is not None else self._by_name.get(ref.strip())


class KnowledgeSnapshots:
    """Workspace id → its :class:`KnowledgeSnapshot` (shared between requests: read-only)."""

    def __init__(self, ttl_s: float = 10.0) -> None:
        # inserts: a new base, or a first document, changes the answer
        self._snapshots: WatchedCache[KnowledgeSnapshot] = WatchedCache(
            (KnowledgeBaseRow, KnowledgeDocumentRow), ttl_s, max_entries=1_000, inserts=True)

    async def get(self, session: AsyncSession, workspace_id: str) -> KnowledgeSnapshot:
        """The snapshot, read through ``session`` when not cached."""

        async def read() -> KnowledgeSnapshot:
            return KnowledgeSnapshot(*await knowledge_summaries(session, workspace_id, limit=SNAPSHOT_LIMIT))

        return await self._snapshots.get(workspace_id, read)
