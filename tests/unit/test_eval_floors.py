"""Regression guards on the offline evals: a real regression fails CI, small wording changes do not.

- Structure (dev split of evals/STRUCTURE.md): the accept rate and the side-effect-free rate sit a
  little below the measured figures (README "Generation quality"); every graph must be valid.
- Template recommendation (evals/data/requests.jsonl): top-1/top-3 floors per split.
The blind splits are never scored here: they are scored once, by hand, and reported as blind.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from evals import structure
from evals.scoring import load_requests, score_requests
from pilot.generation.offline_analyzer import default_offline_analyzer
from pilot.generation.pipeline import build_offline


@pytest.fixture(scope="module")
def structure_report():
    return structure.score_cases(structure.load_cases(structure.SPLITS["dev"]), build_offline)


@pytest.fixture(scope="module")
def recommendations():
    return score_requests(default_offline_analyzer(), load_requests(), warm_pass=False)


def test_structure_dev_floors(structure_report):
    assert structure_report.valid.rate == 1.0
    assert structure_report.side_effect_free.rate >= 0.98
    for key, floor in (("all", 0.72), ("en", 0.68), ("zh", 0.70)):
        assert structure_report.accepted[key].rate >= floor, (key, structure_report.accepted[key])


def test_blind_splits_are_well_formed_and_never_tuned_on():
    for split in ("blind", "blind2"):
        assert structure.lint_file(structure.SPLITS[split]) == []
        cases = structure.load_cases(structure.SPLITS[split])
        assert len(cases) >= 60 and {c.lang for c in cases} == {"en", "zh"}
    dev_prompts = {c.prompt for c in structure.load_cases(structure.SPLITS["dev"])}
    assert not dev_prompts & {c.prompt for c in structure.load_cases(structure.SPLITS["blind2"])}
    # the fourth stop of 2026-11-30: two dev splits tuned on, one blind split scored once
    for split in ("dev5", "dev6", "blind16"):
        assert structure.lint_file(structure.SPLITS[split]) == []
    tuned = {c.prompt for split in ("dev", "dev2", "dev3", "dev4", "dev5", "dev6") for c in structure.load_cases(structure.SPLITS[split])}
    assert not tuned & {c.prompt for c in structure.load_cases(structure.SPLITS["blind16"])}


def test_dataset_shape():
    rows = load_requests()
    assert len(rows) >= 200
    langs = [r["lang"] for r in rows]
    assert abs(langs.count("en") - langs.count("zh")) <= 10
    assert len({r["prompt"] for r in rows}) == len(rows)


FLOORS = {"split:dev": (0.95, 0.98), "split:seen": (0.93, 0.97), "split:blind": (0.80, 0.93), "en": (0.88, 0.95),
          "zh": (0.88, 0.95)}


@pytest.mark.parametrize("group", sorted(FLOORS))
def test_recommendation_floors(recommendations, group):
    g = recommendations["groups"][group]
    top1, top3 = FLOORS[group]
    assert g["top1"] >= top1 and g["top3"] >= top3, g


def test_cli_generate_tree_and_json():
    from pilot.generation.cli import generate_command

    runner = CliRunner()
    tree = runner.invoke(generate_command, ["every morning summarise Hacker News and post it to Slack"])
    assert tree.exit_code == 0, tree.output
    assert "[api]" in tree.output and "0 8 * * *" in tree.output and "[tool]" in tree.output
    as_json = runner.invoke(generate_command, ["把这段话翻译成日语", "--json"])
    assert as_json.exit_code == 0 and '"task": "translate"' in as_json.output
    empty = runner.invoke(generate_command, ["   "])
    assert empty.exit_code != 0 and "prompt" in empty.output
