"""Usage figures of one workspace: summary, breakdowns, history, budget and prices.

Periods are ``[start, end)`` over the runs' creation time, in UTC (a datetime without an offset
is taken as UTC); by default from the start of the current month until now.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from pilot.core.errors import BadRequestError, UnprocessableError
from pilot.core.ids import utcnow
from pilot.llm.prices import DEFAULT_PRICE, PRICES
from pilot.usage import queries
from pilot.usage.budget import budget_status, month_start
from pilot.usage.config import load_config, save_config
from pilot.usage.schemas import (
    BreakdownItem,
    BudgetStatus,
    BudgetUpdate,
    HistoryPoint,
    Price,
    Prices,
    PricesUpdate,
    UsageBreakdown,
    UsageFigures,
    UsageHistory,
    UsageSummary,
)

MAX_HISTORY_POINTS = 2000
_STEP = {"hour": timedelta(hours=1), "day": timedelta(days=1)}


def _problem(key: str, message: str) -> list[dict[str, str]]:
    return [{"key": key, "message": message, "source": "query"}]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def resolve_period(start: datetime | None, end: datetime | None, now: datetime | None = None) -> tuple[datetime, datetime]:
    """``[start, end)`` in UTC, defaulting to this month so far; 400 naming ``end`` when empty."""
    now = now or utcnow()
    begin = _utc(start) if start is not None else month_start(now)
    until = _utc(end) if end is not None else now
    if until <= begin:
        message = f"must be later than start ({begin.isoformat()})" + ("" if end is not None else "; it defaults to now")
        raise BadRequestError(f"query parameter 'end': {message}", extra=_problem("end", message))
    return begin, until


def _figures(row: Any) -> dict[str, Any]:
    return {
        "runs": int(row.runs), "llm_calls": round(row.llm_calls), "prompt_tokens": round(row.prompt_tokens),
        "completion_tokens": round(row.completion_tokens), "total_tokens": round(row.total_tokens),
        "cost_usd": round(float(row.cost_usd), 8),
    }


def _floor(when: datetime, interval: str) -> datetime:
    when = when.replace(minute=0, second=0, microsecond=0)
    return when.replace(hour=0) if interval == "day" else when


class UsageService:
    """Usage of ``workspace_id`` only (every query filters by it)."""

    def __init__(self, session: AsyncSession, workspace_id: str) -> None:
        self.session = session
        self.workspace_id = workspace_id

    @property
    def _dialect(self) -> str:
        return self.session.get_bind().dialect.name

    async def summary(self, start: datetime | None, end: datetime | None) -> UsageSummary:
        """Totals of the period, the same per run status, and this month's budget state."""
        begin, until = resolve_period(start, end)
        rows = (await self.session.execute(queries.by_status(self.workspace_id, begin, until))).all()
        by_status = {row.key: UsageFigures(**_figures(row)) for row in rows}
        totals = {name: sum(getattr(f, name) for f in by_status.values()) for name in UsageFigures.__struct_fields__}
        totals["cost_usd"] = round(totals["cost_usd"], 8)
        budget = await budget_status(self.session, self.workspace_id)
        return UsageSummary(start=begin, end=until, totals=UsageFigures(**totals), by_status=by_status, budget=budget,
                            warnings=budget.warnings)

    async def breakdown(self, by: str, start: datetime | None, end: datetime | None, limit: int) -> UsageBreakdown:
        """Usage per workflow, model, node type, agent, trigger or user (who started the runs: the
        user id or API key id, labelled with the e-mail or key name; key "" for runs nobody
        started by hand — schedules, webhooks — and runs from before runs recorded it), costliest first."""
        begin, until = resolve_period(start, end)
        stmt = queries.breakdown(self._dialect, by, self.workspace_id, begin, until, limit)
        rows = (await self.session.execute(stmt)).all()
        items = [BreakdownItem(key=str(row.key), label=row.label or "", **_figures(row)) for row in rows]
        return UsageBreakdown(start=begin, end=until, by=by, items=items)  # type: ignore[arg-type]

    async def history(self, interval: str, start: datetime | None, end: datetime | None) -> UsageHistory:
        """One point per hour or day of the period (buckets without runs are zeros). Hourly
        points default to the last 24 hours, daily ones to this month."""
        if start is None and interval == "hour":
            start = _floor(utcnow() - timedelta(hours=23), "hour")
        begin, until = resolve_period(start, end)
        step = _STEP[interval]
        first = _floor(begin, interval)
        count = -(-(until - first) // step)
        if count > MAX_HISTORY_POINTS:
            message = (f"the period from start to end holds {count} {interval}s; at most {MAX_HISTORY_POINTS} points: "
                       "use a shorter period or interval=day")
            raise BadRequestError(f"query parameter 'start': {message}", extra=_problem("start", message))
        stmt = queries.history(self._dialect, interval, self.workspace_id, begin, until)
        found = {datetime.fromisoformat(row.key).replace(tzinfo=UTC): _figures(row)
                 for row in (await self.session.execute(stmt)).all()}
        empty = dict.fromkeys(("runs", "llm_calls", "prompt_tokens", "completion_tokens", "total_tokens"), 0)
        points = [HistoryPoint(at=at, **found.get(at, {**empty, "cost_usd": 0.0}))
                  for at in (first + i * step for i in range(count))]
        return UsageHistory(start=begin, end=until, interval=interval, points=points)  # type: ignore[arg-type]

    async def budget(self) -> BudgetStatus:
        return await budget_status(self.session, self.workspace_id)

    async def set_budget(self, update: BudgetUpdate) -> BudgetStatus:
        """Replace both limits (null: none); a soft limit above the hard one is a 422."""
        soft, hard = update.soft_limit_usd, update.hard_limit_usd
        if soft is not None and hard is not None and soft > hard:
            message = f"must not exceed hard_limit_usd ({hard:g})"
            raise UnprocessableError(f"soft_limit_usd: {message}",
                                     extra=[{"key": "soft_limit_usd", "message": message, "source": "body"}])
        await save_config(self.session, self.workspace_id, soft_limit_usd=soft, hard_limit_usd=hard)
        return await budget_status(self.session, self.workspace_id)

    async def prices(self) -> Prices:
        config = await load_config(self.session, self.workspace_id)
        return _prices(config.prices)

    async def set_prices(self, update: PricesUpdate) -> Prices:
        """Replace the workspace's price overrides; model calls from now on are costed with them."""
        config = await save_config(self.session, self.workspace_id, prices=update.prices)
        return _prices(config.prices)


def _price(value: Any) -> Price:
    return Price(input_per_m=value.input_per_m, output_per_m=value.output_per_m)


def _prices(overrides: dict[str, Any]) -> Prices:
    return Prices(overrides={k: _price(v) for k, v in sorted(overrides.items())},
                  list_prices={k: _price(v) for k, v in PRICES.items()}, default_price=_price(DEFAULT_PRICE))
