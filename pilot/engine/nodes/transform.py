"""The ``transform`` node: reshapes data without an LLM (modes: see ``TransformConfig``).

Values are typed JSON, never a rendered string by accident:

- ``fields`` values are *value fields*, like an ``output`` node's: exactly one ``{{ expr }}``
  block keeps the expression's JSON value (a number stays a number, a list stays a list), other
  text containing ``{{ }}`` renders to a string, plain text is a literal;
- ``items``, ``where``, ``group_by`` and ``aggregates.<name>.of`` are expressions (bare, such as
  ``item.price > 3``, or one ``{{ }}`` block), like a condition's ``when``.

Per item, the item is bound as ``item_var`` (``item``) and ``loop = {index, length}``; outer
``inputs``, ``nodes`` and ``credentials`` stay visible. ``items`` behaves like a loop's: a dict
becomes its ``{key, value}`` pairs, ``null`` an empty list.

Aggregates (``{name: {op, of}}``): ``count`` (the items; with ``of``, the non-null values),
``sum`` / ``avg`` (numbers; nulls skipped; ``avg`` of nothing is null), ``min`` / ``max``
(numbers or strings, nulls skipped), ``list``, ``first``, ``last``. With ``group_by`` the output
is ``[{"key": <group key>, <name>: <value>, ...}]`` in first-seen order.

Budgets: every evaluation runs under the template budgets (:mod:`pilot.core.template_limits`,
through :mod:`pilot.engine.nodes.rendering`); a transform takes at most :data:`MAX_ITEMS` items
and its output is at most ``DEFAULT_LIMITS.max_output_chars`` characters of JSON, checked as it
grows. Every error is a non-retryable NodeError naming the field (and the item index).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import msgspec

from pilot.core.template_limits import DEFAULT_LIMITS
from pilot.engine.errors import NodeError
from pilot.engine.nodes.base import NodeContext
from pilot.engine.nodes.loop import loop_items
from pilot.engine.nodes.rendering import evaluate_field, resolve_value

MAX_ITEMS = 10_000  # the same ceiling as a loop's max_items
_YIELD_EVERY = 64  # items evaluated between two returns to the event loop


class _OutputSize:
    """The JSON size of the output built so far, against the template budget's size limit."""

    __slots__ = ("total", "limit")

    def __init__(self, limit: int = DEFAULT_LIMITS.max_output_chars) -> None:
        self.total = 0
        self.limit = limit

    def add(self, value: Any) -> Any:
        if isinstance(value, (dict, list, str)):
            self.total += len(msgspec.json.encode(value))
        else:
            self.total += 8
        if self.total > self.limit:
            raise NodeError(f"output: the transform's result would exceed {self.limit:,} characters of JSON")
        return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


async def _fields(fields: dict[str, str], scope: dict[str, Any], size: _OutputSize) -> dict[str, Any]:
    return {name: size.add(await resolve_value(src, scope, f"fields.{name}")) for name, src in fields.items()}


async def _each(items: list[Any], scope: dict[str, Any], item_var: str) -> AsyncIterator[tuple[int, dict[str, Any]]]:
    """``(index, scope with the item bound)`` per item, yielding to the event loop now and then."""
    length = len(items)
    for index, item in enumerate(items):
        if index and index % _YIELD_EVERY == 0:
            await asyncio.sleep(0)
        yield index, {**scope, item_var: item, "loop": {"index": index, "length": length}}


def aggregate(op: str, values: list[Any], field: str) -> Any:
    """One aggregate over the per-item values (see module docstring); pure."""
    if op == "count":
        return sum(1 for v in values if v is not None)
    if op == "list":
        return list(values)
    if op == "first":
        return values[0] if values else None
    if op == "last":
        return values[-1] if values else None
    present = [v for v in values if v is not None]
    if op in ("sum", "avg"):
        for v in present:
            if not _is_number(v):
                raise NodeError(f"{field}: {op} needs numbers, got {_json_type(v)} {str(v)[:40]!r}")
        if op == "sum":
            return sum(present)
        return sum(present) / len(present) if present else None
    if op in ("min", "max"):
        if not present:
            return None
        kinds = {"number" if _is_number(v) else _json_type(v) for v in present}
        if len(kinds) > 1 or kinds - {"number", "string"}:
            raise NodeError(f"{field}: {op} needs all numbers or all strings, got {', '.join(sorted(kinds))}")
        return min(present) if op == "min" else max(present)
    raise NodeError(f"{field}: unknown aggregate op {op!r}")


