"""The chat's bridge to :mod:`pilot.generation` (analyzer, generator, recommendations).

Kept in one place so the chat depends on the generation package through a few calls only:
``analyze``, ``generate`` and ``recommend``.
"""

from __future__ import annotations

from typing import Any

from pilot.generation.analyzer import PromptAnalyzer
from pilot.generation.blueprint import WorkflowBlueprint
from pilot.generation.generator import WorkflowGenerator
from pilot.generation.offline_analyzer import OfflineAnalyzer
from pilot.generation.recommend import Recommendation, recommendations
from pilot.workflows.model import WorkflowGraph


def _catalog(catalog: Any | None) -> Any:
    if catalog is not None:
        return catalog
    from pilot.templates.catalog import default_catalog

    return default_catalog()


async def analyze(prompt: str, *, catalog: Any | None = None, settings: Any | None = None) -> WorkflowBlueprint:
    """Analyse a request with the generation package's PromptAnalyzer: the LLM when a key is
    configured (falling back offline by itself, saying so in ``source``), else offline."""
    return await PromptAnalyzer(_catalog(catalog), settings.llm if settings is not None else None).analyze(prompt)


def analyze_offline(prompt: str, catalog: Any | None = None) -> WorkflowBlueprint:
    return OfflineAnalyzer(_catalog(catalog)).analyze(prompt)


def generate(blueprint: WorkflowBlueprint, prompt: str, catalog: Any | None = None) -> WorkflowGraph:
    """A validated, laid-out workflow for the blueprint."""
    return WorkflowGenerator(_catalog(catalog)).generate(blueprint, prompt)


def generate_offline(prompt: str, catalog: Any | None = None) -> tuple[WorkflowBlueprint, WorkflowGraph]:
    blueprint = analyze_offline(prompt, catalog)
    return blueprint, generate(blueprint, prompt, catalog)


def recommend(blueprint: WorkflowBlueprint, catalog: Any | None = None, limit: int = 3) -> list[Recommendation]:
    return recommendations(blueprint, _catalog(catalog), limit)
