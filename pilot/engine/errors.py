"""Engine errors: real node failures vs. control flow.

- :class:`NodeError` is a node *failure*. ``retryable`` tells the retry policy whether another
  attempt may succeed (timeouts, 429, 5xx, connection errors) or not (4xx, validation, template
  errors); ``retry_after`` (seconds) is a server's hint (429/503 ``Retry-After``) that the policy
  honours as a lower bound for the next delay.
- :class:`NodeTimeout` is a retryable NodeError raised when a node exceeds its timeout.
- :class:`RunCancelled` and :class:`RunDeadlineExceeded` are *not* NodeErrors: cancellation is not a
  failure of the node, and the run deadline ends the whole run, so neither is ever retried nor
  handled by ``on_error``.
"""

from __future__ import annotations

from pilot.core.failures import Failure


class EngineError(Exception):
    """Base of the engine's own exceptions (never reaches HTTP directly)."""


class NodeError(Failure, EngineError):
    """A node failed (the one failure model, :mod:`pilot.core.failures`). The message is shown
    to users (``node.failed.error``): keep secrets out."""


class NodeTimeout(NodeError):
    """The node did not finish within its timeout; retryable by default."""

    def __init__(self, message: str, *, retryable: bool = True, retry_after: float | None = None) -> None:
        super().__init__(message, retryable=retryable, retry_after=retry_after)


class RunCancelled(EngineError):
    """The run was cancelled (API cancel, shutdown); control flow, not a failure."""


class RunDeadlineExceeded(EngineError):
    """The whole-run deadline passed; the run ends ``failed`` with this message."""


class WaitSuspended(EngineError):
    """A ``wait`` node is not due (or not decided) yet: control flow, not a failure. The runner
    parks the node; once nothing else can progress the run is suspended (status ``waiting``)
    until ``resume_at`` (None: until an approval decision). Never retried, never ``on_error``."""

    def __init__(self, resume_at, *, approval: bool = False) -> None:
        super().__init__(f"waiting until {resume_at.isoformat() if resume_at else 'a decision'}")
        self.resume_at = resume_at
        self.approval = approval
