"""``GET /api/workflows/{id}/stats`` and ``/suggestions``: how a workflow's runs went and how to
make it cheaper, faster or more reliable."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, Request, get
from litestar.params import FromPath, FromQuery, Parameter

from pilot.analytics.schemas import Suggestions, WorkflowStats
from pilot.analytics.service import AnalyticsService
from pilot.dependencies import CurrentWorkspace, DbSession
from pilot.readiness.messages import normalize

Since = Annotated[datetime | None, Parameter(description="period start (inclusive, RFC 3339; UTC without an offset); "
                                                         "default: 30 days before until")]
Until = Annotated[datetime | None, Parameter(description="period end (exclusive); default: now")]
Lang = Annotated[str | None, Parameter(max_length=16, description="message language: en or zh; default: "
                                                                   "Accept-Language starting with zh, else the workflow's language")]


class AnalyticsController(Controller):
    """Run statistics and optimisation suggestions of one workflow of the caller's workspace."""

    path = "/api/workflows/{workflow_id:str}"
    tags = ("workflows",)

    @get("/stats")
    async def stats(self, workflow_id: FromPath[str], db: DbSession, workspace: CurrentWorkspace,
                    since: FromQuery[Since] = None, until: FromQuery[Until] = None) -> WorkflowStats:
        """Runs created in ``[since, until)`` (dry runs excluded): count, by status, success rate,
        p50/p95 duration, LLM cost; per node runs, success and retry rates, p50/p95 latency and
        cost share; the critical path (p50 and p95) and its slowest node."""
        return await AnalyticsService(db, workspace.id).stats(workflow_id, since, until)

    @get("/suggestions")
    async def suggestions(self, workflow_id: FromPath[str], request: Request, db: DbSession, workspace: CurrentWorkspace,
                          since: FromQuery[Since] = None, until: FromQuery[Until] = None,
                          lang: FromQuery[Lang] = None) -> Suggestions:
        """Ways to make the workflow cheaper, faster or more reliable, from its runs' figures and
        the cost estimator: each with its estimated saving (and basis) and the chat message /
        edit operations that apply it. Checks that could not be made are listed in ``skipped``."""
        accept = request.headers.get("accept-language", "").strip().lower()
        chosen = normalize(lang) or ("zh" if accept.startswith("zh") else None)
        return await AnalyticsService(db, workspace.id).suggestions(workflow_id, since, until, chosen)
