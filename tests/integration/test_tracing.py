"""Tracing: a run is one trace — request span → run span → node spans → outbound/LLM client spans.

- the SDK's InMemorySpanExporter in place of OTLP: the whole tree of an inline run, with the
  attributes that matter (route, status, trigger, node type/status/retries/tokens, HTTP status),
  an upstream ``traceparent`` continued, the trace id in the request's log record, and no URL
  path or query in any attribute;
- the real OTLP/HTTP exporter posting protobuf to a local collector (the app configured only
  through its settings, the spans flushed when the app stops);
- a background run on a real arq worker process: its run span is a child of the API request span
  that enqueued it (the traceparent travels with the job).
"""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from urllib.parse import urlsplit

import pytest
import redis as sync_redis
from litestar.testing import AsyncTestClient
from msgspec.structs import replace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from pilot.app import create_app
from pilot.observability import logs, tracing
from tests.conftest import new_workspace_key
from tests.support.background import spawn_worker, stop, wait_worker
from tests.support.echo_server import echo_server
from tests.support.servers import serve_in_thread
from tests.support.telemetry_servers import OtlpCollector

UPSTREAM_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
UPSTREAM_SPAN = "00f067aa0ba902b7"
EXECUTE_ROUTE = "/api/workflows/{workflow_id}/execute"


def traced_workflow(echo_url: str) -> dict:
    """input → llm (offline) → api (200) → output, and input → api (503, retried once, continue) → output."""
    return {"name": "traced", "nodes": [
        {"id": "start", "type": "input", "config": {"fields": [{"name": "topic"}]}},
        {"id": "write", "type": "llm", "config": {"model": "offline", "prompt": "Write about {{ inputs.topic }}"}},
        {"id": "fetch", "type": "api", "config": {"method": "GET", "url": f"{echo_url}/json?key=query-secret-value"}},
        {"id": "flaky", "type": "api", "config": {"method": "GET", "url": f"{echo_url}/status/503"},
         "retry": {"max_attempts": 2, "initial_delay_s": 0.01}, "on_error": "continue"},
        {"id": "out", "type": "output", "config": {"outputs": {"text": "{{ nodes.write.output }}",
                                                               "ok": "{{ nodes.fetch.output.body.ok }}"}}},
    ], "edges": [
        {"id": "e1", "source": "start", "target": "write"}, {"id": "e2", "source": "write", "target": "fetch"},
        {"id": "e3", "source": "fetch", "target": "out"}, {"id": "e4", "source": "start", "target": "flaky"},
        {"id": "e5", "source": "flaky", "target": "out"},
    ]}


async def _finished_execution(client, headers: dict, execution_id: str) -> dict:
    for _ in range(400):
        body = (await client.get(f"/api/executions/{execution_id}", headers=headers)).json()
        if body["status"] in ("succeeded", "failed", "cancelled"):
            return body
        await asyncio.sleep(0.025)
    raise AssertionError(f"execution {execution_id} did not finish: {body['status']}")


def _hex(number: int, width: int) -> str:
    return format(number, f"0{width}x")


