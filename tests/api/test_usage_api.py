"""Usage API: figures equal the sums of the stored node usage of seeded runs (real executor,
offline LLM and agent nodes, priced through a workspace price override), on SQLite and
PostgreSQL; tenancy; bad parameters; budgets (hard → 402, soft → warning + run.warning)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from pilot.db.models import ExecutionRow, NodeResultRow, StreamEventRow

FIGURES = ("llm_calls", "prompt_tokens", "completion_tokens", "total_tokens", "cost_usd")
# The offline provider's calls are priced as the model "offline" (list price 0): overriding it
# gives the seeded runs a real cost.
OFFLINE_PRICE = {"input_per_m": 1000.0, "output_per_m": 3000.0}


def _wf(name: str, nodes: list[dict], edges: list[tuple[str, str]]) -> dict:
    return {"name": name, "nodes": nodes,
            "edges": [{"id": f"{s}-{t}", "source": s, "target": t} for s, t in edges]}


START = {"id": "start", "type": "input", "config": {"fields": [{"name": "topic"}]}}
LINEAR = _wf("linear", [
    START,
    {"id": "write", "type": "llm", "config": {"model": "offline", "prompt": "Write about {{ inputs.topic }}"}},
    {"id": "out", "type": "output", "config": {"outputs": {"text": "{{ nodes.write.output }}"}}},
], [("start", "write"), ("write", "out")])
LOOP_AND_AGENT = _wf("loop and agent", [
    START,
    {"id": "each", "type": "loop", "config": {"items": "[1, 2, 3]", "body": {
        "nodes": [{"id": "say", "type": "llm", "config": {"model": "offline", "prompt": "Item {{ item }}"}}],
        "edges": []}}},
    {"id": "helper", "type": "agent", "config": {"model": "offline", "prompt": "Research {{ inputs.topic }}"}},
    {"id": "out", "type": "output", "config": {"outputs": {"a": "{{ nodes.each.output }}", "b": "{{ nodes.helper.output }}"}}},
], [("start", "each"), ("start", "helper"), ("each", "out"), ("helper", "out")])
FAILING = _wf("failing", [
    START,
    {"id": "write", "type": "llm", "config": {"model": "offline", "prompt": "Draft {{ inputs.topic }}"}},
    {"id": "broken", "type": "transform", "config": {"fields": {"x": "{{ 1 // 0 }}"}}},
    {"id": "out", "type": "output", "config": {"outputs": {"x": "{{ nodes.broken.output }}"}}},
], [("start", "write"), ("write", "broken"), ("broken", "out")])


async def _wait(api, execution_id: str, timeout_s: float = 60.0) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        execution = (await api.get(f"/api/executions/{execution_id}")).json()
        if execution["status"] in ("succeeded", "failed", "cancelled") or asyncio.get_running_loop().time() > deadline:
            return execution
        await asyncio.sleep(0.05)


async def _run(api, workflow_id: str) -> dict:
    r = await api.post(f"/api/workflows/{workflow_id}/execute", json={"input_data": {"topic": "usage"}})
    assert r.status_code == 202, r.text
    return await _wait(api, r.json()["execution_id"])


async def _workflow(api, body: dict) -> str:
    r = await api.post("/api/workflows", json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def _stored(api) -> list[tuple[dict, dict]]:
    """(execution, node result) pairs of the caller's workspace, read straight from the tables.
    A rerun's copies of the results it reuses (same node and finish time as in the run it reruns)
    carry no usage of their own: those calls were made, and count, in the source run."""
    runtime = api.client.app.state.runtime
    workspace = await runtime.principals.authenticate(runtime.sessions, api.key)
    async with runtime.sessions() as session:
        rows = (await session.execute(
            sa.select(ExecutionRow.id, ExecutionRow.workflow_id, ExecutionRow.status, ExecutionRow.trigger,
                      ExecutionRow.rerun_of, NodeResultRow.node_id, NodeResultRow.node_type, NodeResultRow.usage,
                      NodeResultRow.finished_at)
            .join(NodeResultRow, NodeResultRow.execution_id == ExecutionRow.id, isouter=True)
            .where(ExecutionRow.workspace_id == workspace.id)
        )).all()
    finished = {(r.id, r.node_id): r.finished_at for r in rows}
    copies = {(r.id, r.node_id) for r in rows
              if r.rerun_of and r.node_id and finished.get((r.rerun_of, r.node_id)) == r.finished_at}
    return [({"id": r.id, "workflow_id": r.workflow_id, "status": r.status, "trigger": r.trigger},
             {"node_type": r.node_type, "usage": {} if (r.id, r.node_id) in copies else r.usage or {}})
            for r in rows]


def _sum(usages: list[dict]) -> dict:
    return {name: sum(u.get(name, 0) for u in usages) for name in FIGURES}


def _assert_figures(got: dict, usages: list[dict], runs: int) -> None:
    want = _sum(usages)
    assert got["runs"] == runs
    for name in FIGURES[:-1]:
        assert got[name] == want[name], (name, got, want)
    assert got["cost_usd"] == pytest.approx(want["cost_usd"], abs=1e-7)


@pytest.fixture
async def seeded(api):
    r = await api.put("/api/usage/prices", json={"prices": {"offline": OFFLINE_PRICE}})
    assert r.status_code == 200, r.text
    ids = {name: await _workflow(api, body) for name, body in
           (("linear", LINEAR), ("loop", LOOP_AND_AGENT), ("failing", FAILING))}
    runs = [await _run(api, ids["linear"]), await _run(api, ids["linear"]), await _run(api, ids["loop"]),
            await _run(api, ids["failing"])]
    # A rerun from the output node: it reuses start and write (the model call is not made again).
    r = await api.post(f"/api/executions/{runs[0]['id']}/rerun", json={"from_node": "out"})
    assert r.status_code == 202, r.text
    runs.append(await _wait(api, r.json()["execution_id"]))
    assert [r["status"] for r in runs] == ["succeeded", "succeeded", "succeeded", "failed", "succeeded"], runs
    assert runs[-1]["usage"]["llm_calls"] == 1  # the engine's own view of the rerun includes the reused call
    return ids


async def test_usage_figures_equal_the_sums_of_stored_node_usage(api, other_api, seeded):
    stored = await _stored(api)
    usages = [n["usage"] for _, n in stored]
    # 2 linear, 3 loop items, the agent, the failing run's; the rerun made none
    assert _sum(usages)["cost_usd"] > 0 and _sum(usages)["llm_calls"] == 2 + 3 + 1 + 1

    summary = (await api.get("/api/usage")).json()
    _assert_figures(summary["totals"], usages, runs=5)
    for status in ("succeeded", "failed"):
        rows = [(e, n) for e, n in stored if e["status"] == status]
        _assert_figures(summary["by_status"][status], [n["usage"] for _, n in rows], runs=len({e["id"] for e, _ in rows}))

    def grouped(key) -> dict[str, tuple[list[dict], int]]:
        groups: dict[str, tuple[list[dict], set]] = defaultdict(lambda: ([], set()))
        for execution, result in stored:
            for name, usage in key(execution, result):
                groups[name][0].append(usage)
                groups[name][1].add(execution["id"])
        return {name: (u, len(ids)) for name, (u, ids) in groups.items()}

    expectations = {
        "workflow": grouped(lambda e, n: [(e["workflow_id"], n["usage"])]),
        "trigger": grouped(lambda e, n: [(e["trigger"], n["usage"])]),
        "node_type": grouped(lambda e, n: [(n["node_type"], n["usage"])] if n["node_type"] else []),
        "model": grouped(lambda e, n: list(n["usage"].get("models", {}).items())),
        "agent": grouped(lambda e, n: list(n["usage"].get("agents", {}).items())),
    }
    assert set(expectations["model"]) == {"offline"} and set(expectations["agent"]) == {"node:helper"}
    for by, groups in expectations.items():
        r = await api.get("/api/usage/breakdown", params={"by": by})
        assert r.status_code == 200, r.text
        items = {item["key"]: item for item in r.json()["items"]}
        assert set(items) == set(groups), by
        for key, (group_usages, runs) in groups.items():
            _assert_figures(items[key], group_usages, runs)
        costs = [item["cost_usd"] for item in r.json()["items"]]
        assert costs == sorted(costs, reverse=True)
    names = {item["label"] for item in (await api.get("/api/usage/breakdown?by=workflow")).json()["items"]}
    assert names == {"linear", "loop and agent", "failing"}

    history = (await api.get("/api/usage/history", params={"interval": "hour"})).json()
    assert len(history["points"]) >= 1
    _assert_figures({name: sum(p[name] for p in history["points"]) for name in ("runs", *FIGURES)}, usages, runs=5)
    assert sum(1 for p in history["points"] if p["runs"]) == 1  # every seeded run in this hour
    now = datetime.now(UTC)
    week = (await api.get("/api/usage/history", params={
        "interval": "day", "start": (now - timedelta(days=6)).isoformat(), "end": (now + timedelta(minutes=1)).isoformat(),
    })).json()
    assert len(week["points"]) == 7 and week["points"][-1]["runs"] == 5 and week["points"][0]["runs"] == 0

    # Tenancy: another workspace sees none of it, and a period without runs is empty.
    other = (await other_api.get("/api/usage")).json()
    assert other["totals"]["runs"] == 0 and other["totals"]["cost_usd"] == 0 and other["by_status"] == {}
    assert (await other_api.get("/api/usage/breakdown?by=model")).json()["items"] == []
    assert all(p["runs"] == 0 for p in (await other_api.get("/api/usage/history?interval=hour")).json()["points"])
    assert (await other_api.get("/api/usage/prices")).json()["overrides"] == {}
    before = (await api.get("/api/usage", params={"end": (now - timedelta(days=40)).isoformat(),
                                                   "start": (now - timedelta(days=41)).isoformat()})).json()
    assert before["totals"]["runs"] == 0


async def test_price_overrides_cost_the_calls_made_after_them(api, seeded):
    stored = await _stored(api)
    llm = next(n["usage"] for _, n in stored if n["node_type"] == "llm")
    expected = (llm["prompt_tokens"] * 1000.0 + llm["completion_tokens"] * 3000.0) / 1_000_000
    assert llm["cost_usd"] == pytest.approx(expected) and llm["models"]["offline"]["cost_usd"] == llm["cost_usd"]
    prices = (await api.get("/api/usage/prices")).json()
    assert prices["overrides"] == {"offline": OFFLINE_PRICE} and prices["list_prices"]["gpt-4o-mini"]["input_per_m"] > 0

    r = await api.put("/api/usage/prices", json={"prices": {}})  # back to list prices: offline is free again
    assert r.status_code == 200 and r.json()["overrides"] == {}
    execution = await _run(api, seeded["linear"])
    assert execution["usage"]["cost_usd"] == 0 and execution["usage"]["llm_calls"] == 1


async def test_bad_parameters_name_the_field(api):
    r = await api.get("/api/usage/breakdown", params={"by": "colour"})
    assert r.status_code == 400 and "by" in r.json()["detail"]
    r = await api.get("/api/usage/breakdown", params={"by": "user"})  # answered since runs record who started them
    assert r.status_code == 200 and r.json()["by"] == "user"
    r = await api.get("/api/usage/history", params={"interval": "week"})
    assert r.status_code == 400 and "interval" in r.json()["detail"]
    r = await api.get("/api/usage", params={"start": "2030-01-02T00:00:00Z", "end": "2030-01-01T00:00:00Z"})
    assert r.status_code == 400 and "'end'" in r.json()["detail"] and r.json()["extra"][0]["key"] == "end"
    r = await api.get("/api/usage/history", params={"interval": "hour", "start": "2020-01-01T00:00:00Z"})
    assert r.status_code == 400 and "'start'" in r.json()["detail"]
    r = await api.get("/api/usage", params={"start": "yesterday"})
    assert r.status_code == 400 and "start" in r.json()["detail"]
    r = await api.put("/api/usage/budget", json={"soft_limit_usd": -1})
    assert r.status_code == 400 and "soft_limit_usd" in r.json()["detail"]
    r = await api.put("/api/usage/budget", json={"soft_limit_usd": 5, "hard_limit_usd": 1})
    assert r.status_code == 422 and r.json()["detail"].startswith("soft_limit_usd")
    r = await api.put("/api/usage/prices", json={"prices": {"gpt-4o": {"input_per_m": 1}}})
    assert r.status_code == 400 and "output_per_m" in r.json()["detail"]
    r = await api.get("/api/usage/breakdown", params={"by": "model", "limit": 0})
    assert r.status_code == 400 and "limit" in r.json()["detail"]


async def test_budgets_warn_at_the_soft_limit_and_refuse_runs_at_the_hard_limit(api, seeded):
    spent = (await api.get("/api/usage/budget")).json()["spent_usd"]
    assert spent > 0

    r = await api.put("/api/usage/budget", json={"soft_limit_usd": spent / 2, "hard_limit_usd": spent * 10})
    assert r.status_code == 200 and r.json()["state"] == "soft_limit_reached", r.text
    r = await api.post(f"/api/workflows/{seeded['linear']}/execute", json={"input_data": {"topic": "x"}})
    assert r.status_code == 202, r.text
    assert len(r.json()["warnings"]) == 1 and "soft_limit_usd" in r.json()["warnings"][0]
    execution_id = r.json()["execution_id"]
    assert (await _wait(api, execution_id))["status"] == "succeeded"
    async with api.client.app.state.runtime.sessions() as session:
        events = (await session.execute(sa.select(StreamEventRow.event, StreamEventRow.data).where(
            StreamEventRow.stream_id == execution_id))).all()
    warning = [data for event, data in events if event == "run.warning"]
    assert len(warning) == 1 and warning[0]["kind"] == "budget" and warning[0]["limit"] == "soft"
    summary = (await api.get("/api/usage")).json()
    assert summary["budget"]["state"] == "soft_limit_reached" and summary["warnings"]

    r = await api.put("/api/usage/budget", json={"hard_limit_usd": spent / 2})
    assert r.status_code == 200 and r.json()["state"] == "hard_limit_reached" and r.json()["soft_limit_usd"] is None
    runs_before = (await api.get("/api/usage")).json()["totals"]["runs"]
    r = await api.post(f"/api/workflows/{seeded['linear']}/execute", json={"input_data": {"topic": "x"}})
    assert r.status_code == 402, r.text
    assert r.json()["detail"].startswith("hard_limit_usd") and r.json()["extra"]["field"] == "hard_limit_usd"
    assert (await api.get("/api/usage")).json()["totals"]["runs"] == runs_before  # nothing stored

    r = await api.put("/api/usage/budget", json={})  # limits removed: runs start again, without warnings
    assert r.status_code == 200 and r.json()["state"] == "ok"
    r = await api.post(f"/api/workflows/{seeded['linear']}/execute", json={"input_data": {"topic": "x"}})
    assert r.status_code == 202 and r.json()["warnings"] == []
    await _wait(api, r.json()["execution_id"])
