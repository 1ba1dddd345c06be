"""Tiny real receivers for telemetry tests, each an HTTP server on 127.0.0.1 in a thread.

- :class:`OtlpCollector`: takes OTLP/HTTP protobuf ``POST /v1/traces`` and decodes it with
  ``opentelemetry-proto`` (installed with the exporter) into :class:`ReceivedSpan` records.
- :class:`SentryReceiver`: takes Sentry envelopes (``POST /api/<project>/envelope/``, gzip or
  not) and keeps their raw bytes and decoded items; :attr:`SentryReceiver.dsn` points a client at it.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class ReceivedSpan:
    name: str
    trace_id: str
    span_id: str
    parent_id: str  # "" for a root span
    kind: int  # opentelemetry.proto SpanKind: 1 internal, 2 server, 3 client
    attributes: dict[str, Any]
    resource: dict[str, Any]
    status: int  # 0 unset, 1 ok, 2 error
    events: list[str] = field(default_factory=list)


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


def _attributes(items: Any) -> dict[str, Any]:
    return {item.key: _value(item.value) for item in items}


def _body(handler: BaseHTTPRequestHandler) -> bytes:
    raw = handler.rfile.read(int(handler.headers.get("content-length") or 0))
    encoding = (handler.headers.get("content-encoding") or "").lower()
    if encoding == "gzip":
        return gzip.decompress(raw)
    if encoding == "deflate":
        return zlib.decompress(raw)
    return raw


class _Server:
    """A ThreadingHTTPServer on a free loopback port, serving until :meth:`serve`'s block ends."""

    def handle(self, handler: BaseHTTPRequestHandler) -> tuple[int, bytes, str]:
        raise NotImplementedError

    @contextmanager
    def serve(self) -> Iterator[str]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                status, payload, content_type = owner.handle(self)
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()


class OtlpCollector(_Server):
    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self.requests = 0
        self._lock = threading.Lock()

    def handle(self, handler: BaseHTTPRequestHandler) -> tuple[int, bytes, str]:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest, ExportTraceServiceResponse,
        )

        if handler.path != "/v1/traces" or handler.headers.get("content-type") != "application/x-protobuf":
            return 404, b"", "text/plain"
        request = ExportTraceServiceRequest()
        request.ParseFromString(_body(handler))
        received = []
        for resource_spans in request.resource_spans:
            resource = _attributes(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    received.append(ReceivedSpan(
                        name=span.name, trace_id=span.trace_id.hex(), span_id=span.span_id.hex(),
                        parent_id=span.parent_span_id.hex(), kind=span.kind, attributes=_attributes(span.attributes),
                        resource=resource, status=span.status.code, events=[e.name for e in span.events],
                    ))
        with self._lock:
            self.requests += 1
            self.spans.extend(received)
        return 200, ExportTraceServiceResponse().SerializeToString(), "application/x-protobuf"

    def wait_for(self, predicate: Callable[[list[ReceivedSpan]], bool], timeout: float = 20.0) -> list[ReceivedSpan]:
        """The spans received so far, once ``predicate`` holds for them (AssertionError after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                spans = list(self.spans)
            if predicate(spans):
                return spans
            if time.monotonic() > deadline:
                raise AssertionError(f"the collector did not receive the expected spans; got {[s.name for s in spans]}")
            time.sleep(0.05)


class SentryReceiver(_Server):
    def __init__(self) -> None:
        self.envelopes: list[bytes] = []  # decompressed envelope bodies, as received
        self._lock = threading.Lock()
        self.url = ""

    def handle(self, handler: BaseHTTPRequestHandler) -> tuple[int, bytes, str]:
        if not handler.path.startswith("/api/1/envelope/"):
            return 404, b"", "text/plain"
        body = _body(handler)
        with self._lock:
            self.envelopes.append(body)
        return 200, b"{}", "application/json"

    @contextmanager
    def serve(self) -> Iterator[str]:
        with super().serve() as url:
            self.url = url
            yield url

    @property
    def dsn(self) -> str:
        return self.url.replace("http://", "http://publickey0123456789@", 1) + "/1"

    def items(self) -> list[tuple[dict[str, Any], Any]]:
        """Every envelope item as (item header, payload: JSON when it is JSON)."""
        out = []
        with self._lock:
            envelopes = list(self.envelopes)
        for body in envelopes:
            lines = body.split(b"\n")
            i = 1  # line 0: the envelope header
            while i < len(lines):
                if not lines[i].strip():
                    i += 1
                    continue
                header = json.loads(lines[i])
                payload = lines[i + 1] if i + 1 < len(lines) else b""
                try:
                    out.append((header, json.loads(payload)))
                except ValueError:
                    out.append((header, payload))
                i += 2
        return out

    def events(self, timeout: float = 20.0) -> list[dict[str, Any]]:
        """The error events received, once there is at least one (AssertionError after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            events = [payload for header, payload in self.items() if header.get("type") == "event"]
            if events:
                return events
            if time.monotonic() > deadline:
                raise AssertionError("Sentry received no event")
            time.sleep(0.05)
