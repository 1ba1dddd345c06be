"""API Structs of the usage domain: usage figures, breakdowns, history, budgets and prices."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from msgspec import Meta, Struct

BreakdownBy = Literal["workflow", "model", "node_type", "agent", "user", "trigger"]
Interval = Literal["day", "hour"]
BudgetState = Literal["ok", "soft_limit_reached", "hard_limit_reached"]

Usd = Annotated[float, Meta(ge=0, le=1e9, description="US dollars")]
PerMillion = Annotated[float, Meta(ge=0, le=1e6, description="USD per one million tokens")]
ModelName = Annotated[str, Meta(min_length=1, max_length=200, pattern=r"\S")]
MAX_PRICE_OVERRIDES = 500


class UsageFigures(Struct, frozen=True):
    """Sums over stored node usage (``node_results.usage``) of the runs counted."""

    runs: int = 0
    llm_calls: int = 0
    prompt_tokens: int = 0  # tokens in
    completion_tokens: int = 0  # tokens out
    total_tokens: int = 0
    cost_usd: float = 0.0


class BudgetStatus(Struct, frozen=True):
    """The workspace's limits and what this month's runs have cost so far."""

    soft_limit_usd: float | None
    hard_limit_usd: float | None
    period_start: datetime
    spent_usd: float
    state: BudgetState
    warnings: list[str] = []


class UsageSummary(Struct, frozen=True):
    """``GET /api/usage``: the runs created in ``[start, end)`` and what they used."""

    start: datetime
    end: datetime
    totals: UsageFigures
    by_status: dict[str, UsageFigures]
    budget: BudgetStatus
    warnings: list[str] = []


class BreakdownItem(Struct, frozen=True):
    """One group of a breakdown: ``key`` (a workflow id, model name, node type, agent, trigger)
    and a human ``label`` where there is one (a workflow's name)."""

    key: str
    label: str
    runs: int
    llm_calls: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_usd: float


class UsageBreakdown(Struct, frozen=True):
    """``GET /api/usage/breakdown``: groups by cost, highest first."""

    start: datetime
    end: datetime
    by: BreakdownBy
    items: list[BreakdownItem]


class HistoryPoint(Struct, frozen=True):
    """One bucket of the time series: runs created in ``[at, at + interval)``."""

    at: datetime
    runs: int
    llm_calls: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_usd: float


class UsageHistory(Struct, frozen=True):
    """``GET /api/usage/history``: every bucket from ``start`` to ``end``, empty ones as zeros."""

    start: datetime
    end: datetime
    interval: Interval
    points: list[HistoryPoint]


class BudgetUpdate(Struct, forbid_unknown_fields=True):
    """``PUT /api/usage/budget``: monthly (calendar month, UTC) cost limits; null removes one.

    Soft: execute responses carry a ``warnings`` entry and runs emit ``run.warning``.
    Hard: new runs are refused with 402."""

    soft_limit_usd: Usd | None = None
    hard_limit_usd: Usd | None = None


class Price(Struct, frozen=True, forbid_unknown_fields=True):
    """USD per one million input (prompt) and output (completion) tokens."""

    input_per_m: PerMillion
    output_per_m: PerMillion


class PricesUpdate(Struct, forbid_unknown_fields=True):
    """``PUT /api/usage/prices``: this workspace's price overrides (replacing the previous ones;
    ``{}`` removes them). Keys are model names as nodes name them (``gpt-4o``,
    ``openai/gpt-4o``, ``offline``), compared case-insensitively."""

    prices: Annotated[dict[ModelName, Price], Meta(max_length=MAX_PRICE_OVERRIDES)]


class Prices(Struct, frozen=True):
    """The workspace's overrides, the list prices they override, and the price of unlisted models."""

    overrides: dict[str, Price]
    list_prices: dict[str, Price]
    default_price: Price
