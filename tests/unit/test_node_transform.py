"""The ``transform`` node: set / map / filter / aggregate over the sandboxed jinja2, typed output,
errors naming the field, template budgets; and its validation rules."""

from __future__ import annotations

import pytest

from pilot.core.template_limits import DEFAULT_LIMITS
from pilot.engine.errors import NodeError
from pilot.engine.nodes.transform import MAX_ITEMS, TransformRunner, aggregate
from pilot.settings import Settings
from pilot.workflows.validation import validate_data
from tests.support.node_ctx import make_ctx, services

RUN = TransformRunner()
ORDERS = [
    {"id": 1, "customer": "ada", "total": 30, "paid": True, "tags": ["a"]},
    {"id": 2, "customer": "bob", "total": 12.5, "paid": False, "tags": []},
    {"id": 3, "customer": "ada", "total": 7, "paid": True, "tags": ["b", "c"]},
]
SCOPE = {"inputs": {"orders": ORDERS, "rate": 2, "name": "Ada"}, "nodes": {"fetch": {"output": {"rows": ORDERS}}}}


def _ctx(config: dict, scope: dict | None = None):
    return make_ctx({"type": "transform", "config": config}, services(Settings.from_env({})), scope=scope or SCOPE)


async def run(config: dict, scope: dict | None = None):
    return await RUN.run(_ctx(config, scope))


# ---------------------------------------------------------------- set: typed values


async def test_set_keeps_json_types() -> None:
    out = await run({"fields": {
        "count": "{{ inputs.orders | length }}", "double": "{{ inputs.rate * 2 }}", "ratio": "{{ inputs.rate / 4 }}",
        "ids": "{{ inputs.orders | map(attribute='id') | list }}", "first": "{{ inputs.orders[0] }}",
        "flag": "{{ inputs.rate > 1 }}", "none": "{{ none }}", "greeting": "Hello {{ inputs.name }}!", "literal": "fixed",
    }})
    assert out == {"count": 3, "double": 4, "ratio": 0.5, "ids": [1, 2, 3], "first": ORDERS[0], "flag": True,
                   "none": None, "greeting": "Hello Ada!", "literal": "fixed"}
    assert isinstance(out["count"], int) and isinstance(out["flag"], bool)


async def test_set_reads_upstream_nodes() -> None:
    assert await run({"fields": {"n": "{{ nodes.fetch.output.rows | length }}"}}) == {"n": 3}


# ---------------------------------------------------------------- list modes


async def test_map_binds_item_and_loop() -> None:
    out = await run({"mode": "map", "items": "inputs.orders", "fields": {
        "who": "{{ order.customer | upper }}", "net": "{{ order.total * inputs.rate }}", "pos": "{{ loop.index }}",
        "of": "{{ loop.length }}", "tags": "{{ order.tags }}"}, "item_var": "order"})
    assert out == [
        {"who": "ADA", "net": 60, "pos": 0, "of": 3, "tags": ["a"]},
        {"who": "BOB", "net": 25.0, "pos": 1, "of": 3, "tags": []},
        {"who": "ADA", "net": 14, "pos": 2, "of": 3, "tags": ["b", "c"]},
    ]


async def test_map_over_a_dict_and_null() -> None:
    scope = {"inputs": {"prices": {"tea": 3, "cake": 5}, "nothing": None}, "nodes": {}}
    out = await run({"mode": "map", "items": "{{ inputs.prices }}", "fields": {"k": "{{ item.key }}", "v": "{{ item.value + 1 }}"}}, scope)
    assert out == [{"k": "tea", "v": 4}, {"k": "cake", "v": 6}]
    assert await run({"mode": "map", "items": "inputs.nothing", "fields": {"x": "{{ item }}"}}, scope) == []


async def test_filter_keeps_items_whole() -> None:
    assert await run({"mode": "filter", "items": "inputs.orders", "where": "item.paid and item.total > 10"}) == [ORDERS[0]]
    assert await run({"mode": "filter", "items": "inputs.orders", "where": "{{ item.tags }}"}) == [ORDERS[0], ORDERS[2]]


async def test_aggregate_ops() -> None:
    out = await run({"mode": "aggregate", "items": "inputs.orders", "aggregates": {
        "n": {"op": "count"}, "sum": {"op": "sum", "of": "item.total"}, "avg": {"op": "avg", "of": "item.total"},
        "min": {"op": "min", "of": "item.total"}, "max": {"op": "max", "of": "item.customer"},
        "ids": {"op": "list", "of": "item.id"}, "first": {"op": "first", "of": "item.customer"},
        "last": {"op": "last", "of": "item.id"}, "paid": {"op": "count", "of": "item.paid or none"},
    }})
    assert out == {"n": 3, "sum": 49.5, "avg": 16.5, "min": 7, "max": "bob", "ids": [1, 2, 3], "first": "ada",
                   "last": 3, "paid": 2}


