"""SQL aggregates over ``executions`` and ``node_results`` (SQLAlchemy Core; SQLite and PostgreSQL).

Usage is what runs store: every node result's ``usage`` (``llm_calls``, ``prompt_tokens``,
``completion_tokens``, ``total_tokens``, ``cost_usd``, and per-model / per-agent maps under
``models`` and ``agents``, see :mod:`pilot.usage.metering`). Only top-level nodes have rows; a
loop node's usage already sums its body's, and a sub-workflow's child run has rows of its own,
so summing the rows counts every call once — except the rows a rerun copies from the run it
reruns (the upstream nodes it reuses, identical to their source row): those calls were made,
and are counted, once, in the source run. A run belongs to the period it was *created* in.

The two dialects differ only in JSON access and date truncation; those few expressions are
chosen here by dialect name, the statements themselves are shared.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from pilot.db.models import ApiKeyRow, ExecutionRow, NodeResultRow, UserRow, WorkflowRow

E = ExecutionRow.__table__
N = NodeResultRow.__table__
W = WorkflowRow.__table__
U = UserRow.__table__
K = ApiKeyRow.__table__
R = NodeResultRow.__table__.alias("reused_from")  # the source row of a node result a rerun copied
FIGURES = ("llm_calls", "prompt_tokens", "completion_tokens", "total_tokens", "cost_usd")
ValueOf = Callable[[str], Any]


def in_period(workspace_id: str, start: datetime, end: datetime) -> Any:
    """The workspace's runs created in ``[start, end)`` (tenancy: never another workspace's)."""
    return sa.and_(E.c.workspace_id == workspace_id, E.c.created_at >= start, E.c.created_at < end)


def _runs() -> Any:
    return sa.func.count(sa.distinct(E.c.id)).label("runs")


def _sums(value_of: ValueOf) -> list[Any]:
    return [sa.func.coalesce(sa.func.sum(value_of(name)), 0).label(name) for name in FIGURES]


def _node_value(name: str) -> Any:
    """A figure of a node result, null for a row a rerun copied (see module doc)."""
    return sa.case((R.c.id.is_(None), N.c.usage[name].as_float()), else_=sa.null())


def _with_nodes(outer: bool = True) -> Any:
    """executions ⋈ node_results, each row with its rerun source row when it is a copy (one
    unique-index lookup: same node of the execution rerun, same finish time)."""
    joined = E.outerjoin(N, N.c.execution_id == E.c.id) if outer else E.join(N, N.c.execution_id == E.c.id)
    return joined.outerjoin(R, sa.and_(R.c.execution_id == E.c.rerun_of, R.c.node_id == N.c.node_id,
                                       R.c.finished_at == N.c.finished_at))


def _entries(dialect: str, field: str) -> tuple[Any, ValueOf]:
    """A FROM item with one row per entry of ``node_results.usage[field]`` (a ``{key: figures}``
    map), and how to read a figure of an entry."""
    if dialect == "postgresql":
        each = sa.func.jsonb_each(N.c.usage[field]).table_valued("key", "value", name=f"each_{field}")
        return each, lambda name: sa.cast(each.c.value.op("->>")(sa.literal(name, sa.Text)), sa.Float)
    each = sa.func.json_each(N.c.usage, f"$.{field}").table_valued("key", "value", name=f"each_{field}")
    return each, lambda name: sa.func.json_extract(each.c.value, f"$.{name}")


def by_status(workspace_id: str, start: datetime, end: datetime) -> sa.Select:
    """Runs and their usage per status (runs without node results count too)."""
    return (
        sa.select(E.c.status.label("key"), _runs(), *_sums(_node_value))
        .select_from(_with_nodes())
        .where(in_period(workspace_id, start, end))
        .group_by(E.c.status)
    )


def spend(workspace_id: str, start: datetime, end: datetime) -> sa.Select:
    """The cost of the workspace's runs created in the period (budget checks)."""
    return (
        sa.select(sa.func.coalesce(sa.func.sum(_node_value("cost_usd")), 0))
        .select_from(_with_nodes(outer=False))
        .where(in_period(workspace_id, start, end))
    )


