"""The optimisation rule: "make it cheaper" / "make it faster" / "省钱" / "提速" apply the top
suggestions of :mod:`pilot.analytics.advice` for that goal; "Optimise: …" (a suggestion's own
chat message, as ``GET /api/workflows/{id}/suggestions`` gives it) applies exactly that one.

The suggestions come from the workflow's stored runs when the chat turn supplies them
(``Ctx.advice``, see :meth:`pilot.chat.turns.TurnHandlers._refine`), else from the graph alone
(the estimator). An optimisation request is planned on its own (:func:`is_optimisation`): its
words ("switch", "run … in parallel", "items") must not be read again by the other rules.
"""

from __future__ import annotations

import re

from pilot.analytics.advice import Advice, advise
from pilot.chat.edits import EditError, EditOp, apply_edits
from pilot.chat.phrases import _MODEL, has_any, normalize
from pilot.chat.planner_base import Ctx, Note, Step, Unable

EXACT = re.compile(r"^(?:optimi[sz]e|优化)\s*:")
GOALS: dict[str, tuple[str, ...]] = {
    "cost": ("cheaper", "reduce cost", "reduce the cost", "lower cost", "lower the cost", "cut cost", "cut the cost",
             "save money", "save cost", "cost less", "costs less", "less expensive", "省钱", "降低成本", "节省成本",
             "节约成本", "减少成本", "降本", "便宜", "省点钱", "少花钱"),
    "speed": ("faster", "speed it up", "speed up", "quicker", "reduce latency", "lower latency", "更快", "提速", "加速",
              "加快", "快一点", "快一些", "快点", "降低延迟", "缩短运行时间"),
    "reliability": ("more reliable", "less flaky", "fewer failures", "更可靠", "减少失败"),
}
ALL_GOALS = ("optimise", "optimize", "优化")
_HEAD = {"cost": Note("To cut the cost: ", "为降低成本："), "speed": Note("To speed it up: ", "为提速："),
         "reliability": Note("To make it more reliable: ", "为提高可靠性：")}


def _goals(t: str) -> set[str]:
    found = {goal for goal, cues in GOALS.items() if has_any(t, cues)}
    return found or (set(GOALS) if has_any(t, ALL_GOALS) else set())


def is_optimisation(text: str) -> bool:
    """Whether ``text`` asks to optimise the workflow: a suggestion's chat message, or a goal
    ("cheaper", "更快") that names no model ("use a cheaper model" is the model rule's)."""
    t = normalize(text)
    if EXACT.match(t):
        return True
    return bool(_goals(t)) and not _MODEL.search(t) and not has_any(t, ("model", "模型"))


def _usd(value: float) -> str:
    return f"${value:.4f}" if value >= 0.01 else f"${value:.6f}"


def _outcome(a: Advice, lang: str) -> str:
    saved = []
    if a.cost_usd_per_run:
        saved.append(f"每次运行约省 {_usd(a.cost_usd_per_run)}" if lang == "zh" else f"about {_usd(a.cost_usd_per_run)} less per run")
    if a.ms_per_run:
        saved.append(f"每次运行约快 {a.ms_per_run:,.0f} 毫秒" if lang == "zh" else f"about {a.ms_per_run:,.0f} ms faster per run")
    sep = "；" if lang == "zh" else "; "
    inner = sep.join([*saved, ("依据：" if lang == "zh" else "basis: ") + a.basis.text(lang)])
    return f"{a.done.text(lang)}（{inner}）" if lang == "zh" else f"{a.done.text(lang)} ({inner})"


def _note(picked: list[Advice], head: Note | None) -> Note:
    en = "; ".join(_outcome(a, "en") for a in picked)
    en = en if head else en[:1].upper() + en[1:]
    zh = "；".join(_outcome(a, "zh") for a in picked)
    return Note(f"{head.en if head else ''}{en}.", f"{head.zh if head else ''}{zh}。")


def rule_optimize(c: Ctx) -> Step | None:
    if not is_optimisation(c.t):
        return None
    advice = c.advice if c.advice is not None else advise(c.graph)
    if EXACT.match(c.t):
        wanted = c.t.rstrip(" .。!！")
        match = next((a for a in advice if a.chat is not None and a.ops
                      and wanted in (normalize(a.chat.en).rstrip("."), normalize(a.chat.zh).rstrip("。"))), None)
        if match is None:
            raise Unable("That optimisation does not apply to this workflow any more (it may already be done); "
                         "GET /api/workflows/{id}/suggestions lists the current ones.",
                         "这个优化已不适用于当前工作流（可能已经应用过）；当前的优化建议见 GET /api/workflows/{id}/suggestions。")
        return list(match.ops), _note([match], None)
    goals = _goals(c.t)
    graph = c.graph
    ops: list[EditOp] = []
    picked: list[Advice] = []
    for a in advice:
        if a.goal not in goals or not a.ops or not (a.cost_usd_per_run or a.ms_per_run or a.goal == "reliability"):
            continue
        try:
            graph = apply_edits(graph, a.ops)  # a later suggestion may touch what an earlier one changed
        except EditError:
            continue
        ops.extend(a.ops)
        picked.append(a)
    if not picked:
        hints = [a.message for a in advice if a.goal in goals]
        raise Unable(" ".join(["I found nothing I can safely change for that.", *(h.en for h in hints)]),
                     "".join(["没有找到可以安全修改的地方。", *(h.zh for h in hints)]))
    return ops, _note(picked, _HEAD[next(iter(goals))] if len(goals) == 1 else Note("Optimised: ", "已优化："))