async def test_aggregate_group_by_in_first_seen_order() -> None:
    out = await run({"mode": "aggregate", "items": "inputs.orders", "group_by": "item.customer", "aggregates": {
        "orders": {"op": "count"}, "spent": {"op": "sum", "of": "item.total"}, "ids": {"op": "list", "of": "item.id"}}})
    assert out == [{"key": "ada", "orders": 2, "spent": 37, "ids": [1, 3]}, {"key": "bob", "orders": 1, "spent": 12.5, "ids": [2]}]
    # a structured key groups by value (key order does not matter) and comes back as JSON
    scope = {"inputs": {"rows": [{"k": {"a": 1, "b": 2}}, {"k": {"b": 2, "a": 1}}, {"k": [1]}]}, "nodes": {}}
    grouped = await run({"mode": "aggregate", "items": "inputs.rows", "group_by": "item.k", "aggregates": {"n": {"op": "count"}}}, scope)
    assert grouped == [{"key": {"a": 1, "b": 2}, "n": 2}, {"key": [1], "n": 1}]


async def test_aggregate_of_nothing() -> None:
    scope = {"inputs": {"rows": []}, "nodes": {}}
    out = await run({"mode": "aggregate", "items": "inputs.rows", "aggregates": {
        "n": {"op": "count"}, "s": {"op": "sum", "of": "item.x"}, "a": {"op": "avg", "of": "item.x"},
        "m": {"op": "max", "of": "item.x"}, "l": {"op": "list", "of": "item.x"}, "f": {"op": "first", "of": "item.x"}}}, scope)
    assert out == {"n": 0, "s": 0, "a": None, "m": None, "l": [], "f": None}
    grouped = await run({"mode": "aggregate", "items": "inputs.rows", "group_by": "item.x", "aggregates": {"n": {"op": "count"}}}, scope)
    assert grouped == []


def test_aggregate_skips_nulls_and_keeps_ints() -> None:
    assert aggregate("sum", [1, None, 2], "s") == 3 and isinstance(aggregate("sum", [1, 2], "s"), int)
    assert aggregate("avg", [None, 4, 2], "a") == 3
    assert aggregate("min", ["b", None, "a"], "m") == "a"


# ---------------------------------------------------------------- errors name the field


@pytest.mark.parametrize(("config", "message"), [
    ({"fields": {"x": "{{ inputs.missing.deeper }}"}}, r"fields\.x: .*undefined"),
    ({"fields": {"x": "{{ inputs.name + 1 }}"}}, r"^fields\.x: "),
    ({"mode": "map", "items": "inputs.orders", "fields": {"y": "{{ item.nope.x }}"}}, r"^item 0: fields\.y: "),
    ({"mode": "map", "items": "inputs.name", "fields": {"y": "1"}}, r"^items must evaluate to a list, got str"),
    ({"mode": "map", "items": "inputs.orders", "fields": {}}, r"^fields: mode 'map' needs at least one field"),
    ({"mode": "filter", "items": "inputs.orders"}, r"^where: mode 'filter' needs a where expression"),
    ({"mode": "filter", "items": "inputs.orders", "where": "item.total > 'x'"}, r"^item 0: where: .*TypeError"),
    ({"mode": "aggregate", "items": "inputs.orders", "aggregates": {"s": {"op": "sum", "of": "item.customer"}}},
     r"^aggregates\.s: sum needs numbers, got string 'ada'"),
    ({"mode": "aggregate", "items": "inputs.orders", "aggregates": {"m": {"op": "min", "of": "item.tags"}}},
     r"^aggregates\.m: min needs all numbers or all strings, got array"),
    ({"mode": "aggregate", "items": "inputs.orders", "aggregates": {"s": {"op": "sum"}}}, r"^aggregates\.s\.of: op 'sum' needs"),
    ({"mode": "aggregate", "items": "inputs.orders", "group_by": "item.nope.x", "aggregates": {"n": {"op": "count"}}},
     r"^item 0: group_by: "),
    ({"mode": "aggregate", "aggregates": {"n": {"op": "count"}}}, r"^items: mode 'aggregate' needs an items expression"),
    ({"fields": {"x": "{{ ().__class__.__mro__ }}"}}, r"^fields\.x: .*sandbox"),
])
async def test_errors_name_the_field(config: dict, message: str) -> None:
    with pytest.raises(NodeError, match=message) as info:
        await run(config)
    assert not info.value.retryable


