"""The estimate of graphs with v2 steps: transform / code (fixed seconds), agent (expected model
turns priced at its model), workflow (the child's estimate through a resolver, else a constant),
wait (its duration; an approval is flagged and adds nothing)."""

from __future__ import annotations

import msgspec
import pytest

from pilot.generation import estimate as est
from pilot.generation.estimate import estimate
from pilot.llm.prices import count_tokens, estimate_cost
from pilot.workflows.model import WorkflowGraph


def chain(*nodes: dict) -> WorkflowGraph:
    """input → nodes… → output, in a line."""
    all_nodes = [{"id": "start", "type": "input", "config": {"fields": []}}, *nodes,
                 {"id": "result", "type": "output", "config": {"outputs": {"done": "yes"}}}]
    ids = [n["id"] for n in all_nodes]
    edges = [{"id": f"e{i}", "source": a, "target": b} for i, (a, b) in enumerate(zip(ids, ids[1:], strict=False))]
    return msgspec.convert({"nodes": all_nodes, "edges": edges}, WorkflowGraph)


LLM = {"id": "write", "type": "llm", "config": {"model": "gpt-4o-mini", "prompt": "write"}}


def agent(tools: list[str], max_steps: int = 8, model: str = "gpt-4o") -> dict:
    return {"id": "helper", "type": "agent", "config": {"prompt": "help", "model": model, "tools": tools, "max_steps": max_steps}}


def test_transform_and_code_are_small_fixed_seconds_without_model_calls():
    e = estimate(chain({"id": "t", "type": "transform", "config": {"fields": {"a": "{{ inputs }}"}}},
                       {"id": "c", "type": "code", "config": {"code": "def main(inputs):\n    return inputs\n"}}))
    assert e.llm_calls == 0 and e.cost_usd == 0
    assert e.duration_s == pytest.approx(est.TYPE_SECONDS["transform"] + est.TYPE_SECONDS["code"])


@pytest.mark.parametrize("max_steps,turns", [(8, 3), (2, 2), (1, 1)])
def test_an_agent_counts_its_expected_turns(max_steps, turns):
    e = estimate(chain(agent(["tool:web_search"], max_steps)))
    assert e.llm_calls == turns == min(est.AGENT_EXPECTED_TURNS, max_steps)
    base = count_tokens("help") + est.CONTEXT_TOKENS
    expected = sum(estimate_cost("gpt-4o", base + i * est.TOOL_RESULT_TOKENS, est.AGENT_COMPLETION_TOKENS) for i in range(turns))
    assert e.cost_usd == pytest.approx(round(expected, 6))
    assert e.duration_s > 0


def test_an_agent_is_priced_at_its_own_model_and_without_tools_answers_once():
    strong, cheap = estimate(chain(agent(["tool:x"]))), estimate(chain(agent(["tool:x"], model="gpt-4o-mini")))
    assert strong.cost_usd > cheap.cost_usd > 0
    assert estimate(chain(agent([]))).llm_calls == 1


def test_offline_agents_cost_nothing():
    class Off:
        class llm:  # noqa: N801 - the settings shape estimate reads
            enabled = False

    e = estimate(chain(agent(["tool:x"])), Off())
    assert e.cost_usd == 0 and e.llm_calls == 3


def test_a_timed_wait_adds_its_duration():
    e = estimate(chain({"id": "w", "type": "wait", "config": {"duration_s": 172800}}, LLM))
    assert e.duration_s == pytest.approx(172800 + est.LLM_SECONDS_BASE + est.DEFAULT_COMPLETION_TOKENS * est.LLM_SECONDS_PER_TOKEN)
    assert not e.waits_for_approval and "waits_for_approval" not in msgspec.to_builtins(e)  # the usual shape is unchanged


def test_an_approval_adds_no_seconds_and_is_flagged():
    e = estimate(chain({"id": "ok", "type": "wait", "config": {"approval": {"prompt": "approve?"}}}))
    assert e.duration_s == 0 and e.waits_for_approval
    assert msgspec.to_builtins(e)["waits_for_approval"] is True


def test_a_workflow_step_without_a_resolver_is_a_constant():
    e = estimate(chain({"id": "sub", "type": "workflow", "config": {"workflow_id": "cleanup"}}))
    assert e.llm_calls == 0 and e.duration_s == est.SUBWORKFLOW_SECONDS


def test_a_workflow_step_with_a_resolver_counts_the_child():
    child = chain(LLM, {"id": "w", "type": "wait", "config": {"approval": {"prompt": "ok?"}}})
    seen = []

    def resolve(workflow_id, version):
        seen.append((workflow_id, version))
        return child if workflow_id == "wf_child" else None

    e = estimate(chain({"id": "sub", "type": "workflow", "config": {"workflow_id": "wf_child", "version": 2}}, LLM), resolve=resolve)
    assert seen == [("wf_child", 2)]
    assert e.llm_calls == 2 and e.waits_for_approval
    assert e.cost_usd == pytest.approx(2 * estimate(chain(LLM)).cost_usd, abs=1e-6)


def test_a_recursive_child_stops():
    graph = chain({"id": "again", "type": "workflow", "config": {"workflow_id": "wf_self"}}, LLM)
    e = estimate(graph, resolve=lambda wid, v: graph)  # wf_self calls itself: followed once, then unknown
    assert e.llm_calls == 2


def test_a_resolver_that_fails_counts_as_unknown():
    def broken(wid, v):
        raise RuntimeError("db down")

    e = estimate(chain({"id": "sub", "type": "workflow", "config": {"workflow_id": "x"}}), resolve=broken)
    assert e.duration_s == est.SUBWORKFLOW_SECONDS
