"""The chat's bridge to :mod:`pilot.generation` (planner, compiler, templates, recommendations).

Kept in one place so the chat depends on the generation package through a few calls only:
``analyze`` (the blueprint with the request's plan attached), ``build`` (the plan compiled into
the edit operations chat streams, and the graph they make), ``too_vague`` (ask instead of
guessing) and ``recommend``. A workflow is built from a template only when the user picked one
in answer to a clarifying question (the blueprint then has no plan).
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec

from pilot.chat.edits import EditError, EditOp, apply_edits
from pilot.generation.blueprint import WorkflowBlueprint
from pilot.generation.compiler import build_plan, compile_ops
from pilot.generation.offline_analyzer import OfflineAnalyzer
from pilot.generation.pipeline import plan_offline
from pilot.generation.plan import AiStep, walk
from pilot.generation.recipes import recipe_for
from pilot.generation.recommend import Recommendation, recommendations
from pilot.generation.offload import GenerationPool
from pilot.generation.service import GenerationService
from pilot.workflows.model import WorkflowGraph

log = logging.getLogger("pilot.chat")

CLARIFY_BELOW = 0.4  # template confidence under which a generic plan is too vague to build
GENERIC_TASKS = frozenset({"generate"})  # what the planners fall back to when nothing more specific was asked


def _catalog(catalog: Any | None) -> Any:
    if catalog is not None:
        return catalog
    from pilot.templates.catalog import default_catalog

    return default_catalog()


async def analyze(prompt: str, *, catalog: Any | None = None, settings: Any | None = None, plan: bool = True,
                  pool: GenerationPool | None = None) -> WorkflowBlueprint:
    """The blueprint for a request: template candidates (offline analyzer) and, with ``plan``,
    the request's :class:`~pilot.generation.plan.WorkflowPlan` (LLM planner with a key, else the
    offline planner, in ``pool``'s processes when it is ready). Raises a 400 ``BadRequestError``
    for a prompt with nothing to analyse."""
    service = GenerationService(_catalog(catalog), settings, pool=pool)
    if not plan:
        return service.rank(prompt)
    return await service.analyze(prompt)


def analyze_offline(prompt: str, catalog: Any | None = None) -> WorkflowBlueprint:
    """:func:`analyze` without a network: the offline analyzer and the offline planner."""
    blueprint = OfflineAnalyzer(_catalog(catalog)).analyze(prompt)
    planned = plan_offline(prompt)
    return msgspec.structs.replace(blueprint, plan=planned, source="offline", title=planned.title or blueprint.title)


def too_vague(blueprint: WorkflowBlueprint) -> bool:
    """Whether to ask a clarifying question instead of building.

    A plan that names a trigger, a source, a delivery, a branch, a loop or any specific AI task
    (summarise, translate, classify …) is built whatever the template match says; only a
    manual-start plan with nothing but a generic "generate" step ("help me", "帮我弄一个"),
    for a request no template recognises either, is too vague to build."""
    if blueprint.confidence >= CLARIFY_BELOW:
        return False
    plan = blueprint.plan
    if plan is None:
        return True
    if plan.trigger.__struct_config__.tag != "manual" or plan.inputs:
        return False
    steps = list(walk(plan.steps))
    return len(steps) <= 1 and all(
        isinstance(s, AiStep) and s.task in GENERIC_TASKS and not (s.fields or s.categories or s.language or s.tools)
        for s in steps)


def build(blueprint: WorkflowBlueprint, prompt: str, catalog: Any | None = None) -> tuple[WorkflowGraph, list[EditOp]]:
    """The validated, laid-out workflow and the edit operations that built it, in the
    compiler's order (what chat streams op by op). Without a plan (the user picked a template
    from a clarifying question) the template's recipe plan is compiled the same way."""
    plan = blueprint.plan
    if plan is None:  # the picked template's recipe, with what the request states (language, schedule …)
        plan = recipe_for(_catalog(catalog), blueprint.template_id, plan_offline(prompt))
    ops = compile_ops(plan)
    try:
        return apply_edits(WorkflowGraph(nodes=[]), ops), ops
    except EditError:  # a compiler bug, never the user's fault: the steps it cannot place are left out
        salvaged = build_plan(plan)[0]  # logs the bug; raises GenerationError (500) when nothing compiles
    ops = compile_ops(salvaged)
    return apply_edits(WorkflowGraph(nodes=[]), ops), ops


def generate(blueprint: WorkflowBlueprint, prompt: str, catalog: Any | None = None) -> WorkflowGraph:
    """The workflow :func:`build` makes (without the ops)."""
    return build(blueprint, prompt, catalog)[0]


def generate_offline(prompt: str, catalog: Any | None = None) -> tuple[WorkflowBlueprint, WorkflowGraph]:
    """What a chat without an LLM key creates for ``prompt`` (the refinement eval's start workflows)."""
    blueprint = analyze_offline(prompt, catalog)
    return blueprint, generate(blueprint, prompt, catalog)


def recommend(blueprint: WorkflowBlueprint, catalog: Any | None = None, limit: int = 3) -> list[Recommendation]:
    return recommendations(blueprint, _catalog(catalog), limit)
