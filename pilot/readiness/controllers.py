"""``GET /api/workflows/{id}/readiness``: what a run of the workflow's head graph needs that is missing."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get
from litestar.params import FromPath, FromQuery, Parameter

from pilot.dependencies import CurrentWorkspace, DbSession, RuntimeDep
from pilot.readiness.messages import language_from
from pilot.readiness.schemas import Readiness
from pilot.readiness.service import check_workflow

Lang = Annotated[str | None, Parameter(max_length=16, description="message language: en (default) or zh; "
                                                                   "else Accept-Language starting with zh")]


def request_language(request: Request, lang: str | None = None) -> str:
    """``?lang=`` first, else ``Accept-Language`` (``zh…`` → Chinese), else English."""
    return language_from(lang if lang is not None else request.query_params.get("lang"),
                         request.headers.get("accept-language"))


class ReadinessController(Controller):
    path = "/api/workflows/{workflow_id:str}/readiness"
    tags = ("workflows",)

    @get("/")
    async def get_readiness(self, workflow_id: FromPath[str], request: Request, db: DbSession,
                            workspace: CurrentWorkspace, runtime: RuntimeDep, lang: FromQuery[Lang] = None) -> Readiness:
        """``{ready, items: [{kind, node_id?, name?, message}]}``: missing credentials, knowledge bases
        (absent or empty), required inputs, tool configuration and refused outbound hosts."""
        return await check_workflow(db, workspace.id, workflow_id, runtime.settings, request_language(request, lang))
