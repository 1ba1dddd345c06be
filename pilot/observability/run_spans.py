"""The ``run`` span of one execution and a ``node <type>`` span per node execution, built from
the run's own events (imported only while tracing is on: :func:`pilot.observability.tracing.run_trace`).

The executor enters a :class:`RunTrace` around the run (the ``run`` span is then current in the
run's task, so every node task it creates inherits it) and hands :meth:`RunTrace.observe` to the
run's :class:`~pilot.events.recorder.EventRecorder`, which calls it for every event it writes,
synchronously, in the task that emitted it. The engine emits ``node.started`` in the node's own
task right before the node's runner runs, and ``node.finished`` / ``node.failed`` from that same
task, so the node span started on ``node.started`` is made current there — outbound HTTP and LLM
calls of the runner become its children, and a loop's body nodes children of the loop's span —
and is ended (and detached) on the node's last event. The engine needs no tracer calls.

Nodes that do not execute (skipped branches, outputs reused by a rerun) get no span. Spans a run
leaves open (a parked ``wait`` node, an attempt handed back to another worker) end with the run.
"""

from __future__ import annotations

import logging
from typing import Any

import structlog

log = logging.getLogger("pilot.observability")

_USAGE_ATTRIBUTES = (  # node usage key -> span attribute
    ("prompt_tokens", "gen_ai.usage.input_tokens"),
    ("completion_tokens", "gen_ai.usage.output_tokens"),
    ("total_tokens", "pilot.usage.total_tokens"),
    ("llm_calls", "pilot.usage.llm_calls"),
    ("cost_usd", "pilot.usage.cost_usd"),
)


class _NodeSpan:
    __slots__ = ("span", "token", "attempts")

    def __init__(self, span: Any, token: Any) -> None:
        self.span = span
        self.token = token
        self.attempts = 1


