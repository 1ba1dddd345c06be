"""Stream events and the typed run-event payloads (DESIGN.md "SSE events").

A :class:`StreamEvent` is what travels on the bus, is stored in ``stream_events`` and is sent as
one SSE message (``id: seq``, ``event: event``, ``data: json(data)``). ``seq`` is 1, 2, 3… per
stream, assigned by the stream's single writer (:class:`pilot.events.recorder.EventRecorder`).

Run payloads are a msgspec tagged union on the event name (``RunEvent``); ``payload_data`` turns
one into the ``data`` dict and ``decode_run_event`` parses one back (clients, tests).
"""

from __future__ import annotations

from typing import Any, Literal, Union

import msgspec
from msgspec import Struct

RUN_FINISHED = "run.finished"
MESSAGE_FINISHED = "message.finished"  # the chat stream's terminal event (pilot/chat/events.py)
TERMINAL_EVENTS: frozenset[str] = frozenset({RUN_FINISHED, MESSAGE_FINISHED})

RunStatus = Literal["queued", "running", "waiting", "succeeded", "failed", "cancelled"]  # waiting is not terminal
TERMINAL_RUN_STATUSES: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})


class StreamEvent(Struct, frozen=True):
    """One event of one stream (an execution ``exe_…`` or a chat message)."""

    stream_id: str
    seq: int
    event: str
    data: dict[str, Any]

    @property
    def terminal(self) -> bool:
        return self.event in TERMINAL_EVENTS


# ------------------------------------------------------------------ run event payloads


class _Payload(Struct, frozen=True, tag_field="event", omit_defaults=False):
    pass


class RunStarted(_Payload, tag="run.started"):
    execution_id: str
    workflow_id: str
    input_data: dict[str, Any] = {}
    trigger: str = "manual"  # manual | schedule | webhook | form | chat


class NodeStarted(_Payload, tag="node.started"):
    node_id: str
    node_type: str
    attempt: int = 1


class NodeDelta(_Payload, tag="node.delta"):
    node_id: str
    text: str


class NodeRetry(_Payload, tag="node.retry"):
    node_id: str
    attempt: int  # the attempt that is about to start
    error: str
    delay_s: float


class NodeFallback(_Payload, tag="node.fallback"):
    node_id: str
    from_model: str
    to_model: str


class NodeFinished(_Payload, tag="node.finished"):
    node_id: str
    status: Literal["succeeded", "skipped"]
    output: Any = None
    elapsed_ms: float = 0.0
    usage: dict[str, Any] = {}
    error: str | None = None  # a failure absorbed by on_error = continue / default
    reused_from: str | None = None  # a rerun from a node: this output was reused from that execution
    # Top-level nodes also carry the rest of their stored result (pilot.events.projection):
    node_type: str | None = None
    attempts: int | None = None
    started_at: float | None = None  # epoch seconds
    finished_at: float | None = None


class NodeFailed(_Payload, tag="node.failed"):
    node_id: str
    error: str
    # A real failure of a top-level node (not a node stopped by a cancel) also carries:
    status: Literal["failed"] | None = None
    node_type: str | None = None
    attempts: int | None = None
    elapsed_ms: float | None = None
    usage: dict[str, Any] | None = None
    started_at: float | None = None
    finished_at: float | None = None


class NodeWaiting(_Payload, tag="node.waiting"):
    """A ``wait`` node paused the run: until a time (``duration_s`` / ``until``) or a person's
    decision (``approval``; ``until`` is then its timeout, if any). Times are ISO-8601 UTC."""

    node_id: str
    kind: Literal["duration", "until", "approval"]
    since: str
    until: str | None = None
    approval: dict[str, Any] | None = None  # {prompt, approvers}


class NodeResumed(_Payload, tag="node.resumed"):
    """The wait is over (due, or decided); ``node.finished`` / ``node.failed`` follows."""

    node_id: str


class NodeChildEvent(_Payload, tag="node.child_event"):
    """An event of a sub-workflow's run, forwarded onto its parent's stream under the parent's
    ``workflow`` node (``node_id``): ``child_event`` / ``data`` are the child stream's event
    name and payload, ``child_seq`` its seq there. Grandchildren nest (a ``node.child_event``
    whose ``child_event`` is ``node.child_event``). Not projected into node results."""

    node_id: str
    child_execution_id: str
    child_event: str
    child_seq: int
    data: dict[str, Any] = {}


class NodeToolCall(_Payload, tag="node.tool_call"):
    """One finished tool call of an ``agent`` node (pilot.agents.loop): ``arguments`` and
    ``result`` are redacted and capped (a longer value is a clipped JSON text); exactly one of
    ``result`` / ``error`` is present. ``step`` is the model turn that asked for it."""

    node_id: str
    tool: str
    arguments: Any = None
    result: Any = None
    error: str | None = None
    elapsed_ms: float = 0.0
    call_id: str | None = None
    step: int | None = None
    ref: str | None = None


class RunWarning(_Payload, tag="run.warning"):
    """Something the run's owner should know that does not stop it: today the workspace's monthly
    budget (``kind`` "budget", ``limit`` "soft"/"hard"), emitted once per run (pilot.usage.budget)."""

    kind: str
    message: str
    limit: str | None = None
    limit_usd: float | None = None
    spent_usd: float | None = None


class RunFinished(_Payload, tag="run.finished"):
    status: Literal["succeeded", "failed", "cancelled"]
    outputs: dict[str, Any] | None = None
    error: str | None = None
    elapsed_ms: float = 0.0
    usage: dict[str, Any] = {}


RunEvent = Union[RunStarted, NodeStarted, NodeDelta, NodeRetry, NodeFallback, NodeFinished, NodeFailed, NodeWaiting,
                 NodeResumed, RunFinished, NodeChildEvent, NodeToolCall, RunWarning]
RUN_EVENT_TYPES: dict[str, type[_Payload]] = {cls.__struct_config__.tag: cls for cls in RunEvent.__args__}  # type: ignore[attr-defined]


def event_name(payload: _Payload) -> str:
    return payload.__struct_config__.tag  # type: ignore[return-value]


def payload_data(payload: _Payload) -> dict[str, Any]:
    """The ``data`` dict of a typed payload (its fields, without the tag)."""
    data = msgspec.to_builtins(payload)
    data.pop("event", None)
    return data


def check_run_event(event: str, data: dict[str, Any]) -> None:
    """Raise ``msgspec.ValidationError`` if ``data`` is not a valid payload for run event ``event``."""
    cls = RUN_EVENT_TYPES.get(event)
    if cls is None:
        raise msgspec.ValidationError(f"unknown run event {event!r}")
    msgspec.convert(data, cls)


_run_event_decoder = msgspec.json.Decoder(RunEvent)


def decode_run_event(event: str, data: dict[str, Any] | bytes | str) -> RunEvent:
    """Parse one run event (``data`` as dict or JSON text) into its typed payload."""
    if isinstance(data, (bytes, str)):
        data = msgspec.json.decode(data)
    return msgspec.convert({**data, "event": event}, RunEvent)  # type: ignore[arg-type]
