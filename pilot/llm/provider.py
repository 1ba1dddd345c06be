"""The provider protocol every LLM backend implements (the engine's llm node uses only this)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol, runtime_checkable

from pilot.llm.schemas import LLMToolCalls, LLMUsage, MessageLike


@runtime_checkable
class LLMProvider(Protocol):
    """A chat-completion backend that streams.

    ``stream_chat`` yields text deltas (``str``) and, last, exactly one :class:`LLMUsage`.
    With ``tools`` (OpenAI function tools) it may also yield one
    :class:`pilot.llm.schemas.LLMToolCalls` before the usage (the offline provider never does).
    It raises :class:`pilot.llm.schemas.LLMError` on failure; it never retries by itself
    (the engine's retry policy and model fallbacks own that).
    """

    name: str

    def stream_chat(
        self,
        *,
        model: str,
        messages: Sequence[MessageLike],
        temperature: float = 0.7,
        max_tokens: int | None = None,
        response_format: dict[str, Any] | None = None,
        tools: list[dict[str, Any]] | None = None,
    ) -> AsyncIterator[str | LLMToolCalls | LLMUsage]: ...

    async def aclose(self) -> None: ...


async def complete(provider: LLMProvider, **kwargs: Any) -> tuple[str, LLMUsage]:
    """Drain ``provider.stream_chat(**kwargs)`` into the full text and its usage."""
    parts: list[str] = []
    usage = LLMUsage()
    async for item in provider.stream_chat(**kwargs):
        if isinstance(item, LLMUsage):
            usage = item
        elif isinstance(item, str):
            parts.append(item)
    return "".join(parts), usage
