"""Boundary types of the LLM layer (msgspec Structs) and its errors."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from msgspec import Struct

from pilot.core.failures import Failure


class ChatMessage(Struct, frozen=True):
    """One chat message: ``role`` is system | user | assistant | tool."""

    role: str
    content: str


class LLMUsage(Struct, frozen=True):
    """Token usage of one call (reported by the server, or estimated when it says nothing)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    def __add__(self, other: LLMUsage) -> LLMUsage:
        return LLMUsage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.total_tokens + other.total_tokens,
        )

    def to_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }


class ToolCallRequest(Struct, frozen=True):
    """One function call the model asked for: ``arguments`` is its raw JSON text (the caller
    parses it: models sometimes send invalid JSON, which is then reported back to them)."""

    id: str
    name: str
    arguments: str = ""


class LLMToolCalls(Struct, frozen=True):
    """Yielded by ``stream_chat(tools=...)`` after the text deltas (and before the usage) when
    the model answered with function calls instead of (or besides) text."""

    calls: list[ToolCallRequest]


class LLMError(Failure):
    """A failed LLM call, in the one failure model (:mod:`pilot.core.failures`).

    ``retryable`` follows the shared HTTP classifier for status errors (408/425/429/5xx), and is
    True for timeouts, connection errors and malformed responses; False for other 4xx (bad
    request, auth, unknown model). ``retry_after`` is the server's Retry-After hint in seconds.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        status: int | None = None,
        model: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, retryable=retryable, retry_after=retry_after)
        self.status = status
        self.model = model
        self.code = code

    def __repr__(self) -> str:
        return (
            f"LLMError({self.message!r}, retryable={self.retryable}, retry_after={self.retry_after}, "
            f"status={self.status}, model={self.model!r})"
        )


class StructuredOutputError(Exception):
    """``structured()`` gave up (invalid output after re-asks, transport failures, timeout).

    Callers fall back to their offline logic; ``cause`` is the last underlying error.
    """

    def __init__(self, message: str, *, attempts: int = 0, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.attempts = attempts
        self.cause = cause


MessageLike = ChatMessage | Mapping[str, Any]


def to_openai_messages(messages: Iterable[MessageLike]) -> list[dict[str, Any]]:
    """Normalise ChatMessage Structs or plain dicts to the OpenAI wire format."""
    out: list[dict[str, Any]] = []
    for message in messages:
        if isinstance(message, ChatMessage):
            out.append({"role": message.role, "content": message.content})
        else:
            out.append(dict(message))
    return out
