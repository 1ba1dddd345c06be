"""Gold plans through the LLM path: the fake OpenAI server answers each gold plan, the real planner
(openai SDK + instructor over a socket) returns it, and it compiles to a workflow the case accepts."""

from __future__ import annotations

import copy

import pytest

from evals.gold import llm_path, llm_summary, load_gold
from evals.structure import SPLITS, load_cases


@pytest.fixture(scope="module")
def cases():
    return {c.id: c for c in load_cases(SPLITS["dev"])}


@pytest.fixture(scope="module")
def gold():
    return load_gold()


def _without_last_delivery(plan: dict) -> dict:
    """The plan minus its last top-level ``deliver`` step."""
    plan = copy.deepcopy(plan)
    last = max(i for i, step in enumerate(plan["steps"]) if step["kind"] == "deliver")
    del plan["steps"][last]
    return plan


async def test_gold_plans_survive_the_llm_path(fake_openai, gold, cases):
    sample = {cid: gold[cid] for cid in sorted(gold)[::7]}  # 11 cases: en + zh, branch/loop/parallel/wait
    assert len(sample) >= 10
    outcomes = await llm_path(sample, cases, fake_openai)
    assert [o.case_id for o in outcomes] == list(sample)
    assert not [o for o in outcomes if o.source != "llm"], llm_summary(outcomes)
    assert {o.case_id: o.problems for o in outcomes if not o.accepted} == {}
    assert len(fake_openai.chat_requests()) == 1  # the last case: one real request, no re-ask
    assert "accepted 11 (100.0%), fell back 0" in llm_summary(outcomes)


@pytest.mark.parametrize("case_id", ["en-004", "en-018"])  # en-018 keeps its other delivery
async def test_a_plan_missing_a_delivery_is_not_accepted(fake_openai, gold, cases, case_id):
    broken = _without_last_delivery(gold[case_id])
    [outcome] = await llm_path({case_id: broken}, cases, fake_openai)
    assert outcome.source == "llm"  # it still compiles, so the planner keeps it: the scoring rejects it
    assert not outcome.accepted
    assert any("deliver" in p or "unmatched step" in p for p in outcome.problems), outcome.problems
