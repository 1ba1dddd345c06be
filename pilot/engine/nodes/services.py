"""Build the :class:`EngineServices` the llm/api/knowledge/tool runners need, once per process."""

from __future__ import annotations

from typing import Any

from pilot.engine.net import GuardedHttp, Resolver
from pilot.engine.nodes.base import EngineServices
from pilot.knowledge.store import KnowledgeRetriever
from pilot.llm import build_provider
from pilot.settings import Settings
from pilot.tools.registry import default_registry


def build_services(settings: Settings, sessions: Any = None, *, llm: Any = None, resolver: Resolver | None = None) -> EngineServices:
    """Guarded HTTP factory, LLM provider (offline without a key), knowledge retriever, tools.

    ``llm`` overrides the provider (tests); ``resolver`` replaces DNS for the outbound guard (tests).
    """
    return EngineServices(
        settings=settings,
        sessions=sessions,
        http=GuardedHttp(settings.engine, resolver=resolver),
        llm=llm if llm is not None else build_provider(settings.llm),
        knowledge=KnowledgeRetriever(sessions) if sessions is not None else None,
        tools=default_registry(),
    )
