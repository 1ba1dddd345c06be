"""Regression guard: the labelled eval set must stay 100% valid and above measured accuracy floors.

Splits: ``dev`` (222 requests the analyzer was tuned against), ``seen`` (a first blind set whose
misses later guided the lexicon) and ``blind`` (written after that, scored without tuning). Floors sit a little below the measured figures (see
README "Generation quality") so a real regression fails while small wording changes do not.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from evals import n8n
from evals.scoring import load_requests, score_requests
from pilot.generation.generator import WorkflowGenerator
from pilot.generation.offline_analyzer import default_offline_analyzer
from pilot.templates.catalog import default_catalog


@pytest.fixture(scope="module")
def report():
    return score_requests(default_offline_analyzer(), WorkflowGenerator(default_catalog()), load_requests(), warm_pass=False)


def test_dataset_shape():
    rows = load_requests()
    assert len(rows) >= 200
    langs = [r["lang"] for r in rows]
    assert abs(langs.count("en") - langs.count("zh")) <= 10
    catalog = default_catalog()
    for r in rows:
        assert r["expected"] in catalog and all(a in catalog for a in r["alternatives"]), r["id"]
        assert set(r["required_types"]) <= {"input", "llm", "condition", "loop", "api", "knowledge", "tool", "output"}
    assert len({r["prompt"] for r in rows}) == len(rows)


def test_every_generated_workflow_is_valid(report):
    assert report["groups"]["all"]["valid"] == 1.0, [m for m in report["misses"] if m["error"]]


FLOORS = {  # group: (top-1, top-3, required-type recall)
    "split:dev": (0.95, 0.98, 0.98),
    "split:seen": (0.93, 0.97, 0.97),
    "split:blind": (0.80, 0.93, 0.95),
    "en": (0.88, 0.95, 0.97),
    "zh": (0.88, 0.95, 0.97),
}


@pytest.mark.parametrize("group", sorted(FLOORS))
def test_accuracy_floors(report, group):
    g = report["groups"][group]
    top1, top3, recall = FLOORS[group]
    assert g["top1"] >= top1 and g["top3"] >= top3 and g["recall"] >= recall, g


def test_n8n_mapping():
    assert n8n.map_type("n8n-nodes-base.httpRequest") == "api"
    assert n8n.map_type("@n8n/n8n-nodes-langchain.lmChatOpenAi") == "llm"
    assert n8n.map_type("n8n-nodes-base.if") == "condition"
    assert n8n.map_type("n8n-nodes-base.splitInBatches") == "loop"
    assert n8n.map_type("@n8n/n8n-nodes-langchain.vectorStoreQdrant") == "knowledge"
    assert n8n.map_type("n8n-nodes-base.telegram") == "tool"
    assert n8n.map_type("n8n-nodes-base.scheduleTrigger") == "input"
    assert n8n.map_type("n8n-nodes-base.set") is None
    assert n8n.f1({"llm", "tool"}, {"llm", "api"}) == 0.5
    assert n8n.f1(set(), set()) == 1.0


def test_cli_generate_tree_and_json():
    from pilot.generation.cli import generate_command

    runner = CliRunner()
    tree = runner.invoke(generate_command, ["every morning summarise Hacker News and post it to Slack"])
    assert tree.exit_code == 0, tree.output
    assert "scheduled_digest" in tree.output and "[api]" in tree.output and "0 8 * * *" in tree.output
    as_json = runner.invoke(generate_command, ["把这段话翻译成日语", "--json"])
    assert as_json.exit_code == 0 and '"template_id": "translation"' in as_json.output
    empty = runner.invoke(generate_command, ["   "])
    assert empty.exit_code != 0 and "prompt" in empty.output
