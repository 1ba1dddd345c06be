"""What observability costs per request and per node (CPU, µs; min / median of 5 rounds).

- the request middleware (request id, request metrics, the ``request`` log line as JSON to
  /dev/null) around a do-nothing ASGI app, with the log line at ``info`` and switched off;
  uvicorn's own access log line (what ``pilot serve`` no longer writes) for comparison;
- the metered event bus: a node's ``node.started`` + ``node.finished`` through
  :class:`pilot.observability.bus.MeteredBus` vs the bare in-memory bus.

``uv run python -m tests.bench.bench_observability``
"""

from __future__ import annotations

import asyncio
import logging
import logging.config
import statistics
import sys
import tempfile
import time

from pilot.events.bus import InMemoryBus
from pilot.events.schemas import StreamEvent
from pilot.observability import logs
from pilot.observability.bus import MeteredBus
from pilot.observability.middleware import ObservabilityMiddleware
from pilot.settings import Settings

ROUNDS, N = 5, 20_000
SCOPE = {"type": "http", "method": "GET", "path": "/api/x", "path_template": "/api/x", "headers": [(b"host", b"x")]}


def _report(label: str, values: list[float]) -> None:
    print(f"  {label:58s} {min(values):6.2f} / {statistics.median(values):6.2f} µs")


async def _app(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b"{}", "more_body": False})


async def _receive() -> dict:
    return {"type": "http.request"}


async def _send(message) -> None:
    pass


async def _per_request(app) -> list[float]:
    out = []
    for _ in range(ROUNDS):
        started = time.process_time()
        for _ in range(N):
            await app(dict(SCOPE), _receive, _send)
        out.append((time.process_time() - started) / N * 1e6)
    return out


def _per_node(bus) -> list[float]:
    out = []
    for r in range(ROUNDS):
        events = []
        for i in range(N):
            stream = f"exe_{r}_{i % 100}"
            events.append(StreamEvent(stream, 2 * i + 1, "node.started", {"node_id": f"n{i}", "node_type": "tool", "attempt": 1}))
            events.append(StreamEvent(stream, 2 * i + 2, "node.finished", {
                "node_id": f"n{i}", "status": "succeeded", "output": None, "elapsed_ms": 1.5, "usage": {}, "node_type": "tool"}))
        publish = bus.publish_nowait
        started = time.process_time()
        for event in events:
            publish(event)
        out.append((time.process_time() - started) / N * 1e6)
    return out


def _uvicorn_access_line() -> list[float]:
    from uvicorn.config import LOGGING_CONFIG

    logging.config.dictConfig(LOGGING_CONFIG)
    access = logging.getLogger("uvicorn.access")
    for handler in access.handlers:
        handler.setStream(open("/dev/null", "w"))  # noqa: SIM115 - for the process's lifetime
    out = []
    for _ in range(ROUNDS):
        started = time.process_time()
        for _ in range(N):
            access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/api/x", "1.1", 200)
        out.append((time.process_time() - started) / N * 1e6)
    return out


async def main() -> None:
    devnull = open("/dev/null", "w")  # noqa: SIM115
    data_dir = tempfile.mkdtemp(prefix="pilot-bench-")
    print("== per request (CPU) ==")
    _report("no middleware", await _per_request(_app))
    for level in ("info", "warning"):
        logs.configure_logging(Settings.from_env({"PILOT_DATA_DIR": data_dir, "PILOT_LOG_FORMAT": "json",
                                                  "PILOT_LOG_LEVEL": level}), stream=devnull)
        label = "middleware, request log line (JSON)" if level == "info" else "middleware, request log off"
        _report(label, await _per_request(ObservabilityMiddleware(_app)))
    _report("uvicorn's access log line (replaced by ours in pilot serve)", _uvicorn_access_line())
    print("== per node: node.started + node.finished (CPU) ==")
    _report("in-memory bus", _per_node(InMemoryBus(maxlen=10**6)))
    _report("metered in-memory bus", _per_node(MeteredBus(InMemoryBus(maxlen=10**6))))
    sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main())
