"""Chat API bodies and responses (msgspec Structs)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from msgspec import Meta, Struct

from pilot.workflows.model import Workflow

MAX_MESSAGE_CHARS = 8_000


class CreateSession(Struct, frozen=True, forbid_unknown_fields=True):
    """``POST /api/chat/sessions``: optionally attached to an existing workflow of the workspace."""

    workflow_id: str | None = None
    title: Annotated[str, Meta(max_length=200)] | None = None


class PostMessage(Struct, frozen=True, forbid_unknown_fields=True):
    content: str


class ClarifyOptionOut(Struct, frozen=True):
    id: str
    label: str
    reason: str = ""


class PendingQuestion(Struct, frozen=True):
    """A clarifying question waiting for the user's next message."""

    question: str
    options: list[ClarifyOptionOut]
    prompt: str  # the request that was too vague


class ChatMessageOut(Struct, frozen=True, kw_only=True):
    id: str
    role: Literal["user", "assistant"]
    content: str
    status: str  # user: "sent"; assistant: pending | streaming | done | error
    outcome: str | None = None  # created | edited | unchanged | clarify | run | undone | error
    workflow_version: int | None = None
    execution_id: str | None = None
    stream_url: str | None = None
    created_at: datetime


class ChatSessionOut(Struct, frozen=True, kw_only=True):
    id: str
    title: str
    workflow_id: str | None
    workflow: Workflow | None = None
    pending_question: PendingQuestion | None = None
    can_undo: bool = False
    messages: list[ChatMessageOut] = []
    created_at: datetime
    updated_at: datetime


class UndoResult(Struct, frozen=True, kw_only=True):
    workflow: Workflow
    restored_version: int  # the version whose graph is now the head again
    message: str


class SessionState(Struct, kw_only=True):
    """What ``chat_sessions.state`` holds (JSON)."""

    pending: PendingQuestion | None = None
    undo: list[int] = []  # heads before each chat edit, newest last
    language: str = "en"
    extra: dict[str, Any] = {}
