"""Node contexts for node-runner tests: the engine's real :class:`NodeContext`, recording events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from pilot.outbound import GuardedHttp
from pilot.engine.nodes.base import EngineServices, NodeContext
from pilot.knowledge.store import KnowledgeRetriever
from pilot.llm import build_provider
from pilot.settings import Settings
from pilot.tools.registry import default_registry
from pilot.workflows.model import Node


@dataclass(slots=True)
class RecordingContext(NodeContext):
    """A NodeContext whose ``emit`` records ``(event, data)`` pairs in ``events``."""

    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        async def record(event: str, data: dict[str, Any]) -> None:
            self.events.append((event, data))

        self._emit = record

    def of(self, name: str) -> list[dict[str, Any]]:
        return [data for event, data in self.events if event == name]


def services(settings: Settings, *, sessions=None, resolver=None) -> EngineServices:
    """The same services ``pilot.engine.service.build_engine_services`` builds, from ``settings``
    (``resolver`` replaces DNS for the outbound guard)."""
    return EngineServices(
        settings=settings,
        sessions=sessions,
        http=GuardedHttp(settings.engine, resolver=resolver),
        llm=build_provider(settings.llm),
        knowledge=KnowledgeRetriever(sessions) if sessions is not None else None,
        tools=default_registry(),
    )


def make_ctx(node: dict[str, Any], svc: EngineServices, *, scope: dict[str, Any] | None = None,
             workspace_id: str = "ws_test") -> RecordingContext:
    decoded = msgspec.convert({"id": "n1", **node}, Node)
    return RecordingContext(execution_id="exe_test", workspace_id=workspace_id, node=decoded,
                            scope=scope or {"inputs": {}, "nodes": {}}, services=svc)
