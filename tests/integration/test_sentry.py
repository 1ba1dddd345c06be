"""Sentry: with ``PILOT_SENTRY_DSN`` an error is reported to the DSN's server (here a real local
HTTP server receiving the envelope), labelled with environment and release, and a configured
secret held by the failing code never reaches it (redacted in ``before_send``)."""

from __future__ import annotations

import asyncio

from litestar.testing import AsyncTestClient

from pilot.app import create_app
from pilot.engine.nodes import RUNNERS, register
from pilot.observability.sentry import shutdown_sentry
from tests.conftest import new_workspace_key
from tests.support.telemetry_servers import SentryReceiver

SECRET = "metrics-token-7f3a9c1e5b2d4680"  # PILOT_METRICS_TOKEN: a configured secret


class ExplodingTool:
    """A ``tool`` runner with a bug: it raises, holding a secret in a local variable."""

    node_type = "tool"

    async def run(self, ctx):
        # A local of the raising frame (Sentry sends locals; a name like "token" its own scrubber
        # would already filter, so this one is left to the redaction choke point).
        header_value = SECRET  # noqa: F841
        marker = "visible-local-0451"  # noqa: F841 - an ordinary local: proves locals are sent
        raise RuntimeError("the tool blew up")


async def test_an_error_is_reported_to_sentry_without_the_secret(make_settings):
    receiver = SentryReceiver()
    original = RUNNERS.get("tool")
    with receiver.serve():
        settings = make_settings(PILOT_SENTRY_DSN=receiver.dsn, PILOT_SENTRY_ENVIRONMENT="test-env",
                                 PILOT_SENTRY_RELEASE="pilot@test-1", PILOT_METRICS_TOKEN=SECRET)
        register(ExplodingTool(), replace=True)
        try:
            app = create_app(settings)
            async with AsyncTestClient(app=app) as client:
                headers = {"Authorization": f"Bearer {await new_workspace_key(app)}"}
                created = await client.post("/api/workflows", headers=headers, json={"name": "boom", "nodes": [
                    {"id": "start", "type": "input"},
                    {"id": "boom", "type": "tool", "config": {"tool": "webhook", "arguments": {}}},
                    {"id": "out", "type": "output", "config": {"outputs": {"r": "{{ nodes.boom.output }}"}}},
                ], "edges": [{"id": "e1", "source": "start", "target": "boom"},
                             {"id": "e2", "source": "boom", "target": "out"}]})
                assert created.status_code == 201, created.text
                started = await client.post(f"/api/workflows/{created.json()['id']}/execute",
                                            json={"input_data": {}}, headers=headers)
                execution_id = started.json()["execution_id"]
                for _ in range(400):
                    execution = (await client.get(f"/api/executions/{execution_id}", headers=headers)).json()
                    if execution["status"] != "queued" and execution["status"] != "running":
                        break
                    await asyncio.sleep(0.025)
                assert execution["status"] == "failed" and "RuntimeError: the tool blew up" in execution["error"]
            events = receiver.events()
        finally:
            shutdown_sentry()
            if original is not None:
                register(original, replace=True)

    (event,) = [e for e in events if e.get("logger") == "pilot.engine"]
    assert event["level"] == "error" and event["environment"] == "test-env" and event["release"] == "pilot@test-1"
    (exception,) = event["exception"]["values"]
    assert exception["type"] == "RuntimeError" and exception["value"] == "the tool blew up"
    frame = next(f for f in exception["stacktrace"]["frames"] if f["function"] == "run" and "test_sentry" in f["filename"])
    assert "visible-local-0451" in frame["vars"]["marker"]  # locals are sent …
    assert "[REDACTED]" in frame["vars"]["header_value"]  # … but the secret among them is not
    assert all(SECRET.encode() not in body for body in receiver.envelopes)
    assert all(SECRET[:12].encode() not in body for body in receiver.envelopes)
