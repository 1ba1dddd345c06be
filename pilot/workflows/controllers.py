"""HTTP API of workflows: ``/api/workflows`` (workspace-scoped CRUD, versions, validate, publish).

Handlers only translate HTTP to :class:`~pilot.workflows.service.WorkflowService` calls; all
rules (validation, versioning, tenancy) live in the service so other domains share them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, delete, get, post, put
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, Parameter

from pilot.dependencies import CurrentWorkspace, DbSession, RuntimeDep
from pilot.triggers import service as triggers
from pilot.triggers.schemas import TriggerList
from pilot.workflows.model import Workflow, WorkflowStatus
from pilot.workflows.schemas import (
    GraphBody,
    Order,
    OrderBy,
    WorkflowCreate,
    WorkflowPage,
    WorkflowQuery,
    WorkflowUpdate,
    WorkflowVersion,
    WorkflowVersionPage,
)
from pilot.workflows.service import WorkflowService
from pilot.workflows.validation import ValidationReport, validate_data

INT_MAX = 2**31 - 1  # INTEGER columns; pilot.app rejects any larger integer parameter the same way
Limit = Annotated[int, Parameter(ge=1, le=200, description="page size (1..200)")]
Offset = Annotated[int, Parameter(ge=0, le=INT_MAX)]
VersionNumber = Annotated[int, Parameter(ge=1, le=INT_MAX)]


class WorkflowController(Controller):
    """Create, list, read, update (versioned), delete, validate and publish workflows."""

    path = "/api/workflows"
    tags = ("workflows",)

    @post("/")
    async def create_workflow(self, data: JSONBody[WorkflowCreate], db: DbSession, workspace: CurrentWorkspace) -> Workflow:
        """Create a workflow (version 1, draft). 422 lists every problem of an invalid graph."""
        service = WorkflowService(db, workspace.id)
        return await service.create(
            name=data.name, description=data.description, template_id=data.template_id, graph=data.graph_data()
        )

    @get("/")
    async def list_workflows(
        self,
        db: DbSession,
        workspace: CurrentWorkspace,
        limit: FromQuery[Limit] = 50,
        offset: FromQuery[Offset] = 0,
        order_by: FromQuery[OrderBy] = "updated_at",
        order: FromQuery[Order] = "desc",
        status: FromQuery[WorkflowStatus | None] = None,
        template_id: FromQuery[str | None] = None,
        name: FromQuery[Annotated[str | None, Parameter(description="case-insensitive substring of the name")]] = None,
        created_after: FromQuery[datetime | None] = None,
        created_before: FromQuery[datetime | None] = None,
        updated_after: FromQuery[datetime | None] = None,
        updated_before: FromQuery[datetime | None] = None,
    ) -> WorkflowPage:
        """List the workspace's workflows: filters, ``order_by``/``order`` and ``limit``/``offset``."""
        query = WorkflowQuery(
            limit=limit, offset=offset, order_by=order_by, order=order, status=status, template_id=template_id,
            name=name, created_after=created_after, created_before=created_before,
            updated_after=updated_after, updated_before=updated_before,
        )
        return await WorkflowService(db, workspace.id).list(query)

    @post("/validate", status_code=200)
    async def validate_body(self, data: JSONBody[GraphBody], workspace: CurrentWorkspace) -> ValidationReport:
        """Validate a graph without saving it (200 with the report, valid or not)."""
        return validate_data({"nodes": data.nodes, "edges": data.edges, "settings": data.settings or {}})[1]

    @get("/{workflow_id:str}")
    async def get_workflow(self, workflow_id: FromPath[str], db: DbSession, workspace: CurrentWorkspace) -> Workflow:
        return await WorkflowService(db, workspace.id).get(workflow_id)

    @put("/{workflow_id:str}")
    async def update_workflow(
        self, workflow_id: FromPath[str], data: JSONBody[WorkflowUpdate], db: DbSession, workspace: CurrentWorkspace
    ) -> Workflow:
        """Update fields; a published workflow gets a new draft version (the published one stays)."""
        return await WorkflowService(db, workspace.id).update(
            workflow_id, name=data.name, description=data.description, template_id=data.template_id,
            nodes=data.nodes, edges=data.edges, settings=data.settings, base_version=data.base_version,
        )

    @delete("/{workflow_id:str}")
    async def delete_workflow(self, workflow_id: FromPath[str], db: DbSession, workspace: CurrentWorkspace) -> None:
        """Delete the workflow, its versions and its executions (204)."""
        await WorkflowService(db, workspace.id).delete(workflow_id)

    @post("/{workflow_id:str}/validate", status_code=200)
    async def validate_workflow(self, workflow_id: FromPath[str], db: DbSession, workspace: CurrentWorkspace) -> ValidationReport:
        """Validate the stored graph: problems and parallel levels (200 even when invalid)."""
        return await WorkflowService(db, workspace.id).validate(workflow_id)

    @post("/{workflow_id:str}/publish", status_code=200)
    async def publish_workflow(
        self, workflow_id: FromPath[str], db: DbSession, workspace: CurrentWorkspace, runtime: RuntimeDep,
        force: FromQuery[bool] = False, lang: FromQuery[Annotated[str | None, Parameter(max_length=16)]] = None,
        accept_language: Annotated[str | None, HeaderParameter(name="accept-language")] = None,
    ) -> Workflow:
        """Freeze the current version (422 if the graph is invalid) and activate its trigger
        (schedule, webhook, form); later updates start a new draft. 409 listing the missing items
        (``extra``) when it is not ready (pilot.readiness; required inputs never block) unless ``?force=true``."""
        from pilot.readiness import ensure_publishable, language_from

        service = WorkflowService(db, workspace.id)
        was_published = (await service.get(workflow_id)).status == "published"  # re-publishing is a no-op
        workflow = await service.publish(workflow_id)
        await triggers.activate(db, await service.row(workflow_id), runtime.settings.app,
                               allow_seconds=runtime.settings.engine.schedule_seconds)
        if not force and not was_published:  # refused: the transaction (publish, trigger) rolls back
            await ensure_publishable(db, workspace.id, workflow.graph(), runtime.settings, language_from(lang, accept_language))
        return workflow

    @post("/{workflow_id:str}/unpublish", status_code=200)
    async def unpublish_workflow(self, workflow_id: FromPath[str], db: DbSession, workspace: CurrentWorkspace) -> Workflow:
        """Back to draft: the trigger stops (schedules no longer fire, hooks answer 404)."""
        workflow = await WorkflowService(db, workspace.id).unpublish(workflow_id)
        await triggers.deactivate(db, workflow_id)
        return workflow

    @get("/{workflow_id:str}/triggers")
    async def list_triggers(
        self, workflow_id: FromPath[str], db: DbSession, workspace: CurrentWorkspace, runtime: RuntimeDep
    ) -> TriggerList:
        """The workflow's trigger: kind, active, next fire time, hook path/secret and its last fires."""
        return await triggers.list_triggers(db, workspace.id, workflow_id, runtime.settings.app)

    @get("/{workflow_id:str}/versions")
    async def list_versions(
        self, workflow_id: FromPath[str], db: DbSession, workspace: CurrentWorkspace,
        limit: FromQuery[Limit] = 50, offset: FromQuery[Offset] = 0,
    ) -> WorkflowVersionPage:
        """Every saved version, newest first."""
        return await WorkflowService(db, workspace.id).versions(workflow_id, limit=limit, offset=offset)

    @get("/{workflow_id:str}/versions/{version:int}")
    async def get_version(
        self, workflow_id: FromPath[str], version: FromPath[VersionNumber], db: DbSession, workspace: CurrentWorkspace
    ) -> WorkflowVersion:
        return await WorkflowService(db, workspace.id).get_version(workflow_id, version)

    @post("/{workflow_id:str}/versions/{version:int}/restore", status_code=200)
    async def restore_version(
        self, workflow_id: FromPath[str], version: FromPath[VersionNumber], db: DbSession, workspace: CurrentWorkspace
    ) -> Workflow:
        """Make version ``version`` current again as a new draft version (undo; history is kept)."""
        return await WorkflowService(db, workspace.id).restore(workflow_id, version)
