"""Prometheus metrics of this process (prometheus-client), served at ``GET /metrics``.

Where they are updated:

- HTTP requests (count, latency by route template; SSE responses are counted in
  ``pilot_sse_clients`` instead of the latency histogram): :mod:`pilot.observability.middleware`.
- runs started/finished and node latency by type: the events this process publishes
  (:class:`pilot.observability.bus.MeteredBus`), i.e. runs executed here (inline runs in an API
  process; a background worker counts its own runs in its own registry).
- LLM calls, tokens and cost by model: :func:`pilot.usage.metering.model_call_usage`.
- runs queued/running/waiting and the queue depth: read from the database when scraped
  (:func:`refresh_from_database`), so they cover every process.

Metrics carry no workspace label: they are an operator's view, and tenant-scoped figures are
``GET /api/usage``. Model names come from workflows, so at most :data:`MAX_MODEL_LABELS` distinct
ones get their own label; the rest are counted as ``other``.
"""

from __future__ import annotations

import sqlalchemy as sa
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)

from pilot.db.models import ExecutionRow

disable_created_metrics()  # no *_created series: a timestamp per label set that dashboards do not use
REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

HTTP_REQUESTS = Counter(
    "pilot_http_requests", "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"], registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "pilot_http_request_duration_seconds", "Time to answer an HTTP request (SSE streams excluded), by route template.",
    ["method", "route"], registry=REGISTRY,
)
SSE_CLIENTS = Gauge("pilot_sse_clients", "Server-Sent Events responses open now.", registry=REGISTRY)
RUNS_STARTED = Counter("pilot_runs_started", "Runs started in this process, by trigger.", ["trigger"], registry=REGISTRY)
RUNS_FINISHED = Counter(
    "pilot_runs_finished", "Runs that ended in this process, by final status.", ["status"], registry=REGISTRY
)
NODE_LATENCY = Histogram(
    "pilot_node_duration_seconds", "Node execution time (all attempts), by node type and outcome.",
    ["node_type", "status"], registry=REGISTRY,
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, float("inf")),
)
RUNS_IN_STATE = Gauge(
    "pilot_runs_in_state", "Executions queued, running or waiting now (all processes; read from the database).",
    ["status"], registry=REGISTRY,
)
QUEUE_DEPTH = Gauge("pilot_queue_depth", "Executions queued and not started yet (all processes).", registry=REGISTRY)
LLM_CALLS = Counter("pilot_llm_calls", "Completed model calls, by model.", ["model"], registry=REGISTRY)
LLM_TOKENS = Counter(
    "pilot_llm_tokens", "Tokens of completed model calls, by model and kind (prompt | completion).",
    ["model", "kind"], registry=REGISTRY,
)
LLM_COST = Counter("pilot_llm_cost_usd", "Estimated cost of model calls in USD, by model.", ["model"], registry=REGISTRY)

MAX_MODEL_LABELS = 200
_models: set[str] = set()
_ACTIVE_STATES = ("queued", "running", "waiting")


def model_label(model: str) -> str:
    """``model``, or ``other`` once :data:`MAX_MODEL_LABELS` distinct names have been seen."""
    if model in _models:
        return model
    if len(_models) < MAX_MODEL_LABELS:
        _models.add(model)
        return model
    return "other"


def llm_call(model: str, prompt_tokens: int, completion_tokens: int, cost_usd: float) -> None:
    """Count one completed model call."""
    label = model_label(model)
    LLM_CALLS.labels(label).inc()
    LLM_TOKENS.labels(label, "prompt").inc(prompt_tokens)
    LLM_TOKENS.labels(label, "completion").inc(completion_tokens)
    if cost_usd > 0:
        LLM_COST.labels(label).inc(cost_usd)


_status = ExecutionRow.__table__.c.status
_ACTIVE_COUNTS = sa.select(_status, sa.func.count()).where(_status.in_(_ACTIVE_STATES)).group_by(_status)


async def refresh_from_database(runtime) -> None:
    """Set the gauges that describe every process's runs (one indexed query)."""
    async with runtime.engine.connect() as conn:
        counts = dict((await conn.execute(_ACTIVE_COUNTS)).all())
    for state in _ACTIVE_STATES:
        RUNS_IN_STATE.labels(state).set(counts.get(state, 0))
    QUEUE_DEPTH.set(counts.get("queued", 0))


def render() -> tuple[bytes, str]:
    """The registry in the Prometheus text format, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
