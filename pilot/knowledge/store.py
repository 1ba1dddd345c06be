"""Knowledge bases in the database, always scoped to one workspace.

Every function takes the caller's ``workspace_id`` and filters by it, so another workspace's
knowledge base is indistinguishable from a missing one (404). Documents are chunked and their
terms computed at upload time (:mod:`pilot.knowledge.text`), so retrieval only scores.

Limits (documented, enforced with 422): a document is at most ``MAX_DOCUMENT_CHARS`` characters,
a knowledge base at most ``MAX_CHUNKS_PER_KB`` chunks (retrieval scores them all in Python).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pilot.core.ids import aware
from pilot.core.errors import ConflictError, NotFoundError, UnprocessableError
from pilot.db.models import KnowledgeBaseRow, KnowledgeChunkRow, KnowledgeDocumentRow
from pilot.knowledge.retrieval import IndexedChunk, bm25, chunk_terms
from pilot.knowledge.schemas import (
    Document,
    DocumentCreate,
    KnowledgeBase,
    KnowledgeBaseCreate,
    KnowledgeSummary,
    Passage,
)
from pilot.knowledge.text import chunk_text

MAX_CHUNKS_PER_KB = 20_000


class KnowledgeBaseNotFound(NotFoundError):
    """No knowledge base with that id or name in the workspace."""


async def _count_per_kb(
    session: AsyncSession, row: type[KnowledgeDocumentRow] | type[KnowledgeChunkRow], kb_ids: list[str]
) -> dict[str, int]:
    """How many rows of ``row``'s table each knowledge base in ``kb_ids`` has (absent: none)."""
    result = await session.execute(
        sa.select(row.knowledge_base_id, sa.func.count())
        .where(row.knowledge_base_id.in_(kb_ids))
        .group_by(row.knowledge_base_id)
    )
    return dict(result.all())


async def _counts(session: AsyncSession, kb_ids: list[str]) -> dict[str, tuple[int, int]]:
    if not kb_ids:
        return {}
    docs = await _count_per_kb(session, KnowledgeDocumentRow, kb_ids)
    chunks = await _count_per_kb(session, KnowledgeChunkRow, kb_ids)
    return {kb: (docs.get(kb, 0), chunks.get(kb, 0)) for kb in kb_ids}




def _kb(row: KnowledgeBaseRow, counts: tuple[int, int]) -> KnowledgeBase:
    return KnowledgeBase(
        id=row.id, name=row.name, description=row.description, document_count=counts[0],
        chunk_count=counts[1], created_at=aware(row.created_at),
    )


async def create_knowledge_base(session: AsyncSession, workspace_id: str, data: KnowledgeBaseCreate) -> KnowledgeBase:
    name = data.name.strip()
    exists = await session.scalar(
        sa.select(KnowledgeBaseRow.id).where(KnowledgeBaseRow.workspace_id == workspace_id, KnowledgeBaseRow.name == name)
    )
    if exists:
        raise ConflictError(f"a knowledge base named {name!r} already exists")
    row = KnowledgeBaseRow(workspace_id=workspace_id, name=name, description=data.description)
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent create with the same name
        raise ConflictError(f"a knowledge base named {name!r} already exists") from exc
    return _kb(row, (0, 0))


async def list_knowledge_bases(
    session: AsyncSession, workspace_id: str, *, limit: int = 50, offset: int = 0
) -> tuple[list[KnowledgeBase], int]:
    where = KnowledgeBaseRow.workspace_id == workspace_id
    total = await session.scalar(sa.select(sa.func.count()).select_from(KnowledgeBaseRow).where(where)) or 0
    rows = (
        await session.scalars(
            sa.select(KnowledgeBaseRow).where(where).order_by(KnowledgeBaseRow.created_at, KnowledgeBaseRow.id)
            .limit(limit).offset(offset)
        )
    ).all()
    counts = await _counts(session, [r.id for r in rows])
    return [_kb(r, counts[r.id]) for r in rows], total


