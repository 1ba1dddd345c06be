"""The readiness report (msgspec Structs), as ``GET /api/workflows/{id}/readiness`` returns it."""

from __future__ import annotations

from typing import Literal

from msgspec import UNSET, Struct, UnsetType

ReadinessKind = Literal["credential", "knowledge_base", "input", "tool_config", "outbound_host", "workflow", "code", "agent",
                        "table"]


class ReadinessItem(Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One thing a run needs that is missing.

    ``name`` is what is missing: the credential name, the knowledge base, the input field, the
    tool, the refused host, the workflow a ``workflow`` step runs, a ``code`` step's language, the data table
    (an ``agent`` note names the agent step); ``node_id`` the node that needs it (absent for none).
    """

    kind: ReadinessKind
    message: str
    node_id: str | None = None
    name: str | None = None


class Readiness(Struct, frozen=True, kw_only=True):
    """``ready`` is true when nothing is missing (``items`` is empty); ``publishable`` when nothing
    but required inputs is (those never block publishing: a run supplies them). ``notes`` (only
    present when there are some) are advice that never affects either: an agent without tools."""

    ready: bool
    items: list[ReadinessItem] = []
    publishable: bool = True
    notes: list[ReadinessItem] | UnsetType = UNSET
