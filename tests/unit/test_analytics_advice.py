"""Pure checks of the optimisation advice: which chains may run in parallel, which models have a
cheaper sibling, when repeated requests deserve a cache, nearest-rank percentiles, and the
optimisation intent the chat recognises."""

from __future__ import annotations

from datetime import UTC, datetime

from pilot.analytics.advice import advise
from pilot.analytics.models import cheaper_model
from pilot.analytics.schemas import NodeStats, WorkflowStats
from pilot.analytics.stats import percentile
from pilot.chat.edits import apply_edits
from pilot.chat.planner_rules import plan_edits
from pilot.chat.rules_optimize import is_optimisation
from pilot.workflows.validation import ensure_valid


def _graph(nodes: list[dict], edges: list[tuple[str, str]], handles: dict | None = None):
    start = {"id": "start", "type": "input", "config": {"fields": [{"name": "q"}]}}
    return ensure_valid({"nodes": [start, *nodes], "edges": [
        {"id": f"e{i}", "source": s, "target": t, **({"source_handle": handles[(s, t)]} if handles and (s, t) in handles else {})}
        for i, (s, t) in enumerate(edges)]})


def _api(nid: str, method: str = "GET", url: str | None = None) -> dict:
    return {"id": nid, "type": "api", "config": {"method": method, "url": url or f"https://example.com/{nid}"}}


OUT = {"id": "out", "type": "output", "config": {"outputs": {"x": "{{ nodes.c.output }}"}}}


def _kinds(graph) -> dict[str, list[str]]:
    return {a.kind: a.node_ids for a in advise(graph)}


def test_a_step_that_reads_an_earlier_one_splits_the_chain():
    g = _graph([_api("a"), _api("b"), _api("c", url="https://example.com/{{ nodes.b.output }}"), OUT],
               [("start", "a"), ("a", "b"), ("b", "c"), ("c", "out")])
    assert _kinds(g)["parallelize"] == ["a", "b"]  # c reads b: it stays after it
    (advice,) = [a for a in advise(g) if a.kind == "parallelize"]
    after = apply_edits(g, advice.ops)
    edges = {(e.source, e.target) for e in after.edges}
    assert edges == {("start", "a"), ("start", "b"), ("a", "c"), ("b", "c"), ("c", "out")}


def test_side_effects_and_conditional_edges_are_never_reordered():
    posts = _graph([_api("a", "POST"), _api("b", "POST"), _api("c"), OUT], [("start", "a"), ("a", "b"), ("b", "c"), ("c", "out")])
    assert "parallelize" not in _kinds(posts)
    cond = {"id": "a", "type": "condition", "config": {"cases": [{"id": "yes", "when": "inputs.q"}]}}
    branch = _graph([cond, _api("b"), _api("c"), OUT], [("start", "a"), ("a", "b"), ("b", "c"), ("c", "out")], {("a", "b"): "yes"})
    (advice,) = [a for a in advise(branch) if a.kind == "parallelize"]
    assert advice.node_ids == ["b", "c"]
    after = apply_edits(branch, advice.ops)  # c joins b under the same branch handle
    assert {(e.source, e.target, e.source_handle) for e in after.edges if e.target in ("b", "c")} == {
        ("a", "b", "yes"), ("a", "c", "yes")}


def test_cheaper_siblings_keep_the_vendor_prefix():
    assert cheaper_model("gpt-4o") == "gpt-4o-mini"
    assert cheaper_model("openai/gpt-4o-2024-08-06") == "openai/gpt-4o-mini"
    assert cheaper_model("anthropic/claude-3.5-sonnet") == "anthropic/claude-3.5-haiku"
    assert cheaper_model("gpt-4o-mini") is None and cheaper_model("offline") is None


