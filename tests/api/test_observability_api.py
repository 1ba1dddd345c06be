"""/metrics counts a run (runs, node latency, LLM tokens and cost, requests), /ping, the request
id on responses and in the request's log record, and the optional metrics token."""

from __future__ import annotations

import io
import json

from litestar.testing import AsyncTestClient
from msgspec.structs import replace
from prometheus_client.parser import text_string_to_metric_families

from pilot.app import create_app
from pilot.observability import logs
from tests.api.test_usage_api import LINEAR, _run, _workflow


def _samples(text: str) -> dict[tuple, float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _delta(before: dict, after: dict, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def test_metrics_count_a_run_and_its_model_calls(api):
    workflow_id = await _workflow(api, LINEAR)
    before = _samples((await api.client.get("/metrics")).text)
    execution = await _run(api, workflow_id)
    assert execution["status"] == "succeeded"
    r = await api.client.get("/metrics")  # no API key needed
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    after = _samples(r.text)
    usage = execution["usage"]
    assert _delta(before, after, "pilot_runs_started_total", trigger="manual") == 1
    assert _delta(before, after, "pilot_runs_finished_total", status="succeeded") == 1
    assert _delta(before, after, "pilot_node_duration_seconds_count", node_type="llm", status="succeeded") == 1
    assert _delta(before, after, "pilot_llm_calls_total", model="offline") == 1
    assert _delta(before, after, "pilot_llm_tokens_total", model="offline", kind="prompt") == usage["prompt_tokens"] > 0
    assert _delta(before, after, "pilot_llm_tokens_total", model="offline", kind="completion") == usage["completion_tokens"]
    route = "/api/workflows/{workflow_id}/execute"
    assert _delta(before, after, "pilot_http_requests_total", method="POST", route=route, status="202") == 1
    assert _delta(before, after, "pilot_http_request_duration_seconds_count", method="POST", route=route) == 1
    assert after[("pilot_queue_depth", ())] >= 0 and ("pilot_runs_in_state", (("status", "running"),)) in after
    assert ("pilot_sse_clients", ()) in after


async def test_ping_and_the_request_id_in_responses_and_logs(api, tmp_path):
    r = await api.client.get("/ping")
    assert r.status_code == 200 and r.json() == {"ok": True} and len(r.headers["x-request-id"]) == 32

    settings = api.client.app.state.runtime.settings
    json_settings = replace(settings, app=replace(settings.app, log_format="json"))
    stream = io.StringIO()
    logs.configure_logging(json_settings, stream=stream)
    try:
        r = await api.get("/api/usage", headers={"X-Request-ID": "trace-7f3a"})
    finally:
        logs.configure_logging(settings)
    assert r.status_code == 200 and r.headers["x-request-id"] == "trace-7f3a"
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    request = next(rec for rec in records if rec["event"] == "request" and rec.get("request_id") == "trace-7f3a")
    assert request["status"] == 200 and request["route"] == "/api/usage" and request["method"] == "GET"
    assert request["workspace_id"].startswith("ws_") and request["duration_ms"] >= 0 and request["level"] == "info"


async def test_a_metrics_token_guards_metrics(make_settings):
    app = create_app(make_settings(PILOT_METRICS_TOKEN="scrape-token-0123456789"))
    async with AsyncTestClient(app=app) as client:
        assert (await client.get("/metrics")).status_code == 401
        assert (await client.get("/metrics", headers={"Authorization": "Bearer wrong-token"})).status_code == 401
        r = await client.get("/metrics", headers={"Authorization": "Bearer scrape-token-0123456789"})
        assert r.status_code == 200 and "pilot_http_requests_total" in r.text
        assert (await client.get("/ping")).status_code == 200  # ping stays open
