"""The tool protocol, its context and its error type.

A tool declares a msgspec Struct for its arguments; the registry validates the node's rendered
arguments against it before calling, so a bad argument fails with a message naming the field.
Tools raise :class:`ToolError` (retryable or not); the engine's tool node turns it into a
``NodeError`` so the node's retry policy applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from msgspec import Struct

from pilot.core.failures import Failure
from pilot.outbound import GuardedHttp
from pilot.settings import Settings


class ToolError(Failure):
    """A tool call failed (the one failure model, :mod:`pilot.core.failures`): ``retryable``
    says whether trying again may help, ``retry_after`` is a server's hint."""


@dataclass(frozen=True)
class ToolContext:
    """What a tool may use: settings (SMTP, Slack URL), the guarded HTTP factory, its time budget
    and the idempotency key of this call."""

    settings: Settings
    http: GuardedHttp
    timeout_s: float = 30.0
    workspace_id: str | None = None
    # The same for every retry and resumed attempt of one logical call (see
    # pilot.engine.idempotency); connectors pass it on where the receiver can deduplicate.
    idempotency_key: str | None = None
    # The process's async_sessionmaker: connectors that read the workspace's own data (data tables,
    # registered MCP servers) open their own session with it.
    sessions: Any = None


class Tool(Protocol):
    name: ClassVar[str]
    description: ClassVar[str]
    arguments: ClassVar[type[Struct]]

    def configured(self, settings: Settings) -> bool:
        """Whether the tool can run with these settings (e.g. SMTP host set)."""
        ...

    # Optional: ``prepare(arguments: dict) -> dict`` normalises raw arguments before validation
    # (e.g. the email tool splits "a@x.com, b@y.com" into a list).

    async def call(self, args: Any, ctx: ToolContext) -> Any:
        """Perform the call with validated ``args`` and return a JSON-serialisable result."""
        ...
