"""The openai-compatible provider (OpenAI, OpenRouter, vLLM, Ollama, any chat-completions server).

SDK-level retries are OFF (``max_retries=0``): retry policy and model fallbacks belong to the
engine, which decides from the :class:`LLMError` classification produced here. One
``AsyncOpenAI`` client (and so one connection pool) is shared per event loop and configuration.
Streams are requested through the SDK's raw-request API (``client.post(..., cast_to=httpx2.Response)``,
which keeps its base URL, auth, headers, timeout and status errors) and decoded with msgspec
(:mod:`pilot.llm.stream_chunks`): the SDK's pydantic object per chunk, plus its typed-params
transform, were over half the CPU of a streamed call.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from pilot.core.failures import retry_after_seconds, status_is_retryable
from pilot.core.redaction import clip, redact, register_secret
from pilot.llm.prices import count_message_tokens, count_tokens
from pilot.llm.schemas import LLMError, LLMToolCalls, LLMUsage, MessageLike, ToolCallRequest, to_openai_messages
from pilot.llm.stream_chunks import Chunk, SSEData, ToolCallDelta, decode_chunk, error_message
from pilot.settings import LLMSettings

if TYPE_CHECKING:  # the SDK takes ~1 s to import; load it on first use, not with pilot.llm
    import openai

# Clients are bound to the loop their pooled connections were opened on, so the cache is per loop
# (the API process, an arq worker and a test's background uvicorn thread each get their own).
_CLIENTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple, openai.AsyncOpenAI]] = (
    weakref.WeakKeyDictionary()
)
DRAIN_S = 0.2  # how long to wait for the end of a stream's body after [DONE] (see _finish_body)


def shared_client(settings: LLMSettings) -> openai.AsyncOpenAI:
    """The process's AsyncOpenAI client for ``settings`` on the running loop (created once)."""
    import openai

    loop = asyncio.get_running_loop()
    key = (settings.base_url, settings.api_key, settings.timeout_s)
    per_loop = _CLIENTS.setdefault(loop, {})
    client = per_loop.get(key)
    if client is None:
        register_secret(settings.api_key)  # whichever process builds a client redacts its key
        client = openai.AsyncOpenAI(
            api_key=settings.api_key or "unused",
            base_url=settings.base_url or None,
            max_retries=0,
            timeout=settings.timeout_s,
        )
        per_loop[key] = client
    return client


def parse_retry_after(headers: Any) -> float | None:
    """The server's retry hint (``retry-after-ms`` / ``Retry-After``), via the one parser."""
    return None if headers is None else retry_after_seconds(headers)


def classify(exc: BaseException, model: str | None = None) -> LLMError:
    """Map an openai SDK exception to an :class:`LLMError` with the retry classification.

    The message is redacted (:mod:`pilot.core.redaction`): it reaches node errors, events,
    ``blueprint.fallback_reason``, logs and stored rows, and a proxy may echo the API key."""
    error = _classify(exc, model)
    cleaned = redact(error.message)
    if cleaned is not error.message:
        error.message = cleaned
        error.args = (cleaned, *error.args[1:])
    return error


def _classify(exc: BaseException, model: str | None = None) -> LLMError:
    import openai

    if isinstance(exc, LLMError):
        return exc
    if isinstance(exc, openai.APITimeoutError):
        return LLMError(f"LLM request timed out ({model})", retryable=True, model=model, code="timeout")
    if isinstance(exc, openai.APIConnectionError):
        return LLMError(f"LLM connection failed: {exc.message}", retryable=True, model=model, code="connection")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        retryable = status_is_retryable(status)
        detail = _error_detail(exc)
        return LLMError(
            f"LLM server answered {status}: {detail}",
            retryable=retryable,
            retry_after=parse_retry_after(exc.response.headers),
            status=status,
            model=model,
            code=exc.code,
        )
    timeouts, transport = _http_errors()
    if isinstance(exc, timeouts):  # raw transport errors surface mid-stream (after the SDK returned)
        return LLMError(f"LLM stream timed out ({model})", retryable=True, model=model, code="timeout")
    if isinstance(exc, transport):
        return LLMError(f"LLM connection failed mid-stream: {exc!r}", retryable=True, model=model, code="connection")
    if isinstance(exc, (openai.APIResponseValidationError, ValueError)):
        # A 200 whose body is not valid JSON / not a completion: a broken proxy or a transient
        # server fault; worth another attempt.
        return LLMError(f"LLM sent a malformed response: {exc}", retryable=True, model=model, code="malformed")
    if isinstance(exc, openai.OpenAIError):
        return LLMError(f"LLM error: {exc}", retryable=False, model=model)
    return LLMError(f"LLM call failed: {exc.__class__.__name__}: {exc}", retryable=True, model=model)


def _http_errors() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """Timeout and transport exception classes of the HTTP clients the SDK may use."""
    timeouts: list[type[BaseException]] = [TimeoutError]
    transport: list[type[BaseException]] = [ConnectionError]
    for name in ("httpx2", "httpx"):
        try:
            module = __import__(name)
        except ImportError:
            continue
        timeouts.append(module.TimeoutException)
        transport.append(module.TransportError)
    return tuple(timeouts), tuple(transport)


def _error_detail(exc: openai.APIStatusError) -> str:
    """The provider's own message, redacted *before* it is cut (a cut key would survive)."""
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return clip(str(inner["message"]), 300)
    return clip(str(exc.message), 300)


