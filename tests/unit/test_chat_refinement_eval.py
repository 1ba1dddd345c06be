"""The refinement eval dataset and scorer (evals/refinements.py) — a regression gate."""

from __future__ import annotations

from collections import Counter

from evals.refinements import check, load_cases, run, start_graph
from pilot.chat.planner_rules import plan_edits


def test_dataset_shape():
    cases = load_cases()
    assert len(cases) >= 60
    langs = Counter(c["lang"] for c in cases)
    assert langs["en"] >= 25 and langs["zh"] >= 25
    assert len({c["id"] for c in cases}) == len(cases)
    assert {"add", "remove", "model", "language", "schedule", "loop", "swap", "unappliable"} <= {c["category"] for c in cases}


def test_scorer_rejects_a_wrong_edit():
    case = {"id": "x", "lang": "en", "category": "remove", "start": {"template": "translation"},
            "instruction": "remove the review step", "expect": {"remove": ["translate"]}}
    old = start_graph(case["start"])
    plan = plan_edits(case["instruction"], old)
    why = check(case, old, plan.graph, [])
    assert any("removed ['review'], expected ['translate']" in w for w in why)
    assert any("also changed ['result']" in w for w in why)


def test_planner_score_does_not_regress():
    figures = run(printer=lambda _line: None)
    assert figures["skipped"] == 0
    assert figures["by_split"]["dev"] >= 95.0
    assert figures["accuracy"] >= 90.0
