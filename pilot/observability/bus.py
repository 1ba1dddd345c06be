"""The process's event bus with run and node metrics taken from the events it publishes.

Every run event passes through the bus once, in the process that runs it (the stream's single
writer), so counting there sees each run start and end and each node's end exactly once, without
hooks in the engine. Installed by the ``metrics`` start-up step around whatever bus the process
uses (in-memory or Redis Streams); everything else is the wrapped bus's own behaviour.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from pilot.observability import metrics

_MAX_STREAMS = 10_000  # runs whose node types are remembered (a run handed back never sends run.finished here)


class RunEventMeter:
    """Turns run events into metrics. Loop-body nodes (display ids like ``each[3].ask``) finish
    without ``node_type``: it is remembered from their ``node.started``. Top-level nodes carry it."""

    def __init__(self) -> None:
        self._types: OrderedDict[str, dict[str, str]] = OrderedDict()
        self._latency: dict[tuple[str, str], Any] = {}  # labelled histogram children, looked up once

    def observe(self, stream_id: str, event: str, data: dict[str, Any]) -> None:
        if event == "node.finished" or event == "node.failed":
            node_type = data.get("node_type")
            if node_type is None:
                types = self._types.get(stream_id)
                node_type = types.pop(data.get("node_id", ""), None) if types else None
            elapsed = data.get("elapsed_ms")
            status = "failed" if event == "node.failed" else data.get("status") or "unknown"
            if node_type and elapsed is not None and status != "skipped" and "reused_from" not in data:
                child = self._latency.get((node_type, status))
                if child is None:
                    child = self._latency[(node_type, status)] = metrics.NODE_LATENCY.labels(node_type, status)
                child.observe(elapsed / 1000)
        elif event == "node.started":
            node_id = data.get("node_id", "")
            if "[" in node_id:  # a loop-body node: its node.finished will not say its type
                types = self._types.get(stream_id)
                if types is None:
                    types = self._types[stream_id] = {}
                    if len(self._types) > _MAX_STREAMS:
                        self._types.popitem(last=False)
                types[node_id] = data.get("node_type", "unknown")
        elif event == "run.started":
            metrics.RUNS_STARTED.labels(str(data.get("trigger") or "manual")).inc()
        elif event == "run.finished":
            self._types.pop(stream_id, None)
            metrics.RUNS_FINISHED.labels(str(data.get("status") or "unknown")).inc()


class MeteredBus:
    """Forwards everything to ``inner``; ``publish``/``publish_nowait`` meter the events the bus
    takes (one the fence refuses is not part of the stream: not counted).

    ``publish_nowait`` exists only when the wrapped bus has it: the event recorder picks its
    synchronous path by that attribute."""

    def __init__(self, inner: Any, meter: RunEventMeter | None = None) -> None:
        self.inner = inner
        self._meter = meter or RunEventMeter()
        if hasattr(inner, "publish_nowait"):
            self.publish_nowait = self._publish_nowait

    async def publish(self, event: Any, token: str | None = None) -> bool:
        accepted = await self.inner.publish(event, token=token)
        if accepted is not False:
            self._observe(event)
        return accepted

    def _publish_nowait(self, event: Any) -> None:
        self._observe(event)
        self.inner.publish_nowait(event)

    def _observe(self, event: Any) -> None:
        try:
            self._meter.observe(event.stream_id, event.event, event.data)
        except Exception:  # noqa: BLE001 - metrics never break a run's stream
            pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def start_metrics(runtime: Any) -> None:
    """Start-up step (after the bus, before the runs that publish on it): meter the bus."""
    if runtime.bus is not None and not isinstance(runtime.bus, MeteredBus):
        runtime.bus = MeteredBus(runtime.bus)
