"""A worker's lease on one execution: atomic claim, heartbeat, fencing, hand-back.

The ``executions`` row is the lock. ``claim`` moves it ``queued → running`` (or takes over a
``running`` row whose heartbeat went stale: its worker died) in ONE conditional UPDATE, so of
two deliveries of the same job exactly one runs it. The holder's ``worker_id`` is a token unique
to this attempt; every heartbeat is ``UPDATE … WHERE worker_id = token`` — when it matches no
row the lease was lost (the sweeper handed the run to someone else) and this attempt must stop
without writing. The same UPDATE returns ``cancel_requested``, so the heartbeat is also the
durable path of a cross-process cancel.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pilot.core.ids import utcnow
from pilot.db.models import ExecutionRow

log = logging.getLogger("pilot.background.lease")

HOST = socket.gethostname()


def new_worker_token() -> str:
    """``host:pid:random``: names the process in ``executions.worker_id`` and fences this attempt."""
    return f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True, slots=True)
class Claim:
    attempts: int  # including this one
    cancel_requested: bool
    resumed: bool  # an earlier attempt ran part of this execution


class Lease:
    """One attempt's hold on one execution (see the module docstring)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], execution_id: str, *, stale_after_s: float) -> None:
        self.sessions = sessions
        self.execution_id = execution_id
        self.token = new_worker_token()
        self.stale_after_s = stale_after_s
        self.lost = asyncio.Event()

    async def claim(self) -> Claim | None:
        """Take the execution if it is queued or its holder is presumed dead; None if not ours to run."""
        now = utcnow()
        stale = now - timedelta(seconds=self.stale_after_s)
        t = ExecutionRow.__table__
        stmt = (
            sa.update(t)
            .where(
                t.c.id == self.execution_id,
                sa.or_(
                    t.c.status == "queued",
                    sa.and_(t.c.status == "running", sa.or_(t.c.heartbeat_at.is_(None), t.c.heartbeat_at < stale)),
                ),
            )
            .values(status="running", worker_id=self.token, attempts=t.c.attempts + 1, heartbeat_at=now,
                    started_at=sa.func.coalesce(t.c.started_at, now))
            .returning(t.c.attempts, t.c.cancel_requested, t.c.last_seq)
        )
        async with self.sessions() as session:
            row = (await session.execute(stmt)).first()
            await session.commit()
        if row is None:
            return None
        attempts, cancel_requested, last_seq = row
        return Claim(attempts=attempts, cancel_requested=bool(cancel_requested), resumed=attempts > 1 or last_seq > 0)

    async def beat(self) -> bool | None:
        """Refresh ``heartbeat_at``. Returns ``cancel_requested``, or None when the lease is lost."""
        t = ExecutionRow.__table__
        # Fenced on the token only: a run that just finished keeps its worker_id, so it is not "lost".
        stmt = (
            sa.update(t)
            .where(t.c.id == self.execution_id, t.c.worker_id == self.token)
            .values(heartbeat_at=utcnow())
            .returning(t.c.cancel_requested)
        )
        async with self.sessions() as session:
            row = (await session.execute(stmt)).first()
            await session.commit()
        if row is None:
            self.lost.set()
            return None
        return bool(row[0])

    async def heartbeat(self, interval_s: float, on_cancel) -> None:
        """Beat every ``interval_s`` until cancelled; ``on_cancel()`` when a cancel is seen. When
        another attempt took the execution over, ``self.lost`` is set (the executor stops
        without ending the stream) and the heartbeat ends.

        A database hiccup is logged and retried on the next beat (the stale threshold is several
        beats long), never fatal to the run.
        """
        while True:
            await asyncio.sleep(interval_s)
            try:
                cancel = await self.beat()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001
                log.warning("heartbeat of %s failed: %s", self.execution_id, type(exc).__name__)
                continue
            if cancel is None:
                log.warning("lease on %s lost (another worker took it over); stopping this attempt", self.execution_id)
                return
            if cancel:
                on_cancel()

    async def hand_back(self) -> bool:
        """Return a still-unfinished execution to ``queued`` (graceful worker shutdown)."""
        t = ExecutionRow.__table__
        stmt = (
            sa.update(t)
            .where(t.c.id == self.execution_id, t.c.worker_id == self.token, t.c.status == "running")
            .values(status="queued", worker_id=None)
        )
        async with self.sessions() as session:
            result = await session.execute(stmt)
            await session.commit()
        return result.rowcount == 1