class TransformRunner:
    """Runs ``transform`` nodes: ``set`` / ``map`` / ``filter`` / ``aggregate``."""

    node_type = "transform"

    async def run(self, ctx: NodeContext) -> Any:
        config = ctx.node.config
        size = _OutputSize()
        if config.mode == "set":
            return await _fields(config.fields, ctx.scope, size)
        if not config.items:
            raise NodeError(f"items: mode {config.mode!r} needs an items expression (a list)")
        items = await loop_items(config.items, ctx.scope)
        if len(items) > MAX_ITEMS:
            raise NodeError(f"items: {len(items):,} items exceed the transform limit of {MAX_ITEMS:,}")
        if config.mode == "map":
            return await self._map(config, items, ctx.scope, size)
        if config.mode == "filter":
            return await self._filter(config, items, ctx.scope, size)
        return await self._aggregate(config, items, ctx.scope, size)

    async def _map(self, config: Any, items: list[Any], scope: dict[str, Any], size: _OutputSize) -> list[Any]:
        if not config.fields:
            raise NodeError("fields: mode 'map' needs at least one field")
        out = []
        async for index, item_scope in _each(items, scope, config.item_var):
            try:
                out.append(await _fields(config.fields, item_scope, size))
            except NodeError as exc:
                raise NodeError(f"item {index}: {exc.message}") from exc
        return out

    async def _filter(self, config: Any, items: list[Any], scope: dict[str, Any], size: _OutputSize) -> list[Any]:
        if not config.where:
            raise NodeError("where: mode 'filter' needs a where expression")
        out = []
        async for index, item_scope in _each(items, scope, config.item_var):
            try:
                keep = await evaluate_field(config.where, item_scope, "where")
            except NodeError as exc:
                raise NodeError(f"item {index}: {exc.message}") from exc
            if keep:
                out.append(size.add(items[index]))
        return out

    async def _aggregate(self, config: Any, items: list[Any], scope: dict[str, Any], size: _OutputSize) -> Any:
        if not config.aggregates:
            raise NodeError("aggregates: mode 'aggregate' needs at least one aggregate")
        for name, agg in config.aggregates.items():
            if agg.op != "count" and not agg.of:
                raise NodeError(f"aggregates.{name}.of: op {agg.op!r} needs an 'of' expression")
        groups: dict[bytes, tuple[Any, dict[str, list[Any]]]] = {}
        async for index, item_scope in _each(items, scope, config.item_var):
            try:
                key = await evaluate_field(config.group_by, item_scope, "group_by") if config.group_by else None
                values = {
                    name: (await evaluate_field(agg.of, item_scope, f"aggregates.{name}.of") if agg.of else True)
                    for name, agg in config.aggregates.items()
                }
            except NodeError as exc:
                raise NodeError(f"item {index}: {exc.message}") from exc
            group = groups.setdefault(msgspec.json.encode(key, order="sorted"), (key, {name: [] for name in values}))
            for name, value in values.items():
                group[1][name].append(size.add(value) if config.aggregates[name].op == "list" else value)
        results = []
        for key, collected in groups.values():
            row = {name: aggregate(agg.op, collected[name], f"aggregates.{name}") for name, agg in config.aggregates.items()}
            results.append({"key": key, **row} if config.group_by else row)
        if config.group_by:
            return results
        if results:
            return results[0]
        return {name: aggregate(agg.op, [], f"aggregates.{name}") for name, agg in config.aggregates.items()}