class RunTrace:
    """Spans of one execution (see module docstring). ``status`` is set by the executor."""

    def __init__(self, tracer: Any, otel: Any, execution_id: str) -> None:
        self._tracer = tracer
        self._otel = otel
        self.execution_id = execution_id
        self.status: str | None = None
        self._span: Any = None
        self._token: Any = None
        self._log_tokens: dict[str, Any] = {}
        self._nodes: dict[str, _NodeSpan] = {}
        self._finished: dict[str, Any] | None = None  # run.finished's data

    # ------------------------------------------------------------------ the run span

    def __enter__(self) -> "RunTrace":
        otel = self._otel
        self._span = self._tracer.start_span("run", kind=otel.SpanKind.INTERNAL,
                                             attributes={"pilot.execution.id": self.execution_id})
        self._token = otel.context.attach(otel.trace.set_span_in_context(self._span))
        # The run's log records (this task and the node tasks it starts) name its trace.
        self._log_tokens = structlog.contextvars.bind_contextvars(
            trace_id=format(self._span.get_span_context().trace_id, "032x"))
        return self

    def describe(self, row: Any) -> None:
        """The execution's facts, once it is read (workflow, workspace, trigger)."""
        span = self._span
        span.set_attribute("pilot.workflow.id", row.workflow_id or "")
        span.set_attribute("pilot.workspace.id", row.workspace_id or "")
        span.set_attribute("pilot.run.trigger", row.trigger or "manual")
        if getattr(row, "rerun_of", None):
            span.set_attribute("pilot.run.rerun_of", row.rerun_of)

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        otel, span = self._otel, self._span
        status = self.status or (self._finished or {}).get("status") or ("cancelled" if kind else "unknown")
        for node_id in list(self._nodes):  # parked wait nodes, attempts handed back
            self._end_node(node_id, "waiting" if status == "waiting" else "unfinished", None, detach=False)
        span.set_attribute("pilot.run.status", status)
        finished = self._finished or {}
        if finished.get("elapsed_ms") is not None:
            span.set_attribute("pilot.run.elapsed_ms", finished["elapsed_ms"])
        _set_usage(span, finished.get("usage"))
        if status == "failed":
            span.set_status(otel.Status(otel.StatusCode.ERROR, str(finished.get("error") or "failed")[:300]))
        structlog.contextvars.reset_contextvars(**self._log_tokens)
        otel.context.detach(self._token)
        span.end()

    # ------------------------------------------------------------------ events

    def observe(self, event: str, data: dict[str, Any]) -> None:
        """One event of the run (already redacted), in the task that emitted it."""
        try:
            handler = _HANDLERS.get(event)
            if handler is not None:
                handler(self, data)
        except Exception:  # noqa: BLE001 - tracing never breaks a run
            log.debug("tracing: %s could not be recorded", event, exc_info=True)

    def _node_started(self, data: dict[str, Any]) -> None:
        node_id = data.get("node_id", "")
        attempt = data.get("attempt", 1)
        current = self._nodes.get(node_id)
        if current is not None:  # a retry: same span, same task
            current.attempts = attempt
            current.span.add_event("attempt", {"attempt": attempt})
            return
        otel = self._otel
        node_type = data.get("node_type", "")
        span = self._tracer.start_span(f"node {node_type}", kind=otel.SpanKind.INTERNAL, attributes={
            "pilot.node.id": node_id, "pilot.node.type": node_type, "pilot.execution.id": self.execution_id,
        })
        node = self._nodes[node_id] = _NodeSpan(span, otel.context.attach(otel.trace.set_span_in_context(span)))
        node.attempts = attempt

    def _node_retry(self, data: dict[str, Any]) -> None:
        node = self._nodes.get(data.get("node_id", ""))
        if node is not None:
            node.span.add_event("retry", {"attempt": data.get("attempt", 0), "error": str(data.get("error", ""))[:300],
                                          "delay_s": data.get("delay_s", 0.0)})

    def _node_finished(self, data: dict[str, Any]) -> None:
        self._end_node(data.get("node_id", ""), data.get("status", "succeeded"), data)

    def _node_failed(self, data: dict[str, Any]) -> None:
        self._end_node(data.get("node_id", ""), "failed", data)

    def _end_node(self, node_id: str, status: str, data: dict[str, Any] | None, *, detach: bool = True) -> None:
        """End a node's span; ``detach`` (its own task is ending it) also restores that task's
        context (another task's context is not ours to touch: it ends with its task)."""
        node = self._nodes.pop(node_id, None)
        if node is None:  # skipped or reused: it did not execute here
            return
        otel, span = self._otel, node.span
        data = data or {}
        span.set_attribute("pilot.node.status", status)
        span.set_attribute("pilot.node.attempts", data.get("attempts") or node.attempts)
        span.set_attribute("pilot.node.retries", max(0, (data.get("attempts") or node.attempts) - 1))
        if data.get("elapsed_ms") is not None:
            span.set_attribute("pilot.node.elapsed_ms", data["elapsed_ms"])
        _set_usage(span, data.get("usage"))
        error = data.get("error")
        if error:
            span.set_attribute("pilot.node.error", str(error)[:300])
        if status == "failed":
            span.set_status(otel.Status(otel.StatusCode.ERROR, str(error or "failed")[:300]))
        try:
            if detach:
                otel.context.detach(node.token)
        finally:
            span.end()

    def _run_finished(self, data: dict[str, Any]) -> None:
        self._finished = data


def _span_event(name: str, keys: tuple[str, ...]):
    """A handler adding an event named ``name`` (with those fields of the data) to the node's span."""
    def handler(trace: RunTrace, data: dict[str, Any]) -> None:
        node = trace._nodes.get(data.get("node_id", ""))
        if node is not None:
            node.span.add_event(name, {k: str(data[k])[:300] for k in keys if data.get(k) is not None})
    return handler


def _set_usage(span: Any, usage: Any) -> None:
    if not isinstance(usage, dict):
        return
    for key, attribute in _USAGE_ATTRIBUTES:
        value = usage.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value:
            span.set_attribute(attribute, value)


_HANDLERS = {
    "node.started": RunTrace._node_started,
    "node.retry": RunTrace._node_retry,
    "node.finished": RunTrace._node_finished,
    "node.failed": RunTrace._node_failed,
    "node.fallback": _span_event("fallback", ("from_model", "to_model")),
    "node.waiting": _span_event("waiting", ("until",)),
    "node.tool_call": _span_event("tool_call", ("tool", "elapsed_ms", "error")),
    "run.finished": RunTrace._run_finished,
}
