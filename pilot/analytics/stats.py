"""Run statistics of one workflow, computed from the rows its runs stored.

Runs are the workflow's executions created in ``[since, until)`` except dry runs (``trigger =
test``: their calls are simulated). Node figures come from ``node_results`` (top-level nodes; a
loop's row covers its body) read through :mod:`pilot.usage.queries`, so cost means the same as
in usage reports and a rerun's reused results count once, in the run that produced them.

Definitions (documented in the README):

- a run *ended* when it is ``succeeded``, ``failed`` or ``cancelled``; success rate = succeeded /
  ended; run duration = ``finished_at - started_at`` of ended runs;
- a node *ran* when its result is ``succeeded`` or ``failed`` (``skipped`` is counted apart); its
  success rate counts a failure absorbed by ``on_error: continue/default`` as a failure;
- percentiles are nearest-rank (p95 of 20 values is the 19th smallest): a real observed value;
- an ``llm`` node's succeeded runs are grouped by the requests they sent (``usage.prompt_hashes``,
  :mod:`pilot.usage.metering`); in a group of n, n − 1 runs are *repeats* a response cache would
  have served, with (n − 1) / n of the group's measured cost and latency (which run came first
  does not matter to the totals);
- the critical path is the path through the head graph whose node latencies sum highest, per
  basis (p50: a typical run, p95: a slow one); a node that never ran weighs 0.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import networkx as nx
from sqlalchemy.ext.asyncio import AsyncSession

from pilot.analytics.schemas import CriticalPath, CriticalPaths, NodeStats, WorkflowStats
from pilot.usage import queries
from pilot.workflows.model import Workflow, node_type
from pilot.workflows.validation import to_digraph

ENDED = ("succeeded", "failed", "cancelled")
RAN = ("succeeded", "failed")


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile of ``values`` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def _ratio(part: int | float, whole: int | float) -> float | None:
    return round(part / whole, 6) if whole else None


@dataclass
class _NodeRows:
    node_type: str = ""
    ran: int = 0
    skipped: int = 0
    ok: int = 0
    retried: int = 0
    retries: int = 0
    elapsed: list[float] = field(default_factory=list)
    figures: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    # the requests of each succeeded run → (cost USD, elapsed ms) of those runs
    requests: dict[tuple[str, ...], list[tuple[float, float]]] = field(default_factory=lambda: defaultdict(list))


def _repeats(rows: _NodeRows) -> tuple[int, float | None, float, float]:
    """(repeated calls, their share of the hashed runs, their cost USD, their ms) (see module doc)."""
    hashed = sum(len(group) for group in rows.requests.values())
    calls, cost, ms = 0, 0.0, 0.0
    for group in rows.requests.values():
        share = (len(group) - 1) / len(group)
        calls += len(group) - 1
        cost += share * sum(c for c, _ in group)
        ms += share * sum(e for _, e in group)
    return calls, _ratio(calls, hashed), round(cost, 8), round(ms, 3)


def _node_stats(node_id: str, rows: _NodeRows, title: str, in_graph: bool, total_cost: float) -> NodeStats:
    cost = round(rows.figures["cost_usd"], 8)
    repeated, repeat_rate, repeated_cost, repeated_ms = _repeats(rows)
    return NodeStats(
        node_id=node_id, node_type=rows.node_type, title=title, in_graph=in_graph, runs=rows.ran, skipped=rows.skipped,
        success_rate=_ratio(rows.ok, rows.ran), p50_ms=percentile(rows.elapsed, 50), p95_ms=percentile(rows.elapsed, 95),
        retry_rate=_ratio(rows.retried, rows.ran), retries=rows.retries, llm_calls=round(rows.figures["llm_calls"]),
        prompt_tokens=round(rows.figures["prompt_tokens"]), completion_tokens=round(rows.figures["completion_tokens"]),
        cost_usd=cost, cost_share=_ratio(cost, total_cost) if total_cost > 0 else None,
        repeated_calls=repeated, repeat_rate=repeat_rate, repeated_cost_usd=repeated_cost, repeated_ms=repeated_ms,
    )


def critical_path(workflow: Workflow, weights: dict[str, float], basis: str) -> CriticalPath:
    """The heaviest path through the head graph's top-level DAG (ties: the first in topological order)."""
    g = to_digraph(workflow.graph())
    best: dict[str, tuple[float, list[str]]] = {}
    for nid in nx.lexicographical_topological_sort(g):
        before = max((best[p] for p in g.predecessors(nid)), key=lambda item: item[0], default=(0.0, []))
        best[nid] = (before[0] + weights.get(nid, 0.0), [*before[1], nid])
    total, path = max(best.values(), key=lambda item: item[0], default=(0.0, []))
    slowest = max(path, key=lambda nid: weights.get(nid, 0.0), default=None)
    return CriticalPath(basis=basis, node_ids=path, total_ms=round(total, 3),  # type: ignore[arg-type]
                        slowest_node_id=slowest, slowest_ms=weights.get(slowest) if slowest else None)


