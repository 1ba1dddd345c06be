"""The offline planner: a deterministic EN/中文 semantic parser from a request to a WorkflowPlan.

1. The trigger and its clause (:func:`pilot.generation.clauses.find_trigger`).
2. The rest cut into clauses (then / 然后 / ", <verb>" …, and before if / otherwise / 否则).
3. Conditions: "if <comparison|judgement> <action>" clauses (consecutive ones form a switch),
   "otherwise …" the else branch; "label goes to X" lists form a switch on an AI classification.
   A comparison ("score above 7", "金额大于1000") tests a field an upstream step produces.
4. Every other clause becomes its actions in reading order: sources → wait → AI step → deliveries.
5. A loop cue wraps the following steps until an aggregate ("then post a digest"); two or more
   sources run in parallel and merge into the next step.
Nothing is added that the request does not ask for.

This module is the orchestration (:class:`OfflinePlanner`); the parts it calls:
:mod:`pilot.generation.planner_state` (the clause-by-clause assembly and the order its readers
are tried in), :mod:`pilot.generation.planner_conditionals` (which clauses open a condition or a
case), :mod:`pilot.generation.planner_branches` (the if / otherwise reader),
:mod:`pilot.generation.planner_case_lists` (label-led case lists, "respectively", parallel
tasks), :mod:`pilot.generation.planner_loops` (loop helpers),
:mod:`pilot.generation.planner_triggers` (rules on the trigger's own clause) and
:mod:`pilot.generation.planner_passes` (passes over the assembled steps); one clause's actions
are read by :mod:`pilot.generation.plan_actions`.
"""

from __future__ import annotations

import re

from pilot.generation import phrases as ph
from pilot.generation.clauses import find_trigger, split_clauses
from pilot.generation.plan import AiStep, DeliverStep, WorkflowPlan
from pilot.generation.planner_messages import written_messages
from pilot.generation.planner_waits import relative_waits
from pilot.generation.planner_passes import (
    _cases_in_categories,
    _remark_before_its_push,
    _per_item_branch,
    _flat,
    _one_approval_at_a_time,
    _restore_value_case,
    _through_named_provider,
    _without_refused,
)
from pilot.generation.planner_at_once import deliveries_at_once
from pilot.generation.planner_or_cases import two_category_case_is_the_rest
from pilot.generation.planner_state import _State
from pilot.generation.planner_triggers import _approval_in_trigger, _event_threshold_first, _reply_in_place
from pilot.generation.text import clean, detect_language, normalize


_RUN_BY_HAND = re.compile(r"(?:^|(?<=[.!;]\s))(?:when(?:ever)?|once|each time|every time)\s+(?:i|we|you|someone)\s+(?:hit|click|press|tap|push)\s+"
                          r"(?:the\s+)?(?:run|go|start|play)(?:\s+button)?\s*,?\s*|(?:^|(?<=[.!;]\s))when(?:ever)?\s+(?:i|we)\s+run\s+(?:it|this|the (?:workflow|flow|automation))\s*,?\s*"
                          r"|^(?:点(?:一下)?运行(?:按钮)?|手动运行|手动触发)(?:的时候|时|后)?\s*[,，]?\s*")


# "if it can't answer, …" is a hand-off case (planner_triggers._reply_in_place), not a second answer;
# "回答不了就转人工": a human agent takes the conversation over
_CANT_ANSWER = re.compile(r"\bif (?:it|the ai|ai|the bot|the agent|the assistant|they) (?:can't|cannot|can not|couldn't|is unable to|fails to)"
                         r" answer(?: it| that| the question| them)?\b|\bif (?:there is|there's) no answer\b")
_TO_A_HUMAN = re.compile(r"(?<=[就则])转(?:给|到|接)?人工(?:客服)?(?=$|[，,。；;!！])")

# "逐个看看是不是超过48小时还没发货，超时的就推送…": a threshold asked as a yes/no question, its yes-side
# named by the threshold's own word; the same as "如果超过48小时还没发货，就推送…" (a comparison, not a read)
_WHETHER_OVER_ZH = re.compile(r"(?P<each>逐个|逐条|挨个|一个个|一条条)?(?:看看|看一下|检查一下|检查|判断一下|判断|确认一下|确认)"
                              r"(?P<subj>[\u4e00-\u9fff]{0,6}?)(?:是不是|是否)(?P<cond>(?:已经)?(?:超过|大于|高于|多于|低于|少于|小于|不到|不足)"
                              r"\s*\d[\d.,]*\s*[\u4e00-\u9fff%]{0,10}?)\s*[,，]\s*"
                              r"(?:(?:超时|超过|超出|超标|低于|不足|不到|是)(?:了)?的(?:话)?|是的话|如果是)\s*(?:就)?")


