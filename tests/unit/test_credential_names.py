"""The credential-name cache of advisory readiness (pilot.credentials.names, on pilot.db.watched)
on a real SQLite database: names are read once per TTL, and any credential created, renamed or
deleted through a session of this process shows on the very next read."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from pilot.credentials.names import CredentialNames
from pilot.db.models import CredentialRow
from tests.support.sqlite import two_workspaces


@pytest.fixture
async def db(tmp_path):
    async with two_workspaces(tmp_path / "c.db", lambda statement: statement.startswith("SELECT credentials.name")) as (sessions, _keys, ids, reads):
        yield sessions, ids, reads


def _row(workspace_id: str, name: str) -> CredentialRow:
    return CredentialRow(workspace_id=workspace_id, name=name, type="api_key", ciphertext="x")


async def test_names_are_read_once_per_workspace_until_one_changes(db) -> None:
    sessions, ids, reads = db
    names = CredentialNames(ttl_s=300)
    async with sessions() as session:
        session.add(_row(ids["acme"], "slack_webhook"))
        await session.commit()
    async with sessions() as session:
        assert await names.get(session, ids["acme"]) == {"slack_webhook"}
        assert await names.get(session, ids["acme"]) == {"slack_webhook"} and len(reads) == 1  # cached
        assert await names.get(session, ids["globex"]) == set() and len(reads) == 2  # its own entry

    async with sessions() as session:  # a unit-of-work insert: a new name counts at once
        session.add(_row(ids["acme"], "openai"))
        await session.commit()
    async with sessions() as session:
        assert await names.get(session, ids["acme"]) == {"slack_webhook", "openai"} and len(reads) == 3

    async with sessions() as session:  # a rename through an ORM update statement
        await session.execute(sa.update(CredentialRow).where(CredentialRow.name == "openai").values(name="anthropic"))
        await session.commit()
    async with sessions() as session:
        assert await names.get(session, ids["acme"]) == {"slack_webhook", "anthropic"}

    async with sessions() as session:  # a delete of a loaded row
        row = await session.scalar(sa.select(CredentialRow).where(CredentialRow.name == "slack_webhook"))
        await session.delete(row)
        await session.commit()
    async with sessions() as session:
        assert await names.get(session, ids["acme"]) == {"anthropic"}

    async with sessions() as session:  # an ORM insert statement
        await session.execute(sa.insert(CredentialRow).values(id="cred_x", workspace_id=ids["acme"], name="github",
                                                              type="api_key", ciphertext="x"))
        await session.commit()
    async with sessions() as session:
        assert await names.get(session, ids["acme"]) == {"anthropic", "github"}


async def test_a_rolled_back_insert_is_not_seen_and_ttl_zero_reads_every_time(db) -> None:
    sessions, ids, reads = db
    names = CredentialNames(ttl_s=0)
    async with sessions() as session:
        session.add(_row(ids["acme"], "temp"))
        await session.flush()
        await session.rollback()
    async with sessions() as session:
        for _ in range(3):
            assert await names.get(session, ids["acme"]) == set()
    assert len(reads) == 3
