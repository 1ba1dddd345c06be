"""``PromptAnalyzer``: the facade every caller uses (API, chat, CLI, evals).

With an API key configured it asks the LLM (see :mod:`pilot.generation.llm_analyzer`) and
falls back to the offline analyzer on any failure, saying so in ``source``/``fallback_reason``;
without a key it is the offline analyzer. The offline analysis is also used to complete the
LLM's answer: its ranked candidates back the recommendations.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec

from pilot.generation.blueprint import WorkflowBlueprint
from pilot.generation.llm_analyzer import analyze_with_llm
from pilot.generation.offline_analyzer import OfflineAnalyzer
from pilot.llm.schemas import StructuredOutputError
from pilot.settings import LLMSettings

log = logging.getLogger("pilot.generation")


class PromptAnalyzer:
    """Turns a request into a :class:`WorkflowBlueprint` (LLM when configured, offline otherwise)."""

    def __init__(self, catalog: Any, llm: LLMSettings | None = None, *, llm_timeout_s: float | None = None) -> None:
        self.catalog = catalog
        self.llm = llm
        self.llm_timeout_s = llm_timeout_s
        self.offline = OfflineAnalyzer(catalog)

    async def analyze(self, prompt: str) -> WorkflowBlueprint:
        offline = self.offline.analyze(prompt)
        if self.llm is None or not self.llm.enabled:
            return offline
        try:
            result = await analyze_with_llm(prompt, self.catalog, self.llm, timeout=self.llm_timeout_s)
        except StructuredOutputError as exc:
            log.warning("LLM analysis failed, using the offline analyzer: %s", exc)
            return msgspec.structs.replace(offline, fallback_reason=f"llm analysis failed: {str(exc)[:200]}")
        except Exception as exc:
            log.exception("LLM analysis raised unexpectedly; using the offline analyzer")
            return msgspec.structs.replace(offline, fallback_reason=f"llm analysis error: {type(exc).__name__}")
        # The LLM's pick first, then the offline ranking as alternatives (for recommendations).
        rest = [c for c in offline.candidates if c.template_id != result.template_id]
        return msgspec.structs.replace(result, candidates=[*result.candidates, *rest][:5],
                                       entities=msgspec.structs.replace(result.entities, keywords=offline.entities.keywords))
