"""A workspace's usage settings (budget limits, price overrides): stored in ``usage_settings``,
read through a short per-process cache.

Run starts (budget check) and every LLM call (costing) read these settings, so they are cached
for :data:`CACHE_TTL_S` per workspace, including the common "nothing configured" answer. A change
made through this process's API applies at once here; other processes (background workers) pick
it up within the TTL. The month's spend that budget checks compare with is cached the same way.
"""

from __future__ import annotations

import time
from typing import Any, Generic, TypeVar

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from pilot.core.ids import utcnow
from pilot.db.models import UsageSettingsRow
from pilot.llm.prices import ModelPrice, normalize_model

CACHE_TTL_S = 5.0
_MAX_ENTRIES = 10_000

T = TypeVar("T")


class UsageConfig(msgspec.Struct, frozen=True):
    """What a workspace configured; the empty default means "no limits, list prices"."""

    soft_limit_usd: float | None = None
    hard_limit_usd: float | None = None
    prices: dict[str, ModelPrice] = {}

    @property
    def has_limits(self) -> bool:
        return self.soft_limit_usd is not None or self.hard_limit_usd is not None


EMPTY = UsageConfig()


class TtlCache(Generic[T]):
    """``key -> value`` kept for ``ttl_s`` seconds (monotonic clock); bounded, oldest dropped."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._items: dict[Any, tuple[float, T]] = {}

    def get(self, key: Any) -> T | None:
        hit = self._items.get(key)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, key: Any, value: T) -> T:
        if len(self._items) >= _MAX_ENTRIES:
            self._items.pop(next(iter(self._items)))
        self._items[key] = (time.monotonic() + self.ttl_s, value)
        return value

    def drop(self, match: Any) -> None:
        """Forget ``match`` and every tuple key that starts with it."""
        for key in [k for k in self._items if k == match or (isinstance(k, tuple) and k and k[0] == match)]:
            self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()


_configs: TtlCache[UsageConfig] = TtlCache(CACHE_TTL_S)
# (workspace id, month start) -> what that month's runs have cost so far (pilot.usage.budget)
spend_cache: TtlCache[float] = TtlCache(CACHE_TTL_S)


def cached_config(workspace_id: str) -> UsageConfig | None:
    """The cached settings of a workspace, or None when they must be read."""
    return _configs.get(workspace_id)


async def load_config(session: AsyncSession, workspace_id: str) -> UsageConfig:
    """The workspace's settings (cached; read with ``session`` when the cache has none)."""
    hit = _configs.get(workspace_id)
    if hit is not None:
        return hit
    row = await session.get(UsageSettingsRow, workspace_id)
    return _configs.put(workspace_id, _from_row(row))


async def config_with(sessions: Any, workspace_id: str) -> UsageConfig:
    """:func:`load_config` with a session of its own (node runners; ``sessions`` None: defaults)."""
    hit = _configs.get(workspace_id)
    if hit is not None or sessions is None:
        return hit or EMPTY
    async with sessions() as session:
        return await load_config(session, workspace_id)


def _from_row(row: UsageSettingsRow | None) -> UsageConfig:
    if row is None:
        return EMPTY
    prices = {name: ModelPrice(float(p["input_per_m"]), float(p["output_per_m"])) for name, p in (row.prices or {}).items()}
    return UsageConfig(row.soft_limit_usd, row.hard_limit_usd, prices)


async def save_config(session: AsyncSession, workspace_id: str, **values: Any) -> UsageConfig:
    """Upsert some of ``soft_limit_usd``, ``hard_limit_usd``, ``prices`` (keys normalised) and
    forget what this process cached for the workspace (settings and spend)."""
    if "prices" in values:
        values["prices"] = {normalize_model(k): msgspec.to_builtins(v) for k, v in values["prices"].items()}
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    now = utcnow()
    stmt = insert(UsageSettingsRow.__table__).values(**{"prices": {}, **values}, workspace_id=workspace_id, updated_at=now)
    stmt = stmt.on_conflict_do_update(index_elements=["workspace_id"], set_={**values, "updated_at": now})
    await session.execute(stmt)
    row = (await session.execute(
        sa.select(UsageSettingsRow).where(UsageSettingsRow.workspace_id == workspace_id).execution_options(populate_existing=True)
    )).scalar_one()
    forget(workspace_id)
    return _configs.put(workspace_id, _from_row(row))


def forget(workspace_id: str) -> None:
    """Drop this process's cached settings and spend of a workspace (after a change)."""
    _configs.drop(workspace_id)
    spend_cache.drop(workspace_id)