def test_only_light_tasks_get_a_cheaper_model():
    write = {"id": "c", "type": "llm", "config": {"model": "gpt-4o", "prompt": "Write a long essay about {{ inputs.q }}"}}
    label = {"id": "c", "type": "llm", "config": {"model": "gpt-4o", "prompt": "Pick a label for {{ inputs.q }}",
                                                  "output_schema": {"type": "object", "properties": {
                                                      "label": {"type": "string", "enum": ["bug", "feature"]}}}}}
    assert "cheaper_model" not in _kinds(_graph([write, OUT], [("start", "c"), ("c", "out")]))
    assert _kinds(_graph([label, OUT], [("start", "c"), ("c", "out")]))["cheaper_model"] == ["c"]


def test_percentile_is_nearest_rank():
    assert percentile([], 50) is None
    assert percentile([5.0], 95) == 5.0
    assert percentile([float(v) for v in range(1, 21)], 95) == 19.0  # 0.95 × 20 = 19th smallest
    assert percentile([3.0, 1.0, 2.0, 4.0], 50) == 2.0


def test_optimisation_intent():
    for text in ("make it cheaper", "Make it faster please", "省钱", "更快", "降低成本", "提速", "optimise this workflow",
                 "Optimise: switch 'c' to gpt-4o-mini", "优化：让“each”同时处理最多 4 项"):
        assert is_optimisation(text), text
    for text in ("use a cheaper model", "用便宜一点的模型", "switch to gpt-4o", "email me the result"):
        assert not is_optimisation(text), text
    # graph-only advice (no runs): "make it cheaper" still finds the light gpt-4o step
    g = _graph([{"id": "c", "type": "llm", "config": {"model": "gpt-4o", "prompt": "Translate {{ inputs.q }} to French"}}, OUT],
               [("start", "c"), ("c", "out")])
    plan = plan_edits("make it cheaper", g)
    assert plan.graph is not None and plan.graph.nodes[1].config.model == "gpt-4o-mini"
    assert plan.changes[0].en.startswith("To cut the cost: switched 'c' to gpt-4o-mini (about $")


def _with_repeats(runs: int, repeated: int, rate: float, cost: float) -> WorkflowStats:
    now = datetime.now(UTC)
    c = NodeStats(node_id="c", node_type="llm", runs=runs, llm_calls=runs, cost_usd=cost * runs, repeated_calls=repeated,
                  repeat_rate=rate, repeated_cost_usd=cost * repeated, repeated_ms=300.0 * repeated)
    return WorkflowStats(workflow_id="wf", since=now, until=now, runs=runs, by_status={"succeeded": runs}, success_rate=1.0,
                         p50_ms=None, p95_ms=None, llm_calls=runs, cost_usd=cost * runs, nodes=[c], critical_path=None)


def test_cache_advice_needs_a_meaningful_share_of_repeats_and_has_no_edit():
    write = {"id": "c", "type": "llm", "config": {"model": "gpt-4o-mini", "prompt": "Write about {{ inputs.q }}"}}
    g = _graph([write, OUT], [("start", "c"), ("c", "out")])
    (cache,) = [a for a in advise(g, _with_repeats(10, 3, 0.3, 0.002)) if a.kind == "cache"]
    assert cache.goal == "cost" and cache.node_ids == ["c"] and cache.ops == [] and cache.chat is None
    assert cache.cost_usd_per_run == 0.0006 and cache.ms_per_run == 90  # 3 repeats × (0.002 USD, 300 ms) / 10 runs
    assert "temperature is 0.7" in cache.message.en
    assert "cache" not in [a.kind for a in advise(g, _with_repeats(10, 1, 0.1, 0.002))]  # 10 %: not worth it
    assert "cache" not in [a.kind for a in advise(g, _with_repeats(10, 0, 0.0, 0.002))]
    # "make it cheaper" applies only suggestions with an edit: the cache advice changes nothing
    plan = plan_edits("make it cheaper", g, advice=advise(g, _with_repeats(10, 3, 0.3, 0.002)))
    assert plan.graph is None or plan.graph.nodes == g.nodes
