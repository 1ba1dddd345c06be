"""Recipes: a template's ``plan`` is the base for a request that only names the template's job.

A template carries its job as a :class:`WorkflowPlan` (``templates/<id>.yaml`` → ``plan:``): the
prompts, output fields and sub-graph for the job, and no deliveries. ``apply_recipe`` (pure):

- A **thin** request plan (flat: no branch / loop / parallel / wait / transform; at most one AI
  step; no source but knowledge, web search, input or file) *becomes* the recipe when its AI task
  is generic (generate / answer / analyze, or none) and the template confidence is >= 0.8 (lower,
  the analyzer's pick misfires: "rewrite my product description" is not a content pipeline), or
  when it is the recipe's main task with no fields or categories of its own (>= 0.35; the
  request's words then lead the instruction, the recipe's follow as defaults). A recipe that reads
  a named service (the digest's Hacker News) always needs 0.8. The recipe is rendered with the
  parameters the request states (target language, knowledge base, schedule). The request keeps its
  title, language, inputs, trigger (unless manual), its input/file sources and the sources the
  recipe does not read (first), its deliveries and respond step (last); the recipe's main AI step
  takes the request's words where its instruction is empty, and the request's categories, fields,
  target language and tools.
- A **rich** request plan is kept, except that an AI step without an instruction takes the one of
  the recipe step with its task (the confident template's recipe, else the smallest recipe whose
  main task it is) and, from the confident template, its fields.

Recipes hold no deliveries: a recipe never adds a side effect the request did not ask for.
"""

from __future__ import annotations

from typing import Any

from msgspec.structs import replace

from pilot.core.errors import PilotError
from pilot.generation.plan import (AiStep, BranchStep, DeliverStep, LoopStep, RespondStep, SourceStep,
                                   Step, WorkflowPlan, map_steps, walk)

__all__ = ["apply_recipe", "main_step", "recipe_for"]

GENERIC_TASKS = ("generate", "answer", "analyze")
MIN_CONFIDENCE = 0.8  # a thin request whose AI step is generic (or absent) is the template's job
MIN_TASK_CONFIDENCE = 0.35  # ... and one whose AI step does the recipe's main task, unstructured
NAMED_SOURCE_CONFIDENCE = 0.8  # ... when the recipe reads a named service
DEFAULTS = {"en": "\n\nUnless the request above says otherwise: ", "zh": "\n\n除非上面的要求另有说明，默认："}
OPEN_SOURCES = ("knowledge", "web_search", "input", "file")


def apply_recipe(plan: WorkflowPlan, blueprint: Any, catalog: Any) -> WorkflowPlan:
    """``plan`` built on the blueprint's template recipe when it is thin, else ``plan`` with recipe
    prompts for its AI steps that have none (``plan`` itself when nothing applies)."""
    if blueprint is None or catalog is None or not hasattr(catalog, "plan"):
        return plan
    tid, confidence = blueprint.template_id, blueprint.confidence
    recipe = catalog.get(tid).plan if tid in catalog else None
    if recipe is not None:
        thin, ai = _thin(plan)
        # one submission / event / message per run: a recipe that loops over a batch is not its shape
        one_item = plan.trigger.__struct_config__.tag in ("form", "webhook", "app_event", "chat") and any(
            isinstance(s, LoopStep) for s in walk(recipe.steps))
        # several deliveries and a recipe that branches: which delivery goes on which side would be invented
        routed = sum(isinstance(s, DeliverStep) for s in plan.steps) >= 2 and any(isinstance(s, BranchStep) for s in walk(recipe.steps))
        # "generate a thread, a post and a blurb … post the thread to X, the post to LinkedIn, …": a request that
        # already says what goes where (three or more places) is not a template's pipeline
        routed = routed or (sum(isinstance(s, DeliverStep) for s in plan.steps) >= 3
                            and sum(isinstance(s, AiStep) for s in walk(recipe.steps)) > sum(isinstance(s, AiStep) for s in walk(plan.steps)))
        if thin and not one_item and not routed and not _adds_unasked(recipe, plan) and confidence >= _needed(recipe, ai):
            return _from_recipe(plan, recipe_for(catalog, tid, plan), ai)
    return _contribute(plan, recipe if confidence >= MIN_CONFIDENCE else None, catalog)