def _add_fragment(calls: dict[int, dict[str, str]], fragment: ToolCallDelta) -> None:
    """Merge one streamed tool-call fragment (id and name come once, arguments in pieces)."""
    call = calls.setdefault(fragment.index or 0, {"id": "", "name": "", "arguments": ""})
    if fragment.id:
        call["id"] = fragment.id
    function = fragment.function
    if function is not None:
        if function.name:
            call["name"] += function.name
        if function.arguments:
            call["arguments"] += function.arguments


async def _open_stream(client: openai.AsyncOpenAI, body: dict[str, Any]) -> Any:
    """POST a streaming chat completion; the SDK raises its status errors, the body is left unread."""
    import httpx2  # the SDK's HTTP client (what its documented raw requests ask for)

    return await client.post("/chat/completions", body=body, cast_to=httpx2.Response, stream=True)


async def _chunks(response: Any) -> AsyncIterator[Chunk]:
    """The chunks of a streaming chat-completion response, up to ``[DONE]``.

    A mid-stream ``error`` object raises the SDK's ``APIError`` (so it is classified as before)."""
    body = response.aiter_bytes()
    events = SSEData()
    async for piece in body:
        for data in events.feed(piece):
            if data.startswith(b"[DONE]"):
                await _finish_body(body)
                return
            chunk = decode_chunk(data)
            if chunk.error:
                import openai

                raise openai.APIError(error_message(chunk.error), response.request, body=chunk.error)
            yield chunk


async def _finish_body(body: AsyncIterator[bytes]) -> None:
    """Read the end of the body after ``[DONE]`` so the connection goes back to the pool.

    Closing a response before its end discards the connection, so every completion would pay a new
    TCP (and TLS) handshake. Servers end the body right after ``[DONE]``; one that keeps it open
    costs at most ``DRAIN_S``, then the response is closed as before (all data was received)."""
    try:
        async with asyncio.timeout(DRAIN_S):
            async for _ in body:
                pass
    except Exception:  # timed out or a broken tail: nothing is lost, the connection is just dropped
        pass


class OpenAIProvider:
    """Streams chat completions from an openai-compatible server."""

    name = "openai"

    def __init__(self, settings: LLMSettings, *, client: openai.AsyncOpenAI | None = None) -> None:
        register_secret(settings.api_key)
        self.settings = settings
        self._client = client

    @property
    def client(self) -> openai.AsyncOpenAI:
        return self._client or shared_client(self.settings)

    async def stream_chat(
        self,
        *,
        model: str,
        messages: Sequence[MessageLike],
        temperature: float = 0.7,
        max_tokens: int | None = None,
        response_format: dict[str, Any] | None = None,
        tools: list[dict[str, Any]] | None = None,
    ) -> AsyncIterator[str | LLMToolCalls | LLMUsage]:
        """Yield text deltas, then (when ``tools`` were offered and the model called some) one
        :class:`LLMToolCalls`, then one :class:`LLMUsage`; raise :class:`LLMError` on failure.

        ``tools`` are OpenAI function tools (``{"type": "function", "function": {name,
        description, parameters}}``); the streamed call fragments are assembled by index."""
        wire = to_openai_messages(messages)
        kwargs: dict[str, Any] = {
            "model": model,
            "messages": wire,
            "temperature": temperature,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if max_tokens is not None:
            kwargs["max_tokens"] = max_tokens
        if response_format is not None:
            kwargs["response_format"] = response_format
        if tools:
            kwargs["tools"] = tools
        calls: dict[int, dict[str, str]] = {}
        parts: list[str] = []
        usage: LLMUsage | None = None
        # Not chat.completions.create(): its typed-params transform and a pydantic object per
        # chunk cost more CPU than the rest of the call; the chunks are decoded with msgspec here.
        try:
            response = await _open_stream(self.client, kwargs)
        except Exception as exc:
            raise classify(exc, model) from exc
        try:
            async with aclosing(_chunks(response)) as chunks:
                async for chunk in chunks:
                    if chunk.usage is not None:
                        u = chunk.usage
                        usage = LLMUsage(u.prompt_tokens or 0, u.completion_tokens or 0, u.total_tokens or 0)
                    for choice in chunk.choices or ():
                        delta = choice.delta
                        if delta is None:
                            continue
                        if delta.content:
                            parts.append(delta.content)
                            yield delta.content
                        for fragment in delta.tool_calls or ():
                            _add_fragment(calls, fragment)
        except (asyncio.CancelledError, GeneratorExit):
            raise
        except Exception as exc:
            raise classify(exc, model) from exc
        finally:
            await response.aclose()
        if calls:
            yield LLMToolCalls([ToolCallRequest(c["id"] or f"call_{i}", c["name"], c["arguments"])
                                for i, c in sorted(calls.items())])
        if usage is None:  # servers that ignore stream_options: estimate so cost tracking still works
            prompt = count_message_tokens(wire)
            completion = count_tokens("".join(parts)) + sum(count_tokens(c["arguments"]) for c in calls.values())
            usage = LLMUsage(prompt, completion, prompt + completion)
        yield usage

    async def aclose(self) -> None:
        """Close an injected client; the shared per-loop client lives as long as its loop."""
        if self._client is not None:
            await self._client.close()
