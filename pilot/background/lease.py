"""A worker's lease on one execution: atomic claim, heartbeat, fencing, hand-back.

The ``executions`` row is the lock. ``claim`` moves it ``queued → running`` (or takes over a
``running`` row whose heartbeat went stale: its worker died) in ONE conditional UPDATE, so of
two deliveries of the same job exactly one runs it. The holder's ``worker_id`` is a token unique
to this attempt; every heartbeat is ``UPDATE … WHERE worker_id = token`` — when it matches no
row the lease was lost (the sweeper handed the run to someone else) and this attempt must stop
without writing. The same UPDATE returns ``cancel_requested``, so the heartbeat is also the
durable path of a cross-process cancel.

The run's event stream is fenced with the same token: the attempt publishes under it, and an
attempt that takes a run over makes its own token the stream's owner before it reads the
stream (:meth:`pilot.background.redis_bus.RedisStreamBus.take_over`), so a stalled holder's
late events are refused on the bus — and then not stored either (:mod:`pilot.events.recorder`).
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pilot.engine import lifecycle
from pilot.engine.lifecycle import HOST, Claim, new_token

log = logging.getLogger("pilot.background.lease")

__all__ = ["HOST", "Claim", "Lease", "new_token"]


class Lease:
    """One attempt's hold on one execution (see the module docstring); the transitions
    themselves are in :mod:`pilot.engine.lifecycle`."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], execution_id: str, *, stale_after_s: float) -> None:
        self.sessions = sessions
        self.execution_id = execution_id
        self.token = new_token()
        self.stale_after_s = stale_after_s
        self.lost = asyncio.Event()

    async def claim(self) -> Claim | None:
        """Take the execution if it is queued or its holder is presumed dead; None if not ours to run."""
        return await lifecycle.claim(self.sessions, self.execution_id, self.token, stale_after_s=self.stale_after_s)

    async def beat(self) -> bool | None:
        """Refresh ``heartbeat_at``. Returns ``cancel_requested``, or None when the lease is lost."""
        cancel = await lifecycle.heartbeat(self.sessions, self.execution_id, self.token)
        if cancel is None:
            self.lost.set()
        return cancel

    async def heartbeat(self, interval_s: float, on_cancel) -> None:
        """Beat every ``interval_s`` until cancelled; ``on_cancel()`` when a cancel is seen. When
        another attempt took the execution over, ``self.lost`` is set (the executor stops
        without ending the stream) and the heartbeat ends.

        A database hiccup is logged and retried on the next beat (the stale threshold is several
        beats long). But a holder that has not beaten for almost ``stale_after_s`` must assume
        the run may be taken over (the sweeper only sees a stale heartbeat, not why): it sets
        ``self.lost`` and stops one beat before that can happen, rather than go on running
        nodes — and their side effects — next to the attempt that takes over.
        """
        give_up_after = max(interval_s, self.stale_after_s - interval_s)
        last_beat = time.monotonic()  # claimed just now: the claim wrote the heartbeat
        while True:
            await asyncio.sleep(interval_s)
            try:
                cancel = await self.beat()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001
                log.warning("heartbeat of %s failed: %s", self.execution_id, type(exc).__name__)
                if time.monotonic() - last_beat >= give_up_after:
                    log.warning("no heartbeat of %s for %.0f s: another worker may take it over; stopping this attempt",
                                self.execution_id, time.monotonic() - last_beat)
                    self.lost.set()
                    return
                continue
            last_beat = time.monotonic()
            if cancel is None:
                log.warning("lease on %s lost (another worker took it over); stopping this attempt", self.execution_id)
                return
            if cancel:
                on_cancel()

    async def hand_back(self) -> bool:
        """Return a still-unfinished execution to ``queued`` (graceful worker shutdown)."""
        return await lifecycle.hand_back(self.sessions, self.execution_id, token=self.token)
