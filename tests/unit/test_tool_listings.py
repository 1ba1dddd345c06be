"""GET /api/tools's page cache (pilot.tools.listing) and the commit publishers of pilot.db.watched,
on a real SQLite database: a page is read once per TTL, any change to a tool instance made
through a session shows on the very next read, and a commit tells the publishers which watched
tables it changed (what pilot.background.invalidation sends to the other processes)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from pilot.db import watched
from pilot.db.models import CredentialRow, ToolInstanceRow
from pilot.tools.listing import ToolListings
from tests.support.sqlite import two_workspaces


@pytest.fixture
async def db(tmp_path):
    async with two_workspaces(tmp_path / "t.db", lambda statement: statement.startswith("SELECT tool_instances.")) as (sessions, _keys, ids, reads):
        yield sessions, ids, reads


def _tool(workspace_id: str, name: str) -> ToolInstanceRow:
    return ToolInstanceRow(workspace_id=workspace_id, name=name, connector="http")


async def _names(listings: ToolListings, sessions, workspace_id: str, *, limit: int = 50, offset: int = 0) -> tuple[list[str], int]:
    items, total = await listings.page(sessions, workspace_id, limit=limit, offset=offset)
    return [item.name for item in items], total


async def test_a_page_is_read_once_until_a_tool_changes(db) -> None:
    sessions, ids, reads = db
    listings = ToolListings(ttl_s=300)
    async with sessions() as session:
        session.add_all([_tool(ids["acme"], "crm"), _tool(ids["acme"], "billing"), _tool(ids["globex"], "other")])
        await session.commit()

    assert await _names(listings, sessions, ids["acme"]) == (["billing", "crm"], 2)
    assert await _names(listings, sessions, ids["acme"]) == (["billing", "crm"], 2) and len(reads) == 1
    assert await _names(listings, sessions, ids["acme"], limit=1, offset=1) == (["crm"], 2) and len(reads) == 2
    assert await _names(listings, sessions, ids["globex"]) == (["other"], 1) and len(reads) == 3  # its own page

    async with sessions() as session:  # an insert: every cached page is dropped
        session.add(_tool(ids["acme"], "analytics"))
        await session.commit()
    assert await _names(listings, sessions, ids["acme"]) == (["analytics", "billing", "crm"], 3)
    assert await _names(listings, sessions, ids["acme"], limit=1, offset=1) == (["billing"], 3)

    async with sessions() as session:  # a rename of a loaded row
        row = await session.scalar(sa.select(ToolInstanceRow).where(ToolInstanceRow.name == "crm"))
        row.name = "zcrm"
        await session.commit()
    assert await _names(listings, sessions, ids["acme"]) == (["analytics", "billing", "zcrm"], 3)

    async with sessions() as session:  # an ORM delete statement
        await session.execute(sa.delete(ToolInstanceRow).where(ToolInstanceRow.name == "billing"))
        await session.commit()
    assert await _names(listings, sessions, ids["acme"]) == (["analytics", "zcrm"], 2)


async def test_commits_tell_the_publishers_which_watched_tables_changed(db) -> None:
    sessions, ids, _reads = db
    listings = ToolListings(ttl_s=300)  # watches tool_instances (inserts too); published only while one does
    published: list[frozenset[str]] = []
    remove = watched.add_publisher(published.append)
    try:
        async with sessions() as session:  # rolled back: nothing is told
            session.add(_tool(ids["acme"], "temp"))
            await session.flush()
            await session.rollback()
        assert published == []

        async with sessions() as session:
            session.add(_tool(ids["acme"], "crm"))
            await session.commit()
        assert published == [frozenset({"tool_instances"})]

        async with sessions() as session:  # a read-only transaction tells nothing
            await session.scalar(sa.select(ToolInstanceRow))
            await session.commit()
        assert len(published) == 1
    finally:
        remove()
    async with sessions() as session:  # removed: no longer told
        session.add(_tool(ids["acme"], "later"))
        await session.commit()
    assert len(published) == 1
    del listings  # kept alive until here: a table no cache watches is not published


async def test_a_savepoint_rolled_back_keeps_the_transactions_other_changes(db) -> None:
    sessions, ids, _reads = db
    listings = ToolListings(ttl_s=300)
    published: list[frozenset[str]] = []
    remove = watched.add_publisher(published.append)
    try:
        async with sessions() as session:
            session.add(_tool(ids["acme"], "crm"))
            await session.flush()
            nested = await session.begin_nested()
            session.add(_tool(ids["acme"], "crm"))  # the same name: refused, the savepoint rolls back
            with pytest.raises(sa.exc.IntegrityError):
                await session.flush()
            await nested.rollback()
            await session.commit()
        assert published == [frozenset({"tool_instances"})]
        assert await _names(listings, sessions, ids["acme"]) == (["crm"], 1)
    finally:
        remove()


async def test_a_failing_publisher_does_not_fail_the_commit(db) -> None:
    sessions, ids, _reads = db
    listings = ToolListings(ttl_s=300)

    def broken(_tables: frozenset[str]) -> None:
        raise RuntimeError("publisher down")

    published: list[frozenset[str]] = []
    removers = [watched.add_publisher(broken), watched.add_publisher(published.append)]
    try:
        async with sessions() as session:
            session.add(_tool(ids["acme"], "crm"))
            await session.commit()  # does not raise
        assert published == [frozenset({"tool_instances"})]  # the next publisher still ran
        assert await _names(listings, sessions, ids["acme"]) == (["crm"], 1)
    finally:
        for remove in removers:
            remove()


async def test_invalidate_tables_empties_only_the_caches_watching_them(db) -> None:
    sessions, ids, reads = db
    listings = ToolListings(ttl_s=300)
    assert await _names(listings, sessions, ids["acme"]) == ([], 0) and len(reads) == 1
    watched.invalidate_tables([CredentialRow.__tablename__, "no_such_table"])
    assert await _names(listings, sessions, ids["acme"]) == ([], 0) and len(reads) == 1  # untouched
    watched.invalidate_tables(["tool_instances"])
    assert await _names(listings, sessions, ids["acme"]) == ([], 0) and len(reads) == 2
    watched.invalidate_all()
    assert await _names(listings, sessions, ids["acme"]) == ([], 0) and len(reads) == 3
