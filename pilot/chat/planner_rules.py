"""The offline, rule-based edit planner: an instruction + the current graph → edit operations.

Each rule recognises one kind of refinement (English and Chinese cues) and plans ops against
the graph as left by the rules before it, so "use gpt-4o and email me the result" yields both
edits. A rule that recognises its intent but cannot apply it reports an honest reason instead
(``RulePlan.problems``); nothing is guessed. Values come from the planner's bilingual
vocabularies (:mod:`pilot.chat.phrases`) and the generation package's language layer
(schedules, comparisons, batch and parallel cues, the service registry); new branches and
sources are compiled by the generation compiler's step builder (:mod:`pilot.chat.graft`).
"""

from __future__ import annotations

from collections.abc import Callable

from msgspec import Struct

from pilot.chat import rules_flow as flow_rules
from pilot.chat import rules_optimize as optimize_rules
from pilot.chat import rules_pause as pause_rules
from pilot.chat import rules_settings as settings_rules
from pilot.chat import rules_steps as step_rules
from pilot.chat import rules_structure as structure_rules
from pilot.chat.edits import EditError, EditOp, apply_edits
from pilot.chat.phrases import normalize
from pilot.chat.planner_base import Ctx, KnownWorkflow, Note, Step, Unable
from pilot.workflows.model import WorkflowGraph


class RulePlan(Struct, frozen=True):
    ops: list[EditOp]
    changes: list[Note]  # what the ops do
    problems: list[Note]  # recognised requests that cannot be done (honest reasons)
    graph: WorkflowGraph | None = None  # the result of applying ``ops`` (None without ops)

    @property
    def recognised(self) -> bool:
        return bool(self.ops or self.problems)


# Order matters: a rule that consumes an entity (e.g. the integration in "send to Slack instead
# of email") keeps later rules from reading it again. The v2 steps come early: "wait 2 days before
# sending the email" is a wait (not a new email), "remove duplicates by email" a transform (not a removal).
RULES: list[Callable[[Ctx], Step | None]] = [
    settings_rules.rule_schedule_off, pause_rules.rule_approval, pause_rules.rule_wait, step_rules.rule_transform,
    step_rules.rule_subflow, step_rules.rule_code, flow_rules.rule_branch, structure_rules.rule_swap_integration,
    structure_rules.rule_remove, settings_rules.rule_schedule, settings_rules.rule_model, settings_rules.rule_language,
    structure_rules.rule_loop, flow_rules.rule_parallel_source, structure_rules.rule_notify, structure_rules.rule_knowledge,
    settings_rules.rule_temperature, settings_rules.rule_retry, structure_rules.rule_add_step,
]


def plan_edits(text: str, graph: WorkflowGraph, *, workflows: list[KnownWorkflow] | None = None,
               advice: list | None = None) -> RulePlan:
    """Plan the edits ``text`` asks for on ``graph``. Recognised-but-impossible requests are
    reported in ``problems``; the returned ``graph`` is the validated result of ``ops``.
    ``workflows``: the workspace's other workflows, which a ``workflow`` step may run by name;
    ``advice``: optimisation advice from the workflow's runs (else from the graph alone)."""
    ctx = Ctx(raw=text, t=normalize(text), graph=graph, workflows=list(workflows or []), advice=advice)
    ops: list[EditOp] = []
    changes: list[Note] = []
    problems: list[Note] = []
    # An optimisation request is planned on its own (see pilot.chat.rules_optimize).
    for rule in [optimize_rules.rule_optimize] if optimize_rules.is_optimisation(text) else RULES:
        try:
            step = rule(ctx)
        except Unable as exc:
            problems.append(exc.note)
            continue
        except EditError as exc:
            problems.append(Note(f"That change would break the workflow: {exc.detail}", f"这个修改会让工作流无效：{exc.detail}"))
            continue
        if step is None:
            continue
        step_ops, note = step
        try:
            ctx.graph = apply_edits(ctx.graph, step_ops)
        except EditError as exc:
            problems.append(Note(f"I couldn't apply that: {exc.detail}", f"无法完成这个修改：{exc.detail}"))
            continue
        ops.extend(step_ops)
        changes.append(note)
    return RulePlan(ops=ops, changes=changes, problems=problems, graph=ctx.graph if ops else None)


__all__ = ["KnownWorkflow", "Note", "RulePlan", "plan_edits"]
