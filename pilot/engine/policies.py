"""Reliability policies: which retry policy applies to a node and how long to wait between tries.

Defaults when a node has no ``retry``: ``llm`` and ``api`` nodes (network calls that fail
transiently) get :data:`DEFAULT_NETWORK_RETRY` (3 attempts, 0.5 s → 1 s … capped at 30 s, ±10 %
jitter); every other type gets a single attempt (:data:`NO_RETRY`) — control nodes are
deterministic and ``tool`` calls may have side effects (a webhook or email sent twice), so those
retry only when the workflow asks for it.

Only a :class:`~pilot.core.failures.Failure` (NodeError, ToolError, LLMError, OutboundError) with
``retryable=True`` is retried (timeouts, 429, 5xx, connection
errors); a server's ``Retry-After`` is honoured as a lower bound of the delay.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from pilot.core import failures
from pilot.core.failures import Failure
from pilot.workflows.model import RetryPolicy

DEFAULT_NETWORK_RETRY = RetryPolicy(max_attempts=3, initial_delay_s=0.5, backoff=2.0, max_delay_s=30.0, jitter=0.1)
NO_RETRY = RetryPolicy(max_attempts=1, initial_delay_s=0.0, backoff=1.0, max_delay_s=0.0, jitter=0.0)
RETRY_BY_DEFAULT: frozenset[str] = frozenset({"llm", "api"})
MAX_RETRY_AFTER_S = 600.0  # never sleep longer than this on a server's say-so


def policy_for(node_type: str, policy: RetryPolicy | None) -> RetryPolicy:
    """The node's own policy, or the default for its type."""
    if policy is not None:
        return policy
    return DEFAULT_NETWORK_RETRY if node_type in RETRY_BY_DEFAULT else NO_RETRY


def backoff_delay(policy: RetryPolicy, attempt: int, *, rand: Callable[[], float] = random.random) -> float:
    """Delay before attempt ``attempt + 1`` after attempt ``attempt`` (1-based) failed: the one
    backoff function (:func:`pilot.core.failures.backoff_delay`) with the node's policy."""
    return failures.backoff_delay(
        attempt, initial=policy.initial_delay_s, factor=policy.backoff, max_delay=policy.max_delay_s,
        jitter=policy.jitter, rand=rand,
    )


def retry_delay(
    policy: RetryPolicy, attempt: int, error: BaseException, *, rand: Callable[[], float] = random.random
) -> float | None:
    """Seconds to wait before retrying after ``attempt`` failed with ``error``; ``None``: don't retry."""
    if not isinstance(error, Failure) or not error.retryable:
        return None
    if attempt >= policy.max_attempts:
        return None
    delay = backoff_delay(policy, attempt, rand=rand)
    if error.retry_after is not None and error.retry_after > 0:
        delay = max(delay, min(error.retry_after, MAX_RETRY_AFTER_S))
    return delay
