"""The one failure model: a single HTTP classifier and a single backoff function."""

from __future__ import annotations

import pytest

from pilot.core.failures import Failure, backoff_delay, classify_status, retry_after_seconds, status_is_retryable
from pilot.engine.errors import NodeError
from pilot.llm.schemas import LLMError
from pilot.outbound import DestinationBlocked, OutboundError


@pytest.mark.parametrize(("status", "retryable"), [
    (408, True), (425, True), (429, True), (500, True), (502, True), (503, True), (599, True),
    (400, False), (401, False), (403, False), (404, False), (409, False), (422, False),
])
def test_one_classifier_for_every_http_caller(status: int, retryable: bool) -> None:
    assert status_is_retryable(status) is retryable
    assert classify_status(status, {"retry-after": "7"}) == (retryable, 7.0)


def test_every_domain_error_is_a_failure() -> None:
    from pilot.tools.base import ToolError

    for error in (NodeError("x", retryable=True), LLMError("x", retryable=True), ToolError("x", retryable=True)):
        assert isinstance(error, Failure) and error.retryable
    blocked = DestinationBlocked("nope")
    assert isinstance(blocked, OutboundError) and isinstance(blocked, Failure) and not blocked.retryable


def test_backoff_grows_is_capped_and_honours_retry_after() -> None:
    delays = [backoff_delay(n, initial=0.5, max_delay=4.0) for n in range(1, 7)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert backoff_delay(10_000, initial=1.0, max_delay=30.0) == 30.0  # no overflow
    assert backoff_delay(1, initial=0.5, max_delay=4.0, retry_after=12.0) == 12.0
    low = backoff_delay(1, initial=1.0, max_delay=10.0, jitter=0.1, rand=lambda: 0.0)
    high = backoff_delay(1, initial=1.0, max_delay=10.0, jitter=0.1, rand=lambda: 1.0)
    assert low == pytest.approx(0.9) and high == pytest.approx(1.1)


def test_retry_after_accepts_seconds_and_dates_and_rejects_junk() -> None:
    assert retry_after_seconds({"retry-after": "3"}) == 3.0
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # in the past
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({"retry-after": "nan"}) is None
    assert retry_after_seconds({"retry-after": "99999"}) == 3600.0
