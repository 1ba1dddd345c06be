"""A chat client for tests over a real socket: send messages, read the SSE replies."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import aconnect_sse


@dataclass
class Reply:
    message_id: str | None
    events: list[tuple[int, str, dict[str, Any]]]

    @property
    def names(self) -> list[str]:
        return [name for _, name, _ in self.events]

    def of(self, name: str) -> list[dict[str, Any]]:
        return [data for _, n, data in self.events if n == name]

    @property
    def finished(self) -> dict[str, Any]:
        (data,) = self.of("message.finished")
        return data

    @property
    def text(self) -> str:
        return "".join(d["text"] for d in self.of("message.delta"))

    @property
    def workflow(self) -> dict[str, Any] | None:
        ready = self.of("workflow.ready")
        return ready[-1]["workflow"] if ready else None


class ChatClient:
    def __init__(self, base_url: str, key: str) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=60)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def session(self, **body: Any) -> dict[str, Any]:
        response = await self.http.post("/api/chat/sessions", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    async def get(self, session_id: str) -> dict[str, Any]:
        response = await self.http.get(f"/api/chat/sessions/{session_id}")
        assert response.status_code == 200, response.text
        return response.json()

    async def _read(self, method: str, url: str, *, limit: int | None = None, **kw: Any) -> Reply:
        events: list[tuple[int, str, dict[str, Any]]] = []
        message_id = None
        async with aconnect_sse(self.http, method, url, **kw) as source:
            assert source.response.status_code == 200, (await source.response.aread()).decode()
            message_id = source.response.headers.get("x-message-id")
            async for sse in source.aiter_sse():
                if not sse.event or (sse.event == "message" and not sse.data):
                    continue
                events.append((int(sse.id), sse.event, json.loads(sse.data)))
                if limit is not None and len(events) >= limit:
                    break
        if message_id is None and events and events[0][1] == "message.started":
            message_id = events[0][2]["message_id"]
        return Reply(message_id, events)

    async def send(self, session_id: str, content: str, *, limit: int | None = None) -> Reply:
        """Post a message and read its reply stream to the end (or ``limit`` events)."""
        return await self._read("POST", f"/api/chat/sessions/{session_id}/messages", json={"content": content}, limit=limit)

    async def reconnect(self, session_id: str, message_id: str, last_event_id: int | None = None) -> Reply:
        headers = {"Last-Event-ID": str(last_event_id)} if last_event_id is not None else {}
        return await self._read("GET", f"/api/chat/sessions/{session_id}/messages/{message_id}/stream", headers=headers)

    async def undo(self, session_id: str) -> httpx.Response:
        return await self.http.post(f"/api/chat/sessions/{session_id}/undo")

    async def workflow(self, workflow_id: str) -> dict[str, Any]:
        response = await self.http.get(f"/api/workflows/{workflow_id}")
        assert response.status_code == 200, response.text
        return response.json()
