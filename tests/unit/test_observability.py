"""Structured logs (JSON, request/workspace/execution/node ids, secrets redacted), the request
middleware's request id and SSE gauge, and the run-event meter."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import secrets

import pytest

from pilot.core.redaction import REDACTED, register_secret
from pilot.events.schemas import StreamEvent
from pilot.observability import logs, metrics
from pilot.observability.bus import MeteredBus
from pilot.observability.middleware import ObservabilityMiddleware
from pilot.settings import Settings


@pytest.fixture
def captured(tmp_path):
    """The process's log output (JSON) collected in memory instead of standard error."""
    settings = Settings.from_env({"PILOT_DATA_DIR": str(tmp_path), "PILOT_LOG_FORMAT": "json"})
    stream = io.StringIO()
    logs.configure_logging(settings, stream=stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logs.configure_logging(settings)


async def test_log_lines_are_json_with_context_and_redacted(captured):
    secret = "sk-log-" + secrets.token_urlsafe(24)
    register_secret(secret)
    token = logs.begin_request("req-42")
    try:
        logs.bind_request(workspace_id="ws_1")
        with logs.log_context(execution_id="exe_1"):
            logging.getLogger("pilot.test").warning("calling the model with %s", secret)

            async def node_task() -> None:
                logs.get_logger("pilot.test").info("structured", api_key=secret, tokens=3)
                try:
                    raise RuntimeError(f"failed with {secret}")
                except RuntimeError:
                    logging.getLogger("pilot.test").exception("node crashed")

            await asyncio.create_task(node_task(), name="node:each[1].ask")
    finally:
        logs.end_request(token)
    logging.getLogger("pilot.test").warning("outside any request")

    lines = captured()
    assert len(lines) == 4
    first, structured, crashed, outside = lines
    for line in (first, structured, crashed):
        assert line["request_id"] == "req-42" and line["workspace_id"] == "ws_1" and line["execution_id"] == "exe_1"
        assert line["timestamp"].endswith("Z") and line["logger"] == "pilot.test"
    assert first["level"] == "warning" and first["event"] == f"calling the model with {REDACTED}"
    assert "node_id" not in first and structured["node_id"] == "each[1].ask" and crashed["node_id"] == "each[1].ask"
    assert structured["api_key"] == REDACTED and structured["tokens"] == 3
    assert "RuntimeError: failed with" in crashed["exception"] and REDACTED in crashed["exception"]
    assert "request_id" not in outside and "execution_id" not in outside
    assert secret not in json.dumps(lines)


async def test_the_middleware_echoes_request_ids_and_counts_open_streams():
    seen: dict = {}

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        seen["open"] = metrics.SSE_CLIENTS._value.get()
        await send({"type": "http.response.body", "body": b"data: x\n\n", "more_body": False})

    sent: list = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request"}

    middleware = ObservabilityMiddleware(app)
    before = metrics.SSE_CLIENTS._value.get()
    scope = {"type": "http", "method": "GET", "path": "/s", "path_template": "/s", "headers": [(b"x-request-id", b"abc-123")]}
    await middleware(scope, receive, send)
    assert seen["open"] == before + 1 and metrics.SSE_CLIENTS._value.get() == before
    assert (b"x-request-id", b"abc-123") in sent[0]["headers"]

    sent.clear()
    await middleware({**scope, "headers": [(b"x-request-id", b"bad id\nwith newline")]}, receive, send)
    echoed = dict(sent[0]["headers"])[b"x-request-id"]
    assert len(echoed) == 32 and echoed != b"bad id\nwith newline"  # not trusted: a fresh id


async def test_the_metered_bus_counts_runs_and_node_latency_once():
    published: list = []

    class Inner:
        process_local = True

        def publish_nowait(self, event):
            published.append(event)

    bus = MeteredBus(Inner())
    assert bus.process_local is True  # everything else is the wrapped bus's

    def sample(name, labels):
        return metrics.REGISTRY.get_sample_value(name, labels) or 0

    finished = sample("pilot_runs_finished_total", {"status": "succeeded"})
    body = sample("pilot_node_duration_seconds_count", {"node_type": "tool", "status": "succeeded"})
    for seq, (event, data) in enumerate([
        ("run.started", {"trigger": "manual"}),
        ("node.started", {"node_id": "each[0].t", "node_type": "tool", "attempt": 1}),
        ("node.finished", {"node_id": "each[0].t", "status": "succeeded", "elapsed_ms": 12.0}),  # body: no node_type
        ("node.finished", {"node_id": "skip", "status": "skipped", "elapsed_ms": 0.0, "node_type": "llm"}),
        ("run.finished", {"status": "succeeded"}),
    ], start=1):
        bus.publish_nowait(StreamEvent("exe_meter", seq, event, data))
    assert len(published) == 5
    assert sample("pilot_runs_finished_total", {"status": "succeeded"}) == finished + 1
    assert sample("pilot_node_duration_seconds_count", {"node_type": "tool", "status": "succeeded"}) == body + 1