def _adds_unasked(recipe: WorkflowPlan, plan: WorkflowPlan) -> bool:
    """Whether the recipe would add a judgement or a lookup the request did not ask for: a request
    that already says what to write and where it goes ("AI根据退款原因生成一条客服回复发给买家，同时记到
    多维表格") does not get the support template's categories and knowledge-base search bolted on."""
    if not any(isinstance(s, DeliverStep) for s in plan.steps):
        return False  # a request that only names the job ("a support bot for our docs") is the recipe's
    asked = {s.task for s in walk(plan.steps) if isinstance(s, AiStep)} | {
        s.from_ for s in walk(plan.steps) if isinstance(s, SourceStep)}
    return any((isinstance(s, AiStep) and s.task == "classify" and s.categories and "classify" not in asked)
               or (isinstance(s, SourceStep) and s.from_ == "knowledge" and "knowledge" not in asked) for s in walk(recipe.steps))


def main_step(recipe: WorkflowPlan) -> AiStep | None:
    """The recipe's main AI step: the first with the task of its last non-``generate`` AI step
    (the translation, not its review), else its first AI step."""
    ais = [s for s in walk(recipe.steps) if isinstance(s, AiStep)]
    task = next((s.task for s in reversed(ais) if s.task != "generate"), "generate")
    return next((s for s in ais if s.task == task), None)


def recipe_for(catalog: Any, template_id: str, plan: WorkflowPlan) -> WorkflowPlan:
    """The template's recipe with the parameters ``plan`` states (the defaults where they do not fit)."""
    template = catalog.get(template_id)
    steps = list(walk(plan.steps))
    stated = {"target_language": next((s.language for s in steps if isinstance(s, AiStep) and s.language), None),
              "knowledge_base": next((s.service for s in steps
                                      if isinstance(s, SourceStep) and s.from_ == "knowledge" and s.service), None),
              "schedule": getattr(plan.trigger, "cron", None)}
    declared = {p.name: p for p in template.parameters}
    params = {name: value for name, value in stated.items() if value and (p := declared.get(name)) is not None
              and p.type == "string" and (not p.choices or value in p.choices)}
    try:
        return catalog.plan(template_id, params) if params else template.plan
    except PilotError:  # a stated value the parameter refuses
        return template.plan


def _thin(plan: WorkflowPlan) -> tuple[bool, AiStep | None]:
    """Whether ``plan`` only names a job, and its one AI step (if any)."""
    ais: list[AiStep] = []
    for s in plan.steps:  # nested steps are in a branch, parallel or loop: rich
        if isinstance(s, AiStep):
            ais.append(s)
        elif isinstance(s, SourceStep) and s.from_ not in OPEN_SOURCES:  # a named service or URL: rich
            return False, None
        elif not isinstance(s, (SourceStep, DeliverStep, RespondStep)):
            return False, None
    return len(ais) <= 1, ais[0] if ais else None


def _needed(recipe: WorkflowPlan, ai: AiStep | None) -> float:
    """The template confidence a thin plan whose AI step is ``ai`` needs to become ``recipe``."""
    main = main_step(recipe)
    if ai is None or ai.task in GENERIC_TASKS:
        need = MIN_CONFIDENCE
    elif main is not None and ai.task == main.task and not ai.fields and not ai.categories:
        need = MIN_TASK_CONFIDENCE  # a step whose output the request states (fields, categories) stays its own
    else:
        return 2.0  # a specific task that is not the recipe's: the request's own plan
    named = any(isinstance(s, SourceStep) and s.from_ not in OPEN_SOURCES for s in walk(recipe.steps))
    return max(need, NAMED_SOURCE_CONFIDENCE) if named else need


