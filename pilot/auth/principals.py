"""The authenticated-principal cache: API key → workspace without a database read per request.

Every ``/api/*`` request authenticates by its bearer key. Looking the key up opens a session and
runs a query (~1.3 ms on SQLite, most of a cheap request), so :class:`PrincipalCache` remembers
the answer for ``ttl_s`` seconds (``PILOT_AUTH_CACHE_TTL_S``, 10 s by default; 0 turns it off).
Only successful lookups are cached, keyed by the key's sha256 (the raw key is not kept), and the
cache holds at most ``max_entries`` keys (oldest dropped first).

Staleness:

- **In this process, none.** Any change to ``api_keys`` or ``workspaces`` made through a
  SQLAlchemy session — an ORM update/delete of a row (unit of work) or an ORM-enabled
  ``update()``/``delete()`` statement; revoking or rotating a key, renaming or deleting a
  workspace (its keys go with it by ``ON DELETE CASCADE``) — empties every cache of the process
  when the statement runs *and again when its transaction commits*; a lookup that read the old
  row meanwhile is not stored (a generation counter), so the very next request sees the change.
- **Across processes** (several API processes, or ``pilot keys …`` run from a shell), a change
  reaches another process's cache when that process's entry expires: a revoked key keeps
  working there for at most ``ttl_s`` seconds. Raw SQL (``sa.text``) bypasses the hooks in this
  process too and is bounded the same way.
"""

from __future__ import annotations

import time
import weakref
from collections import OrderedDict
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import ORMExecuteState, Session, object_session

from pilot.auth.service import Workspace, authenticate, hash_key
from pilot.db.models import ApiKeyRow, WorkspaceRow

_CACHES: "weakref.WeakSet[PrincipalCache]" = weakref.WeakSet()
_WATCHED = (ApiKeyRow, WorkspaceRow)
_CHANGED = "pilot.auth.principals_changed"  # Session.info flag: commit must invalidate again


class PrincipalCache:
    """Key hash → (workspace, expiry), per process (one per :class:`~pilot.runtime.Runtime`)."""

    def __init__(self, ttl_s: float = 10.0, *, max_entries: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[Workspace, float]] = OrderedDict()
        self._generation = 0
        _CACHES.add(self)

    def __len__(self) -> int:
        return len(self._entries)

    async def authenticate(self, sessions: async_sessionmaker[AsyncSession], raw_key: str | None) -> Workspace:
        """The key's workspace (cached), or the 401 of :func:`pilot.auth.service.authenticate`."""
        if not raw_key or self.ttl_s <= 0:
            async with sessions() as session:
                return await authenticate(session, raw_key)
        digest = hash_key(raw_key)
        hit = self._entries.get(digest)
        if hit is not None:
            if hit[1] > self._clock():
                return hit[0]
            self._entries.pop(digest, None)
        generation = self._generation
        async with sessions() as session:
            workspace = await authenticate(session, raw_key)  # raises 401: nothing is cached
        if generation == self._generation:  # no key/workspace changed while we read
            self._entries[digest] = (workspace, self._clock() + self.ttl_s)
            if len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return workspace

    def invalidate(self) -> None:
        """Forget every principal (and refuse to store lookups that started before now)."""
        self._generation += 1
        self._entries.clear()


def invalidate_all() -> None:
    """Empty every principal cache of the process (keys or workspaces changed)."""
    for cache in list(_CACHES):
        cache.invalidate()


def _changed(session: Session | None) -> None:
    invalidate_all()
    if session is not None:
        session.info[_CHANGED] = True


@event.listens_for(Session, "do_orm_execute")
def _on_orm_statement(state: ORMExecuteState) -> None:
    """ORM-enabled ``update(ApiKeyRow)…`` / ``delete(WorkspaceRow)…`` statements."""
    if (state.is_update or state.is_delete) and any(m.class_ in _WATCHED for m in state.all_mappers):
        _changed(state.session)


def _on_flush_change(_mapper, _connection, target) -> None:
    """A key or workspace row updated or deleted by a session's unit of work."""
    _changed(object_session(target))


for _model in _WATCHED:
    event.listen(_model, "after_update", _on_flush_change)
    event.listen(_model, "after_delete", _on_flush_change)


@event.listens_for(Session, "after_commit")
def _on_commit(session: Session) -> None:
    # Invalidate again once the change is visible to other connections: a request that read the
    # old row between the statement and the commit may have cached it (the generation counter
    # refuses lookups still in flight).
    if session.info.pop(_CHANGED, False):
        invalidate_all()


@event.listens_for(Session, "after_rollback")
def _on_rollback(session: Session) -> None:
    session.info.pop(_CHANGED, None)
