"""Tracing (OpenTelemetry): requests → runs → nodes → outbound HTTP and LLM calls.

Off unless an OTLP endpoint is configured (``PILOT_OTEL_ENDPOINT`` or the standard
``OTEL_EXPORTER_OTLP_ENDPOINT``), and then free: this module imports nothing from
``opentelemetry`` until :func:`configure_tracing` turns tracing on, and every hook below starts
with one ``None`` check (cold start matters; ``tests/unit/test_tracing_off.py`` checks it).

On, spans go through a ``BatchSpanProcessor`` (a background thread; ``OTEL_BSP_*`` tune it) to
the OTLP/HTTP exporter (``OTEL_EXPORTER_OTLP_HEADERS`` & co. are read by the exporter itself).
The provider is this module's own, not OpenTelemetry's global one, so tests can swap the exporter
(:func:`configure_tracing` ``exporter=``, e.g. the SDK's ``InMemorySpanExporter``).

The spans and where they start:

- ``<METHOD> <route template>`` (server): :mod:`pilot.observability.middleware`, per request,
  continuing a caller's W3C ``traceparent``; its trace id goes into the request's log records;
- ``run`` and ``node <type>``: :mod:`pilot.observability.run_spans`, from the events the run's
  recorder writes (the engine itself has no tracer calls); a background run continues the trace
  of the request that enqueued it (:func:`traceparent` is stored with the arq job,
  :func:`remote_parent` restores it in the worker);
- ``<METHOD>`` (client) per outbound request (:mod:`pilot.outbound.client`) and ``chat <model>``
  per LLM call (:mod:`pilot.llm.traced`).

Span attributes never carry secrets: URLs are reduced to scheme, host and port, and error texts
come from events, which are redacted (:mod:`pilot.core.redaction`) before anyone sees them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any
from urllib.parse import urlsplit

_NOOP = nullcontext()  # what the span hooks return while tracing is off (re-entrant, yields None)


class _State:
    tracer: Any = None  # an opentelemetry Tracer while tracing is on
    provider: Any = None  # its TracerProvider (flushed and shut down by shutdown_tracing)
    otel: Any = None  # the opentelemetry names the hooks use (see _Otel), loaded when turned on


_state = _State()


class _Otel:
    """The opentelemetry API the hooks need, imported once tracing is turned on."""

    def __init__(self) -> None:
        from opentelemetry import context, trace
        from opentelemetry.trace import SpanKind, Status, StatusCode
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        self.context, self.trace = context, trace
        self.SpanKind, self.Status, self.StatusCode = SpanKind, Status, StatusCode
        self.propagator = TraceContextTextMapPropagator()


def enabled() -> bool:
    """Whether spans are being recorded in this process."""
    return _state.tracer is not None


def configure_tracing(settings: Any, *, role: str = "api", exporter: Any = None) -> bool:
    """Turn tracing on when ``settings`` name an OTLP endpoint (or an ``exporter`` is given,
    which replaces the OTLP one); otherwise leave this process as it is. ``role`` (``api`` /
    ``worker``) is recorded on every span as ``pilot.process``. Returns whether tracing is on."""
    obs = settings.observability
    endpoint = obs.traces_endpoint
    if exporter is None and endpoint is None:
        return enabled()
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from pilot import __version__

    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=endpoint)
    shutdown_tracing()
    resource = Resource.create({"service.name": obs.otel_service_name, "service.version": __version__,
                                "pilot.process": role})
    provider = TracerProvider(resource=resource)  # sampler: OTEL_TRACES_SAMPLER, else parent-based always-on
    provider.add_span_processor(BatchSpanProcessor(exporter))
    _state.otel = _Otel()
    _state.provider = provider
    _state.tracer = provider.get_tracer("pilot", __version__)
    return True


def flush_tracing(timeout_s: float = 5.0) -> bool:
    """Export every span ended so far (tests; shutdown). True when done in time (or off)."""
    provider = _state.provider
    return True if provider is None else provider.force_flush(int(timeout_s * 1000))


async def aflush_tracing(timeout_s: float = 5.0) -> None:
    """:func:`flush_tracing` off the event loop (the export is blocking I/O); nothing while off."""
    if _state.provider is not None:
        import asyncio

        await asyncio.to_thread(flush_tracing, timeout_s)


def shutdown_tracing() -> None:
    """Flush and stop the exporter; tracing is off afterwards."""
    provider, _state.provider, _state.tracer = _state.provider, None, None
    if provider is not None:
        provider.shutdown()


# ------------------------------------------------------------------ context propagation


def traceparent() -> str | None:
    """The current span's W3C ``traceparent`` (stored with a background job), or None."""
    if _state.tracer is None:
        return None
    carrier: dict[str, str] = {}
    _state.otel.propagator.inject(carrier)
    return carrier.get("traceparent")


