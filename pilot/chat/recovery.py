"""Replies left unfinished by a process that died mid-turn get an honest ending at start-up.

A turn writes its reply text only at the very end, so an assistant message with empty content
that is older than any turn can take belongs to a turn nobody is running any more. Its stream
gets ``error`` + ``message.finished`` (so a reconnecting client is not left waiting) and the
message says what happened. The age threshold keeps other live processes' turns untouched.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from pilot.chat.events import ErrorEvent, MessageFinished, payload_to_event
from pilot.core.ids import utcnow
from pilot.db.models import ChatMessageRow, StreamEventRow

log = logging.getLogger("pilot.chat")

INTERRUPTED_AFTER_S = 600.0
INTERRUPTED_TEXT = ("This reply was interrupted because the server stopped; it may not have finished its change. "
                    "Check the workflow and send the message again if needed.")


async def close_interrupted_replies(sessions: Any, *, older_than_s: float = INTERRUPTED_AFTER_S) -> int:
    """End every reply that has been pending for longer than ``older_than_s``; returns how many."""
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    async with sessions() as db:
        stale = (await db.execute(
            sa.select(ChatMessageRow).where(
                ChatMessageRow.role == "assistant", ChatMessageRow.content == "", ChatMessageRow.created_at < cutoff
            )
        )).scalars().all()
        for row in stale:
            events = (await db.execute(
                sa.select(StreamEventRow.seq, StreamEventRow.event).where(StreamEventRow.stream_id == row.id)
            )).all()
            row.content = INTERRUPTED_TEXT
            row.metadata_ = {"status": "error", "outcome": "error"}
            if any(event == "message.finished" for _, event in events):
                continue
            seq = max((s for s, _ in events), default=0)
            for payload in (ErrorEvent(message="interrupted", code="interrupted"),
                            MessageFinished(message_id=row.id, outcome="error", content=INTERRUPTED_TEXT)):
                seq += 1
                name, data = payload_to_event(payload)
                db.add(StreamEventRow(stream_id=row.id, seq=seq, event=name, data=data, created_at=utcnow()))
        await db.commit()
    if stale:
        log.warning("closed %d chat replies interrupted by a previous shutdown", len(stale))
    return len(stale)


async def start_chat(runtime: Any) -> None:
    """Start-up hook: replies a crash left unfinished are closed. The process's ChatService itself
    is built on first use (``runtime.chat``), so the chat stack is not imported before the server
    answers."""
    await close_interrupted_replies(runtime.sessions)
