"""Gold plans: the plan a perfect planner would produce for dev structure cases.

``evals/data/structure_gold_plans.jsonl`` holds one ``{"id": ..., "plan": {...}}`` per line, for
en-001…en-040 and zh-001…zh-040 of ``structure_dev.jsonl``. Each plan must decode
(``plan_from_builtins``), compile (``compile_plan``) and be accepted by ``score_graph``.
``python -m evals.gold`` checks all of them and exits 1 if any fails.

``python -m evals.gold --llm`` runs them through the LLM path instead: the fake OpenAI server
(``tests/support/fake_openai.py``, a real local HTTP server) is scripted to answer ``{"plan": gold}``
and the real ``Planner.plan(case.prompt)`` calls it through the openai SDK + instructor over a
socket. A case is accepted when the planner used the LLM (``source == "llm"``) on the first call
(no re-ask) and the plan it returned compiles to a workflow that ``score_graph`` accepts — i.e. a
correct plan always survives the LLM path. Exits 1 if any case is not accepted.

Skipped cases (no plan can satisfy them with today's compiler):
- en-022: expects a ``transform`` step (dedupe by email); the compiler has no transform/code node
  (a plan ``transform`` step compiles to an ``llm`` node).
- en-024: expects a ``transform`` step (CSV → JSON), same reason.
- en-017, en-020, zh-005, zh-021: a condition on each loop item's own field (company size > 200,
  days overdue > 30, 库存 < 10, 候选人 < 3). A branch's ``when`` cannot name the loop item: subject
  ``item`` compiles to ``nodes.item.output``, which fails validation ("not upstream"); only an
  extra, unrequested LLM step could carry the field.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals.structure import SPLITS, Case, _pct, load_cases, score_graph
from pilot.generation.compiler import compile_plan
from pilot.generation.plan import WorkflowPlan, plan_from_builtins

if TYPE_CHECKING:
    from tests.support.fake_openai import FakeOpenAI

GOLD = Path(__file__).with_name("data") / "structure_gold_plans.jsonl"


def load_gold(path: str | Path = GOLD) -> dict[str, dict[str, Any]]:
    """{case id: plan dict} of the gold file (a repeated id is an error)."""
    gold: dict[str, dict[str, Any]] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            if row["id"] in gold:
                raise ValueError(f"gold plan {row['id']} appears twice")
            gold[row["id"]] = row["plan"]
    return gold


def score_plan(case: Case, plan: dict[str, Any] | WorkflowPlan) -> list[str]:
    """Why ``plan`` fails ``case`` ([] when it decodes, compiles and is accepted)."""
    try:
        graph = compile_plan(plan if isinstance(plan, WorkflowPlan) else plan_from_builtins(plan))
    except Exception as exc:  # noqa: BLE001 - report any decode / compile failure
        return [f"{type(exc).__name__}: {exc}"]
    return [f"{c.kind} {c.name}: {c.reason}" for c in score_graph(case.expect, graph).failed()]


def check(case_id: str, plan: dict[str, Any], cases: dict[str, Case]) -> list[str]:
    """Why the gold plan for ``case_id`` fails ([] when it decodes, compiles and is accepted)."""
    return score_plan(cases[case_id], plan) if case_id in cases else ["no such dev case"]


@dataclass(frozen=True)
class LlmOutcome:
    """One gold case through the LLM path: where the plan came from, how long the call took, why it failed."""

    case_id: str
    source: str
    ms: float
    problems: list[str]

    @property
    def accepted(self) -> bool:
        return self.source == "llm" and not self.problems


async def llm_path(gold: dict[str, dict[str, Any]], cases: dict[str, Case], fake: FakeOpenAI) -> list[LlmOutcome]:
    """Each gold plan as the fake server's answer to the real planner (resets ``fake`` per case)."""
    from pilot.generation.pipeline import Planner
    from pilot.settings import Settings
    from tests.support.fake_openai import json as answer

    env = {"OPENAI_API_KEY": "sk-gold", "OPENAI_BASE_URL": fake.base_url, "PILOT_LLM_TIMEOUT_S": "30"}
    planner = Planner(Settings.from_env(env).llm, timeout_s=30)
    if gold:  # an untimed first call: it imports openai + instructor (seconds)
        fake.script(answer({"plan": next(iter(gold.values()))}))
        await planner.plan("warm up")
    outcomes: list[LlmOutcome] = []
    for cid, plan in gold.items():
        if cid not in cases:
            outcomes.append(LlmOutcome(cid, "none", 0.0, ["no such dev case"]))
            continue
        fake.reset()
        fake.script(answer({"plan": plan}))
        t0 = time.perf_counter()
        result = await planner.plan(cases[cid].prompt)
        ms = (time.perf_counter() - t0) * 1000
        if result.source != "llm":
            problems = [f"fell back: {result.fallback_reason}"]
        else:
            calls = len(fake.chat_requests())
            problems = score_plan(cases[cid], result.plan) + ([f"re-asked: {calls} calls"] if calls != 1 else [])
        outcomes.append(LlmOutcome(cid, result.source, ms, problems))
    return outcomes


def llm_summary(outcomes: list[LlmOutcome]) -> str:
    n, ok = len(outcomes), sum(o.accepted for o in outcomes)
    fell = sum(o.source == "offline" for o in outcomes)
    ms = [o.ms for o in outcomes if o.source != "none"]
    return (f"LLM path (fake server returning gold plans): {n} cases, accepted {ok} ({ok / n if n else 0:.1%}), "
            f"fell back {fell}, p50/p95 {_pct(ms, 0.5):.1f}/{_pct(ms, 0.95):.1f} ms per plan call")


def _run_llm(gold: dict[str, dict[str, Any]], cases: dict[str, Case]) -> dict[str, list[str]]:
    from tests.support.fake_openai import FakeOpenAI

    with FakeOpenAI().serve() as fake:
        outcomes = asyncio.run(llm_path(gold, cases, fake))
    print(llm_summary(outcomes))
    return {o.case_id: o.problems or [f"source {o.source}"] for o in outcomes if not o.accepted}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.gold", description=__doc__.split("\n\n")[0])
    parser.add_argument("--llm", action="store_true", help="run the gold plans through the LLM path (fake server)")
    args = parser.parse_args(argv)
    cases = {c.id: c for c in load_cases(SPLITS["dev"])}
    gold = load_gold()
    if args.llm:
        failures = _run_llm(gold, cases)
    else:
        failures = {cid: why for cid, plan in gold.items() if (why := check(cid, plan, cases))}
        ok = len(gold) - len(failures)
        print(f"gold plans: {len(gold)}, accepted: {ok} ({ok / len(gold) if gold else 0:.1%})")
    for cid, why in failures.items():
        print(f"FAIL {cid}")
        print("\n".join(f"    {w}" for w in why))
    return 1 if failures or not gold else 0


if __name__ == "__main__":
    sys.exit(main())
