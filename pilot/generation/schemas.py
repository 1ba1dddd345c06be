"""HTTP bodies of the generation endpoints (msgspec Structs)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from msgspec import Meta, Struct, field

from pilot.generation.blueprint import WorkflowBlueprint
from pilot.generation.estimate import Estimate
from pilot.generation.recommend import Recommendation
from pilot.readiness.schemas import Readiness
from pilot.workflows.model import Edge, Node, Workflow, WorkflowSettings, WorkflowStatus

MAX_PROMPT_CHARS = 8000


class GeneratePreferences(Struct, kw_only=True, forbid_unknown_fields=True):
    complexity: Literal["simple", "standard", "advanced"] = "standard"
    integrations: Annotated[list[Annotated[str, Meta(max_length=64)]], Meta(max_length=20)] = []


class GenerateRequest(Struct, kw_only=True, forbid_unknown_fields=True):
    """``POST /api/workflows/generate``. ``prompt`` must have readable text and at most 8,000 characters."""

    prompt: str
    preferences: GeneratePreferences | None = None
    save: bool = True


class RecommendRequest(Struct, kw_only=True, forbid_unknown_fields=True):
    prompt: str
    limit: Annotated[int, Meta(ge=1, le=20)] = 3


class RecommendResponse(Struct, kw_only=True):
    items: list[Recommendation]


class GeneratedWorkflow(Struct, kw_only=True):
    """The DESIGN.md ``workflow`` object; ``id``/timestamps are null when it was not saved."""

    id: str | None
    name: str
    description: str = ""
    template_id: str | None = None
    version: int = 1
    status: WorkflowStatus = "draft"
    nodes: list[Node]
    edges: list[Edge] = []
    settings: WorkflowSettings = field(default_factory=WorkflowSettings)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_stored(cls, wf: Workflow) -> GeneratedWorkflow:
        return cls(id=wf.id, name=wf.name, description=wf.description, template_id=wf.template_id, version=wf.version,
                   status=wf.status, nodes=wf.nodes, edges=wf.edges, settings=wf.settings,
                   created_at=wf.created_at, updated_at=wf.updated_at)


class GenerateResponse(Struct, kw_only=True):
    workflow_id: str | None
    workflow: GeneratedWorkflow
    blueprint: WorkflowBlueprint
    recommendations: list[Recommendation]
    estimate: Estimate
    readiness: Readiness | None = None  # what a run still needs (pilot.readiness), in the blueprint's language