# ---------------------------------------------------------------- budgets


async def test_template_budgets_apply_per_expression() -> None:
    with pytest.raises(NodeError, match=r"^fields\.big: .*(limit|budget)"):
        await run({"fields": {"big": "{{ 'x' * 100000000 }}"}})
    with pytest.raises(NodeError, match=r"^item 0: where: .*(limit|budget)"):
        await run({"mode": "filter", "items": "inputs.orders", "where": "range(1000000) | list | length"})


async def test_items_are_capped() -> None:
    scope = {"inputs": {"n": MAX_ITEMS + 1}, "nodes": {}}
    with pytest.raises(NodeError, match=r"^items: 10,001 items exceed the transform limit of 10,000"):
        await run({"mode": "map", "items": "range(inputs.n) | list", "fields": {"x": "{{ item }}"}}, scope)


async def test_output_size_is_capped_as_it_grows() -> None:
    chunk = DEFAULT_LIMITS.max_output_chars // 4
    scope = {"inputs": {"n": 10}, "nodes": {}}
    with pytest.raises(NodeError, match=r"^item 3: output: the transform's result would exceed 2,000,000 characters"):
        await run({"mode": "map", "items": "range(inputs.n) | list", "fields": {"pad": f"{{{{ 'x' * {chunk} }}}}"}}, scope)


async def test_many_items_stay_fast_and_typed() -> None:
    scope = {"inputs": {"n": 5000}, "nodes": {}}
    out = await run({"mode": "aggregate", "items": "range(inputs.n) | list", "group_by": "item % 3",
                     "aggregates": {"n": {"op": "count"}, "total": {"op": "sum", "of": "item"}}}, scope)
    assert out == [{"key": k, "n": len(range(k, 5000, 3)), "total": sum(range(k, 5000, 3))} for k in (0, 1, 2)]


# ---------------------------------------------------------------- validation


def _graph(config: dict) -> dict:
    return {"nodes": [{"id": "start", "type": "input"}, {"id": "t", "type": "transform", "config": config},
                      {"id": "out", "type": "output", "config": {"outputs": {"r": "{{ nodes.t.output }}"}}}],
            "edges": [{"id": "e1", "source": "start", "target": "t"}, {"id": "e2", "source": "t", "target": "out"}]}


@pytest.mark.parametrize(("config", "message"), [
    ({"mode": "map", "fields": {"x": "1"}}, "config.items is required"),
    ({"mode": "filter", "items": "inputs.rows"}, "config.where is required"),
    ({"mode": "aggregate", "items": "inputs.rows"}, "config.aggregates needs at least one aggregate"),
    ({"mode": "aggregate", "items": "inputs.rows", "aggregates": {"s": {"op": "avg"}}}, "config.aggregates.s.of is required for op 'avg'"),
    ({"mode": "aggregate", "items": "inputs.rows", "group_by": "item.k", "aggregates": {"key": {"op": "count"}}}, "clashes with the group key"),
    ({"fields": {}}, "config.fields needs at least one field"),
    ({"mode": "map", "items": "inputs.rows", "fields": {}}, "config.fields needs at least one field"),
    ({"fields": {"x": "{{ inputs.a + }}"}}, "config.fields.x: jinja2 syntax error"),
    ({"mode": "filter", "items": "inputs.rows", "where": "item.a ="}, "config.where: jinja2 syntax error"),
    ({"mode": "aggregate", "items": "inputs.rows", "group_by": "item.(", "aggregates": {"n": {"op": "count"}}}, "config.group_by: jinja2 syntax error"),
    ({"mode": "aggregate", "items": "inputs.rows", "aggregates": {"s": {"op": "sum", "of": "item.x +"}}}, "config.aggregates.s.of: jinja2 syntax error"),
    ({"fields": {"x": "{{ nodes.out.output }}"}}, "references nodes.out, which is not upstream"),
])
def test_validation_names_the_problem(config: dict, message: str) -> None:
    _, report = validate_data(_graph(config))
    assert not report.valid
    assert any(message in p.message and "t" in p.node_ids for p in report.problems), report.problems


def test_valid_transforms_pass() -> None:
    for config in ({"fields": {"x": "{{ inputs.a }}"}},
                   {"mode": "filter", "items": "inputs.rows", "where": "item.ok"},
                   {"mode": "aggregate", "items": "inputs.rows", "group_by": "item.k", "aggregates": {"n": {"op": "count"}}}):
        _, report = validate_data(_graph(config))
        assert report.valid, report.problems
