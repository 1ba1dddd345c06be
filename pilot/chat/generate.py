"""The chat's bridge to :mod:`pilot.generation` (analyzer, generator, recommendations).

Kept in one place so the chat depends on the generation package through a few calls only:
``analyze``, ``generate`` and ``recommend``.
"""

from __future__ import annotations

from typing import Any

from pilot.generation.analyzer import PromptAnalyzer
from pilot.generation.blueprint import WorkflowBlueprint
from pilot.generation.compiler import build_graph
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
    """Analyse a request with the template analyzer (LLM when configured, else offline).

    The chat still builds from templates: its refinement rules and eval are written against
    template graphs; moving chat creation onto plans (``GenerationService.analyze``) is the
    next step of issue 9."""
    return await PromptAnalyzer(_catalog(catalog), settings.llm if settings is not None else None).analyze(prompt)


def analyze_offline(prompt: str, catalog: Any | None = None) -> WorkflowBlueprint:
    return OfflineAnalyzer(_catalog(catalog)).analyze(prompt)


def generate(blueprint: WorkflowBlueprint, prompt: str, catalog: Any | None = None) -> WorkflowGraph:
    """A validated, laid-out workflow: the blueprint's plan compiled; without a plan (the user
    picked a template from a clarifying question) the template's own workflow."""
    if blueprint.plan is not None:
        return build_graph(blueprint.plan)
    return WorkflowGenerator(_catalog(catalog)).generate(blueprint, prompt)


def generate_offline(prompt: str, catalog: Any | None = None) -> tuple[WorkflowBlueprint, WorkflowGraph]:
    blueprint = analyze_offline(prompt, catalog)
    return blueprint, generate(blueprint, prompt, catalog)


def recommend(blueprint: WorkflowBlueprint, catalog: Any | None = None, limit: int = 3) -> list[Recommendation]:
    return recommendations(blueprint, _catalog(catalog), limit)
