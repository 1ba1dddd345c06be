"""Process-local caches of database reads, emptied when the rows they were read from change.

A :class:`WatchedCache` remembers answers for ``ttl_s`` seconds and names the tables (ORM
models) its answers come from. Any change to one of those tables made through a SQLAlchemy
session of this process — a unit-of-work insert (when the cache asks for inserts), update (unless
it declines them) or delete, or an ORM-enabled ``insert()``/``update()``/``delete()`` statement —
empties every cache watching it when the statement runs *and again when its transaction commits*;
a read that was in flight meanwhile is not stored (a generation counter), so the next read sees
the change.

Across processes: when the transaction commits, the names of the tables it changed are handed to
every registered publisher (:func:`add_publisher`); with Redis configured the API process
publishes them on a pub/sub channel and every other process empties its caches watching them
(:func:`invalidate_tables`, :mod:`pilot.background.invalidation`), within milliseconds. Without
Redis, or for a message lost while a subscriber reconnects (it then empties everything), or a
change made by a process that publishes nothing, another process's entry lives at most ``ttl_s``
longer; raw SQL (``sa.text``) bypasses the hooks and is bounded the same way. The principal
cache (:mod:`pilot.auth.principals`), the credential-name cache of readiness
(:mod:`pilot.credentials.names`), the tool listing (:mod:`pilot.tools.listing`), the knowledge
snapshots (:mod:`pilot.knowledge.listing`) and readiness's tool and table lookups
(:mod:`pilot.readiness.lookups`) are built on it.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, object_session

T = TypeVar("T")
log = logging.getLogger("pilot.db.watched")
_WATCHERS: dict[type, "weakref.WeakSet[WatchedCache]"] = {}
_HOOKED: set[type] = set()
_PENDING = "pilot.db.watched.pending"  # Session.info: caches to empty again when the session commits
_TABLES = "pilot.db.watched.tables"  # Session.info: watched tables changed, told to the publishers at commit
_PUBLISHERS: list[Callable[[frozenset[str]], None]] = []


class WatchedCache(Generic[T]):
    """Answers (``key`` → value) with an expiry, dropped whenever a watched table changes in this process."""

    def __init__(self, watched: tuple[type, ...], ttl_s: float = 10.0, *, max_entries: int = 10_000,
                 clock: Callable[[], float] = time.monotonic, inserts: bool = False, updates: bool = True) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.inserts = inserts  # a new row changes the answer (a list of names), not only edits and deletes
        # False only when no column an update can change is read (ids and names that are never
        # changed): then busy counters on the watched rows neither empty it nor get published.
        self.updates = updates
        self._clock = clock
        self._entries: OrderedDict[Hashable, tuple[T, float]] = OrderedDict()
        self._generation = 0
        for model in watched:
            _WATCHERS.setdefault(model, weakref.WeakSet()).add(self)
            _hook(model)

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        """The cached answer for ``key``, else ``await load()`` (kept unless it raised or a watched
        table changed while it ran). ``ttl_s <= 0`` turns caching off."""
        if self.ttl_s <= 0:
            return await load()
        hit = self._entries.get(key)
        if hit is not None:
            if hit[1] > self._clock():
                return hit[0]
            self._entries.pop(key, None)
        generation = self._generation
        value = await load()
        if generation == self._generation:  # nothing watched changed while we read
            self._entries[key] = (value, self._clock() + self.ttl_s)
            if len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value

    def invalidate(self) -> None:
        """Forget every answer (and refuse to store reads that started before now)."""
        self._generation += 1
        self._entries.clear()


def add_publisher(publish: Callable[[frozenset[str]], None]) -> Callable[[], None]:
    """Call ``publish(table names)`` after each commit that changed a watched table (synchronously,
    inside the commit: it must only schedule its I/O). Returns the function that removes it."""
    _PUBLISHERS.append(publish)
    return lambda: _PUBLISHERS.remove(publish) if publish in _PUBLISHERS else None


def invalidate_tables(tables: Iterable[str]) -> int:
    """Empty every cache watching one of ``tables`` (another process changed them); how many."""
    names = set(tables)
    caches = {c for model, watchers in _WATCHERS.items() if model.__tablename__ in names for c in watchers}
    for cache in caches:
        cache.invalidate()
    return len(caches)


def invalidate_all() -> None:
    """Empty every cache of the process (changes may have been missed: a subscriber reconnected)."""
    for watchers in _WATCHERS.values():
        for cache in watchers:
            cache.invalidate()


def _caches_of(models, change: str) -> set[WatchedCache]:
    """The caches watching one of ``models`` that a change (``insert``/``update``/``delete``) concerns."""
    return {c for m in models for c in _WATCHERS.get(m, ())
            if (change != "insert" or c.inserts) and (change != "update" or c.updates)}


def _changed(session: Session | None, models: Iterable[type], caches: set[WatchedCache]) -> None:
    for cache in caches:
        cache.invalidate()
    if session is not None and caches:
        session.info.setdefault(_PENDING, weakref.WeakSet()).update(caches)
        session.info.setdefault(_TABLES, set()).update(m.__tablename__ for m in models)


def _hook(model: type) -> None:
    """Unit-of-work hooks for one model (once per process)."""
    if model in _HOOKED:
        return
    _HOOKED.add(model)

    def on_write(target, change: str) -> None:
        _changed(object_session(target), (model,), _caches_of((model,), change))

    event.listen(model, "after_insert", lambda _m, _c, target: on_write(target, "insert"))
    event.listen(model, "after_update", lambda _m, _c, target: on_write(target, "update"))
    event.listen(model, "after_delete", lambda _m, _c, target: on_write(target, "delete"))


@event.listens_for(Session, "do_orm_execute")
def _on_orm_statement(state: ORMExecuteState) -> None:
    """ORM-enabled ``insert(M)`` / ``update(M)`` / ``delete(M)`` statements on a watched model."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    models = [m.class_ for m in state.all_mappers if m.class_ in _WATCHERS]
    if models:
        change = "insert" if state.is_insert else "update" if state.is_update else "delete"
        _changed(state.session, models, _caches_of(models, change))


@event.listens_for(Session, "after_commit")
def _on_commit(session: Session) -> None:
    # Empty again once the change is visible to other connections: a read of the old rows between
    # the statement and the commit may have been stored (the generation counter refuses reads
    # still in flight, not ones that finished in between).
    for cache in list(session.info.pop(_PENDING, ())):
        cache.invalidate()
    tables = session.info.pop(_TABLES, None)
    if tables:
        for publish in list(_PUBLISHERS):
            try:
                publish(frozenset(tables))
            except Exception:  # noqa: BLE001 - the commit has happened: never fail it afterwards
                log.exception("a cache-invalidation publisher failed")


@event.listens_for(Session, "after_transaction_end")
def _on_transaction_end(session: Session, transaction) -> None:
    # The outermost transaction ended without a commit (after_commit took the keys otherwise):
    # forget its changes. A savepoint's rollback keeps them (the outer transaction may still commit).
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
        session.info.pop(_TABLES, None)
