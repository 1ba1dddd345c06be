"""Choose the provider from settings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from pilot.llm.offline import OfflineProvider
from pilot.llm.openai_provider import OpenAIProvider
from pilot.llm.prices import OFFLINE_MODEL
from pilot.llm.schemas import LLMToolCalls, LLMUsage, MessageLike
from pilot.llm.traced import traced
from pilot.settings import LLMSettings


class RoutingProvider:
    """The openai provider, except that model ``offline`` always runs offline.

    This is what :func:`build_provider` returns when a key is set, so a workflow can pin a node
    to ``offline`` (e.g. in tests or demos) while the others use the real server.
    """

    name = "openai"

    def __init__(self, online: OpenAIProvider, offline: OfflineProvider) -> None:
        self.online = online
        self.offline = offline

    def stream_chat(
        self,
        *,
        model: str,
        messages: Sequence[MessageLike],
        temperature: float = 0.7,
        max_tokens: int | None = None,
        response_format: dict[str, Any] | None = None,
        tools: list[dict[str, Any]] | None = None,
    ) -> AsyncIterator[str | LLMToolCalls | LLMUsage]:
        target = self.offline if model == OFFLINE_MODEL else self.online
        return target.stream_chat(model=model, messages=messages, temperature=temperature,
                                  max_tokens=max_tokens, response_format=response_format, tools=tools)

    async def aclose(self) -> None:
        await self.online.aclose()


def build_provider(settings: LLMSettings) -> Any:
    """OpenAI-compatible provider when an API key is set, else the offline provider; with
    tracing on, wrapped so that each call is a span (:mod:`pilot.llm.traced`)."""
    offline = OfflineProvider()
    provider: OfflineProvider | RoutingProvider = offline
    if settings.enabled:
        provider = RoutingProvider(OpenAIProvider(settings), offline)
    return traced(provider)
