"""Structured LLM output via instructor (the one place Pydantic is used; callers convert to Structs).

``structured()`` layers two bounded retry loops:

- **re-asks** (instructor): when the model's output does not validate against the response
  model, the validation error is sent back and the model asked again, up to
  ``settings.reask_retries`` times;
- **transport retries** (here): 429, 5xx, timeouts, connection errors and malformed responses
  are retried up to ``settings.max_retries`` times with exponential backoff (with jitter), never
  sooner than the server's ``Retry-After``.

Everything is bounded by one overall deadline (``timeout`` or ``settings.timeout_s``); when it
gives up it raises :class:`StructuredOutputError` and callers fall back to offline logic.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Sequence
from typing import Any, Literal, TypeVar

import instructor
import openai
from pydantic import BaseModel

from pilot.core import failures
from pilot.llm.openai_provider import classify, shared_client
from pilot.llm.schemas import LLMError, LLMUsage, MessageLike, StructuredOutputError, to_openai_messages
from pilot.observability import tracing
from pilot.settings import LLMSettings

log = logging.getLogger(__name__)
# instructor logs every transport failure at ERROR before re-raising; this module handles them
# (retry or fall back) and logs the outcome itself, so those lines would only mislead operators.
logging.getLogger("instructor.v2.retry").setLevel(logging.CRITICAL)

T = TypeVar("T", bound=BaseModel)
StructuredMode = Literal["tools", "json_schema", "json"]

_MODES: dict[str, instructor.Mode] = {
    "tools": instructor.Mode.TOOLS,  # function calling: the most widely supported (OpenAI, OpenRouter)
    "json_schema": instructor.Mode.JSON_SCHEMA,  # response_format json_schema (structured outputs)
    "json": instructor.Mode.JSON,  # response_format json_object + schema in the prompt
}
INITIAL_BACKOFF_S = 0.5
MAX_BACKOFF_S = 8.0

_PATCHED: weakref.WeakKeyDictionary[openai.AsyncOpenAI, dict[str, Any]] = weakref.WeakKeyDictionary()


def _instructor_client(client: openai.AsyncOpenAI, mode: str) -> Any:
    per_client = _PATCHED.setdefault(client, {})
    if mode not in per_client:
        per_client[mode] = instructor.from_openai(client, mode=_MODES[mode])
    return per_client[mode]


def backoff_delay(attempt: int, *, initial: float = INITIAL_BACKOFF_S, retry_after: float | None = None) -> float:
    """Delay before transport retry ``attempt`` (1-based): exponential with ±20 % jitter,
    capped at ``MAX_BACKOFF_S``, and never shorter than the server's Retry-After."""
    return failures.backoff_delay(attempt, initial=initial, max_delay=MAX_BACKOFF_S, jitter=0.2, retry_after=retry_after)


def _transport_error(exc: BaseException) -> BaseException | None:
    """The openai/transport error behind an instructor exception, if that is what failed."""
    seen = exc
    for _ in range(8):
        if isinstance(seen, (openai.APIError, LLMError)):
            return seen
        nxt = seen.__cause__ or seen.__context__
        if nxt is None:
            return None
        seen = nxt
    return None


async def structured(
    response_model: type[T],
    messages: Sequence[MessageLike],
    *,
    settings: LLMSettings,
    model: str | None = None,
    mode: StructuredMode | None = None,
    timeout: float | None = None,
    initial_backoff_s: float = INITIAL_BACKOFF_S,
    temperature: float = 0.0,
) -> T:
    """Ask the configured openai-compatible server for a ``response_model`` instance.

    Raises :class:`StructuredOutputError` when no key is configured, the output never
    validates, a non-retryable error occurs, retries are exhausted or the deadline passes.
    """
    if not settings.enabled:
        raise StructuredOutputError("no LLM API key configured")
    model = model or settings.analyzer_model or settings.model
    mode = mode or settings.structured_mode
    if mode not in _MODES:
        raise StructuredOutputError(f"unknown structured mode {mode!r}; use one of {sorted(_MODES)}")
    wire = to_openai_messages(messages)
    client = _instructor_client(shared_client(settings), mode)
    budget = timeout if timeout is not None else settings.timeout_s
    deadline = time.monotonic() + budget
    attempts = 0
    last: BaseException | None = None
    while True:
        attempts += 1
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise StructuredOutputError(f"structured output timed out after {budget:g}s", attempts=attempts - 1,
                                        cause=last)
        try:
            with tracing.client_span(f"chat {model}", {  # a span per attempt while tracing is on
                "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": model,
                "pilot.llm.response_model": response_model.__name__,
            }) as span:
                async with asyncio.timeout(remaining):
                    result = await client.chat.completions.create(
                        model=model,
                        messages=wire,
                        response_model=response_model,
                        max_retries=settings.reask_retries,
                        temperature=temperature,
                        timeout=remaining,
                    )
                usage = usage_of(result) if span is not None else None
                if usage is not None:
                    span.set_attribute("gen_ai.usage.input_tokens", usage.prompt_tokens)
                    span.set_attribute("gen_ai.usage.output_tokens", usage.completion_tokens)
                return result
        except TimeoutError as exc:
            raise StructuredOutputError(f"structured output timed out after {budget:g}s", attempts=attempts,
                                        cause=exc) from exc
        except Exception as exc:
            transport = _transport_error(exc)
            if transport is None:
                log.info("structured output invalid after re-asks (model %s): %s", model, exc)
                raise StructuredOutputError(
                    f"model output did not validate as {response_model.__name__} after "
                    f"{settings.reask_retries + 1} attempts: {str(exc)[:300]}", attempts=attempts, cause=exc,
                ) from exc
            error = classify(transport, model)
            last = error
            if not error.retryable or attempts > settings.max_retries:
                raise StructuredOutputError(f"structured output failed: {error.message}", attempts=attempts,
                                            cause=error) from exc
            delay = backoff_delay(attempts, initial=initial_backoff_s, retry_after=error.retry_after)
            if time.monotonic() + delay >= deadline:
                raise StructuredOutputError(
                    f"structured output failed: {error.message} (next retry in {delay:.1f}s is past the deadline)",
                    attempts=attempts, cause=error,
                ) from exc
            log.info("structured output: %s; retry %d in %.2fs", error.message, attempts, delay)
            await asyncio.sleep(delay)


def usage_of(result: BaseModel) -> LLMUsage | None:
    """Token usage behind a ``structured()`` result, summed over re-asks (None if unreported)."""
    usage = getattr(result, "_total_usage", None)
    if usage is None:
        usage = getattr(getattr(result, "_raw_response", None), "usage", None)
    if usage is None:
        return None
    prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
    completion = int(getattr(usage, "completion_tokens", 0) or 0)
    return LLMUsage(prompt, completion, int(getattr(usage, "total_tokens", 0) or prompt + completion))