async def workflow_stats(session: AsyncSession, workspace_id: str, workflow: Workflow,
                         since: datetime, until: datetime) -> WorkflowStats:
    """The statistics of ``workflow``'s runs created in ``[since, until)`` (see module doc)."""
    runs = (await session.execute(queries.workflow_runs(workspace_id, workflow.id, since, until))).all()
    by_status: dict[str, int] = defaultdict(int)
    durations: list[float] = []
    for run in runs:
        by_status[run.status] += 1
        if run.status in ENDED and run.started_at is not None and run.finished_at is not None:
            durations.append(round((run.finished_at - run.started_at).total_seconds() * 1000, 3))
    ended = sum(by_status.get(s, 0) for s in ENDED)
    per_node: dict[str, _NodeRows] = defaultdict(_NodeRows)
    stmt = queries.workflow_node_results(workspace_id, workflow.id, since, until)
    for row in (await session.execute(stmt)).all():
        _add(per_node[row.node_id], row)
    total_cost = sum(rows.figures["cost_usd"] for rows in per_node.values())
    nodes = [_node_stats(n.id, per_node.get(n.id) or _NodeRows(node_type(n)), n.title, True, total_cost)
             for n in workflow.nodes]
    nodes += [_node_stats(nid, rows, "", False, total_cost) for nid, rows in sorted(per_node.items())
              if nid not in {n.id for n in workflow.nodes}]
    paths = None
    if any(n.runs for n in nodes if n.in_graph):
        paths = CriticalPaths(
            p50=critical_path(workflow, {n.node_id: n.p50_ms or 0.0 for n in nodes}, "p50"),
            p95=critical_path(workflow, {n.node_id: n.p95_ms or 0.0 for n in nodes}, "p95"),
        )
    return WorkflowStats(
        workflow_id=workflow.id, since=since, until=until, runs=len(runs), by_status=dict(sorted(by_status.items())),
        success_rate=_ratio(by_status.get("succeeded", 0), ended), p50_ms=percentile(durations, 50),
        p95_ms=percentile(durations, 95), llm_calls=sum(n.llm_calls for n in nodes), cost_usd=round(total_cost, 8),
        nodes=nodes, critical_path=paths,
    )


def _add(rows: _NodeRows, row: Any) -> None:
    rows.node_type = row.node_type
    if row.status not in RAN:
        rows.skipped += row.status == "skipped"
        return
    rows.ran += 1
    rows.ok += row.status == "succeeded" and not row.has_error
    attempts = max(1, int(row.attempts or 1))
    rows.retried += attempts > 1
    rows.retries += attempts - 1
    if row.elapsed_ms is not None:
        rows.elapsed.append(float(row.elapsed_ms))
    for name in queries.FIGURES:
        rows.figures[name] += float(getattr(row, name) or 0)
    if row.node_type == "llm" and row.status == "succeeded" and not row.has_error and isinstance(row.prompt_hashes, dict) \
            and row.prompt_hashes:
        rows.requests[tuple(sorted(row.prompt_hashes))].append((float(row.cost_usd or 0), float(row.elapsed_ms or 0)))
