"""Workflow analytics of one workspace: run statistics and optimisation suggestions.

The workflow is read through :class:`~pilot.workflows.service.WorkflowService` (another
workspace's workflow is a 404, like a missing one); prices are the workspace's overrides over
the list prices (:mod:`pilot.usage.config`), as its runs are costed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from pilot.analytics.schemas import ChatEdit, Saving, Suggestion, Suggestions, WorkflowStats
from pilot.analytics.stats import workflow_stats
from pilot.core.errors import BadRequestError
from pilot.core.ids import utcnow
from pilot.generation.text import detect_language
from pilot.usage.config import load_config
from pilot.workflows.model import Workflow
from pilot.workflows.service import WorkflowService

if TYPE_CHECKING:
    from pilot.analytics.advice import Advice

DEFAULT_DAYS = 30


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def resolve_period(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    """``[since, until)`` in UTC; by default the last 30 days. 400 naming ``since`` when empty."""
    end = _utc(until) if until is not None else utcnow()
    try:
        start = _utc(since) if since is not None else end - timedelta(days=DEFAULT_DAYS)
    except OverflowError:  # until within 30 days of year 1
        message = "is too early: give since as well"
        raise BadRequestError(f"query parameter 'until': {message}",
                              extra=[{"key": "until", "message": message, "source": "query"}]) from None
    if start >= end:
        message = f"must be earlier than until ({end.isoformat()})" + ("" if until is not None else "; until defaults to now")
        raise BadRequestError(f"query parameter 'since': {message}",
                              extra=[{"key": "since", "message": message, "source": "query"}])
    return start, end


def to_suggestion(item: Advice, lang: str) -> Suggestion:
    """The API shape of one piece of advice, in ``lang``."""
    edit = ChatEdit(message=item.chat.text(lang), ops=item.ops) if item.chat is not None and item.ops else None
    return Suggestion(
        id=item.id, kind=item.kind, goal=item.goal, node_ids=item.node_ids,  # type: ignore[arg-type]
        message=item.message.text(lang), edit=edit,
        saving=Saving(cost_usd_per_run=item.cost_usd_per_run, ms_per_run=item.ms_per_run, basis=item.basis.text(lang)),
    )


class AnalyticsService:
    """Analytics of ``workspace_id``'s workflows only."""

    def __init__(self, session: AsyncSession, workspace_id: str) -> None:
        self.session = session
        self.workspace_id = workspace_id

    async def stats(self, workflow_id: str, since: datetime | None = None, until: datetime | None = None) -> WorkflowStats:
        start, end = resolve_period(since, until)
        workflow = await WorkflowService(self.session, self.workspace_id).get(workflow_id)
        return await workflow_stats(self.session, self.workspace_id, workflow, start, end)

    async def advice_for(self, workflow: Workflow, since: datetime | None = None,
                         until: datetime | None = None) -> tuple[WorkflowStats, list[Advice]]:
        """The stats of ``workflow`` (already read in this workspace) and the advice they support."""
        from pilot.analytics.advice import advise  # the chat's planner modules: loaded when first used, not at start

        start, end = resolve_period(since, until)
        stats = await workflow_stats(self.session, self.workspace_id, workflow, start, end)
        config = await load_config(self.session, self.workspace_id)
        return stats, advise(workflow.graph(), stats, config.prices or None)

    async def suggestions(self, workflow_id: str, since: datetime | None, until: datetime | None,
                          lang: str | None) -> Suggestions:
        """The suggestions in ``lang``; None: the workflow's own language (its name and description)."""
        workflow = await WorkflowService(self.session, self.workspace_id).get(workflow_id)
        lang = lang or detect_language(f"{workflow.name} {workflow.description}")
        stats, advice = await self.advice_for(workflow, since, until)
        return Suggestions(
            workflow_id=workflow.id, since=stats.since, until=stats.until, language=lang,  # type: ignore[arg-type]
            runs=stats.runs, items=[to_suggestion(a, lang) for a in advice],
        )
