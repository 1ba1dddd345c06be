"""The offline analyzer: deterministic, no network, a few milliseconds per request.

``OfflineAnalyzer(catalog).analyze(prompt)`` → :class:`WorkflowBlueprint`. The catalog's
index is built once (per catalog object) and cached; each call normalises the request once
and runs every matcher over that normalised form. Instructions inside the request ("ignore
previous instructions …") are only text here: nothing is executed or obeyed.
"""

from __future__ import annotations

import math
import re
import threading
import weakref
from typing import Any, ClassVar

from pilot.generation.prefilter import compile_filtered
from pilot.generation import entities as ent
from pilot.generation import features as feat
from pilot.generation.blueprint import Candidate, Entities, WorkflowBlueprint
from pilot.generation.index import IntentIndex
from pilot.generation.lexicon import DEFAULT_INTENT
from pilot.generation.text import clean, detect_language, normalize

_DIGEST_HINT = compile_filtered(r"news|digest|summar|headline|rss|feed|report|update|新闻|资讯|摘要|总结|汇总|早报|日报|周报|简报|热点|热榜")
_ANALYSIS_HINT = compile_filtered(r"sales|revenue|metric|kpi|csv|excel|spreadsheet|statistic|数据|报表|销售|统计|指标")


class OfflineAnalyzer:
    """Rule + retrieval analyzer over the template catalog (see :mod:`pilot.generation.index`)."""

    _cache: ClassVar[weakref.WeakKeyDictionary[Any, IntentIndex]] = weakref.WeakKeyDictionary()
    _no_catalog: IntentIndex | None = None
    _lock = threading.Lock()

    def __init__(self, catalog: Any | None = None) -> None:
        self.catalog = catalog
        with self._lock:  # the index is built once per catalog object (catalogs are immutable)
            if catalog is None:
                if OfflineAnalyzer._no_catalog is None:
                    OfflineAnalyzer._no_catalog = IntentIndex.build(None)
                index = OfflineAnalyzer._no_catalog
            else:
                index = self._cache.get(catalog)
                if index is None:
                    index = IntentIndex.build(catalog)
                    self._cache[catalog] = index
        self.index = index

    def analyze(self, prompt: str) -> WorkflowBlueprint:
        """A blueprint for ``prompt``. Never raises on odd input: an unreadable request gets the
        default template with a low confidence."""
        raw = clean(prompt or "")
        language = detect_language(raw)
        q = self.index.prepare(raw)
        text = q.text
        corrected = " ".join(q.words)
        found, dest, src = ent.find_integrations(text)
        if corrected != " ".join(re.findall(r"[a-z0-9]+", text)):  # typos: "slak" → "slack"
            fixed, fixed_dest, fixed_src = ent.find_integrations(corrected)
            for iid in fixed:
                if iid not in found:  # same role rules as the rest ("post it to slak" → a destination)
                    found.append(iid)
                    if iid in fixed_dest:
                        dest.append(iid)
                    elif iid in fixed_src:
                        src.append(iid)
        entities = Entities(
            integrations=found,
            destinations=dest,
            sources=src,
            schedule=ent.find_schedule(text),
            languages=ent.find_languages(text),
            data_sources=ent.find_data_sources(text),
            urls=ent.find_urls(raw),
        )
        for iid in src:
            if iid not in entities.data_sources:
                entities.data_sources.append(iid)
        features = feat.detect(text, entities)
        if features.condition:
            entities.condition_terms = feat.condition_terms(text)

        scores, hits = self.index.score(q)
        self._priors(scores, text, features, entities)
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
        top_id, top = ranked[0] if ranked else (DEFAULT_INTENT, 0.0)
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        if top <= 0.5:
            top_id = DEFAULT_INTENT if DEFAULT_INTENT in scores else top_id
            confidence = 0.1
        else:
            strength = 1 - math.exp(-top / 4)
            margin = (top - max(second, 0.0)) / top
            confidence = round(min(0.99, 0.6 * strength + 0.4 * margin), 3)
        denom = max(top, 1e-9) + 2.0
        candidates = [Candidate(template_id=t, score=round(max(s, 0.0) / denom, 3)) for t, s in ranked[:5]]
        if candidates and candidates[0].template_id != top_id:
            candidates.insert(0, Candidate(template_id=top_id, score=0.0))
        found_cues = list(dict.fromkeys(hits.get(top_id, [])))
        entities.keywords = [k for k in found_cues if not any(k != o and k in o for o in found_cues)][:8]
        return WorkflowBlueprint(
            intent=top_id,
            template_id=top_id,
            confidence=confidence,
            language=language,  # type: ignore[arg-type]
            source="offline",
            features=features,
            entities=entities,
            steps=feat.steps(text, features, entities),
            candidates=candidates,
            title=_title(raw, language),
        )

    @staticmethod
    def _priors(scores: dict[str, float], text: str, features: feat.Features, entities: Entities) -> None:
        """Feature-level evidence the cue lists cannot express alone."""

        def bump(tid: str, by: float) -> None:
            if tid in scores:
                scores[tid] += by

        if features.schedule:
            bump("scheduled_digest", 2.0 if _DIGEST_HINT.search(text) else 0.5)
            if _ANALYSIS_HINT.search(text):
                bump("data_analysis", 0.5)
        if features.knowledge and "documents" in entities.data_sources:
            bump("rag_qa", 0.5)
        if entities.languages and scores.get("translation", 0) > 0:
            bump("translation", 1.0)
        if "github" in entities.integrations or "gitlab" in entities.integrations:
            bump("code_review", 0.5)
        if any(i in entities.integrations for i in ("hubspot", "salesforce")):
            bump("lead_qualification", 1.0)
        if any(i in entities.integrations for i in ("zendesk", "intercom", "freshdesk")):
            bump("customer_support", 1.0)


def _title(raw: str, language: str) -> str:
    """A short, readable workflow name from the request's first clause."""
    first = re.split(r"[\n。！？!?；;]|(?<=[a-z])\.\s", raw.strip(), maxsplit=1)[0].strip()
    limit = 24 if language == "zh" else 60
    if len(first) > limit:
        first = first[:limit].rstrip(" ,，") + "…"
    first = first or ("新工作流" if language == "zh" else "New workflow")
    return first[0].upper() + first[1:]


_default: OfflineAnalyzer | None = None


def default_offline_analyzer() -> OfflineAnalyzer:
    """An analyzer over the repo's template library (CLI, evals, code without a runtime)."""
    global _default
    if _default is None:
        from pilot.templates.catalog import default_catalog

        _default = OfflineAnalyzer(default_catalog())
    return _default


__all__ = ["OfflineAnalyzer", "default_offline_analyzer", "normalize"]