def _whether_over(m: re.Match[str]) -> str:
    return f"{m.group('each')}处理:{m.group('subj')}{m.group('cond')}的就" if m.group("each") else \
        f"如果{m.group('subj')}{m.group('cond')},就"


_TITLE_HEAD = re.compile(r"^(?:[a-z][\w-]*\s+){0,3}(?:bot|chatbot|assistant|workflow|automation)\s*:\s*")


_DO_ALL_AT_ONCE = re.compile(r"^(?:&)?(?:please\s+)?(?:do|run|send|make|perform|fire|trigger)?\s*(?:all|both)?\s*(?:two|three|four|five|2|3|4|5)?\s*"
                             r"(?:of them|steps|actions|things)?\s*(?:in parallel|at the same time|simultaneously|at once|concurrently)\s*[.!]?$"
                             r"|^(?:这)?[两三四五]?(?:件事|个动作|步)?(?:都)?(?:同时|并行)(?:进行|做|执行|跑)?$")


def _said_at_once(clauses: list[str]) -> list[str]:
    """"…, and send their manager a checklist email. Do all three in parallel.": the last sentence says
    the steps before it run at once (said at the end of the last one, where deliveries_at_once reads it)."""
    out: list[str] = []
    for clause in clauses:
        if out and _DO_ALL_AT_ONCE.match(clause.strip().lower()):
            out[-1] = out[-1].rstrip(" .") + " all at once"
            continue
        out.append(clause)
    return out


class OfflinePlanner:
    """``plan(prompt)`` → :class:`WorkflowPlan`; pure and deterministic."""

    def plan(self, prompt: str) -> WorkflowPlan:
        raw = clean(prompt)
        # CJK quotes carry no meaning for planning, except between quoted items: “售前咨询”“售后问题” is a list
        text = ph.service_words(re.sub(r"[“”「」『』‘’]", "", re.sub(r"[”」』’]\s*[“「『‘]", "、", normalize(raw))))
        # asides addressed to us ("(I'll enter their name and email)") are not steps
        text = re.sub(r"\((?:i'll|i will|we'll|we will|e\.g\.|i\.e\.|eg|ie|for example|我会|比如)[^)]*\)", " ", text)
        text = _RUN_BY_HAND.sub(" ", text)  # "When I hit run, grab …": started by hand, not a condition
        text = _WHETHER_OVER_ZH.sub(_whether_over, text)
        text = _CANT_ANSWER.sub("if it is not answerable", text)  # "if it can't answer, …": a case, not a second answer
        text = _TO_A_HUMAN.sub("通知人工客服", text)  # "回答不了就转人工": a human agent takes the conversation over
        lang = "zh" if detect_language(raw) == "zh" else "en"
        trigger, trigger_clause, rest = find_trigger(text)
        rest = ph.arrow_chain(rest).strip(" ,").removeprefix("then ").strip(" ,")
        rest = _TITLE_HEAD.sub("", rest)  # "Telegram bot: users send …": what is built, not a step
        state = _State(lang, raw, trigger_clause, trigger.__struct_config__.tag)
        clauses = _approval_in_trigger(_event_threshold_first(split_clauses(rest, lang), trigger, trigger_clause, state),
                                       trigger, trigger_clause)
        steps = state.assemble(_said_at_once(clauses))
        steps = _one_approval_at_a_time(_without_refused(_reply_in_place(trigger, steps, state), clauses))
        steps = _cases_in_categories(two_category_case_is_the_rest(_per_item_branch(_through_named_provider(steps, raw), state)))
        steps = deliveries_at_once(_remark_before_its_push(steps, trigger.__struct_config__.tag), state.uid)
        trigger, steps = relative_waits(trigger, steps, raw)
        steps = written_messages(steps, lang, state.uid, raw, no_ai=state.no_ai)
        if not state.no_ai and not any(isinstance(s, AiStep) for s in _flat(steps)) and not any(
                isinstance(s, DeliverStep) for s in _flat(steps)):
            steps.append(AiStep(id=state.uid("answer" if trigger.__struct_config__.tag == "chat" else "generate"),
                                task="answer" if trigger.__struct_config__.tag == "chat" else "generate",
                                instruction=raw[:500], quote=raw[:200]))
        _restore_value_case(steps, raw)
        return WorkflowPlan(title=_title(raw), language=lang, trigger=trigger, steps=steps)


def _title(raw: str) -> str:
    first = re.split(r"[.。!?！？\n]", raw, maxsplit=1)[0].strip()
    return first[:60] + ("…" if len(first) > 60 else "")


__all__ = ["OfflinePlanner"]
