"""What a generation is before the workspace is involved, and the offline generation itself.

:func:`generate_offline` is a pure function of (catalog, cleaned prompt, preferences): offline
analyzer, offline planner, recipe, preferences, compiler, ranking and estimate. The service runs
it inline or in a generation process (:mod:`pilot.generation.offload`); both give the same
:class:`OfflineGeneration`, which is also what the service caches.
"""

from __future__ import annotations

import msgspec
from msgspec import Struct

from pilot.generation import entities as ent
from pilot.generation.blueprint import WorkflowBlueprint
from pilot.generation.compiler import build_plan
from pilot.generation.estimate import Estimate, estimate
from pilot.generation.offline_analyzer import OfflineAnalyzer
from pilot.generation.pipeline import PlanResult, plan_offline
from pilot.generation.plan import DeliverStep, LoopStep, walk
from pilot.generation.recipes import apply_recipe
from pilot.generation.recommend import Recommendation, recommendations
from pilot.generation.schemas import GeneratePreferences
from pilot.generation.services import lookup, service_id
from pilot.settings import Settings
from pilot.workflows.model import WorkflowGraph


class OfflineGeneration(Struct, frozen=True, kw_only=True):
    """A generation before the workspace is involved. Shared by every cache hit: read-only."""

    blueprint: WorkflowBlueprint
    graph: WorkflowGraph
    description: str
    recommendations: list[Recommendation]
    estimate: Estimate


def with_plan(blueprint: WorkflowBlueprint, planned: PlanResult, catalog) -> WorkflowBlueprint:
    """The analyzer's blueprint with the planner's plan attached (a request naming a template's
    job gets that template's recipe)."""
    plan = apply_recipe(planned.plan, blueprint, catalog)
    reason = blueprint.fallback_reason or planned.fallback_reason
    return msgspec.structs.replace(blueprint, plan=plan, source=planned.source, fallback_reason=reason,
                                   title=plan.title or blueprint.title)


def finish(catalog, blueprint: WorkflowBlueprint, preferences: GeneratePreferences | None,
           settings: Settings | None, *, offline: bool) -> OfflineGeneration:
    """Preferences, compiled graph, description, recommendations and estimate of a planned blueprint."""
    blueprint = apply_preferences(blueprint, preferences)
    if blueprint.plan is None:
        raise ValueError("the blueprint has no plan")
    plan, graph, omitted = build_plan(blueprint.plan)
    if omitted:  # the blueprint shows the plan that was built, and what it left out
        blueprint = msgspec.structs.replace(blueprint, plan=plan, omitted=omitted)
    template = catalog.get(blueprint.template_id) if blueprint.template_id in catalog else None
    description = (template.description.zh if blueprint.language == "zh" else template.description.en).strip() if template else ""
    return OfflineGeneration(blueprint=blueprint, graph=graph, description=description[:2000],
                             recommendations=recommendations(blueprint, catalog, 3),
                             estimate=estimate(graph, settings, offline=offline))


def generate_offline(catalog, text: str, preferences: GeneratePreferences | None) -> OfflineGeneration:
    """The whole offline generation of a cleaned prompt (no LLM; runs prices nothing)."""
    blueprint = OfflineAnalyzer(catalog).analyze(text)
    planned = PlanResult(plan=plan_offline(text), source="offline")
    return finish(catalog, with_plan(blueprint, planned, catalog), preferences, None, offline=True)


def apply_preferences(bp: WorkflowBlueprint, prefs: GeneratePreferences | None) -> WorkflowBlueprint:
    """Requested integrations the plan does not deliver to yet get a delivery at the end;
    ``simple`` runs per-item loops' steps once instead (branches the request asked for stay)."""
    if prefs is None or bp.plan is None:
        return bp
    plan = bp.plan
    taken = {s.id for s in walk(plan.steps)}
    present = {service_id(s.service) for s in walk(plan.steps) if isinstance(s, DeliverStep)}
    steps = list(plan.steps)
    if prefs.complexity == "simple":
        steps = [x for s in steps for x in (s.steps if isinstance(s, LoopStep) else [s])]
    for name in prefs.integrations:
        sid = service_id(name)
        if lookup(name) is None or sid in present:
            continue
        present.add(sid)
        nid = next(f"deliver_{sid}{n or ''}" for n in range(100) if f"deliver_{sid}{n or ''}" not in taken)
        taken.add(nid)
        steps.append(DeliverStep(id=nid, service=sid, quote=f"preferences.integrations: {name}"))
    e = bp.entities
    extra = [i.lower() for i in prefs.integrations if i.lower() in ent.BY_ID and i.lower() not in e.integrations]
    entities = msgspec.structs.replace(e, integrations=[*e.integrations, *extra], destinations=[*e.destinations, *extra])
    return msgspec.structs.replace(bp, entities=entities, plan=msgspec.structs.replace(plan, steps=steps))
