"""HTTP API of import / export: ``POST /api/workflows/import`` and ``GET /api/workflows/{id}/export``.

Handlers only translate HTTP to :mod:`pilot.interop.service`; tenancy is the workflow service's
(another workspace's workflow answers 404 like a missing one).
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from pilot.dependencies import CurrentWorkspace, DbSession
from pilot.interop import service
from pilot.interop.schemas import Format, ImportRequest, ImportResult
from pilot.workflows.controllers import VersionNumber


class InteropController(Controller):
    """Import Dify / n8n / πlot files as workflows; export workflows in those formats."""

    path = "/api/workflows"
    tags = ("workflows",)

    @post("/import", status_code=201)
    async def import_workflow(self, data: JSONBody[ImportRequest], db: DbSession, workspace: CurrentWorkspace) -> ImportResult:
        """Import a Dify DSL (YAML), an n8n workflow (JSON) or a πlot export as a new draft.

        ``document`` is the file (an object, or its text); ``format`` is detected when left out.
        Nodes without a faithful πlot form become placeholders (publishing is refused until they
        are replaced) and everything that did not carry over exactly is listed in ``report``.
        422 lists the graph problems of a πlot file that does not validate."""
        return await service.import_workflow(db, workspace.id, data)

    @get("/{workflow_id:str}/export", media_type="application/octet-stream")
    async def export_workflow(
        self, workflow_id: FromPath[str], db: DbSession, workspace: CurrentWorkspace,
        format_: Annotated[Format, QueryParameter(name="format", description="pilot (JSON), dify (YAML DSL) or n8n (JSON)")] = "pilot",
        version: FromQuery[VersionNumber | None] = None,
    ) -> Response[bytes]:
        """The workflow as a file another tool imports (``Content-Disposition`` names it); what
        did not translate exactly is listed in the file (a sticky note or note node) and counted in
        ``X-Pilot-Export-Notes``."""
        exported = await service.export_workflow(db, workspace.id, workflow_id, format_, version)
        return Response(exported.content, media_type=exported.media_type, headers={
            "Content-Disposition": f'attachment; filename="{exported.filename}"', "X-Pilot-Export-Notes": str(len(exported.notes))})
