"""Request and response Structs of the workflow API (``/api/workflows``).

Request bodies forbid unknown fields, so a typo answers 400 naming the field instead of being
silently dropped. The graph parts (``nodes``, ``edges``, ``settings``) are accepted as raw JSON
and decoded by :mod:`pilot.workflows.validation`, which reports *every* bad node by id (422)
instead of msgspec's first error only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from msgspec import Meta, Struct

from pilot.workflows.model import Edge, Node, Workflow, WorkflowSettings, WorkflowStatus
from pilot.workflows.validation import Problem, ValidationReport

Name = Annotated[str, Meta(min_length=1, max_length=200, pattern=r"\S", description="non-blank, at most 200 characters")]
Description = Annotated[str, Meta(max_length=10_000)]
TemplateId = Annotated[str, Meta(min_length=1, max_length=100)]
RawNodes = Annotated[list[dict[str, Any]], Meta(max_length=1_000, description="node objects (see the Node schema)")]
RawEdges = Annotated[list[dict[str, Any]], Meta(max_length=5_000, description="edge objects {id, source, target, source_handle?}")]

OrderBy = Literal["created_at", "updated_at", "name"]
Order = Literal["asc", "desc"]


class WorkflowCreate(Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /api/workflows``: a new workflow (version 1, draft). The graph must validate."""

    name: Name
    nodes: RawNodes
    edges: RawEdges = []
    description: Description = ""
    template_id: TemplateId | None = None
    settings: dict[str, Any] | None = None

    def graph_data(self) -> dict[str, Any]:
        return {"nodes": self.nodes, "edges": self.edges, "settings": self.settings or {}}


class WorkflowUpdate(Struct, forbid_unknown_fields=True, kw_only=True):
    """``PUT /api/workflows/{id}``: fields left out keep their current value.

    ``nodes`` and ``edges`` are replaced together when either is given (the other one keeps
    its stored value). ``base_version`` (optional) makes the update conditional: 409 when the
    workflow has moved on since the client read it.
    """

    name: Name | None = None
    description: Description | None = None
    template_id: TemplateId | None = None
    nodes: RawNodes | None = None
    edges: RawEdges | None = None
    settings: dict[str, Any] | None = None
    base_version: Annotated[int, Meta(ge=1)] | None = None


class GraphBody(Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /api/workflows/validate``: a graph to check without saving it."""

    nodes: RawNodes
    edges: RawEdges = []
    settings: dict[str, Any] | None = None


class WorkflowPage(Struct, frozen=True):
    """One page of a workflow listing; ``total`` counts every match of the filters."""

    items: list[Workflow]
    total: int
    limit: int
    offset: int


class WorkflowVersion(Struct, frozen=True, kw_only=True):
    """An immutable snapshot of one version (published versions are never rewritten)."""

    workflow_id: str
    version: int
    status: WorkflowStatus
    name: str
    description: str
    nodes: list[Node]
    edges: list[Edge]
    settings: WorkflowSettings
    created_at: datetime


class WorkflowVersionPage(Struct, frozen=True):
    items: list[WorkflowVersion]
    total: int
    limit: int
    offset: int


class WorkflowQuery(Struct, frozen=True, kw_only=True):
    """Listing parameters (the controller builds it from the query string)."""

    limit: int = 50
    offset: int = 0
    order_by: OrderBy = "updated_at"
    order: Order = "desc"
    status: WorkflowStatus | None = None
    template_id: str | None = None
    name: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None


__all__ = [
    "GraphBody",
    "Order",
    "OrderBy",
    "Problem",
    "ValidationReport",
    "WorkflowCreate",
    "WorkflowPage",
    "WorkflowQuery",
    "WorkflowUpdate",
    "WorkflowVersion",
    "WorkflowVersionPage",
]
