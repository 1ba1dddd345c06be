"""Offline generations are cached per (prompt, preferences, catalog): a repeat is the same answer
without re-planning; preferences and an LLM key are never served another request's result."""

from __future__ import annotations

import msgspec
import pytest

from pilot.generation import service as generation
from pilot.generation.schemas import GeneratePreferences
from pilot.generation.service import GenerationService
from pilot.settings import Settings
from pilot.templates.catalog import default_catalog
from pilot.workflows.model import node_type

PROMPT = "Every morning summarise Hacker News and post it to Slack"


def _settings(tmp_path, **env: str) -> Settings:
    return Settings.from_env({"PILOT_DATA_DIR": str(tmp_path), **env})


@pytest.fixture
def planned(monkeypatch) -> list[str]:
    """The prompts the planner was asked to plan (the work a cache hit skips)."""
    calls: list[str] = []
    plan = generation.Planner.plan

    async def counting(self, prompt: str):
        calls.append(prompt)
        return await plan(self, prompt)

    monkeypatch.setattr(generation.Planner, "plan", counting)
    return calls


async def test_a_repeated_prompt_is_answered_from_the_cache(tmp_path, planned) -> None:
    service = GenerationService(default_catalog(), _settings(tmp_path))
    prompt = f"{PROMPT} (cache test {tmp_path.name})"  # a prompt no other test has cached
    first = await service.generate(prompt, save=False)
    again = await GenerationService(default_catalog(), _settings(tmp_path)).generate(f"  {prompt}\x00", save=False)
    assert planned == [prompt]  # the second (same once cleaned) was not planned again
    assert msgspec.json.encode(again) == msgspec.json.encode(first)
    assert node_type(first.workflow.nodes[0]) == "input" and first.estimate.llm_calls >= 1


async def test_preferences_are_part_of_the_key(tmp_path, planned) -> None:
    service = GenerationService(default_catalog(), _settings(tmp_path))
    prompt = f"Summarise this article for a busy manager ({tmp_path.name})"
    plain = await service.generate(prompt, save=False)
    slack = await service.generate(prompt, save=False, preferences=GeneratePreferences(integrations=["slack"]))
    assert len(planned) == 2
    assert "slack" not in plain.blueprint.entities.integrations
    assert "slack" in slack.blueprint.entities.integrations
    assert msgspec.json.encode(await service.generate(prompt, save=False)) == msgspec.json.encode(plain)
    assert len(planned) == 2


async def test_with_an_llm_key_every_request_is_planned(tmp_path, planned, monkeypatch) -> None:
    settings = _settings(tmp_path, OPENAI_API_KEY="sk-test")
    service = GenerationService(default_catalog(), settings)
    monkeypatch.setattr(service.planner, "llm", None)  # no network in tests: plans offline, the service still sees a key
    prompt = f"{PROMPT} (llm test {tmp_path.name})"
    await service.generate(prompt, save=False)
    await service.generate(prompt, save=False)
    assert planned == [prompt, prompt]
