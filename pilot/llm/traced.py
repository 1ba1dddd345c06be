"""A client span per LLM call: :func:`traced` wraps a provider while tracing is on
(:mod:`pilot.observability.tracing`); while it is off the provider is returned as it is."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from pilot.llm.schemas import LLMToolCalls, LLMUsage
from pilot.observability import tracing


class TracedProvider:
    """Delegates to ``inner``; each ``stream_chat`` is a ``chat <model>`` client span (model,
    provider, tokens in and out, tool calls; an error marks it failed by its type). Prompts and
    answers are not recorded: they are user data."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name

    async def stream_chat(self, *, model: str, **kwargs: Any) -> AsyncIterator[Any]:
        span = tracing.start_client_span(f"chat {model}", {
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": self.name, "gen_ai.request.model": model,
        })
        error: BaseException | None = None
        try:
            async for item in self.inner.stream_chat(model=model, **kwargs):
                if span is not None:
                    if isinstance(item, LLMUsage):
                        span.set_attribute("gen_ai.usage.input_tokens", item.prompt_tokens)
                        span.set_attribute("gen_ai.usage.output_tokens", item.completion_tokens)
                    elif isinstance(item, LLMToolCalls):
                        span.set_attribute("pilot.llm.tool_calls", len(item.calls))
                yield item
        except Exception as exc:
            error = exc
            raise
        finally:
            tracing.end_span(span, error)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def __getattr__(self, name: str) -> Any:  # the wrapped provider's other attributes (online, offline, …)
        return getattr(self.inner, name)


def traced(provider: Any) -> Any:
    """``provider`` with a span per call while tracing is on; ``provider`` itself otherwise."""
    return TracedProvider(provider) if tracing.enabled() else provider
