"""The authenticated-principal cache (pilot.auth.principals) on a real SQLite database: a key is
read once per TTL, and any change to keys or workspaces made through a session empties it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from pilot.auth import principals
from pilot.auth.principals import PrincipalCache
from pilot.auth.service import hash_key
from pilot.core.errors import AuthenticationError
from pilot.core.ids import utcnow
from pilot.db.models import ApiKeyRow, WorkspaceRow
from tests.support.sqlite import two_workspaces


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def db(tmp_path):
    async with two_workspaces(tmp_path / "p.db", lambda statement: "FROM workspaces JOIN api_keys" in statement) as (sessions, keys, _ids, lookups):
        yield sessions, keys, lookups


async def test_a_key_is_read_once_per_ttl_and_only_successes_are_kept(db) -> None:
    sessions, (acme, globex), lookups = db
    clock = Clock()
    cache = PrincipalCache(ttl_s=10, clock=clock)
    first = await cache.authenticate(sessions, acme)
    assert first.name == "acme" and len(lookups) == 1
    assert await cache.authenticate(sessions, acme) == first and len(lookups) == 1  # served from the cache
    assert (await cache.authenticate(sessions, globex)).name == "globex"  # its own entry, its own workspace
    clock.now += 10.5
    assert await cache.authenticate(sessions, acme) == first and len(lookups) == 3  # expired: read again
    for bad in ("pk_nope", "pk_nope"):
        with pytest.raises(AuthenticationError):
            await cache.authenticate(sessions, bad)
    assert len(lookups) == 5 and len(cache) == 2  # a refused key is asked every time, never cached


async def test_ttl_zero_reads_the_key_on_every_request(db) -> None:
    sessions, (acme, _), lookups = db
    cache = PrincipalCache(ttl_s=0)
    for _ in range(3):
        await cache.authenticate(sessions, acme)
    assert len(lookups) == 3 and len(cache) == 0


async def test_the_cache_is_bounded(db) -> None:
    sessions, keys, _ = db
    cache = PrincipalCache(ttl_s=60, max_entries=1)
    for key in keys:
        await cache.authenticate(sessions, key)
    assert len(cache) == 1


@pytest.mark.parametrize("how", ["update statement", "unit of work", "delete workspace"])
async def test_a_change_through_a_session_refuses_the_key_on_the_next_lookup(db, how) -> None:
    sessions, (acme, globex), lookups = db
    cache = PrincipalCache(ttl_s=300)
    await cache.authenticate(sessions, acme)
    await cache.authenticate(sessions, globex)
    async with sessions() as session:
        if how == "update statement":
            await session.execute(sa.update(ApiKeyRow).where(ApiKeyRow.key_hash == hash_key(acme)).values(revoked_at=utcnow()))
        elif how == "unit of work":
            row = await session.scalar(sa.select(ApiKeyRow).where(ApiKeyRow.key_hash == hash_key(acme)))
            row.revoked_at = utcnow()
        else:
            await session.delete(await session.scalar(sa.select(WorkspaceRow).where(WorkspaceRow.name == "acme")))
        await session.commit()
    with pytest.raises(AuthenticationError):
        await cache.authenticate(sessions, acme)
    assert (await cache.authenticate(sessions, globex)).name == "globex"  # other keys are simply read again


async def test_a_change_that_is_rolled_back_leaves_the_key_working(db) -> None:
    sessions, (acme, _), _ = db
    cache = PrincipalCache(ttl_s=300)
    async with sessions() as session:
        await session.execute(sa.update(ApiKeyRow).where(ApiKeyRow.key_hash == hash_key(acme)).values(revoked_at=utcnow()))
        await session.rollback()
    assert (await cache.authenticate(sessions, acme)).name == "acme"


async def test_a_lookup_that_overlaps_a_change_is_not_stored(db, monkeypatch) -> None:
    """The race the generation counter closes: a request reads the key row, a revocation commits
    (emptying the caches), then the request would store what it read before the revocation."""
    sessions, (acme, _), _ = db
    cache = PrincipalCache(ttl_s=300)
    real = principals.key_principal

    async def read_then_revoked_elsewhere(session, raw_key):
        found = await real(session, raw_key)
        principals.invalidate_all()  # the revoking transaction commits while this lookup returns
        return found

    monkeypatch.setattr(principals, "key_principal", read_then_revoked_elsewhere)
    assert (await cache.authenticate(sessions, acme)).name == "acme"  # this request was already authorised
    assert len(cache) == 0  # but its answer is not trusted for the next one