async def knowledge_summaries(session: AsyncSession, workspace_id: str, *, limit: int) -> tuple[list[KnowledgeSummary], bool]:
    """The workspace's first ``limit`` bases (the order of :func:`list_knowledge_bases`) with their
    document counts, and whether that is all of them. Two queries: no total, no chunk counts."""
    rows = (
        await session.execute(
            sa.select(KnowledgeBaseRow.id, KnowledgeBaseRow.name, KnowledgeBaseRow.description)
            .where(KnowledgeBaseRow.workspace_id == workspace_id)
            .order_by(KnowledgeBaseRow.created_at, KnowledgeBaseRow.id).limit(limit + 1)
        )
    ).all()
    kept = rows[:limit]
    docs = await _count_per_kb(session, KnowledgeDocumentRow, [r.id for r in kept]) if kept else {}
    summaries = [KnowledgeSummary(id=r.id, name=r.name, description=r.description, document_count=docs.get(r.id, 0))
                 for r in kept]
    return summaries, len(rows) <= limit


async def _row(session: AsyncSession, workspace_id: str, ref: str) -> KnowledgeBaseRow:
    """Find by id, else by exact name, inside the workspace."""
    row = await session.scalar(
        sa.select(KnowledgeBaseRow).where(KnowledgeBaseRow.workspace_id == workspace_id, KnowledgeBaseRow.id == ref)
    )
    if row is None:
        row = await session.scalar(
            sa.select(KnowledgeBaseRow).where(
                KnowledgeBaseRow.workspace_id == workspace_id, KnowledgeBaseRow.name == ref.strip()
            )
        )
    if row is None:
        raise KnowledgeBaseNotFound(f"knowledge base {ref!r} not found")
    return row


async def get_knowledge_base(session: AsyncSession, workspace_id: str, ref: str) -> KnowledgeBase:
    row = await _row(session, workspace_id, ref)
    return _kb(row, (await _counts(session, [row.id]))[row.id])


async def delete_knowledge_base(session: AsyncSession, workspace_id: str, ref: str) -> None:
    row = await _row(session, workspace_id, ref)
    # Explicit deletes (children first) rather than relying on ON DELETE CASCADE being enabled.
    await session.execute(sa.delete(KnowledgeChunkRow).where(KnowledgeChunkRow.knowledge_base_id == row.id))
    await session.execute(sa.delete(KnowledgeDocumentRow).where(KnowledgeDocumentRow.knowledge_base_id == row.id))
    await session.delete(row)
    await session.flush()


async def add_document(session: AsyncSession, workspace_id: str, ref: str, data: DocumentCreate) -> Document:
    """Store a document and its chunks (with precomputed terms) in one transaction."""
    kb = await _row(session, workspace_id, ref)
    title = data.title.strip()
    pieces = chunk_text(data.content)
    if not pieces:
        raise UnprocessableError("content has no text to index", extra={"field": "content"})
    existing = await session.scalar(
        sa.select(sa.func.count()).select_from(KnowledgeChunkRow).where(KnowledgeChunkRow.knowledge_base_id == kb.id)
    ) or 0
    if existing + len(pieces) > MAX_CHUNKS_PER_KB:
        raise UnprocessableError(
            f"knowledge base {kb.name!r} would exceed {MAX_CHUNKS_PER_KB} chunks "
            f"(has {existing}, document adds {len(pieces)})",
            extra={"field": "content"},
        )
    doc = KnowledgeDocumentRow(knowledge_base_id=kb.id, title=title, content=data.content, metadata_=data.metadata)
    session.add(doc)
    await session.flush()
    session.add_all(
        KnowledgeChunkRow(
            knowledge_base_id=kb.id, document_id=doc.id, ordinal=i, text=piece, terms=chunk_terms(title, piece)
        )
        for i, piece in enumerate(pieces)
    )
    await session.flush()
    return _document(doc, len(pieces))


def _document(row: KnowledgeDocumentRow, chunk_count: int) -> Document:
    return Document(
        id=row.id, knowledge_base_id=row.knowledge_base_id, title=row.title, metadata=row.metadata_ or {},
        chunk_count=chunk_count, characters=len(row.content), created_at=aware(row.created_at),
    )