@contextmanager
def remote_parent(value: str | None) -> Iterator[None]:
    """Make a stored ``traceparent`` the parent of the spans started (and the tasks created) in
    the block: a worker's run continues the trace of the request that enqueued it."""
    if _state.tracer is None or not value:
        yield
        return
    otel = _state.otel
    token = otel.context.attach(otel.propagator.extract({"traceparent": value}))
    try:
        yield
    finally:
        otel.context.detach(token)


# ------------------------------------------------------------------ requests


class RequestSpan:
    """The server span of one HTTP request, current while the request is handled."""

    __slots__ = ("span", "token", "trace_id")

    def __init__(self, span: Any, token: Any) -> None:
        self.span = span
        self.token = token
        self.trace_id = format(span.get_span_context().trace_id, "032x")

    def end(self, method: str, route: str, status: int) -> None:
        otel, span = _state.otel, self.span
        span.update_name(f"{method} {route}")
        span.set_attribute("http.route", route)
        span.set_attribute("http.response.status_code", status)
        if status >= 500:
            span.set_status(otel.Status(otel.StatusCode.ERROR))
        otel.context.detach(self.token)
        span.end()


def request_span(scope: dict[str, Any]) -> RequestSpan | None:
    """Start the server span of an ASGI HTTP request (None while tracing is off). A caller's
    ``traceparent`` header makes it part of the caller's trace."""
    tracer = _state.tracer
    if tracer is None:
        return None
    otel = _state.otel
    carrier = {}
    for key, value in scope.get("headers") or ():
        if key == b"traceparent" or key == b"tracestate":
            carrier[key.decode()] = value.decode("latin-1")
    parent = otel.propagator.extract(carrier) if carrier else None
    method = scope.get("method", "")
    span = tracer.start_span(method or "HTTP", context=parent, kind=otel.SpanKind.SERVER, attributes={
        "http.request.method": method, "url.path": scope.get("path", ""), "url.scheme": scope.get("scheme", "http"),
    })
    return RequestSpan(span, otel.context.attach(otel.trace.set_span_in_context(span)))


# ------------------------------------------------------------------ runs


def run_trace(execution_id: str) -> Any:
    """The run span and node spans of one execution (:class:`pilot.observability.run_spans.RunTrace`),
    or None while tracing is off."""
    if _state.tracer is None:
        return None
    from pilot.observability.run_spans import RunTrace

    return RunTrace(_state.tracer, _state.otel, execution_id)


# ------------------------------------------------------------------ client calls


def http_span(method: str, url: str) -> Any:
    """A context manager: the client span of one outbound HTTP request (yields the span, or None
    while tracing is off). Only scheme, host and port of ``url`` are recorded: paths and query
    strings carry tokens (webhook paths, ``?key=``)."""
    if _state.tracer is None:
        return _NOOP
    try:
        parts = urlsplit(url)
        host, port, scheme = parts.hostname or "", parts.port, parts.scheme
    except ValueError:
        host, port, scheme = "", None, ""
    attributes: dict[str, Any] = {"http.request.method": method.upper(), "server.address": host, "url.scheme": scheme}
    if port is None and scheme in ("http", "https"):
        port = 443 if scheme == "https" else 80
    if port is not None:
        attributes["server.port"] = port
    return client_span(method.upper(), attributes)


def client_span(name: str, attributes: dict[str, Any]) -> Any:
    """A context manager: a client span, current in the block (yields it, or None while off).
    An exception leaving the block marks the span as an error by its type only (an exception's
    text may hold what it was sent: it is not recorded)."""
    if _state.tracer is None:
        return _NOOP
    return _current_client_span(name, attributes)


@contextmanager
def _current_client_span(name: str, attributes: dict[str, Any]) -> Iterator[Any]:
    otel = _state.otel
    span = _state.tracer.start_span(name, kind=otel.SpanKind.CLIENT, attributes=attributes)
    token = otel.context.attach(otel.trace.set_span_in_context(span))
    error: BaseException | None = None
    try:
        yield span
    except Exception as exc:
        error = exc
        raise
    finally:
        otel.context.detach(token)
        end_span(span, error)


def start_client_span(name: str, attributes: dict[str, Any]) -> Any:
    """A client span that is *not* made current (for calls spread over an async generator's
    iterations, where a context set in one would leak into the consumer); None while off.
    End it with :func:`end_span`."""
    tracer = _state.tracer
    if tracer is None:
        return None
    return tracer.start_span(name, kind=_state.otel.SpanKind.CLIENT, attributes=attributes)


def end_span(span: Any, error: BaseException | None = None) -> None:
    """End a span from :func:`start_client_span`, marked as an error when ``error`` is given."""
    if span is None:
        return
    if error is not None:
        mark_error(span, type(error).__name__)
    span.end()


def mark_error(span: Any, kind: str) -> None:
    """Mark a span as failed, with ``kind`` (an exception's type name, an HTTP status) as
    ``error.type`` and status description."""
    otel = _state.otel
    if span is not None and otel is not None:
        span.set_status(otel.Status(otel.StatusCode.ERROR, kind))
        span.set_attribute("error.type", kind)
