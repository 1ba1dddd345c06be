"""``GenerationService``: prompt → blueprint → workflow (+ recommendations, estimate, optional save).

Shared by the HTTP controllers, the CLI and the chat domain. Prompt rules (one place):
empty or whitespace-only → 400 naming ``prompt``; longer than 8,000 characters → 400 (we
refuse rather than silently cut: a truncated request would build the wrong workflow); control
characters are dropped; a prompt with no letters or digits at all (binary garbage) → 400.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec

from pilot.core.errors import BadRequestError
from pilot.generation import entities as ent
from pilot.generation.analyzer import PromptAnalyzer
from pilot.generation.blueprint import WorkflowBlueprint
from pilot.generation.estimate import estimate
from pilot.generation.generator import WorkflowGenerator
from pilot.generation.recommend import recommendations
from pilot.generation.schemas import (
    MAX_PROMPT_CHARS,
    GeneratedWorkflow,
    GeneratePreferences,
    GenerateResponse,
)
from pilot.generation.text import clean, readable_chars
from pilot.settings import Settings
from pilot.workflows.model import WorkflowGraph


def check_prompt(prompt: Any, *, field: str = "prompt") -> str:
    """The cleaned prompt, or a 400 naming ``field`` and the problem."""
    if not isinstance(prompt, str):
        raise BadRequestError(f"{field}: must be a string", extra={"field": field})
    if len(prompt) > MAX_PROMPT_CHARS:
        raise BadRequestError(f"{field}: must be at most {MAX_PROMPT_CHARS} characters (got {len(prompt)})",
                              extra={"field": field, "max_length": MAX_PROMPT_CHARS})
    text = clean(prompt)
    if not text:
        raise BadRequestError(f"{field}: must not be empty", extra={"field": field})
    if readable_chars(text) == 0:
        raise BadRequestError(f"{field}: contains no readable text", extra={"field": field})
    return text


class GenerationService:
    def __init__(self, catalog: Any, settings: Settings | None = None) -> None:
        self.catalog = catalog
        self.settings = settings
        self.analyzer = PromptAnalyzer(catalog, settings.llm if settings else None)
        self.generator = WorkflowGenerator(catalog)

    async def analyze(self, prompt: str) -> WorkflowBlueprint:
        return await self.analyzer.analyze(check_prompt(prompt))

    def build(self, blueprint: WorkflowBlueprint, prompt: str, preferences: GeneratePreferences | None = None) -> WorkflowGraph:
        return self.generator.generate(apply_preferences(blueprint, preferences), prompt)

    async def generate(self, prompt: str, *, preferences: GeneratePreferences | None = None, save: bool = True,
                       workflows: Any = None) -> GenerateResponse:
        """Analyse, generate, rank, estimate and (with ``workflows``, a WorkflowService) save."""
        text = check_prompt(prompt)
        blueprint = apply_preferences(await self.analyzer.analyze(text), preferences)
        graph = self.generator.generate(blueprint, text)
        template = self.catalog.get(blueprint.template_id) if blueprint.template_id in self.catalog else None
        description = (template.description.zh if blueprint.language == "zh" else template.description.en).strip() if template else ""
        if save and workflows is not None:
            stored = await workflows.create(name=blueprint.title, graph=graph, description=description[:2000],
                                            template_id=blueprint.template_id)
            workflow, wid = GeneratedWorkflow.from_stored(stored), stored.id
        else:
            workflow = GeneratedWorkflow(id=None, name=blueprint.title, description=description[:2000],
                                         template_id=blueprint.template_id, nodes=graph.nodes, edges=graph.edges,
                                         settings=graph.settings)
            wid = None
        return GenerateResponse(workflow_id=wid, workflow=workflow, blueprint=blueprint,
                                recommendations=recommendations(blueprint, self.catalog, 3),
                                estimate=estimate(graph, self.settings))

    async def recommend(self, prompt: str, limit: int = 3):
        blueprint = await self.analyzer.analyze(check_prompt(prompt))
        return recommendations(blueprint, self.catalog, limit)


def apply_preferences(bp: WorkflowBlueprint, prefs: GeneratePreferences | None) -> WorkflowBlueprint:
    """Requested integrations become destinations; ``simple`` drops added loops/conditions."""
    if prefs is None:
        return bp
    e = bp.entities
    extra = [i.lower() for i in prefs.integrations if i.lower() in ent.BY_ID and i.lower() not in e.integrations]
    entities = msgspec.structs.replace(e, integrations=[*e.integrations, *extra], destinations=[*e.destinations, *extra])
    features = bp.features
    if prefs.complexity == "simple":
        features = msgspec.structs.replace(features, loop=False, condition=False)
    if extra:
        features = msgspec.structs.replace(features, notification=True)
    return msgspec.structs.replace(bp, entities=entities, features=features)


def timed(fn, *args) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn(*args)
    return out, (time.perf_counter() - t0) * 1000
