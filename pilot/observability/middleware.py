"""The request middleware: request id, log context, request metrics and the access log line.

- ``X-Request-ID``: taken from the request when it is a sane token (1–128 of ``A-Z a-z 0-9 . _ : -``),
  otherwise generated; echoed on the response and bound to every log record of the request.
- metrics: ``pilot_http_requests_total`` and ``pilot_http_request_duration_seconds`` by route
  *template* (``/api/executions/{execution_id:str}``: bounded label values); a response that turns
  out to be an SSE stream is counted in ``pilot_sse_clients`` while it is open instead of the
  latency histogram (its duration is the client's, not the server's).
- one ``request`` log record per request (operations routes ``/ping``, ``/metrics``, ``/health``,
  ``/ready`` at debug level, so scrapes do not flood the log).
- with tracing on (:mod:`pilot.observability.tracing`), a server span per request, current while
  it is handled, whose trace id is bound to the request's log records as ``trace_id``.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

from pilot.observability import metrics, tracing
from pilot.observability.logs import begin_request, bind_request, end_request, get_logger

REQUEST_ID_HEADER = "X-Request-ID"
_HEADER_KEY = REQUEST_ID_HEADER.lower().encode()
_VALID_ID = re.compile(rb"^[A-Za-z0-9._:\-]{1,128}$")
_QUIET_PATHS = frozenset({"/ping", "/metrics", "/health", "/ready"})
_SSE = b"text/event-stream"
log = get_logger("pilot.http")


def _request_id(scope: dict[str, Any]) -> str:
    for key, value in scope.get("headers") or ():
        if key == _HEADER_KEY and _VALID_ID.match(value):
            return value.decode()
    return os.urandom(16).hex()


# The labelled children, looked up once per label set (prometheus-client's labels() takes a lock
# and validates on every call); bounded by the number of routes × methods × status codes.
_requests: dict[tuple[str, str, int], Any] = {}
_latency: dict[tuple[str, str], Any] = {}


def _count(method: str, route: str, status: int, elapsed: float | None) -> None:
    counter = _requests.get((method, route, status))
    if counter is None:
        counter = _requests[(method, route, status)] = metrics.HTTP_REQUESTS.labels(method, route, str(status))
    counter.inc()
    if elapsed is not None:
        histogram = _latency.get((method, route))
        if histogram is None:
            histogram = _latency[(method, route)] = metrics.HTTP_LATENCY.labels(method, route)
        histogram.observe(elapsed)


class ObservabilityMiddleware:
    """ASGI middleware (Litestar ``middleware=[...]``) for every routed HTTP request."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        token = begin_request(request_id)
        span = tracing.request_span(scope)  # None while tracing is off
        if span is not None:
            bind_request(trace_id=span.trace_id)
        started = time.perf_counter()
        status, stream = 500, False
        echo = (_HEADER_KEY, request_id.encode())

        async def send_with_id(message: Any) -> None:
            nonlocal status, stream
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers") or ())
                stream = any(k.lower() == b"content-type" and v.startswith(_SSE) for k, v in headers)
                headers.append(echo)
                message = {**message, "headers": headers}
                if stream:
                    metrics.SSE_CLIENTS.inc()
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("path_template") or "unmatched"
            method = scope.get("method", "")
            if stream:
                metrics.SSE_CLIENTS.dec()
            _count(method, route, status, None if stream else elapsed)
            path = scope.get("path", "")
            emit = log.debug if path in _QUIET_PATHS else log.info
            fields = {"method": method, "path": path, "route": route, "status": status,
                      "duration_ms": round(elapsed * 1000, 2)}
            if stream:
                fields["stream"] = True
            emit("request", **fields)
            if span is not None:
                span.end(method, route, status)
            end_request(token)
