"""Request/response Structs of the runs API (``/api/workflows/{id}/execute``, ``/api/executions``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from msgspec import Struct

RunTrigger = Literal["manual", "schedule", "webhook", "form", "chat", "test", "rerun", "workflow", "mcp"]  # "test": a dry run; "workflow": a sub-workflow run; "mcp": called over /mcp
RunMode = Literal["inline", "background"]
ExecutionStatus = Literal["queued", "running", "waiting", "succeeded", "failed", "cancelled"]  # waiting: a `wait` node


class RerunRequest(Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /api/executions/{id}/rerun``: re-execute ``from_node`` and everything downstream."""

    from_node: str
    mode: RunMode | None = None


class TestRunRequest(Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /api/workflows/{id}/test``: omitted inputs get sample values from their field types."""

    input_data: dict[str, Any] = {}
    mode: RunMode | None = None


class ExecuteRequest(Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /api/workflows/{id}/execute``: ``input_data`` is checked against the input node's fields."""

    input_data: dict[str, Any] = {}
    mode: RunMode | None = None  # None: "background" when REDIS_URL is configured, else "inline"


class ExecuteResponse(Struct, kw_only=True):
    execution_id: str
    status: ExecutionStatus
    stream_url: str
    # e.g. the workspace's soft budget limit is reached (pilot.usage.budget); the run started anyway
    warnings: list[str] = []


class NodeResult(Struct, kw_only=True):
    node_id: str
    node_type: str
    status: str  # succeeded | skipped | failed
    attempts: int
    output: Any = None
    error: str | None = None
    usage: dict[str, Any] = {}
    started_at: datetime | None = None
    finished_at: datetime | None = None
    elapsed_ms: float | None = None


class ChildExecution(Struct, kw_only=True):
    """A sub-workflow run started by one of this execution's ``workflow`` nodes."""

    id: str
    workflow_id: str
    workflow_version: int
    parent_node: str | None
    status: ExecutionStatus
    stream_url: str


class Execution(Struct, kw_only=True):
    """One run: status, outputs, error, usage, timings (and node results on the detail view)."""

    id: str
    workflow_id: str
    workflow_version: int
    status: ExecutionStatus
    mode: RunMode
    trigger: RunTrigger = "manual"
    rerun_of: str | None = None  # a rerun from a node: the execution whose upstream outputs it reused
    input_data: dict[str, Any]
    outputs: dict[str, Any] | None = None
    error: str | None = None
    usage: dict[str, Any] = {}
    cancel_requested: bool = False
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    elapsed_ms: float | None = None
    stream_url: str
    node_results: list[NodeResult] | None = None
    # Sub-workflows: a child run names its parent execution and `workflow` node (depth = nesting,
    # 0 for a top-level run); the detail view of a parent lists its children.
    parent_id: str | None = None
    parent_node: str | None = None
    depth: int = 0
    children: list[ChildExecution] | None = None
    resume_at: datetime | None = None  # status `waiting`: when it is due (None: until an approval decision)


class ExecutionPage(Struct, kw_only=True):
    items: list[Execution]
    total: int
    limit: int
    offset: int
