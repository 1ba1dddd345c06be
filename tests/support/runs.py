"""Helpers for run tests: create a workflow, execute it, read its SSE stream over a real socket."""

from __future__ import annotations

import json
from typing import Any

import httpx
from httpx_sse import aconnect_sse


def node(id: str, type: str, **config: Any) -> dict[str, Any]:
    extra = {k: config.pop(k) for k in ("retry", "timeout_s", "on_error", "default_output") if k in config}
    return {"id": id, "type": type, "config": config, **extra}


def edge(source: str, target: str, handle: str | None = None) -> dict[str, Any]:
    data = {"id": f"{source}-{target}", "source": source, "target": target}
    if handle:
        data["source_handle"] = handle
    return data


class RunClient:
    """An httpx client on a live server, bound to one workspace key."""

    def __init__(self, base_url: str, key: str) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def workflow(self, nodes: list[dict], edges: list[dict], settings: dict | None = None) -> str:
        """Store a workflow; without an input node one is added in front of every entry node."""
        nodes, edges = with_input(nodes, edges)
        body: dict[str, Any] = {"name": "test", "nodes": nodes, "edges": edges}
        if settings:
            body["settings"] = settings
        response = await self.http.post("/api/workflows", json=body)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    async def execute(self, workflow_id: str, input_data: dict | None = None, **kw: Any) -> httpx.Response:
        return await self.http.post(f"/api/workflows/{workflow_id}/execute", json={"input_data": input_data or {}, **kw})

    async def start(self, workflow_id: str, input_data: dict | None = None) -> str:
        response = await self.execute(workflow_id, input_data)
        assert response.status_code == 202, response.text
        return response.json()["execution_id"]

    async def events(self, execution_id: str, *, last_event_id: int | None = None, limit: int | None = None) -> list[tuple[int, str, dict]]:
        """Read the stream until it ends (or ``limit`` events): ``[(seq, event, data), ...]``."""
        headers = {"Last-Event-ID": str(last_event_id)} if last_event_id is not None else {}
        out: list[tuple[int, str, dict]] = []
        async with aconnect_sse(self.http, "GET", f"/api/executions/{execution_id}/stream", headers=headers) as source:
            async for sse in source.aiter_sse():
                if not sse.event or sse.event == "message" and not sse.data:
                    continue
                out.append((int(sse.id), sse.event, json.loads(sse.data)))
                if limit is not None and len(out) >= limit:
                    break
        return out

    async def run(self, nodes: list[dict], edges: list[dict], input_data: dict | None = None, settings: dict | None = None):
        workflow_id = await self.workflow(nodes, edges, settings)
        execution_id = await self.start(workflow_id, input_data)
        return execution_id, await self.events(execution_id)

    async def execution(self, execution_id: str) -> dict[str, Any]:
        response = await self.http.get(f"/api/executions/{execution_id}")
        assert response.status_code == 200, response.text
        return response.json()


def with_input(nodes: list[dict], edges: list[dict]) -> tuple[list[dict], list[dict]]:
    """Validation wants an input and an output node: add ``start`` before the entry nodes and
    ``end`` (outputs = each sink's output) after the sinks when the test graph has none."""
    if not any(n["type"] == "output" for n in nodes):
        sources = {e["source"] for e in edges}
        sinks = [n["id"] for n in nodes if n["id"] not in sources]
        nodes = [*nodes, {"id": "end", "type": "output", "config": {"outputs": {s: f"{{{{ nodes.{s}.output }}}}" for s in sinks}}}]
        edges = [*edges, *(edge(s, "end") for s in sinks)]
    if not any(n["type"] == "input" for n in nodes):
        targets = {e["target"] for e in edges}
        entries = [edge("start", n["id"]) for n in nodes if n["id"] not in targets]
        nodes = [{"id": "start", "type": "input", "config": {"fields": []}}, *nodes]
        edges = [*entries, *edges]
    return nodes, edges


def finished(events: list[tuple[int, str, dict]]) -> dict[str, dict]:
    """``node_id -> node.finished data``."""
    return {d["node_id"]: d for _, e, d in events if e == "node.finished"}