def breakdown(dialect: str, by: str, workspace_id: str, start: datetime, end: datetime, limit: int) -> sa.Select:
    """Usage grouped ``by`` workflow, trigger, node_type, model, agent or user: ``key, label, runs, figures…``,
    the costliest ``limit`` groups first."""
    where = in_period(workspace_id, start, end)
    if by in ("model", "agent"):
        each, value_of = _entries(dialect, "models" if by == "model" else "agents")
        key = each.c.key
        source = _with_nodes(outer=False).join(each, sa.true())
        where = sa.and_(where, R.c.id.is_(None))  # a copied row's calls belong to its source run
        columns, group = [key.label("key"), sa.literal("").label("label")], [key]
    else:
        value_of = _node_value
        source = _with_nodes(outer=by != "node_type")
        if by == "workflow":
            source = source.outerjoin(W, W.c.id == E.c.workflow_id)
            columns = [E.c.workflow_id.label("key"), sa.func.coalesce(W.c.name, "").label("label")]
            group = [E.c.workflow_id, W.c.name]
        elif by == "trigger":
            columns, group = [E.c.trigger.label("key"), sa.literal("").label("label")], [E.c.trigger]
        elif by == "node_type":
            columns, group = [N.c.node_type.label("key"), sa.literal("").label("label")], [N.c.node_type]
        elif by == "user":  # who started the run: a user (labelled by e-mail) or an API key; "" = not recorded
            source = source.outerjoin(U, U.c.id == E.c.created_by).outerjoin(K, K.c.id == E.c.created_by)
            who = sa.func.coalesce(E.c.created_by, "")
            label = sa.func.coalesce(U.c.email, sa.literal("API key ") + K.c.name, "")
            columns, group = [who.label("key"), label.label("label")], [who, U.c.email, K.c.name]
        else:
            raise ValueError(f"no breakdown by {by!r}")
    sums = _sums(value_of)
    return (
        sa.select(*columns, _runs(), *sums)
        .select_from(source)
        .where(where)
        .group_by(*group)
        .order_by(sums[-1].desc(), group[0])
        .limit(limit)
    )


def _bucket(dialect: str, interval: str) -> Any:
    """The start of a run's hour/day as text ``YYYY-MM-DDTHH:00:00`` (UTC) on either database."""
    if dialect == "postgresql":
        utc = sa.func.timezone("UTC", E.c.created_at)
        return sa.func.to_char(sa.func.date_trunc(interval, utc), 'YYYY-MM-DD"T"HH24:00:00')
    return sa.func.strftime("%Y-%m-%dT%H:00:00" if interval == "hour" else "%Y-%m-%dT00:00:00", E.c.created_at)


def history(dialect: str, interval: str, workspace_id: str, start: datetime, end: datetime) -> sa.Select:
    """Runs and usage per hour/day bucket (only buckets that have runs)."""
    bucket = _bucket(dialect, interval).label("key")
    return (
        sa.select(bucket, _runs(), *_sums(_node_value))
        .select_from(_with_nodes())
        .where(in_period(workspace_id, start, end))
        .group_by(bucket)
        .order_by(bucket)
    )


def workflow_runs(workspace_id: str, workflow_id: str, start: datetime, end: datetime) -> sa.Select:
    """One workflow's runs created in ``[start, end)``, dry runs (trigger ``test``) left out:
    what :mod:`pilot.analytics` reads for run counts and durations."""
    return (
        sa.select(E.c.id, E.c.status, E.c.started_at, E.c.finished_at)
        .where(in_period(workspace_id, start, end), E.c.workflow_id == workflow_id, E.c.trigger != "test")
    )


def workflow_node_results(workspace_id: str, workflow_id: str, start: datetime, end: datetime) -> sa.Select:
    """The node results of those runs that the runs executed themselves (a rerun's copies of the
    results it reused are left out: they ran, and count, in the source run), with their usage
    figures (0 when absent) and ``prompt_hashes`` (null when absent)."""
    figures = [sa.func.coalesce(N.c.usage[name].as_float(), 0).label(name) for name in FIGURES]
    return (
        sa.select(N.c.execution_id, N.c.node_id, N.c.node_type, N.c.status, N.c.attempts, N.c.elapsed_ms,
                  N.c.error.is_not(None).label("has_error"), *figures, N.c.usage["prompt_hashes"].label("prompt_hashes"))
        .select_from(_with_nodes(outer=False))
        .where(in_period(workspace_id, start, end), E.c.workflow_id == workflow_id, E.c.trigger != "test",
               R.c.id.is_(None))
    )