async def test_an_inline_run_is_one_span_tree_from_request_to_outbound_calls(make_settings):
    exporter = InMemorySpanExporter()
    with echo_server() as (echo_url, echo):
        settings = make_settings(PILOT_HTTP_ALLOWLIST=urlsplit(echo_url).netloc, PILOT_LOG_FORMAT="json")
        assert tracing.configure_tracing(settings, exporter=exporter)
        log_stream = io.StringIO()
        try:
            app = create_app(settings)
            logs.configure_logging(settings, stream=log_stream)
            async with AsyncTestClient(app=app) as client:
                headers = {"Authorization": f"Bearer {await new_workspace_key(app)}"}
                created = await client.post("/api/workflows", json=traced_workflow(echo_url), headers=headers)
                assert created.status_code == 201, created.text
                workflow_id = created.json()["id"]
                started = await client.post(
                    f"/api/workflows/{workflow_id}/execute", json={"input_data": {"topic": "tracing"}},
                    headers={**headers, "traceparent": f"00-{UPSTREAM_TRACE}-{UPSTREAM_SPAN}-01"},
                )
                assert started.status_code == 202, started.text
                execution_id = started.json()["execution_id"]
                execution = await _finished_execution(client, headers, execution_id)
                assert execution["status"] == "succeeded", execution
                for _ in range(200):  # the run span ends right after run.finished is committed
                    tracing.flush_tracing()
                    if any(s.name == "run" for s in exporter.get_finished_spans()):
                        break
                    await asyncio.sleep(0.025)
        finally:
            logs.configure_logging(replace(settings, app=replace(settings.app, log_format="auto")))
            tracing.shutdown_tracing()
        assert len([r for r in echo.received if r["path"] == "/status/503"]) == 2

    spans = exporter.get_finished_spans()
    in_run = [s for s in spans if s.kind != SpanKind.SERVER or s.name == f"POST {EXECUTE_ROUTE}"]
    assert {s.context.trace_id for s in in_run} == {int(UPSTREAM_TRACE, 16)}  # the other requests: traces of their own

    # the request that started the run, continuing the caller's trace
    (request,) = [s for s in spans if s.name == f"POST {EXECUTE_ROUTE}"]
    assert request.kind == SpanKind.SERVER and _hex(request.parent.span_id, 16) == UPSTREAM_SPAN
    assert request.attributes["http.request.method"] == "POST" and request.attributes["http.route"] == EXECUTE_ROUTE
    assert request.attributes["http.response.status_code"] == 202
    assert request.resource.attributes["service.name"] == "pilot" and request.resource.attributes["pilot.process"] == "api"

    # the run, a child of that request
    (run,) = [s for s in spans if s.name == "run"]
    assert run.parent.span_id == request.context.span_id
    assert run.attributes.items() >= {
        "pilot.execution.id": execution_id, "pilot.workflow.id": workflow_id, "pilot.run.trigger": "manual",
        "pilot.run.status": "succeeded",
    }.items()
    assert run.attributes["gen_ai.usage.input_tokens"] == execution["usage"]["prompt_tokens"] > 0

    # one span per node, each a child of the run
    nodes = {s.attributes["pilot.node.id"]: s for s in spans if s.name.startswith("node ")}
    assert set(nodes) == {"start", "write", "fetch", "flaky", "out"}
    types = {"start": "input", "write": "llm", "fetch": "api", "flaky": "api", "out": "output"}
    for node_id, span in nodes.items():
        assert span.name == f"node {types[node_id]}" and span.attributes["pilot.node.type"] == types[node_id]
        assert span.parent.span_id == run.context.span_id
        assert span.attributes["pilot.node.status"] == "succeeded"
    write = nodes["write"]
    assert write.attributes["gen_ai.usage.input_tokens"] > 0 and write.attributes["gen_ai.usage.output_tokens"] > 0
    assert write.attributes["pilot.node.retries"] == 0 and nodes["fetch"].attributes["pilot.node.attempts"] == 1
    flaky = nodes["flaky"]  # failed twice, absorbed by on_error=continue
    assert flaky.attributes["pilot.node.attempts"] == 2 and flaky.attributes["pilot.node.retries"] == 1
    assert "503" in flaky.attributes["pilot.node.error"] and [e.name for e in flaky.events] == ["retry", "attempt"]

    # the LLM call under the llm node, the outbound calls under their api nodes
    (chat,) = [s for s in spans if s.name == "chat offline"]
    assert chat.kind == SpanKind.CLIENT and chat.parent.span_id == write.context.span_id
    assert chat.attributes["gen_ai.usage.output_tokens"] == write.attributes["gen_ai.usage.output_tokens"]
    calls = [s for s in spans if s.kind == SpanKind.CLIENT and s.name == "GET"]
    (fetch_call,) = [s for s in calls if s.parent.span_id == nodes["fetch"].context.span_id]
    port = urlsplit(echo_url).port
    assert dict(fetch_call.attributes) == {"http.request.method": "GET", "server.address": "127.0.0.1", "server.port": port,
                                           "url.scheme": "http", "http.response.status_code": 200}
    flaky_calls = [s for s in calls if s.parent.span_id == flaky.context.span_id]
    assert [s.attributes["http.response.status_code"] for s in flaky_calls] == [503, 503]
    assert all(s.status.status_code == StatusCode.ERROR for s in flaky_calls)
    assert fetch_call.status.status_code != StatusCode.ERROR

    # no query string anywhere, and no URL path in client spans (tokens live there); node errors
    # are the (redacted) texts the run's events carry
    assert not any("query-secret-value" in str(v) for s in spans for v in s.attributes.values())
    assert not any("/" in str(v) for s in calls for v in s.attributes.values())

    # the request's log record carries its trace id
    records = [json.loads(line) for line in log_stream.getvalue().splitlines() if line.startswith("{")]
    logged = [r for r in records if r.get("event") == "request" and r.get("route") == EXECUTE_ROUTE]
    assert logged and logged[0]["trace_id"] == UPSTREAM_TRACE