async def list_documents(
    session: AsyncSession, workspace_id: str, ref: str, *, limit: int = 50, offset: int = 0
) -> tuple[list[Document], int]:
    kb = await _row(session, workspace_id, ref)
    where = KnowledgeDocumentRow.knowledge_base_id == kb.id
    total = await session.scalar(sa.select(sa.func.count()).select_from(KnowledgeDocumentRow).where(where)) or 0
    rows = (
        await session.scalars(
            sa.select(KnowledgeDocumentRow).where(where)
            .order_by(KnowledgeDocumentRow.created_at, KnowledgeDocumentRow.id).limit(limit).offset(offset)
        )
    ).all()
    chunk_counts = dict(
        (
            await session.execute(
                sa.select(KnowledgeChunkRow.document_id, sa.func.count())
                .where(KnowledgeChunkRow.document_id.in_([r.id for r in rows]))
                .group_by(KnowledgeChunkRow.document_id)
            )
        ).all()
    ) if rows else {}
    return [_document(r, chunk_counts.get(r.id, 0)) for r in rows], total


async def _load_chunks(session: AsyncSession, kb_id: str) -> list[IndexedChunk]:
    rows = (
        await session.execute(
            sa.select(
                KnowledgeChunkRow.id, KnowledgeChunkRow.document_id, KnowledgeChunkRow.text,
                KnowledgeChunkRow.terms, KnowledgeDocumentRow.title,
            )
            .join(KnowledgeDocumentRow, KnowledgeDocumentRow.id == KnowledgeChunkRow.document_id)
            .where(KnowledgeChunkRow.knowledge_base_id == kb_id)
            .order_by(KnowledgeChunkRow.id)
        )
    ).all()
    return [
        IndexedChunk(
            chunk_id=r.id, document_id=r.document_id, title=r.title, text=r.text,
            tf=(r.terms or {}).get("tf", {}), length=int((r.terms or {}).get("len", 0)),
        )
        for r in rows
    ]


def _passages(ranked: list[tuple[float, IndexedChunk]]) -> list[Passage]:
    return [Passage(text=c.text, score=s, document_id=c.document_id, title=c.title) for s, c in ranked]


async def search(session: AsyncSession, workspace_id: str, ref: str, query: str, top_k: int) -> tuple[str, list[Passage]]:
    """Rank the knowledge base's chunks for ``query`` (one-shot scan); returns (kb id, passages)."""
    kb = await _row(session, workspace_id, ref)
    return kb.id, _passages(bm25(query, await _load_chunks(session, kb.id), top_k))


class KnowledgeRetriever:
    """The engine's retrieval service (``EngineServices.knowledge``).

    Keeps the decoded chunks of recently used knowledge bases (LRU of ``max_cached``), so a
    workflow that queries the same base many times (loops, repeated runs) does not reload and
    re-decode every chunk's terms from the database. The cache key is the base's (chunk count,
    highest chunk id): documents are only ever added, and a deleted base is no longer found, so an
    unchanged key means unchanged content.
    """

    def __init__(self, sessions, *, max_cached: int = 16) -> None:
        self._sessions = sessions
        self._max_cached = max_cached
        self._cache: OrderedDict[str, tuple[tuple[int, int], list[IndexedChunk]]] = OrderedDict()

    async def search(self, workspace_id: str, knowledge_base: str, query: str, top_k: int = 4) -> list[Passage]:
        """Top passages; raises :class:`KnowledgeBaseNotFound` naming ``knowledge_base``."""
        async with self._sessions() as session:
            kb = await _row(session, workspace_id, knowledge_base)
            count, max_id = (
                await session.execute(
                    sa.select(sa.func.count(KnowledgeChunkRow.id), sa.func.max(KnowledgeChunkRow.id)).where(
                        KnowledgeChunkRow.knowledge_base_id == kb.id
                    )
                )
            ).one()
            version = (int(count or 0), int(max_id or 0))
            cached = self._cache.get(kb.id)
            if cached is None or cached[0] != version:
                cached = (version, await _load_chunks(session, kb.id))
                self._cache[kb.id] = cached
            self._cache.move_to_end(kb.id)
            while len(self._cache) > self._max_cached:
                self._cache.popitem(last=False)
        chunks = cached[1]
        # Scoring is CPU work (~1 ms per 1,000 chunks): keep large bases off the event loop.
        if len(chunks) > 5_000:
            ranked = await asyncio.to_thread(bm25, query, chunks, top_k)
        else:
            ranked = bm25(query, chunks, top_k)
        return _passages(ranked)
