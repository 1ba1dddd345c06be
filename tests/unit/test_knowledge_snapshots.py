"""The knowledge snapshots of generation and advisory readiness (pilot.knowledge.listing, on
pilot.db.watched) on a real SQLite database: a workspace's bases are read once per TTL, a base or
document created or deleted through a session of this process shows on the very next read, each
workspace sees only its own bases, and readiness answers through a snapshot exactly as it does
from the tables."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from pilot.db.models import KnowledgeChunkRow, KnowledgeDocumentRow
from pilot.knowledge import listing, store
from pilot.knowledge.listing import KnowledgeSnapshots
from pilot.knowledge.schemas import DocumentCreate, KnowledgeBaseCreate
from pilot.readiness import check_graph
from pilot.settings import Settings
from pilot.workflows.model import WorkflowGraph, graph_from_builtins
from tests.support.sqlite import two_workspaces


@pytest.fixture
async def db(tmp_path):
    def counted(statement: str) -> bool:
        return statement.startswith("SELECT") and ("knowledge_bases" in statement or "knowledge_documents" in statement)

    async with two_workspaces(tmp_path / "k.db", counted) as (sessions, _keys, ids, reads):
        yield sessions, ids, reads


async def _base(sessions, workspace_id: str, name: str, *, documents: int = 0) -> str:
    async with sessions() as session:
        kb = await store.create_knowledge_base(session, workspace_id, KnowledgeBaseCreate(name=name))
        for i in range(documents):
            await store.add_document(session, workspace_id, kb.id, DocumentCreate(title=f"doc {i}", content="Plug it in."))
        await session.commit()
    return kb.id


async def _bases(snapshots: KnowledgeSnapshots, sessions, workspace_id: str) -> dict[str, int]:
    async with sessions() as session:
        snapshot = await snapshots.get(session, workspace_id)
    return {b.name: b.document_count for b in snapshot.bases}


async def test_a_snapshot_is_read_once_per_workspace_until_a_base_or_document_changes(db) -> None:
    sessions, ids, reads = db
    acme, globex = ids["acme"], ids["globex"]
    snapshots = KnowledgeSnapshots(ttl_s=300)
    assert await _bases(snapshots, sessions, acme) == {}
    cold = len(reads)
    assert cold >= 1
    assert await _bases(snapshots, sessions, acme) == {} and len(reads) == cold  # cached

    kb = await _base(sessions, acme, "manual")  # an insert of a base
    assert await _bases(snapshots, sessions, acme) == {"manual": 0}
    assert await _bases(snapshots, sessions, globex) == {}  # its own entry: never another workspace's bases
    async with sessions() as session:
        assert (await snapshots.get(session, globex)).find(kb) is None

    async with sessions() as session:  # an insert of a document (its chunks are not watched)
        await store.add_document(session, acme, kb, DocumentCreate(title="Setup", content="Plug it in and press start."))
        await session.commit()
    assert await _bases(snapshots, sessions, acme) == {"manual": 1}
    settled = len(reads)
    assert await _bases(snapshots, sessions, acme) == {"manual": 1} and len(reads) == settled

    async with sessions() as session:  # its last document deleted through the unit of work
        doc = await session.scalar(sa.select(KnowledgeDocumentRow).where(KnowledgeDocumentRow.knowledge_base_id == kb))
        await session.execute(sa.delete(KnowledgeChunkRow).where(KnowledgeChunkRow.document_id == doc.id))
        await session.delete(doc)
        await session.commit()
    assert await _bases(snapshots, sessions, acme) == {"manual": 0}

    async with sessions() as session:  # ... and through an ORM delete statement
        await store.add_document(session, acme, kb, DocumentCreate(title="Setup", content="Plug it in."))
        await session.commit()
    assert await _bases(snapshots, sessions, acme) == {"manual": 1}
    async with sessions() as session:
        await session.execute(sa.delete(KnowledgeChunkRow).where(KnowledgeChunkRow.knowledge_base_id == kb))
        await session.execute(sa.delete(KnowledgeDocumentRow).where(KnowledgeDocumentRow.knowledge_base_id == kb))
        await session.commit()
    assert await _bases(snapshots, sessions, acme) == {"manual": 0}

    async with sessions() as session:  # the base deleted
        await store.delete_knowledge_base(session, acme, "manual")
        await session.commit()
    assert await _bases(snapshots, sessions, acme) == {}


async def test_a_rolled_back_base_is_not_seen_and_ttl_zero_reads_every_time(db) -> None:
    sessions, ids, reads = db
    snapshots = KnowledgeSnapshots(ttl_s=0)
    async with sessions() as session:
        await store.create_knowledge_base(session, ids["acme"], KnowledgeBaseCreate(name="temp"))
        await session.rollback()
    before = len(reads)
    for _ in range(3):
        assert await _bases(snapshots, sessions, ids["acme"]) == {}
    assert len(reads) - before == 3  # one query each (no bases: no document count)


async def test_find_is_the_lookup_of_get_knowledge_base(db) -> None:
    sessions, ids, _reads = db
    acme = ids["acme"]
    first = await _base(sessions, acme, "first", documents=1)
    await _base(sessions, acme, first)  # a base *named* like another's id: the id wins, as in the store
    snapshots = KnowledgeSnapshots(ttl_s=300)
    async with sessions() as session:
        snapshot = await snapshots.get(session, acme)
        assert snapshot.complete
        for ref in (first, "first", "  first ", "First", "missing"):
            found = snapshot.find(ref)
            try:
                expected = (await store.get_knowledge_base(session, acme, ref)).id
            except store.KnowledgeBaseNotFound:
                expected = None
            assert (found.id if found else None) == expected, ref


def _graph(*refs: str) -> WorkflowGraph:
    return graph_from_builtins({"nodes": [{"id": f"lookup{i}", "type": "knowledge",
                                           "config": {"knowledge_base": ref, "query": "q"}} for i, ref in enumerate(refs)]})


async def test_readiness_through_a_snapshot_answers_as_the_tables_do(db, tmp_path) -> None:
    sessions, ids, reads = db
    acme, globex = ids["acme"], ids["globex"]
    settings = Settings.from_env({"PILOT_DATA_DIR": str(tmp_path)})
    full = await _base(sessions, acme, "full", documents=1)
    await _base(sessions, acme, "empty")
    await _base(sessions, globex, "theirs", documents=1)
    graph = _graph("full", full, "empty", "missing", "theirs")
    snapshots = KnowledgeSnapshots(ttl_s=300)
    async with sessions() as session:
        for workspace_id in (acme, globex):
            tables = await check_graph(session, workspace_id, graph, settings)
            cached = await check_graph(session, workspace_id, graph, settings, knowledge=snapshots)
            assert cached == tables
        before = len(reads)
        again = await check_graph(session, acme, graph, settings, knowledge=snapshots)
        assert len(reads) == before  # answered from the snapshot: no query
    # "empty" has no documents, "missing" does not exist, "theirs" is another workspace's
    assert sorted(i.node_id for i in again.items if i.kind == "knowledge_base") == ["lookup2", "lookup3", "lookup4"]


async def test_a_workspace_with_more_bases_than_a_snapshot_holds_is_checked_in_the_tables(db, tmp_path, monkeypatch) -> None:
    sessions, ids, _reads = db
    acme = ids["acme"]
    monkeypatch.setattr(listing, "SNAPSHOT_LIMIT", 2)
    for name in ("one", "two", "three"):
        await _base(sessions, acme, name, documents=1)
    snapshots = KnowledgeSnapshots(ttl_s=300)
    settings = Settings.from_env({"PILOT_DATA_DIR": str(tmp_path)})
    async with sessions() as session:
        snapshot = await snapshots.get(session, acme)
        assert [b.name for b in snapshot.bases] == ["one", "two"] and not snapshot.complete
        readiness = await check_graph(session, acme, _graph("three", "four"), settings, knowledge=snapshots)
    assert [i.name for i in readiness.items if i.kind == "knowledge_base"] == ["four"]  # "three" exists, past the snapshot
