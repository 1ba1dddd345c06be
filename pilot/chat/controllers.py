"""HTTP API of the chat: sessions, messages answered over SSE, reconnects, undo."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.types import ASGIApp

from pilot.chat.schemas import ChatSessionOut, CreateSession, PostMessage, UndoResult
from pilot.dependencies import CurrentWorkspace, DbSession, RuntimeDep
from pilot.events.sse import event_stream_response, parse_last_event_id


def _stream(runtime, request: Request, message_id: str, last_event_id: str | None) -> ASGIApp:
    return event_stream_response(
        stream_id=message_id, bus=runtime.bus, sessions=runtime.sessions,
        last_event_id=parse_last_event_id(request.headers.get("last-event-id") or last_event_id),
        ping_s=runtime.settings.engine.sse_ping_s,
    )


class ChatController(Controller):
    path = "/api/chat/sessions"
    tags = ("chat",)

    @post("/", status_code=201)
    async def create_session(
        self, data: JSONBody[CreateSession], db: DbSession, workspace: CurrentWorkspace, runtime: RuntimeDep
    ) -> ChatSessionOut:
        """Start a chat, optionally about an existing workflow of this workspace (404 otherwise)."""
        return await runtime.chat.create_session(db, workspace.id, data)

    @get("/{session_id:str}")
    async def get_session(
        self, session_id: FromPath[str], db: DbSession, workspace: CurrentWorkspace, runtime: RuntimeDep
    ) -> ChatSessionOut:
        """The history, the current workflow, a pending clarifying question and whether undo is possible."""
        return await runtime.chat.get_session(db, workspace.id, session_id)

    @post("/{session_id:str}/messages", status_code=200)
    async def post_message(
        self, request: Request, session_id: FromPath[str], data: JSONBody[PostMessage],
        workspace: CurrentWorkspace, runtime: RuntimeDep,
    ) -> ASGIApp:
        """Send a message; the reply streams as SSE (``message.started`` … ``message.finished``).

        The reply is produced by a server-side task: disconnecting does not stop it, and
        ``GET …/messages/{message_id}/stream`` (with ``Last-Event-ID``) resumes the stream.
        The reply's id is the ``X-Message-Id`` header and ``message.started``'s ``message_id``."""
        message_id = await runtime.chat.post_message(workspace.id, session_id, data.content)
        response = _stream(runtime, request, message_id, None)
        response.headers["X-Message-Id"] = message_id
        return response

    @get("/{session_id:str}/messages/{message_id:str}/stream")
    async def stream_message(
        self, request: Request, session_id: FromPath[str], message_id: FromPath[str],
        workspace: CurrentWorkspace, runtime: RuntimeDep, last_event_id: FromQuery[str | None] = None,
    ) -> ASGIApp:
        """(Re)attach to a reply's stream: events after ``Last-Event-ID`` (all of them without it)."""
        await runtime.chat.check_message(workspace.id, session_id, message_id)
        return _stream(runtime, request, message_id, last_event_id)

    @post("/{session_id:str}/undo", status_code=200)
    async def undo(self, session_id: FromPath[str], workspace: CurrentWorkspace, runtime: RuntimeDep) -> UndoResult:
        """Restore the workflow as it was before the chat's last edit (saved as a new version);
        409 when there is nothing to undo."""
        return await runtime.chat.undo(workspace.id, session_id)
