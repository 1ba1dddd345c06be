"""The LLM layer: provider protocol, openai-compatible and offline providers, structured output, prices.

- :func:`build_provider` picks the provider from :class:`pilot.settings.LLMSettings`.
- Providers stream text deltas then one :class:`LLMUsage`, and raise :class:`LLMError`
  (classified ``retryable`` with an optional ``retry_after``) — they never retry themselves.
- :func:`pilot.llm.structured.structured` returns a Pydantic model via instructor (import it
  from its module: it loads instructor, which is slow to import).
"""

from pilot.llm.factory import RoutingProvider, build_provider
from pilot.llm.offline import LABEL as OFFLINE_LABEL
from pilot.llm.offline import OfflineProvider
from pilot.llm.openai_provider import OpenAIProvider, classify, parse_retry_after
from pilot.llm.prices import OFFLINE_MODEL, count_tokens, estimate_cost, price_for
from pilot.llm.provider import LLMProvider, complete
from pilot.llm.schemas import ChatMessage, LLMError, LLMUsage, StructuredOutputError

__all__ = [
    "OFFLINE_LABEL",
    "OFFLINE_MODEL",
    "ChatMessage",
    "LLMError",
    "LLMProvider",
    "LLMUsage",
    "OfflineProvider",
    "OpenAIProvider",
    "RoutingProvider",
    "StructuredOutputError",
    "build_provider",
    "classify",
    "complete",
    "count_tokens",
    "estimate_cost",
    "parse_retry_after",
    "price_for",
]
