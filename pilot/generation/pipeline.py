"""Request → plan → graph: the planners behind one call, and the offline build used by evals.

``Planner.plan`` asks the LLM planner when a key is configured and falls back to the offline
planner (``fallback_reason`` says why); both produce a :class:`WorkflowPlan`, and
:func:`pilot.generation.compiler.compile_plan` turns it into the workflow.
"""

from __future__ import annotations

import logging

from msgspec import Struct

from pilot.core.redaction import clip
from pilot.generation.compiler import compile_plan
from pilot.generation.offline_planner import OfflinePlanner
from pilot.generation.plan import WorkflowPlan
from pilot.llm.schemas import StructuredOutputError
from pilot.settings import LLMSettings
from pilot.workflows.model import WorkflowGraph

log = logging.getLogger("pilot.generation")
_offline = OfflinePlanner()


class PlanResult(Struct, frozen=True, kw_only=True):
    plan: WorkflowPlan
    source: str  # "llm" | "offline"
    fallback_reason: str | None = None


class Planner:
    """The LLM planner when configured, the offline planner otherwise or when it fails."""

    def __init__(self, llm: LLMSettings | None = None, *, timeout_s: float | None = None) -> None:
        self.llm = llm
        self.timeout_s = timeout_s

    async def plan(self, prompt: str) -> PlanResult:
        if self.llm is None or not self.llm.enabled:
            return PlanResult(plan=_offline.plan(prompt), source="offline")
        from pilot.generation.llm_planner import plan_with_llm  # imports openai/instructor only when used

        try:
            return PlanResult(plan=await plan_with_llm(prompt, self.llm, timeout=self.timeout_s), source="llm")
        except StructuredOutputError as exc:
            log.warning("LLM planning failed, using the offline planner: %s", exc)
            reason = f"llm planning failed: {clip(str(exc), 200)}"  # redacted before it is cut
        except Exception as exc:
            log.exception("LLM planning raised unexpectedly; using the offline planner")
            reason = f"llm planning error: {type(exc).__name__}"
        return PlanResult(plan=_offline.plan(prompt), source="offline", fallback_reason=reason)


def plan_offline(prompt: str) -> WorkflowPlan:
    return _offline.plan(prompt)


def build_offline(prompt: str) -> WorkflowGraph:
    """The workflow the offline planner + compiler build for ``prompt`` (what evals score), with the
    template recipe applied as ``GenerationService.analyze`` does (see :mod:`pilot.generation.recipes`)."""
    from pilot.generation.offline_analyzer import OfflineAnalyzer
    from pilot.generation.recipes import apply_recipe
    from pilot.templates.catalog import default_catalog

    catalog = default_catalog()
    return compile_plan(apply_recipe(_offline.plan(prompt), OfflineAnalyzer(catalog).analyze(prompt), catalog))
