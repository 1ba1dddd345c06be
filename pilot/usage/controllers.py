"""HTTP API of usage: ``/api/usage`` (+ ``/breakdown``, ``/history``, ``/budget``, ``/prices``).

Every figure is the caller's workspace's only. Periods: ``start`` / ``end`` (RFC 3339; without an
offset UTC), ``[start, end)`` over the runs' creation time; default this month so far.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, get, put
from litestar.params import FromQuery, JSONBody, Parameter

from pilot.auth.roles import ADMIN_ONLY
from pilot.dependencies import CurrentWorkspace, DbSession
from pilot.usage.schemas import (
    BreakdownBy,
    BudgetStatus,
    BudgetUpdate,
    Interval,
    Prices,
    PricesUpdate,
    UsageBreakdown,
    UsageHistory,
    UsageSummary,
)
from pilot.usage.service import UsageService

Start = Annotated[datetime | None, Parameter(description="period start (inclusive); default: start of this month, UTC")]
End = Annotated[datetime | None, Parameter(description="period end (exclusive); default: now")]
Limit = Annotated[int, Parameter(ge=1, le=1000, description="most groups returned (1..1000)")]


class UsageController(Controller):
    """Runs, tokens and cost from what runs stored; monthly budgets and price overrides."""

    path = "/api/usage"
    tags = ("usage",)

    @get("/")
    async def usage(
        self, db: DbSession, workspace: CurrentWorkspace, start: FromQuery[Start] = None, end: FromQuery[End] = None,
    ) -> UsageSummary:
        """Totals of the period (runs, LLM calls, tokens in/out, cost), the same per run status,
        and this month's budget state (``warnings`` when a limit is reached)."""
        return await UsageService(db, workspace.id).summary(start, end)

    @get("/breakdown")
    async def breakdown(
        self, db: DbSession, workspace: CurrentWorkspace, by: FromQuery[BreakdownBy] = "workflow",
        start: FromQuery[Start] = None, end: FromQuery[End] = None, limit: FromQuery[Limit] = 100,
    ) -> UsageBreakdown:
        """Usage grouped by ``workflow`` (default), ``model``, ``node_type``, ``agent``, ``trigger`` or
        ``user`` (who started the runs: a user or an API key; key "" when nobody did by hand), costliest first."""
        return await UsageService(db, workspace.id).breakdown(by, start, end, limit)

    @get("/history")
    async def history(
        self, db: DbSession, workspace: CurrentWorkspace, interval: FromQuery[Interval] = "day",
        start: FromQuery[Start] = None, end: FromQuery[End] = None,
    ) -> UsageHistory:
        """A time series: one point per ``hour`` (default: the last 24 hours) or ``day`` (default:
        this month), at most 2000 points; buckets without runs are zeros."""
        return await UsageService(db, workspace.id).history(interval, start, end)

    @get("/budget")
    async def get_budget(self, db: DbSession, workspace: CurrentWorkspace) -> BudgetStatus:
        """The monthly limits and what this month's runs have cost so far."""
        return await UsageService(db, workspace.id).budget()

    @put("/budget", opt=ADMIN_ONLY)
    async def put_budget(self, data: JSONBody[BudgetUpdate], db: DbSession, workspace: CurrentWorkspace) -> BudgetStatus:
        """Set both monthly limits (null removes one). Hard: new runs get 402; soft: a warning."""
        return await UsageService(db, workspace.id).set_budget(data)

    @get("/prices")
    async def get_prices(self, db: DbSession, workspace: CurrentWorkspace) -> Prices:
        """This workspace's price overrides, and the list prices they override."""
        return await UsageService(db, workspace.id).prices()

    @put("/prices", opt=ADMIN_ONLY)
    async def put_prices(self, data: JSONBody[PricesUpdate], db: DbSession, workspace: CurrentWorkspace) -> Prices:
        """Replace the price overrides (USD per 1M tokens); model calls from now on cost with them."""
        return await UsageService(db, workspace.id).set_prices(data)
