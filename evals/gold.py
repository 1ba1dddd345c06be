"""Gold plans: the plan a perfect planner would produce for dev structure cases.

``evals/data/structure_gold_plans.jsonl`` holds one ``{"id": ..., "plan": {...}}`` per line, for
en-001…en-040 and zh-001…zh-040 of ``structure_dev.jsonl``. Each plan must decode
(``plan_from_builtins``), compile (``compile_plan``) and be accepted by ``score_graph``.
``python -m evals.gold`` checks all of them and exits 1 if any fails.

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

import json
import sys
from pathlib import Path
from typing import Any

from evals.structure import SPLITS, load_cases, score_graph
from pilot.generation.compiler import compile_plan
from pilot.generation.plan import plan_from_builtins

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


def check(case_id: str, plan: dict[str, Any], cases: dict[str, Any]) -> list[str]:
    """Why the gold plan for ``case_id`` fails ([] when it decodes, compiles and is accepted)."""
    if case_id not in cases:
        return ["no such dev case"]
    try:
        graph = compile_plan(plan_from_builtins(plan))
    except Exception as exc:  # noqa: BLE001 - report any decode / compile failure
        return [f"{type(exc).__name__}: {exc}"]
    verdict = score_graph(cases[case_id].expect, graph)
    return [f"{c.kind} {c.name}: {c.reason}" for c in verdict.checks if not c.ok]


def main() -> int:
    cases = {c.id: c for c in load_cases(SPLITS["dev"])}
    gold = load_gold()
    failures = {cid: why for cid, plan in gold.items() if (why := check(cid, plan, cases))}
    ok = len(gold) - len(failures)
    print(f"gold plans: {len(gold)}, accepted: {ok} ({ok / len(gold) if gold else 0:.1%})")
    for cid, why in failures.items():
        print(f"FAIL {cid}")
        print("\n".join(f"    {w}" for w in why))
    return 1 if failures or not gold else 0


if __name__ == "__main__":
    sys.exit(main())
