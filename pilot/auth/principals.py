"""The authenticated-principal cache: credentials → principal without a database read per request.

Every ``/api/*`` request authenticates by its bearer API key or access token. Looking it up opens
a session and runs a query (~1.3 ms on SQLite, most of a cheap request), so
:class:`PrincipalCache` remembers the answers for ``ttl_s`` seconds (``PILOT_AUTH_CACHE_TTL_S``,
10 s by default; 0 turns it off): an API key's principal (keyed by the key's sha256; the raw key
is not kept), a login session's user (keyed by the session id an access token carries), and a
user's membership of a workspace. Only successful lookups are cached, and the cache holds at
most ``max_entries`` answers (oldest dropped first).

Staleness:

- **In this process, none.** Any change to ``api_keys``, ``workspaces``, ``users``,
  ``memberships`` or ``auth_sessions`` made through a SQLAlchemy session — an ORM update/delete
  of a row (unit of work) or an ORM-enabled ``update()``/``delete()`` statement; revoking a key,
  logging out (revoking a session), changing or removing a member, deleting a workspace (its
  keys go with it by ``ON DELETE CASCADE``) — empties every cache of the process when the
  statement runs *and again when its transaction commits*; a lookup that read the old row
  meanwhile is not stored (a generation counter), so the very next request sees the change.
- **Across processes, with Redis** (``REDIS_URL``), the commit is published and every other API
  process empties its caches of the changed tables within milliseconds
  (:mod:`pilot.background.invalidation`; ``pilot users …`` commands publish too).
- **Otherwise** (no Redis, a message lost while Redis was down, raw SQL (``sa.text``), which
  bypasses the hooks), a change reaches another process's cache when that process's entry
  expires: a revoked key keeps working there for at most ``ttl_s`` seconds (so does a logged-out
  access token; an access token's expiry is checked on every request, without the cache).

The expiry, the change hooks and the generation counter are :class:`pilot.db.watched.WatchedCache`'s.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pilot.auth.identity import key_principal, membership, session_principal
from pilot.auth.roles import Principal
from pilot.auth.service import Workspace, hash_key
from pilot.core.errors import AuthenticationError
from pilot.db.models import ApiKeyRow, AuthSessionRow, MembershipRow, UserRow, WorkspaceRow
from pilot.db.watched import WatchedCache

_CACHES: "weakref.WeakSet[PrincipalCache]" = weakref.WeakSet()
_WATCHED = (ApiKeyRow, WorkspaceRow, UserRow, MembershipRow, AuthSessionRow)
MISSING_CREDENTIALS = "missing API key or access token: send 'Authorization: Bearer <key or token>'"


class PrincipalCache:
    """Credentials → principal answers with an expiry, per process (one per :class:`~pilot.runtime.Runtime`)."""

    def __init__(self, ttl_s: float = 10.0, *, max_entries: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._answers: WatchedCache[Any] = WatchedCache(_WATCHED, ttl_s, max_entries=max_entries, clock=clock)
        _CACHES.add(self)

    def __len__(self) -> int:
        return len(self._answers)

    async def authenticate(self, sessions: async_sessionmaker[AsyncSession], raw_key: str | None) -> Workspace:
        """An API key's workspace (cached), or 401 (for callers that need only the workspace)."""
        return (await self.key(sessions, raw_key)).workspace  # type: ignore[return-value]

    async def key(self, sessions: async_sessionmaker[AsyncSession], raw_key: str | None) -> Principal:
        """An API key's principal: its workspace, role and key id; 401 when missing or invalid."""
        if not raw_key:
            raise AuthenticationError(MISSING_CREDENTIALS)
        return await self._cached(sessions, "k:" + hash_key(raw_key), lambda s: key_principal(s, raw_key))

    async def login_session(self, sessions: async_sessionmaker[AsyncSession], session_id: str) -> Principal:
        """The user of a live login session (no workspace yet); 401 once it is revoked or expired."""
        return await self._cached(sessions, "s:" + session_id, lambda s: session_principal(s, session_id))

    async def membership(self, sessions: async_sessionmaker[AsyncSession], user_id: str,
                         workspace_ref: str | None) -> tuple[Workspace, str]:
        """The workspace a user acts in and their role there (see :func:`pilot.auth.identity.membership`)."""
        return await self._cached(sessions, f"m:{user_id}:{workspace_ref or ''}",
                                  lambda s: membership(s, user_id, workspace_ref))

    async def _cached(self, sessions: async_sessionmaker[AsyncSession], cache_key: str,
                      load: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
        async def read() -> Any:
            async with sessions() as session:
                return await load(session)  # raises (401/403/404): nothing is cached

        return await self._answers.get(cache_key, read)

    def invalidate(self) -> None:
        """Forget every principal (and refuse to store lookups that started before now)."""
        self._answers.invalidate()


def invalidate_all() -> None:
    """Empty every principal cache of the process (keys, workspaces, users, members or sessions changed)."""
    for cache in list(_CACHES):
        cache.invalidate()