def _from_recipe(plan: WorkflowPlan, recipe: WorkflowPlan, ai: AiStep | None) -> WorkflowPlan:
    main, words = main_step(recipe), (ai.instruction or ai.quote) if ai else plan.title

    def overlay(s: Step) -> Step:
        if s is not main or not isinstance(s, AiStep):
            return s
        if ai is None:
            return replace(s, instruction=s.instruction or words, quote=s.quote or words)
        names, instruction = {f.name for f in s.fields}, s.instruction or words
        if ai.task not in GENERIC_TASKS and words and s.instruction:  # the request said how: its words lead
            instruction = words + DEFAULTS[plan.language] + s.instruction
        return replace(s, instruction=instruction, quote=ai.quote or s.quote,
                       categories=ai.categories or s.categories, language=ai.language or s.language,
                       fields=[*s.fields, *(f for f in ai.fields if f.name not in names)], tools=ai.tools or s.tools)

    steps = map_steps(recipe.steps, overlay)
    taken = {s.id for s in walk(steps)}
    read = {s.from_ for s in walk(steps) if isinstance(s, SourceStep)}
    first, last = [], []
    for s in plan.steps:
        if isinstance(s, SourceStep) and (s.from_ in ("input", "file") or s.from_ not in read):
            first.append(_fresh(s, taken))
        elif isinstance(s, DeliverStep):  # delivers the recipe's result, not the step it stands in for
            last.append(_fresh(replace(s, content=None) if ai and s.content == ai.id else s, taken))
        elif isinstance(s, RespondStep):
            last.append(_fresh(replace(s, content=None), taken))
    # The request's trigger, except that a chatbot recipe starts from chat; a recipe never adds a
    # schedule (or any other trigger) the request did not ask for.
    recipe_chat = recipe.trigger.__struct_config__.tag == "chat"
    trigger = recipe.trigger if plan.trigger.__struct_config__.tag == "manual" and recipe_chat else plan.trigger
    inputs = list(plan.inputs)
    if trigger.__struct_config__.tag == "manual":  # the recipe's run inputs, unless something else starts it
        inputs += [f for f in recipe.inputs if f.name not in {i.name for i in inputs}]
    return replace(plan, trigger=trigger, inputs=inputs, steps=[*first, *steps, *last])


def _fresh(step: Step, taken: set[str]) -> Step:
    """``step`` with an id no other step of the plan has."""
    if step.id in taken:
        step = replace(step, id=next(f"{step.id[:37]}_{n}" for n in range(2, 999) if f"{step.id[:37]}_{n}" not in taken))
    taken.add(step.id)
    return step


def _contribute(plan: WorkflowPlan, own: WorkflowPlan | None, catalog: Any) -> WorkflowPlan:
    """AI steps without an instruction take a recipe's (and, from ``own``, its fields)."""
    def fill(s: Step) -> Step:
        if not isinstance(s, AiStep) or s.instruction:
            return s
        mine = _donor(own, s.task) if own is not None else None
        donor = mine or _smallest_recipe_step(catalog, s.task)
        if donor is None:
            return s
        return replace(s, instruction=donor.instruction, fields=s.fields or (mine.fields if mine else []))

    steps = map_steps(plan.steps, fill)
    return plan if steps == plan.steps else replace(plan, steps=steps)


def _donor(recipe: WorkflowPlan, task: str) -> AiStep | None:
    """The recipe's AI step for ``task`` that has an instruction (its main step first)."""
    ais = [s for s in walk(recipe.steps) if isinstance(s, AiStep) and s.task == task and s.instruction]
    main = main_step(recipe)
    return main if main in ais else next(iter(ais), None)


def _smallest_recipe_step(catalog: Any, task: str) -> AiStep | None:
    """The main step of the recipe with the fewest AI steps whose main task is ``task``."""
    found = []
    for order, template in enumerate(catalog.all()):
        main = main_step(template.plan) if template.plan is not None else None
        if main is not None and main.task == task and main.instruction:
            found.append((sum(isinstance(s, AiStep) for s in walk(template.plan.steps)), order, main))
    return min(found, key=lambda f: f[:2])[2] if found else None
