"""Template recommendations: the analyzer's ranking with a human-readable reason in the prompt's language."""

from __future__ import annotations

from typing import Any

from msgspec import Struct

from pilot.generation.blueprint import WorkflowBlueprint


class Recommendation(Struct, kw_only=True):
    template_id: str
    name: str
    score: float
    reason: str


def recommendations(blueprint: WorkflowBlueprint, catalog: Any, limit: int = 3) -> list[Recommendation]:
    """Top ``limit`` templates for an analysed request, best first."""
    zh = blueprint.language == "zh"
    out: list[Recommendation] = []
    for rank, cand in enumerate(blueprint.candidates):
        if cand.template_id not in catalog:
            continue
        t = catalog.get(cand.template_id)
        name = t.name.zh if zh else t.name.en
        out.append(Recommendation(template_id=t.id, name=name, score=cand.score,
                                  reason=_reason(blueprint, t, rank == 0, zh)))
        if len(out) >= limit:
            break
    return out


def _reason(bp: WorkflowBlueprint, template: Any, best: bool, zh: bool) -> str:
    desc = (template.description.zh if zh else template.description.en).strip()
    summary = desc.split("。")[0] if zh else desc.split(". ")[0]
    parts: list[str] = []
    if best and bp.entities.keywords:
        words = "、".join(bp.entities.keywords[:4]) if zh else ", ".join(f"“{k}”" for k in bp.entities.keywords[:4])
        parts.append(f"请求中提到{words}" if zh else f"your request mentions {words}")
    elif best:
        parts.append("与请求内容最接近" if zh else "closest to what you describe")
    else:
        parts.append("也可能适合" if zh else "a possible alternative")
    if best and bp.entities.integrations:
        from pilot.generation.entities import BY_ID  # at first use: the service table (~0.5 s) stays out of a cold start

        names = [BY_ID[i].name for i in bp.entities.integrations[:3] if i in BY_ID]
        parts.append(("并会连接 " + "、".join(names)) if zh else ("and will connect " + ", ".join(names)))
    if best and bp.entities.schedule:
        parts.append(f"按计划运行（{bp.entities.schedule.text}）" if zh else f"runs on a schedule ({bp.entities.schedule.text})")
    lead = ("，".join(parts) + "。") if zh else ("; ".join(parts).capitalize() + ".")
    if zh:
        return f"{lead}{summary}"
    return f"{lead} {summary}" + ("" if summary.endswith(".") else ".")


def recommend(prompt: str, limit: int = 3, catalog: Any | None = None) -> list[Recommendation]:
    """Offline top-``limit`` templates for a prompt (the API uses the configured analyzer instead)."""
    from pilot.generation.offline_analyzer import OfflineAnalyzer
    from pilot.templates.catalog import default_catalog

    catalog = catalog if catalog is not None else default_catalog()
    return recommendations(OfflineAnalyzer(catalog).analyze(prompt), catalog, limit)
