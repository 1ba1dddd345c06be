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


def assert_built_op_by_op(reply: Reply) -> list[str]:
    """The reply streamed its workflow as it was built: one ``workflow.node_added`` per node of
    the final graph (with its laid-out position), one ``workflow.edge_added`` per edge, each
    edge after both its nodes, ``workflow.ready`` last. Returns the node ids in streamed order."""
    workflow = reply.workflow
    assert workflow is not None
    final_nodes = {n["id"]: n for n in workflow["nodes"]}
    final_edges = {e["id"]: e for e in workflow["edges"]}
    shown: list[str] = []
    edges: list[str] = []
    build = [(name, data) for _, name, data in reply.events
             if name in ("workflow.node_added", "workflow.edge_added", "workflow.ready")]
    assert build and build[-1][0] == "workflow.ready"
    for name, data in build[:-1]:
        if name == "workflow.node_added":
            node = data["node"]
            assert node["id"] not in shown, f"{node['id']} added twice"
            assert node == final_nodes[node["id"]], node["id"]  # the stored node, laid-out position included
            shown.append(node["id"])
        else:
            edge = data["edge"]
            assert edge["source"] in shown and edge["target"] in shown, f"edge {edge} before its nodes"
            assert edge == final_edges[edge["id"]]
            edges.append(edge["id"])
    assert len(shown) == len(final_nodes) and set(shown) == set(final_nodes)
    assert sorted(edges) == sorted(final_edges)
    return shown


# ---------------------------------------------------------------- conversation helpers


def nodes_of(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Nodes by id without positions (a re-layout is not a change)."""
    return {n["id"]: {k: v for k, v in n.items() if k != "position"} for n in workflow["nodes"]}


def pairs(workflow: dict[str, Any]) -> set[tuple[str, str]]:
    return {(e["source"], e["target"]) for e in workflow["edges"]}


def assert_edit(before: dict, after: dict, *, added: set[str] = frozenset(), removed: set[str] = frozenset(),
                changed: set[str] = frozenset()) -> dict[str, dict]:
    """Exactly these node ids were added / removed / changed; every other node is identical."""
    old, new = nodes_of(before), nodes_of(after)
    assert set(new) - set(old) == set(added), set(new) - set(old)
    assert set(old) - set(new) == set(removed), set(old) - set(new)
    actually_changed = {nid for nid in set(old) & set(new) if old[nid] != new[nid]}
    assert actually_changed == set(changed), actually_changed
    return new


async def turn(chat: ChatClient, session_id: str, text: str, *, outcome: str = "edited") -> Reply:
    """Send one message; check the stream's shape and that the stored workflow is what it announced."""
    reply = await chat.send(session_id, text)
    assert reply.names[0] == "message.started" and reply.names[-1] == "message.finished"
    assert reply.finished["outcome"] == outcome, (reply.finished, reply.text)
    assert reply.text == reply.finished["content"] and reply.text
    seqs = [seq for seq, _, _ in reply.events]
    assert seqs == list(range(1, len(seqs) + 1))
    if reply.workflow is not None:
        stored = await chat.workflow(reply.workflow["id"])
        assert stored == reply.workflow
        report = (await chat.http.post(f"/api/workflows/{stored['id']}/validate")).json()
        assert report["valid"], report
    return reply


async def session_on(chat: ChatClient, graph: Any, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A chat about a stored workflow built from ``graph`` (a WorkflowGraph): (session, workflow)."""
    import msgspec

    response = await chat.http.post("/api/workflows", json={"name": name, **msgspec.to_builtins(graph)})
    assert response.status_code == 201, response.text
    workflow = response.json()
    session = await chat.session(workflow_id=workflow["id"])
    return session, workflow