async def test_spans_are_exported_over_otlp_http_to_a_collector(make_settings):
    collector = OtlpCollector()
    with collector.serve() as collector_url:
        settings = make_settings(PILOT_OTEL_ENDPOINT=collector_url, PILOT_OTEL_SERVICE_NAME="pilot-otlp-test")
        try:
            app = create_app(settings)  # configured from the settings alone
            assert tracing.enabled()
            async with AsyncTestClient(app=app) as client:
                headers = {"Authorization": f"Bearer {await new_workspace_key(app)}"}
                created = await client.post("/api/workflows", headers=headers, json={"name": "otlp", "nodes": [
                    {"id": "start", "type": "input"},
                    {"id": "out", "type": "output", "config": {"outputs": {"ok": "{{ true }}"}}},
                ], "edges": [{"id": "e1", "source": "start", "target": "out"}]})
                workflow_id = created.json()["id"]
                started = await client.post(f"/api/workflows/{workflow_id}/execute", json={"input_data": {}}, headers=headers)
                execution = await _finished_execution(client, headers, started.json()["execution_id"])
                assert execution["status"] == "succeeded"
                await asyncio.sleep(0.2)  # the run span ends just after the run is stored
            # the app has stopped: its lifespan flushed the batch processor, so no waiting on its 5 s delay
            spans = collector.wait_for(lambda got: any(s.name == "run" for s in got), timeout=10)
        finally:
            tracing.shutdown_tracing()
    assert collector.requests >= 1
    by_name = {}
    for span in spans:
        by_name.setdefault(span.name, []).append(span)
    (request,) = by_name[f"POST {EXECUTE_ROUTE}"]
    (run,) = by_name["run"]
    assert request.kind == 2 and request.parent_id == "" and request.attributes["http.response.status_code"] == 202
    assert run.parent_id == request.span_id and run.trace_id == request.trace_id
    assert run.attributes["pilot.workflow.id"] == workflow_id and run.attributes["pilot.run.status"] == "succeeded"
    nodes = by_name["node input"] + by_name["node output"]
    assert sorted(s.attributes["pilot.node.id"] for s in nodes) == ["out", "start"]
    assert all(s.parent_id == run.span_id for s in nodes)
    assert run.resource["service.name"] == "pilot-otlp-test" and run.resource["pilot.process"] == "api"


SHARED_REDIS = "redis://127.0.0.1:6379/0"


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.slow
async def test_a_background_run_on_a_worker_continues_the_trace_of_the_request(pg_url, tmp_path):
    collector = OtlpCollector()
    prefix = f"pilot-test-{uuid.uuid4().hex[:10]}"
    with collector.serve() as collector_url:
        env = {"DATABASE_URL": pg_url, "REDIS_URL": SHARED_REDIS, "PILOT_DATA_DIR": str(tmp_path / ".pilot"),
               "PILOT_REDIS_PREFIX": prefix, "PILOT_OTEL_ENDPOINT": collector_url, "DATABASE_POOL_SIZE": "4",
               "PILOT_WORKER_POLL_DELAY_S": "0.02", "OTEL_BSP_SCHEDULE_DELAY": "100"}
        worker = spawn_worker(env, tmp_path / "worker.log")
        try:
            from pilot.settings import Settings

            app = create_app(Settings.from_env(env))
            wait_worker(worker, env, tmp_path / "worker.log")
            with serve_in_thread(app) as url:
                import httpx

                key = await new_workspace_key(app)
                async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}) as client:
                    created = await client.post("/api/workflows", json={"name": "bg", "nodes": [
                        {"id": "start", "type": "input"},
                        {"id": "write", "type": "llm", "config": {"model": "offline", "prompt": "hello"}},
                        {"id": "out", "type": "output", "config": {"outputs": {"text": "{{ nodes.write.output }}"}}},
                    ], "edges": [{"id": "e1", "source": "start", "target": "write"},
                                 {"id": "e2", "source": "write", "target": "out"}]})
                    workflow_id = created.json()["id"]
                    started = await client.post(f"/api/workflows/{workflow_id}/execute",
                                                json={"input_data": {}, "mode": "background"})
                    assert started.status_code == 202, started.text
                    execution_id = started.json()["execution_id"]
            tracing.flush_tracing()
            spans = collector.wait_for(lambda got: any(s.name == "run" for s in got)
                                       and sum(s.name.startswith("node ") for s in got) == 3, timeout=30)
        finally:
            tracing.shutdown_tracing()
            stop(worker)
            client = sync_redis.Redis.from_url(SHARED_REDIS)
            for redis_key in client.scan_iter(f"{prefix}:*"):
                client.delete(redis_key)
            client.close()
    (request,) = [s for s in spans if s.name == f"POST {EXECUTE_ROUTE}"]
    (run,) = [s for s in spans if s.name == "run"]
    assert request.resource["pilot.process"] == "api" and run.resource["pilot.process"] == "worker"
    assert run.trace_id == request.trace_id and run.parent_id == request.span_id
    assert run.attributes["pilot.execution.id"] == execution_id and run.attributes["pilot.run.status"] == "succeeded"
    nodes = [s for s in spans if s.name.startswith("node ")]
    assert {s.attributes["pilot.node.id"] for s in nodes} == {"start", "write", "out"}
    assert all(s.parent_id == run.span_id and s.resource["pilot.process"] == "worker" for s in nodes)
    (chat,) = [s for s in spans if s.name == "chat offline"]
    assert chat.parent_id == next(s.span_id for s in nodes if s.attributes["pilot.node.id"] == "write")
