"""Workspace-scoped persistence of chat sessions and messages (``chat_sessions``, ``chat_messages``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from pilot.chat.planner_base import KnownWorkflow
from pilot.chat.schemas import ChatMessageOut, SessionState
from pilot.core.errors import NotFoundError
from pilot.core.ids import aware, new_id, utcnow
from pilot.db.models import ChatMessageRow, ChatSessionRow, WorkflowRow
from pilot.workflows.model import WorkflowGraph, graph_from_builtins

KNOWN_WORKFLOWS = 200  # the most recently updated workflows a chat edit may call by name




def state_of(row: ChatSessionRow) -> SessionState:
    try:
        return msgspec.convert(row.state or {}, SessionState)
    except msgspec.ValidationError:  # an older/foreign shape: start clean rather than fail the chat
        return SessionState()


def set_state(row: ChatSessionRow, state: SessionState) -> None:
    row.state = msgspec.to_builtins(state)
    row.updated_at = utcnow()


def message_out(row: ChatMessageRow) -> ChatMessageOut:
    meta = row.metadata_ or {}
    return ChatMessageOut(
        id=row.id,
        role=row.role,  # type: ignore[arg-type]
        content=row.content,
        status=meta.get("status", "sent" if row.role == "user" else "done"),
        outcome=meta.get("outcome"),
        workflow_version=row.workflow_version,
        execution_id=meta.get("execution_id"),
        stream_url=meta.get("stream_url"),
        created_at=aware(row.created_at),
    )


class ChatStore:
    """Every query filters by the workspace (directly or through the session it belongs to)."""

    def __init__(self, session: AsyncSession, workspace_id: str) -> None:
        self.session = session
        self.workspace_id = workspace_id

    async def create_session(self, *, workflow_id: str | None, title: str) -> ChatSessionRow:
        now = utcnow()
        row = ChatSessionRow(
            id=new_id("chat"), workspace_id=self.workspace_id, workflow_id=workflow_id, title=title,
            state=msgspec.to_builtins(SessionState()), created_at=now, updated_at=now,
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def get_session(self, session_id: str, *, for_update: bool = False) -> ChatSessionRow:
        stmt = sa.select(ChatSessionRow).where(
            ChatSessionRow.id == session_id, ChatSessionRow.workspace_id == self.workspace_id
        )
        if for_update:
            stmt = stmt.with_for_update()  # PostgreSQL: one writer per session across processes
        row = (await self.session.execute(stmt)).scalar_one_or_none()
        if row is None:
            raise NotFoundError(f"chat session '{session_id}' not found")
        return row

    async def messages(self, session_id: str) -> list[ChatMessageRow]:
        await self.get_session(session_id)
        stmt = (
            sa.select(ChatMessageRow)
            .where(ChatMessageRow.session_id == session_id)
            .order_by(ChatMessageRow.created_at, ChatMessageRow.role.desc(), ChatMessageRow.id)
        )
        return list((await self.session.execute(stmt)).scalars().all())

    async def add_exchange(self, session_id: str, content: str) -> tuple[ChatMessageRow, ChatMessageRow]:
        """The user's message and the (pending) assistant reply it gets, in that order."""
        now = utcnow()
        user = ChatMessageRow(id=new_id("msg"), session_id=session_id, role="user", content=content,
                              metadata_={"status": "sent"}, created_at=now)
        reply = ChatMessageRow(id=new_id("msg"), session_id=session_id, role="assistant", content="",
                               metadata_={"status": "pending"}, created_at=now + timedelta(microseconds=1))
        self.session.add_all([user, reply])
        await self.session.flush()
        return user, reply

    async def get_message(self, session_id: str, message_id: str) -> ChatMessageRow:
        await self.get_session(session_id)
        row = await self.session.get(ChatMessageRow, message_id)
        if row is None or row.session_id != session_id:
            raise NotFoundError(f"message '{message_id}' not found in chat session '{session_id}'")
        return row

    async def finish_message(self, message_id: str, *, content: str, metadata: dict[str, Any], workflow_version: int | None) -> None:
        row = await self.session.get(ChatMessageRow, message_id)
        if row is not None:
            row.content = content
            row.metadata_ = metadata
            row.workflow_version = workflow_version
            await self.session.flush()

    async def workflow_unchanged(self, workflow_id: str, version: int, graph: WorkflowGraph) -> bool:
        """Lock the workflow row (PostgreSQL) and tell whether it still holds ``version`` with
        exactly ``graph``: a draft edited in place keeps its version number, so the version
        alone would not reveal a concurrent edit."""
        stmt = (
            sa.select(WorkflowRow)
            .where(WorkflowRow.id == workflow_id, WorkflowRow.workspace_id == self.workspace_id)
            .with_for_update()
        )
        row = (await self.session.execute(stmt)).scalar_one_or_none()
        return row is not None and row.version == version and graph_from_builtins(row.graph) == graph

    async def other_workflows(self, exclude: str | None = None) -> list[KnownWorkflow]:
        """The workspace's workflows (newest first, at most ``KNOWN_WORKFLOWS``) but ``exclude``:
        what "run the cleanup workflow" may name, with each one's required inputs."""
        stmt = (sa.select(WorkflowRow.id, WorkflowRow.name, WorkflowRow.graph)
                .where(WorkflowRow.workspace_id == self.workspace_id, WorkflowRow.id != (exclude or ""))
                .order_by(WorkflowRow.updated_at.desc()).limit(KNOWN_WORKFLOWS))
        known = []
        for wid, name, graph in (await self.session.execute(stmt)).all():
            start = next((n for n in (graph or {}).get("nodes", []) if n.get("type") == "input"), None)
            fields = (start or {}).get("config", {}).get("fields", [])
            inputs = tuple(f["name"] for f in fields if f.get("required", True) and f.get("default") is None and "name" in f)
            known.append(KnownWorkflow(id=wid, name=name or wid, inputs=inputs))
        return known
