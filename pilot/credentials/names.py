"""The names of each workspace's credentials, cached per process for readiness checks.

Readiness (:mod:`pilot.readiness`) asks which credentials a workspace has on every generation and
chat turn; reading them costs a query (~0.4 ms of a request on SQLite, more than the rest of a
cached generation). :class:`CredentialNames` keeps the answer per workspace for
``PILOT_AUTH_CACHE_TTL_S`` seconds (the principal cache's setting: the same staleness bound)
and drops it as soon as a credential is created, renamed or deleted through any session of this
process (:mod:`pilot.db.watched`) or, with Redis, of any process. Without Redis another API process
sees such a change only within the TTL, which is why only advisory readiness (a generation's
report, chat's ``workflow.ready``) reads through the cache; publishing and ``GET …/readiness``
read the table.
"""

from __future__ import annotations

from collections.abc import Set

from sqlalchemy.ext.asyncio import AsyncSession

from pilot.credentials.store import workspace_credential_names
from pilot.db.models import CredentialRow
from pilot.db.watched import WatchedCache


class CredentialNames:
    """Workspace id → the names of its credentials (never their values)."""

    def __init__(self, ttl_s: float = 10.0) -> None:
        self._names: WatchedCache[frozenset[str]] = WatchedCache((CredentialRow,), ttl_s, inserts=True)

    async def get(self, session: AsyncSession, workspace_id: str) -> Set[str]:
        """The names, read through ``session`` when not cached."""

        async def read() -> frozenset[str]:
            return frozenset(await workspace_credential_names(session, workspace_id))

        return await self._names.get(workspace_id, read)
