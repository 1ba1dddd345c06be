"""The readiness report (msgspec Structs), as ``GET /api/workflows/{id}/readiness`` returns it."""

from __future__ import annotations

from typing import Literal

from msgspec import Struct

ReadinessKind = Literal["credential", "knowledge_base", "input", "tool_config", "outbound_host"]


class ReadinessItem(Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One thing a run needs that is missing.

    ``name`` is what is missing: the credential name, the knowledge base, the input field, the
    tool, or the refused host; ``node_id`` the node that needs it (absent for none).
    """

    kind: ReadinessKind
    message: str
    node_id: str | None = None
    name: str | None = None


class Readiness(Struct, frozen=True, kw_only=True):
    """``ready`` is true when nothing is missing (``items`` is empty); ``publishable`` when nothing
    but required inputs is (those never block publishing: a run supplies them)."""

    ready: bool
    items: list[ReadinessItem] = []
    publishable: bool = True
