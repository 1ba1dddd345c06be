"""The one error root of πlot and its subclasses.

Every domain raises a subclass of :class:`PilotError`; ``pilot.app`` maps the root to the
DESIGN.md error shape ``{"status_code", "detail", "extra"?}`` in exactly one place.
Control-flow signals of the engine (retry, cancel) are *not* PilotErrors: they live in
``pilot.engine`` and never reach HTTP.
"""

from __future__ import annotations

from typing import Any


class PilotError(Exception):
    """Base of every error that may cross an API boundary."""

    status_code: int = 500
    default_detail: str = "internal error"

    def __init__(self, detail: str | None = None, *, extra: Any = None) -> None:
        self.detail = detail or self.default_detail
        self.extra = extra
        super().__init__(self.detail)

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status_code": self.status_code, "detail": self.detail}
        if self.extra is not None:
            body["extra"] = self.extra
        return body


class BadRequestError(PilotError):
    """The request is malformed (syntax, types, unknown fields)."""

    status_code = 400
    default_detail = "bad request"


class AuthenticationError(PilotError):
    """Missing or invalid API key."""

    status_code = 401
    default_detail = "missing or invalid API key"


class PaymentRequiredError(PilotError):
    """A spending limit refuses the request (a workspace's hard monthly budget, :mod:`pilot.usage`)."""

    status_code = 402
    default_detail = "budget limit reached"


class ForbiddenError(PilotError):
    """Authenticated, but the caller's role in the workspace does not allow this (pilot.auth.roles)."""

    status_code = 403
    default_detail = "forbidden"


class NotFoundError(PilotError):
    """The resource does not exist *in the caller's workspace* (tenancy answers 404, not 403)."""

    status_code = 404
    default_detail = "not found"


class ConflictError(PilotError):
    """The request conflicts with the resource's state (e.g. editing a published version)."""

    status_code = 409
    default_detail = "conflict"


class PayloadTooLargeError(PilotError):
    status_code = 413
    default_detail = "request body too large"


class UnprocessableError(PilotError):
    """Well-formed but semantically invalid input (invalid graph, bad input_data, ...)."""

    status_code = 422
    default_detail = "unprocessable input"


class GraphValidationError(UnprocessableError):
    """A workflow graph failed validation; ``extra`` lists every problem found."""

    default_detail = "workflow graph is invalid"

    def __init__(self, problems: list[Any], detail: str | None = None) -> None:
        self.problems = problems
        first = problems[0] if problems else None
        msg = detail or (
            f"workflow graph is invalid: {getattr(first, 'message', first)}"
            + (f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else "")
        )
        super().__init__(msg, extra=[_problem_dict(p) for p in problems])


class TooManyRequestsError(PilotError):
    """429; ``retry_after`` (seconds) becomes the ``Retry-After`` header (``pilot.app``)."""

    status_code = 429
    default_detail = "too many requests"

    def __init__(self, detail: str, *, retry_after: float) -> None:
        super().__init__(detail, extra={"retry_after_s": round(retry_after, 3)})
        self.retry_after = retry_after


class ServiceUnavailableError(PilotError):
    status_code = 503
    default_detail = "service unavailable"


def _problem_dict(problem: Any) -> Any:
    import msgspec

    if isinstance(problem, msgspec.Struct):
        return msgspec.to_builtins(problem)
    return problem
