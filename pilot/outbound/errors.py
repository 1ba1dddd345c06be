"""Refusals of the outbound client: part of the one failure model (:mod:`pilot.core.failures`)."""

from __future__ import annotations

from pilot.core.failures import Failure


class OutboundError(Failure):
    """Base of the outbound client's refusals. Not retryable: retrying cannot make the target
    allowed, the URL valid or the response smaller."""


class DestinationBlocked(OutboundError):
    """The destination resolves to an address workflows may not reach."""


class ResponseTooLarge(OutboundError):
    """The response body exceeded ``http_max_response_bytes``."""


class InvalidURL(OutboundError):
    """The URL cannot be requested (bad syntax, an unsupported scheme, a malformed IP literal)."""


class OutboundTimeout(OutboundError):
    """The request did not complete within its deadline; retryable."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=True)


class OutboundUnavailable(OutboundError):
    """The connection failed or broke (refused, reset, a malformed response); retryable."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=True)


class HTTPStatusFailure(OutboundError):
    """The server answered 4xx/5xx; retryable by the one classifier (408/425/429/5xx)."""

    def __init__(self, message: str, *, status: int, retryable: bool, retry_after: float | None) -> None:
        super().__init__(message, retryable=retryable, retry_after=retry_after if retryable else None)
        self.status = status
