"""Tracing and Sentry cost nothing when they are not configured: ``create_app`` and the start-up
steps import neither OpenTelemetry nor sentry_sdk (checked in fresh interpreters), and the
hooks are no-ops. With an endpoint / a DSN, the same code does load them (so the check can fail)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from pilot.observability import tracing
from pilot.settings import Settings

CHECK = """
import asyncio, json, sys
from pilot.app import create_app
from pilot.observability import tracing
from pilot.runtime import Runtime
from pilot.settings import get_settings
from pilot.startup import start_runtime, stop_runtime

create_app()

async def start():
    runtime = Runtime.build(get_settings())
    await start_runtime(runtime)  # what the app's lifespan runs before the first answer
    await stop_runtime(runtime)

asyncio.run(start())
# Litestar's constructor probes for its own OpenTelemetry plugin, which imports only the
# semantic-convention constants (and fails on the missing instrumentation package): not tracing.
loaded = sorted(m for m in sys.modules if m.startswith("opentelemetry.") and not m.startswith("opentelemetry.semconv"))
print(json.dumps({"otel": loaded, "sentry": "sentry_sdk" in sys.modules, "enabled": tracing.enabled()}))
"""


def _cold_start(tmp_path, **env: str) -> dict:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("OPENAI_", "OTEL_", "PILOT_OTEL", "PILOT_SENTRY")) and k not in ("DATABASE_URL", "REDIS_URL")}
    clean.update(PILOT_DATA_DIR=str(tmp_path / ".pilot"), **env)
    done = subprocess.run([sys.executable, "-c", CHECK], env=clean, cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_without_an_endpoint_or_dsn_nothing_of_opentelemetry_or_sentry_is_imported(tmp_path) -> None:
    assert _cold_start(tmp_path) == {"otel": [], "sentry": False, "enabled": False}


def test_with_an_endpoint_and_a_dsn_both_are_loaded(tmp_path) -> None:
    loaded = _cold_start(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9", OTEL_BSP_SCHEDULE_DELAY="60000",
                         PILOT_SENTRY_DSN="http://key@127.0.0.1:9/1")
    assert "opentelemetry.sdk.trace" in loaded["otel"] and loaded["enabled"] and loaded["sentry"]


def test_the_hooks_are_no_ops_while_off() -> None:
    assert not tracing.enabled()
    assert tracing.request_span({"type": "http", "method": "GET", "headers": []}) is None
    assert tracing.run_trace("exe_1") is None and tracing.traceparent() is None
    with tracing.http_span("GET", "http://example.com/x") as span, tracing.remote_parent("00-" + "1" * 32 + "-" + "2" * 16 + "-01"):
        assert span is None
    assert tracing.start_client_span("chat x", {}) is None
    from pilot.llm import build_provider
    from pilot.llm.offline import OfflineProvider

    assert type(build_provider(Settings.from_env({}).llm)) is OfflineProvider  # not wrapped


@pytest.mark.parametrize(("env", "expected"), [
    ({}, None),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, "http://collector:4318/v1/traces"),
    ({"PILOT_OTEL_ENDPOINT": "http://mine:4318/", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://std:4318"}, "http://mine:4318/v1/traces"),
    ({"PILOT_OTEL_ENDPOINT": "https://otlp.example.com/v1/traces"}, "https://otlp.example.com/v1/traces"),
])
def test_the_traces_endpoint(env: dict, expected: str | None) -> None:
    assert Settings.from_env(env).observability.traces_endpoint == expected


def test_the_sentry_dsn_is_not_in_the_settings_repr() -> None:
    settings = Settings.from_env({"PILOT_SENTRY_DSN": "https://abcdef0123456789@o1.ingest.sentry.io/42"})
    assert "abcdef0123456789" not in repr(settings.observability) and "***" in repr(settings.observability)
