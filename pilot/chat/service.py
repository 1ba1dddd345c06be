"""ChatService: sessions, and one chat turn = understand → (create | edit | run | undo | ask) → stream.

A turn runs as a runtime-owned task (``runtime.spawn``), never tied to the HTTP connection, so a
client that disconnects still gets the final state persisted; its events go through an
:class:`~pilot.events.recorder.EventRecorder` (stream id = the assistant message id), so any
client can (re)attach with ``Last-Event-ID``.

Consistency: turns of one session are serialised by an in-process lock per session; across
processes, writes re-read the session row ``FOR UPDATE`` (PostgreSQL) and save the workflow
with an optimistic ``base_version`` check, re-planning on a conflict — no lost update. Every
edit is saved as a new workflow version (the previous one kept, pushed on the session's undo
stack); the workflow row is written before ``workflow.ready`` and the reply message before
``message.finished``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pilot.core.pasted_secrets import find_pasted_secret, refusal
from pilot.generation.text import detect_language
from pilot.chat import replies
from pilot.chat.events import ErrorEvent, MessageFinished, MessageStarted
from pilot.chat.schemas import MAX_MESSAGE_CHARS, ChatSessionOut, CreateSession, UndoResult
from pilot.chat.store import ChatStore, message_out, state_of
from pilot.core.ids import aware
from pilot.chat.turns import MAX_ATTEMPTS, Retry, Snapshot, Turn, TurnHandlers, TurnResult, undone_text
from pilot.core.errors import ConflictError, NotFoundError, PilotError, UnprocessableError
from pilot.events.recorder import EventRecorder
from pilot.workflows.service import WorkflowService

log = logging.getLogger("pilot.chat")


class ChatService(TurnHandlers):
    """One per process (``runtime.chat``)."""

    def __init__(self, runtime: Any) -> None:
        self.rt = runtime
        self._locks: dict[str, list] = {}  # session id → [lock, holders + waiters]

    @asynccontextmanager
    async def _lock(self, session_id: str) -> AsyncIterator[None]:
        """Serialise the turns (and undos) of one session in this process; the entry is dropped
        when nobody holds or waits for it, so the table does not grow with every session."""
        entry = self._locks.setdefault(session_id, [asyncio.Lock(), 0])
        entry[1] += 1
        try:
            async with entry[0]:
                yield
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                self._locks.pop(session_id, None)

    # ------------------------------------------------------------------ sessions

    async def create_session(self, db, workspace_id: str, data: CreateSession) -> ChatSessionOut:
        title = (data.title or "").strip()
        if data.workflow_id is not None:
            workflow = await WorkflowService(db, workspace_id).get(data.workflow_id)  # 404 across workspaces
            title = title or workflow.name
        row = await ChatStore(db, workspace_id).create_session(workflow_id=data.workflow_id, title=title)
        return await self.get_session(db, workspace_id, row.id)

    async def get_session(self, db, workspace_id: str, session_id: str) -> ChatSessionOut:
        store = ChatStore(db, workspace_id)
        row = await store.get_session(session_id)
        # messages first, then the session again: a turn running meanwhile (in this process, between
        # these awaits) links its workflow before it marks its reply done, so a done reply is always
        # shown with that workflow
        messages = [message_out(m) for m in await store.messages(session_id)]
        await db.refresh(row)
        state = state_of(row)
        workflow = None
        if row.workflow_id:
            try:
                workflow = await WorkflowService(db, workspace_id).get(row.workflow_id)
            except NotFoundError:  # deleted meanwhile
                workflow = None
        pending = state.pending
        return ChatSessionOut(
            id=row.id, title=row.title, workflow_id=row.workflow_id if workflow else None, workflow=workflow,
            pending_question=pending, can_undo=bool(workflow and state.undo),
            messages=messages,
            created_at=aware(row.created_at), updated_at=aware(row.updated_at),
        )

    async def post_message(self, workspace_id: str, session_id: str, content: str) -> str:
        """Store the user's message and a pending reply, start the turn; returns the reply's id
        (= its stream id)."""
        text = (content or "").strip()
        if not text:
            raise UnprocessableError("content: must not be empty", extra={"field": "content"})
        if len(text) > MAX_MESSAGE_CHARS:
            raise UnprocessableError(f"content: must be at most {MAX_MESSAGE_CHARS} characters", extra={"field": "content"})
        found = find_pasted_secret(text)
        if found is not None:  # never stored in the chat history nor copied into the workflow
            raise UnprocessableError(refusal(found, field="content", zh=detect_language(text) == "zh"),
                                     extra={"field": "content", "secret": found[0], "credential_name": found[1]})
        async with self.rt.sessions() as db:
            store = ChatStore(db, workspace_id)
            await store.get_session(session_id)
            user, reply = await store.add_exchange(session_id, text)
            await db.commit()
        self.rt.spawn(self._run_turn(workspace_id, session_id, user.id, reply.id, text), name=f"chat:{reply.id}")
        return reply.id

    async def check_message(self, workspace_id: str, session_id: str, message_id: str) -> None:
        async with self.rt.sessions() as db:
            await ChatStore(db, workspace_id).get_message(session_id, message_id)

    async def undo(self, workspace_id: str, session_id: str) -> UndoResult:
        """Restore the version before the chat's last edit (as a new version). 409 if none."""
        async with self._lock(session_id):
            _, after, restored, lang = await self._undo(workspace_id, session_id)
            text = undone_text(lang, restored, after.version)
            async with self.rt.sessions() as db:
                store = ChatStore(db, workspace_id)
                _, reply = await store.add_exchange(session_id, "/undo")
                await store.finish_message(reply.id, content=text, metadata={"status": "done", "outcome": "undone"},
                                           workflow_version=after.version)
                await db.commit()
        return UndoResult(workflow=after, restored_version=restored, message=text)

    # ------------------------------------------------------------------ the turn

    async def _run_turn(self, workspace_id: str, session_id: str, user_id: str, reply_id: str, content: str) -> None:
        async with self._lock(session_id):
            recorder = EventRecorder(reply_id, bus=self.rt.bus, sessions=self.rt.sessions)
            turn = Turn(recorder, workspace_id=workspace_id, session_id=session_id, content=content)
            cancelled = False
            try:
                turn.emit(MessageStarted(message_id=reply_id, session_id=session_id, reply_to=user_id))
                await self._set_status(workspace_id, reply_id, "streaming")
                result = await self._dispatch(turn)
            except asyncio.CancelledError:
                cancelled = True
                result = TurnResult("error", "The server stopped before this reply finished; the workflow was not changed by it.",
                                    error="the server is shutting down")
            except PilotError as exc:
                result = TurnResult("error", self._sorry(turn.lang, exc.detail), error=exc.detail)
            except Exception:
                log.exception("chat turn %s failed", reply_id)
                result = TurnResult("error", self._sorry(turn.lang, "internal error"), error="internal error")
            try:
                await self._finish(turn, reply_id, result)
            finally:
                await recorder.aclose()
            if cancelled:
                raise asyncio.CancelledError

    async def _finish(self, turn: Turn, reply_id: str, result: TurnResult) -> None:
        if result.error:
            turn.emit(ErrorEvent(message=result.error, code=result.outcome))
        await turn.say(result.text)
        meta = {"status": "error" if result.outcome == "error" else "done", "outcome": result.outcome, **result.meta}
        async with self.rt.sessions() as db:  # persisted before message.finished
            await ChatStore(db, turn.workspace_id).finish_message(
                reply_id, content=result.text, metadata=meta, workflow_version=result.workflow_version
            )
            await db.commit()
        turn.emit(MessageFinished(
            message_id=reply_id, outcome=result.outcome, content=result.text, workflow_id=result.workflow_id,
            workflow_version=result.workflow_version, execution_id=result.meta.get("execution_id"),
            stream_url=result.meta.get("stream_url"),
        ))

    async def _set_status(self, workspace_id: str, reply_id: str, status: str) -> None:
        async with self.rt.sessions() as db:
            await ChatStore(db, workspace_id).finish_message(reply_id, content="", metadata={"status": status}, workflow_version=None)
            await db.commit()

    async def _dispatch(self, turn: Turn) -> TurnResult:
        for _ in range(MAX_ATTEMPTS):
            snap = await self._snapshot(turn.workspace_id, turn.session_id)
            try:
                return await self._route(turn, snap)
            except Retry:
                continue
        raise ConflictError("the workflow kept changing while this message was processed; please send it again")

    async def _route(self, turn: Turn, snap: Snapshot) -> TurnResult:
        text = turn.content
        if replies.is_undo(text):
            return await self._undo_turn(turn)
        if snap.workflow is None:
            pending = snap.state.pending
            if pending is not None:
                choice = replies.resolve_answer(text, pending)
                return await self._create(turn, pending.prompt if choice else f"{pending.prompt} {text}", choice=choice, ask=False)
            return await self._create(turn, text)
        if replies.is_run(text):
            return await self._run(turn, snap.workflow)
        return await self._refine(turn, snap)
