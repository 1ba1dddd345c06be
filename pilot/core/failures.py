"""The one failure model: every failure of an outside call says whether to try again.

Modelled on httpx's exception tree: one base, :class:`Failure`, carries ``retryable`` and
``retry_after`` (seconds, a server's hint); each domain subclasses it —
:class:`pilot.engine.errors.NodeError`, :class:`pilot.tools.base.ToolError`,
:class:`pilot.llm.schemas.LLMError` and :class:`pilot.outbound.OutboundError` — so the engine's
retry policy (:func:`pilot.engine.policies.retry_delay`, the one backoff function) treats them
all alike.

One HTTP classifier, :func:`status_is_retryable`, decides for the api node, the tools and the
LLM provider: 408 (request timeout), 425 (too early), 429 (rate limited) and every 5xx are worth
another attempt; other statuses are the request's fault and are not.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Callable, Mapping

RETRYABLE_STATUSES = frozenset({408, 425, 429})


class Failure(Exception):
    """A failed operation. The message is shown to users (events, node errors): keep secrets out."""

    def __init__(self, message: str, *, retryable: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, retryable={self.retryable}, retry_after={self.retry_after})"


def status_is_retryable(status: int) -> bool:
    """The one HTTP classifier (see module docstring)."""
    return status in RETRYABLE_STATUSES or status >= 500


def retry_after_seconds(headers: Mapping[str, str], *, cap: float = 3600.0) -> float | None:
    """Parse ``retry-after-ms`` (OpenAI's) or ``Retry-After`` (delta-seconds or an HTTP date)
    into seconds, capped; None if absent/invalid."""
    millis = (headers.get("retry-after-ms") or "").strip()
    if millis:
        try:
            seconds = float(millis) / 1000.0
            if not math.isnan(seconds):
                return min(max(seconds, 0.0), cap)
        except ValueError:
            pass
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), cap)


def classify_status(status: int, headers: Mapping[str, str]) -> tuple[bool, float | None]:
    """``(retryable, retry_after)`` for an HTTP error status and its response headers."""
    return status_is_retryable(status), retry_after_seconds(headers)


def backoff_delay(
    attempt: int,
    *,
    initial: float,
    max_delay: float,
    factor: float = 2.0,
    jitter: float = 0.0,
    retry_after: float | None = None,
    rand: Callable[[], float] = random.random,
) -> float:
    """The one backoff function: the delay after failed attempt ``attempt`` (1-based).

    ``min(initial * factor**(attempt-1), max_delay)`` randomised by ±``jitter`` (a fraction),
    never negative and never above ``max_delay``; a server's ``retry_after`` is a lower bound
    (it may exceed ``max_delay``: the server said so). Node retries, LLM transport retries, event
    persistence and the Redis bus all wait with it.
    """
    try:
        base = min(initial * factor ** (attempt - 1), max_delay)
    except OverflowError:
        base = max_delay
    if jitter:
        base *= 1.0 + jitter * (2.0 * rand() - 1.0)
    delay = max(0.0, min(base, max_delay))
    if retry_after is not None and retry_after > 0:
        delay = max(delay, retry_after)
    return delay
