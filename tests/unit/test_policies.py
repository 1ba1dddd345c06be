"""Retry policies: exponential backoff with bounded jitter, Retry-After, what is retried."""

from __future__ import annotations

from pilot.engine.errors import NodeError, NodeTimeout, RunCancelled
from pilot.engine.policies import DEFAULT_NETWORK_RETRY, NO_RETRY, backoff_delay, policy_for, retry_delay
from pilot.workflows.model import RetryPolicy

POLICY = RetryPolicy(max_attempts=5, initial_delay_s=1.0, backoff=2.0, max_delay_s=5.0, jitter=0.0)


def test_backoff_grows_exponentially_up_to_the_cap() -> None:
    assert [backoff_delay(POLICY, n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_jitter_stays_within_its_fraction_and_under_the_cap() -> None:
    policy = RetryPolicy(max_attempts=5, initial_delay_s=1.0, backoff=2.0, max_delay_s=10.0, jitter=0.25)
    assert backoff_delay(policy, 2, rand=lambda: 0.0) == 1.5
    assert backoff_delay(policy, 2, rand=lambda: 1.0) == 2.5
    capped = RetryPolicy(max_attempts=5, initial_delay_s=8.0, backoff=2.0, max_delay_s=8.0, jitter=0.5)
    assert backoff_delay(capped, 1, rand=lambda: 1.0) == 8.0


def test_only_retryable_node_errors_are_retried() -> None:
    assert retry_delay(POLICY, 1, NodeError("500", retryable=True)) == 1.0
    assert retry_delay(POLICY, 1, NodeTimeout("slow")) == 1.0
    assert retry_delay(POLICY, 1, NodeError("400 bad request")) is None
    assert retry_delay(POLICY, 1, ValueError("bug")) is None
    assert retry_delay(POLICY, 1, RunCancelled()) is None  # type: ignore[arg-type]


def test_attempts_are_bounded() -> None:
    error = NodeError("503", retryable=True)
    assert retry_delay(POLICY, 4, error) is not None
    assert retry_delay(POLICY, 5, error) is None
    assert retry_delay(NO_RETRY, 1, error) is None


def test_retry_after_is_a_lower_bound() -> None:
    assert retry_delay(POLICY, 1, NodeError("429", retryable=True, retry_after=3.0)) == 3.0
    assert retry_delay(POLICY, 3, NodeError("429", retryable=True, retry_after=0.5)) == 4.0  # backoff is larger
    assert retry_delay(POLICY, 1, NodeError("429", retryable=True, retry_after=99999)) == 600.0  # sanity cap


def test_defaults_per_node_type() -> None:
    assert policy_for("llm", None) is DEFAULT_NETWORK_RETRY
    assert policy_for("api", None) is DEFAULT_NETWORK_RETRY
    for node_type in ("tool", "knowledge", "condition", "loop", "input", "output"):
        assert policy_for(node_type, None).max_attempts == 1
    assert policy_for("tool", POLICY) is POLICY
    assert NodeTimeout("x").retryable
