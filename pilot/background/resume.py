"""Before the next attempt resumes an interrupted run: persist what its dead writer published.

An attempt writes events to the bus first and to ``stream_events`` write-behind, with the node
results they imply in the same transaction (:mod:`pilot.events.projection`). So after a SIGKILL
the only gap is events that reached Redis but not the database; :func:`reconcile` persists them
(and, through the same projection, their node results) with the lease held, so the next attempt
restores every node the stream reports as finished and never runs or announces one twice.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pilot.background.sweeper import backfill_events

log = logging.getLogger("pilot.background.resume")


async def reconcile(
    sessions: async_sessionmaker[AsyncSession], bus: Any, execution_id: str, *, token: str | None = None,
) -> dict[str, int]:
    """Persist the events (and projected node results) only the bus retained; returns counts.
    ``token``: the resuming attempt's lease token — the stream is taken over for it before the
    bus is read, so a previous attempt that is only stalled cannot add events after the read."""
    backfilled = await backfill_events(sessions, bus, execution_id, token=token)
    if backfilled:
        log.info("execution %s: %d events backfilled from the bus before resuming", execution_id, backfilled)
    return {"backfilled": backfilled}
