"""Workspace budgets: monthly cost limits checked when a run starts and while it calls models.

The period is the calendar month in UTC; what it has cost is the sum of the stored node usage
of the workspace's runs created in it (the same figures ``GET /api/usage`` reports), cached for
a few seconds per process (:mod:`pilot.usage.config`).

- hard limit reached (spent ≥ limit): :func:`check_run_start` refuses new runs with 402, naming
  ``hard_limit_usd``; runs already going are not stopped.
- soft limit reached: the run starts, and its execute response carries a ``warnings`` entry;
  the run's first model call made while the limit is reached emits ``run.warning`` on its
  stream (:func:`warn_run`), once per run.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from pilot.core.errors import PaymentRequiredError
from pilot.core.ids import utcnow
from pilot.usage import queries
from pilot.usage.config import UsageConfig, load_config, spend_cache
from pilot.usage.schemas import BudgetStatus

RUN_WARNING = "run.warning"  # additive run event: {kind: "budget", limit, limit_usd, spent_usd, message}
_WARNED_MAX = 10_000
_warned: OrderedDict[str, None] = OrderedDict()  # executions that already got their run.warning here


def month_start(now: datetime | None = None) -> datetime:
    """The first instant of the current calendar month, UTC."""
    now = (now or utcnow()).astimezone(UTC)
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


async def month_spend(session: AsyncSession, workspace_id: str) -> float:
    """What the workspace's runs created this month have cost so far (cached briefly)."""
    start = month_start()
    key = (workspace_id, start)
    hit = spend_cache.get(key)
    if hit is not None:
        return hit
    value = float((await session.execute(queries.spend(workspace_id, start, utcnow()))).scalar_one() or 0.0)
    return spend_cache.put(key, round(value, 8))


def _soft_message(spent: float, limit: float) -> str:
    return (f"soft budget limit reached: this month's runs have cost ${spent:,.4f} of the workspace's "
            f"${limit:,.2f} soft limit (soft_limit_usd)")


def status_of(config: UsageConfig, spent: float, start: datetime) -> BudgetStatus:
    """The budget state for ``spent`` (pure)."""
    state, warnings = "ok", []
    if config.hard_limit_usd is not None and spent >= config.hard_limit_usd:
        state = "hard_limit_reached"
        warnings.append(f"hard budget limit reached: this month's runs have cost ${spent:,.4f} of the workspace's "
                        f"${config.hard_limit_usd:,.2f} hard limit (hard_limit_usd); new runs are refused")
    elif config.soft_limit_usd is not None and spent >= config.soft_limit_usd:
        state = "soft_limit_reached"
        warnings.append(_soft_message(spent, config.soft_limit_usd))
    return BudgetStatus(soft_limit_usd=config.soft_limit_usd, hard_limit_usd=config.hard_limit_usd,
                        period_start=start, spent_usd=spent, state=state, warnings=warnings)


async def budget_status(session: AsyncSession, workspace_id: str) -> BudgetStatus:
    config = await load_config(session, workspace_id)
    return status_of(config, await month_spend(session, workspace_id), month_start())


async def check_run_start(session: AsyncSession, workspace_id: str) -> list[str]:
    """Before a run is stored: 402 when the hard limit is reached, else the warnings to return
    with it (the soft limit). Workspaces without limits cost one cached lookup."""
    config = await load_config(session, workspace_id)
    if not config.has_limits:
        return []
    status = status_of(config, await month_spend(session, workspace_id), month_start())
    if status.state == "hard_limit_reached":
        raise PaymentRequiredError(
            f"hard_limit_usd: the workspace's monthly hard budget limit of ${config.hard_limit_usd:,.2f} is reached "
            f"(this month's runs have cost ${status.spent_usd:,.4f}); new runs are refused until next month or until "
            "the limit is raised with PUT /api/usage/budget",
            extra={"field": "hard_limit_usd", "limit_usd": config.hard_limit_usd, "spent_usd": status.spent_usd,
                   "period_start": status.period_start.isoformat()},
        )
    return status.warnings


async def warn_run(ctx: Any, config: UsageConfig) -> None:
    """Emit ``run.warning`` on the run's stream when the workspace is at its soft (or hard)
    limit, once per run in this process (called after each model call: see metering)."""
    limit = config.soft_limit_usd if config.soft_limit_usd is not None else config.hard_limit_usd
    if limit is None or ctx.execution_id in _warned or ctx.services.sessions is None:
        return
    _warned[ctx.execution_id] = None  # claimed before the await: concurrent calls of the run skip
    if len(_warned) > _WARNED_MAX:
        _warned.popitem(last=False)
    async with ctx.services.sessions() as session:
        spent = await month_spend(session, ctx.workspace_id)
    if spent < limit:
        _warned.pop(ctx.execution_id, None)  # not reached (yet): a later call looks again
        return
    which = "soft" if config.soft_limit_usd is not None else "hard"
    message = _soft_message(spent, limit) if which == "soft" else status_of(config, spent, month_start()).warnings[0]
    await ctx.emit(RUN_WARNING, {"kind": "budget", "limit": which, "limit_usd": limit, "spent_usd": spent,
                                 "message": message})

