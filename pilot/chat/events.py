"""Chat stream event payloads: a tagged union on ``event`` (the SSE event name).

A chat reply streams, in order: ``message.started``; then either the analysis of a new
request (``analysis``, ``blueprint``, the workflow appearing node by node) or the edit of the
current workflow (``workflow.node_*`` / ``workflow.edge_*`` / ``workflow.settings_updated``);
``workflow.ready`` when a new version was saved; ``clarification`` when the assistant asks
instead of guessing; the explanation as ``message.delta`` chunks; and always, last,
``message.finished`` (``error`` is followed by ``message.finished``).

``payload_to_event(p)`` gives the ``(event, data)`` pair the event recorder stores: the tag
is the event name, the rest of the Struct is the JSON data.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from msgspec import Struct


class _Event(Struct, frozen=True, kw_only=True, tag_field="event"):
    pass


class MessageStarted(_Event, tag="message.started"):
    message_id: str
    session_id: str
    reply_to: str  # the user's message id
    role: Literal["assistant"] = "assistant"


class TemplateCandidate(Struct, frozen=True, kw_only=True):
    template_id: str
    name: str = ""
    score: float = 0.0
    reason: str = ""


class Analysis(_Event, tag="analysis"):
    """What the request was understood as: ``mode`` create (new workflow) or refine (edit)."""

    mode: Literal["create", "refine", "run", "clarify", "undo"]
    intent: str | None = None
    confidence: float | None = None
    language: str = "en"
    candidates: list[TemplateCandidate] = []
    planner: str | None = None  # rules | llm (refinements)


class BlueprintEvent(_Event, tag="blueprint"):
    blueprint: dict[str, Any]


class NodeAdded(_Event, tag="workflow.node_added"):
    node: dict[str, Any]


class EdgeAdded(_Event, tag="workflow.edge_added"):
    edge: dict[str, Any]


class NodeUpdated(_Event, tag="workflow.node_updated"):
    node_id: str
    node: dict[str, Any]
    changes: list[str]  # e.g. ["title", "config.model"]


class NodeRemoved(_Event, tag="workflow.node_removed"):
    node_id: str


class EdgeRemoved(_Event, tag="workflow.edge_removed"):
    edge_id: str
    source: str
    target: str
    source_handle: str | None = None


class SettingsUpdated(_Event, tag="workflow.settings_updated"):
    settings: dict[str, Any]
    changes: list[str]


class WorkflowReady(_Event, tag="workflow.ready"):
    workflow: dict[str, Any]
    readiness: dict[str, Any] | None = None  # pilot.readiness: {ready, items} of the saved workflow


class ClarifyOption(Struct, frozen=True, kw_only=True):
    id: str  # a template id
    label: str
    reason: str = ""


class Clarification(_Event, tag="clarification"):
    question: str
    options: list[ClarifyOption]


class MessageDelta(_Event, tag="message.delta"):
    text: str


class MessageFinished(_Event, tag="message.finished"):
    """Terminal. ``outcome``: created | edited | unchanged | clarify | run | undone | error."""

    message_id: str
    outcome: str
    content: str = ""
    workflow_id: str | None = None
    workflow_version: int | None = None
    execution_id: str | None = None
    stream_url: str | None = None


class ErrorEvent(_Event, tag="error"):
    message: str
    code: str = "error"


ChatEvent = (
    MessageStarted
    | Analysis
    | BlueprintEvent
    | NodeAdded
    | EdgeAdded
    | NodeUpdated
    | NodeRemoved
    | EdgeRemoved
    | SettingsUpdated
    | WorkflowReady
    | Clarification
    | MessageDelta
    | MessageFinished
    | ErrorEvent
)
EVENT_NAMES: tuple[str, ...] = tuple(cls.__struct_config__.tag for cls in ChatEvent.__args__)  # type: ignore[attr-defined]
TERMINAL_EVENT = "message.finished"


def payload_to_event(payload: ChatEvent) -> tuple[str, dict[str, Any]]:
    """``(event name, JSON data without the tag)`` for the recorder / SSE."""
    data = msgspec.to_builtins(payload)
    name = data.pop("event")
    return name, data


def event_to_payload(event: str, data: dict[str, Any]) -> ChatEvent:
    """Decode a stored/streamed chat event back into its typed payload (tests, clients)."""
    return msgspec.convert({**data, "event": event}, ChatEvent)
