"""Workflow stats and suggestions (``/api/workflows/{id}/stats``, ``/suggestions``) on SQLite and
PostgreSQL: every figure equals what the seeded runs give by hand; tenancy; bad periods."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from pilot.core.ids import utcnow
from pilot.db.models import ExecutionRow, NodeResultRow, StreamEventRow
from pilot.llm.prices import estimate_cost
from tests.api.test_usage_api import OFFLINE_PRICE, _wait
from tests.support.analytics import node, seed_run, workspace_of

# start → fetch → classify → summarize → out, and start → side → out (a slow side branch).
STATS_WF = {
    "name": "stats", "nodes": [
        {"id": "start", "type": "input", "config": {"fields": [{"name": "text"}]}},
        {"id": "fetch", "type": "api", "config": {"url": "https://example.com/a"}},
        {"id": "classify", "type": "llm", "config": {"model": "gpt-4o", "prompt": "Classify {{ nodes.fetch.output }}"}},
        {"id": "summarize", "type": "llm", "config": {"model": "gpt-4o-mini", "prompt": "Sum {{ nodes.classify.output }}"}},
        {"id": "side", "type": "transform", "config": {"fields": {"n": "{{ inputs.text }}"}}},
        {"id": "out", "type": "output", "config": {"outputs": {"a": "{{ nodes.summarize.output }}", "b": "{{ nodes.side.output }}"}}},
    ], "edges": [{"id": f"e{i}", "source": s, "target": t} for i, (s, t) in enumerate(
        [("start", "fetch"), ("fetch", "classify"), ("classify", "summarize"), ("summarize", "out"), ("start", "side"), ("side", "out")])],
}


async def _create(api, body: dict) -> dict:
    r = await api.post("/api/workflows", json=body)
    assert r.status_code == 201, r.text
    return r.json()


async def test_stats_equal_hand_computed_figures(api, other_api):
    wf = await _create(api, STATS_WF)
    app, ws = api.client.app, await workspace_of(api.client.app, api.key)
    t1 = utcnow() - timedelta(hours=5)
    await seed_run(app, ws, wf, [  # r1: succeeded in 1000 ms
        node("start", "input", 1), node("fetch", "api", 200), node("side", "transform", 2000),
        node("classify", "llm", 500, cost=0.003, prompt=1000, completion=50),
        node("summarize", "llm", 100, cost=0.001, prompt=100, completion=10), node("out", "output", 1)], created=t1)
    r1_finished = t1 + timedelta(seconds=2)  # seed_run: started 1 s after creation, + 1000 ms
    await seed_run(app, ws, wf, [  # r2: fetch needed 3 attempts
        node("start", "input", 1), node("fetch", "api", 900, attempts=3), node("side", "transform", 2000),
        node("classify", "llm", 700, cost=0.001, prompt=300, completion=20),
        node("summarize", "llm", 100, cost=0.001, prompt=100, completion=10), node("out", "output", 1)], duration_ms=2000)
    await seed_run(app, ws, wf, [  # r3: fetch failed after 2 attempts; classify and summarize skipped
        node("start", "input", 1), node("fetch", "api", 1500, status="failed", attempts=2, error="HTTP 503"),
        node("side", "transform", 2000), node("classify", "llm", None, status="skipped"),
        node("summarize", "llm", None, status="skipped")], status="failed", duration_ms=3000)
    await seed_run(app, ws, wf, [], status="cancelled", duration_ms=500)  # r4
    await seed_run(app, ws, wf, [], status="running", duration_ms=None)  # r5: not ended
    # r6: a rerun of r1 from classify: start, fetch, side are copies (same finish time) and do not count
    r1 = (await api.get(f"/api/executions?workflow_id={wf['id']}")).json()["items"][-1]["id"]
    await seed_run(app, ws, wf, [
        node("start", "input", 1, finished_at=r1_finished), node("fetch", "api", 200, finished_at=r1_finished),
        node("side", "transform", 2000, finished_at=r1_finished),
        node("classify", "llm", 600, cost=0.002, prompt=500, completion=30),
        node("summarize", "llm", 100, cost=0.002, prompt=100, completion=10), node("out", "output", 1)],
        duration_ms=800, trigger="rerun", rerun_of=r1)
    await seed_run(app, ws, wf, [node("fetch", "api", 99999)], trigger="test")  # dry run: excluded
    await seed_run(app, ws, wf, [node("fetch", "api", 99999)], created=utcnow() - timedelta(days=40))  # outside the period

    r = await api.get(f"/api/workflows/{wf['id']}/stats")
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["runs"] == 6
    assert s["by_status"] == {"cancelled": 1, "failed": 1, "running": 1, "succeeded": 3}
    assert s["success_rate"] == 0.6  # 3 of 5 ended
    # durations of ended runs: 500, 800, 1000, 2000, 3000 → nearest rank p50 = 3rd, p95 = 5th
    assert (s["p50_ms"], s["p95_ms"]) == (1000, 3000)
    assert s["llm_calls"] == 6 and s["cost_usd"] == pytest.approx(0.010)
    nodes = {n["node_id"]: n for n in s["nodes"]}
    assert [n["node_id"] for n in s["nodes"]] == ["start", "fetch", "classify", "summarize", "side", "out"]
    fetch = nodes["fetch"]  # r1 200 ok, r2 900 ok (3 attempts), r3 1500 failed (2 attempts); r6's copy left out
    assert (fetch["runs"], fetch["skipped"], fetch["retries"]) == (3, 0, 3)
    assert fetch["success_rate"] == pytest.approx(2 / 3, abs=1e-6) and fetch["retry_rate"] == pytest.approx(2 / 3, abs=1e-6)
    assert (fetch["p50_ms"], fetch["p95_ms"]) == (900, 1500)
    assert fetch["cost_usd"] == 0 and fetch["cost_share"] == 0
    classify = nodes["classify"]  # 500, 700, 600 (r6 re-ran it); skipped in r3
    assert (classify["runs"], classify["skipped"], classify["p50_ms"], classify["p95_ms"]) == (3, 1, 600, 700)
    assert classify["cost_usd"] == pytest.approx(0.006) and classify["cost_share"] == pytest.approx(0.6)
    assert (classify["prompt_tokens"], classify["completion_tokens"], classify["llm_calls"]) == (1800, 100, 3)
    assert classify["retry_rate"] == 0 and classify["success_rate"] == 1
    assert nodes["summarize"]["cost_share"] == pytest.approx(0.4)
    assert nodes["side"]["runs"] == 3 and nodes["start"]["runs"] == 3  # r6's copies left out
    # p50: start 1 + side 2000 + out 1 = 2002 beats 1 + 900 + 600 + 100 + 1 = 1602;
    # p95: 1 + 1500 + 700 + 100 + 1 = 2302 beats 2002
    p50, p95 = s["critical_path"]["p50"], s["critical_path"]["p95"]
    assert p50 == {"basis": "p50", "node_ids": ["start", "side", "out"], "total_ms": 2002, "slowest_node_id": "side",
                   "slowest_ms": 2000}
    assert p95 == {"basis": "p95", "node_ids": ["start", "fetch", "classify", "summarize", "out"], "total_ms": 2302,
                   "slowest_node_id": "fetch", "slowest_ms": 1500}

    # a period that holds only r1 (created 5 hours ago)
    since, until = (t1 - timedelta(minutes=1)).isoformat(), (t1 + timedelta(minutes=1)).isoformat()
    only = (await api.get(f"/api/workflows/{wf['id']}/stats", params={"since": since, "until": until})).json()
    assert only["runs"] == 1 and only["by_status"] == {"succeeded": 1} and only["p50_ms"] == 1000

    for path in ("stats", "suggestions"):  # another workspace's workflow: same answer as a missing one
        assert (await other_api.get(f"/api/workflows/{wf['id']}/{path}")).status_code == 404
        assert (await api.get(f"/api/workflows/wf_missing/{path}")).status_code == 404
    bad = await api.get(f"/api/workflows/{wf['id']}/stats", params={"since": until, "until": since})
    assert bad.status_code == 400 and "since" in bad.json()["detail"]
    assert (await api.get(f"/api/workflows/{wf['id']}/stats", params={"since": "yesterday"})).status_code == 400


def _fetch(nid: str) -> dict:
    return {"id": nid, "type": "api", "config": {"url": f"https://example.com/{nid}"}}


# Three independent fetches in a row, a gpt-4o classification, a loop at concurrency 1.
OPT_WF = {
    "name": "optimise me", "nodes": [
        {"id": "start", "type": "input", "config": {"fields": [{"name": "text"}]}},
        _fetch("fetch_a"), _fetch("fetch_b"), _fetch("fetch_c"),
        {"id": "classify", "type": "llm", "title": "Classify the ticket", "config": {
            "model": "gpt-4o", "prompt": "Classify: {{ nodes.fetch_a.output }} {{ nodes.fetch_b.output }} {{ nodes.fetch_c.output }}"}},
        {"id": "each", "type": "loop", "config": {"items": "[1, 2, 3]", "max_concurrency": 1, "body": {"nodes": [
            {"id": "say", "type": "llm", "config": {"model": "offline", "prompt": "Item {{ item }}"}}]}}},
        {"id": "out", "type": "output", "config": {"outputs": {"c": "{{ nodes.classify.output }}", "e": "{{ nodes.each.output }}"}}},
    ], "edges": [{"id": f"e{i}", "source": s, "target": t} for i, (s, t) in enumerate(
        [("start", "fetch_a"), ("fetch_a", "fetch_b"), ("fetch_b", "fetch_c"), ("fetch_c", "classify"), ("classify", "each"),
         ("each", "out")])],
}


async def seed_optimisable(app, ws: str, wf: dict) -> None:
    """Five runs: fetch_a 100 / fetch_b 200 / fetch_c 300 ms (fetch_c retried in 2 of 5), classify
    1000 tokens in, 100 out on gpt-4o, the loop 1200 ms."""
    for i in range(5):
        await seed_run(app, ws, wf, [
            node("start", "input", 1), node("fetch_a", "api", 100), node("fetch_b", "api", 200),
            node("fetch_c", "api", 300, attempts=2 if i < 2 else 1),
            node("classify", "llm", 400, cost=0.0035, prompt=1000, completion=100), node("each", "loop", 1200),
            node("out", "output", 1)])


async def test_suggestions_from_seeded_runs(api):
    wf = await _create(api, OPT_WF)
    await seed_optimisable(api.client.app, await workspace_of(api.client.app, api.key), wf)
    r = await api.get(f"/api/workflows/{wf['id']}/suggestions")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["runs"] == 5 and body["language"] == "en"
    items = {s["kind"]: s for s in body["items"]}
    assert set(items) == {"cheaper_model", "parallelize", "loop_concurrency", "retry", "slow_node"}
    assert body["items"][0]["kind"] == "cheaper_model"  # cost savings first

    cheaper = items["cheaper_model"]
    expected = estimate_cost("gpt-4o", 1000, 100) - estimate_cost("gpt-4o-mini", 1000, 100)  # per run, measured tokens
    assert cheaper["saving"]["cost_usd_per_run"] == pytest.approx(expected) and expected > 0
    assert "5 measured runs" in cheaper["saving"]["basis"]
    assert cheaper["edit"] == {"message": "Optimise: switch 'classify' to gpt-4o-mini", "ops": [
        {"op": "update_node", "node_id": "classify", "config": {"model": "gpt-4o-mini"}, "fields": {}}]}

    parallel = items["parallelize"]
    assert parallel["node_ids"] == ["fetch_a", "fetch_b", "fetch_c"]
    assert parallel["saving"]["ms_per_run"] == 300  # 100 + 200 + 300 in sequence vs 300 in parallel
    assert parallel["edit"]["message"] == "Optimise: run fetch_a, fetch_b, fetch_c in parallel"

    loop = items["loop_concurrency"]
    assert loop["node_ids"] == ["each"] and loop["saving"]["ms_per_run"] == 720  # 1200 × (1 − 2 waves / 5 items)
    assert loop["edit"]["ops"][0]["config"] == {"max_concurrency": 4}

    retry = items["retry"]
    assert retry["node_ids"] == ["fetch_c"] and "40%" in retry["message"]
    assert retry["edit"]["ops"][0]["fields"]["retry"] == {
        "max_attempts": 4, "initial_delay_s": 2.0, "backoff": 2.0, "max_delay_s": 30.0, "jitter": 0.25}

    slow = items["slow_node"]  # the loop: 1200 of the p95 path's 1 + 100 + 200 + 300 + 400 + 1200 + 1 = 2202 ms
    assert slow["node_ids"] == ["each"] and "(54%)" in slow["message"] and "2,202 ms" in slow["message"]
    assert slow["edit"] is None  # a loop has no timeout to suggest
    assert body["skipped"] == []  # every check can be made (seeded rows carry no request hash: no cache advice)

    zh = (await api.get(f"/api/workflows/{wf['id']}/suggestions", params={"lang": "zh"})).json()
    assert zh["language"] == "zh"
    zh_items = {s["kind"]: s for s in zh["items"]}
    assert zh_items["cheaper_model"]["edit"]["message"] == "优化：把“classify”换成 gpt-4o-mini"
    assert "并行" in zh_items["parallelize"]["message"]


async def test_suggestions_without_runs_use_the_estimator(api):
    wf = await _create(api, OPT_WF)
    body = (await api.get(f"/api/workflows/{wf['id']}/suggestions")).json()
    items = {s["kind"]: s for s in body["items"]}
    assert body["runs"] == 0 and set(items) == {"cheaper_model", "parallelize", "loop_concurrency"}  # no retry/slow evidence
    assert items["cheaper_model"]["saving"]["cost_usd_per_run"] > 0 and "estimator" in items["cheaper_model"]["saving"]["basis"]
    assert items["parallelize"]["saving"]["ms_per_run"] == 2000  # three 1 s fetches (estimator) → 1 s
    # without ?lang= the workflow's own language: a Chinese name gets Chinese advice
    zh = await _create(api, {**OPT_WF, "name": "每天抓取三个网站并分类"})
    body = (await api.get(f"/api/workflows/{zh['id']}/suggestions")).json()
    assert body["language"] == "zh" and body["items"][0]["edit"]["message"] == "优化：把“classify”换成 gpt-4o-mini"
    assert (await api.get(f"/api/workflows/{zh['id']}/suggestions", params={"lang": "en"})).json()["language"] == "en"


# The ticket text is the secret a prompt may carry: it must never be stored, only its hash.
CACHE_WF = {
    "name": "answer tickets", "nodes": [
        {"id": "start", "type": "input", "config": {"fields": [{"name": "ticket"}]}},
        {"id": "answer", "type": "llm", "title": "Answer", "config": {
            "model": "offline", "system": "You answer tickets.", "prompt": "Answer this ticket: {{ inputs.ticket }}"}},
        {"id": "out", "type": "output", "config": {"outputs": {"a": "{{ nodes.answer.output }}"}}},
    ], "edges": [{"id": "e1", "source": "start", "target": "answer"}, {"id": "e2", "source": "answer", "target": "out"}],
}


async def _run_tickets(api, tickets: list[str]) -> dict:
    """Run CACHE_WF once per ticket (real executor, offline model priced by an override)."""
    wf = await _create(api, CACHE_WF)
    for ticket in tickets:
        r = await api.post(f"/api/workflows/{wf['id']}/execute", json={"input_data": {"ticket": ticket}})
        assert r.status_code == 202, r.text
        assert (await _wait(api, r.json()["execution_id"]))["status"] == "succeeded"
    return wf


async def test_identical_llm_requests_get_a_cache_suggestion(api):
    assert (await api.put("/api/usage/prices", json={"prices": {"offline": OFFLINE_PRICE}})).status_code == 200
    secret = "my password is hunter2-7f3c"
    wf = await _run_tickets(api, [secret, secret, secret])

    stats = (await api.get(f"/api/workflows/{wf['id']}/stats")).json()
    answer = next(n for n in stats["nodes"] if n["node_id"] == "answer")
    # three identical requests: the first is a miss, the two others a cache would have served
    assert (answer["runs"], answer["repeated_calls"]) == (3, 2) and answer["repeat_rate"] == pytest.approx(2 / 3, abs=1e-6)
    assert answer["repeated_cost_usd"] == pytest.approx(answer["cost_usd"] * 2 / 3) and answer["cost_usd"] > 0

    body = (await api.get(f"/api/workflows/{wf['id']}/suggestions")).json()
    assert body["skipped"] == []
    cache = next(s for s in body["items"] if s["kind"] == "cache")
    assert cache["id"] == "cache:answer" and cache["goal"] == "cost" and cache["node_ids"] == ["answer"]
    assert cache["saving"]["cost_usd_per_run"] == pytest.approx(answer["cost_usd"] * 2 / 3 / 3)
    assert cache["saving"]["cost_usd_per_run"] > 0 and cache["saving"]["ms_per_run"] >= 0
    assert cache["edit"] is None  # no response-cache setting exists: advice only, no invented edit
    assert "2 times" in cache["message"] and "caching proxy" in cache["message"]
    zh = (await api.get(f"/api/workflows/{wf['id']}/suggestions", params={"lang": "zh"})).json()
    assert "缓存" in next(s for s in zh["items"] if s["kind"] == "cache")["message"]

    # the stored usage (node rows, runs, their events) keeps a hash of the request, never its text
    # (the offline model's reply echoes the prompt, so outputs are not searched)
    runtime = api.client.app.state.runtime
    async with runtime.sessions() as session:
        runs = (await session.execute(sa.select(ExecutionRow).where(ExecutionRow.workflow_id == wf["id"]))).scalars().all()
        ids = [run.id for run in runs]
        rows = (await session.execute(sa.select(NodeResultRow).where(NodeResultRow.execution_id.in_(ids)))).scalars().all()
        events = (await session.execute(sa.select(StreamEventRow.data).where(StreamEventRow.stream_id.in_(ids)))).scalars().all()
    hashes = [row.usage["prompt_hashes"] for row in rows if row.node_id == "answer"]
    assert len(hashes) == 3 and all(h == hashes[0] for h in hashes) and len(next(iter(hashes[0]))) == 24
    assert all(run.usage["prompt_hashes"] == hashes[0] for run in runs)
    usage = repr([row.usage for row in rows] + [run.usage for run in runs] + [e.get("usage") for e in events])
    assert "prompt_hashes" in usage and not any(text in usage for text in ("ticket", "hunter2", "You answer"))


async def test_distinct_llm_requests_get_no_cache_suggestion(api):
    assert (await api.put("/api/usage/prices", json={"prices": {"offline": OFFLINE_PRICE}})).status_code == 200
    wf = await _run_tickets(api, ["printer on fire", "cannot log in", "refund please"])
    stats = (await api.get(f"/api/workflows/{wf['id']}/stats")).json()
    answer = next(n for n in stats["nodes"] if n["node_id"] == "answer")
    assert (answer["runs"], answer["repeated_calls"], answer["repeat_rate"]) == (3, 0, 0)
    body = (await api.get(f"/api/workflows/{wf['id']}/suggestions")).json()
    assert "cache" not in {s["kind"] for s in body["items"]}
