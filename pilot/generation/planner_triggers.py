"""Rules on the trigger's own clause (offline planner, pure): the approval or the threshold an
event's sentence asks for ("When an employee submits a claim it needs their manager's approval",
"When a new Shopify order over $500 comes in, …") becomes the first step or the condition of what
follows, and a message that arrives in a messenger is answered where it was asked."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import msgspec

from pilot.generation import conditions as conds
from pilot.generation import entities as ent
from pilot.generation import phrases as ph
from pilot.generation.clauses import CONTINUES, plain
from pilot.generation.plan import AiStep, BranchStep, DeliverStep, Step
from pilot.generation.planner_passes import _flat
from pilot.generation.prefilter import compile_filtered
from pilot.workflows.model import AppEventTrigger, Trigger

if TYPE_CHECKING:
    from pilot.generation.planner_state import _State


def _approval_in_trigger(clauses: list[str], trigger: Trigger, trigger_clause: str) -> list[str]:
    """"When an employee submits a claim it needs their manager's approval. Once approved, …": the
    approval the event's own sentence asks for is the first step."""
    if trigger.__struct_config__.tag not in ("app_event", "webhook", "form"):
        return clauses
    asked = _asked_of_event(trigger_clause)
    if asked and not any(ph.APPROVAL.search(plain(c)) for c in clauses[:1]):
        return [asked, *clauses]
    return clauses


def _asked_of_event(text: str) -> str:
    """The approval an event's sentence asks for ("… submits a claim it needs their manager's
    approval" → "needs their manager's approval"), else ""."""
    part = re.split(r"\b(?:it|they|which|this|that|each one)\s+(?=needs?\b|requires?\b|must\b|should\b|has to\b|have to\b)|(?=需要|须要|必须|要先)", text)
    asked = part[-1].strip(" ,.") if len(part) > 1 else ""
    return asked if asked and ph.APPROVAL.search(asked) else ""


_OTHER_VALUE = compile_filtered(r"\b(?:any|every|all) other\b|\botherwise\b|\belse\b|其他|其它|别的|否则")


def _sibling_case(field: str, clauses: list[str], lang: str) -> bool:
    """Whether a later clause is another case of the event's field ("If it's labelled question
    instead", "其他优先级的…", "otherwise …")."""
    name = conds.field_name(field) or field
    for clause in clauses:
        text = plain(clause)
        found = conds.comparison(text, lang)
        if (found is not None and found[0].field == name) or _OTHER_VALUE.search(text):
            return True
    return False


_SAID_AS = {"en": {"gt": "is over", "ge": "is at least", "lt": "is below", "le": "is at most"},
            "zh": {"gt": "超过", "ge": "不低于", "lt": "低于", "le": "不超过"}}


# "禅道里新建了严重程度为1的bug时", "When a bug with severity 1 is created in Jira": which of the app's
# records the workflow is for, a field the event's record holds set to a value
_EVENT_FIELD_IS = compile_filtered(
    r"(?P<zf>严重程度|严重级别|优先级|级别|等级|类型|标签)(?:为|是|等于)\s*(?P<zv>[a-z0-9\u4e00-\u9fff]{1,6}?)的"
    r"|\bwith (?:a |an )?(?P<ef>severity|priority|label|tier|plan)(?: of| level| set to)?\s+(?P<ev>[a-z0-9-]{1,12})\b")
_FIELD_NAMES_ZH = {"严重程度": "severity", "严重级别": "severity", "优先级": "priority", "级别": "level", "等级": "level",
                   "类型": "type", "标签": "label"}


def _event_threshold_first(clauses: list[str], trigger: Trigger, trigger_clause: str, state: _State) -> list[str]:
    """"When a new Shopify order over $500 comes in, text our sales manager": the event's threshold
    is the condition of what follows (a clause of its own would say "if …" itself)."""
    if trigger.__struct_config__.tag not in ("app_event", "webhook", "form") or not clauses:
        return clauses
    changed = ph.state_value(trigger_clause) if trigger.__struct_config__.tag == "app_event" else None
    if changed is not None and not state._conditional(plain(clauses[0])) and _sibling_case(changed[0], clauses[1:], state.lang):
        # "When a GitHub issue is labelled bug, create a Jira ticket. If it's labelled question, …":
        # the value the event set is the first case's condition (with no other case it is the
        # event itself: "When a Jira issue moves to Done, post it in #releases")
        field, value = changed[0], changed[1]
        lead = f"如果{field}是{value}" if state.lang == "zh" else f"if the {field} is {value}"
        return _led_by(lead, clauses)
    named = _EVENT_FIELD_IS.search(trigger_clause) if trigger.__struct_config__.tag == "app_event" else None
    if named is not None and not any(state._conditional(plain(c)) for c in clauses):
        # nothing else is conditional: every step is for the records with that value
        field = named.group("ef") or _FIELD_NAMES_ZH[named.group("zf")]
        value = named.group("ev") or named.group("zv")
        # ("严重程度为1的": a value in letters or digits is quoted, or the Chinese condition parser
        # would read "是1" as an AI category)
        lead = (f"如果“{field}”是“{value}”" if value.isascii() else f"如果{field}是{value}") if state.lang == "zh" \
            else f"if the {field} is {value}"
        return [lead, *(c if c.startswith(CONTINUES) else CONTINUES + c for c in clauses)]
    found = conds.comparison(trigger_clause, state.lang)
    if found is None or found[0].field in ("", "value") or found[0].op not in ("gt", "ge", "lt", "le") \
            or not isinstance(found[0].value, (int, float)):
        return clauses
    others = [conds.comparison(plain(c), state.lang) for c in clauses if state._conditional(plain(c))]
    if others and not any(o is not None and o[0].value == found[0].value for o in others):
        return clauses  # a condition of its own; "…; for payments under $500 just log it" is the event's other side
    if others and state._conditional(plain(clauses[0])):
        return clauses
    cmp, zh = found[0], state.lang == "zh"
    said = _SAID_AS[state.lang].get(cmp.op)
    if said is None:
        return clauses
    lead = f"如果{cmp.field}{said}{cmp.value}" if zh else f"if the {cmp.field} {said} {cmp.value}"
    if not others and zh:
        # "抖店有差评（3星及以下）的时候，让AI生成…，然后推送到钉钉…，审核通过了再回复": nothing is said of the other
        # reviews, so every step is the low-rated one's
        return [lead, *(c if c.startswith(CONTINUES) else CONTINUES + c for c in clauses)]
    return _led_by(lead, clauses)


def _led_by(condition: str, clauses: list[str]) -> list[str]:
    """The condition as a clause of its own, the actions of the event's sentence continuing it
    ("…, post it in #vip-orders and tag the customer as VIP in Shopify": both on its branch)."""
    return [condition, CONTINUES + plain(clauses[0]), *clauses[1:]]


_NO_REPLY = compile_filtered(r"(?:不要|别|不用|无需|不必|don't|do not|never|no)\W{0,2}[^,.;，。；]{0,6}(?:回复|回答|答复|reply|replies|respond|answer)")


def _reply_in_place(trigger: Trigger, steps: list[Step], state: _State) -> list[Step]:
    """"客户在企业微信发消息时，让AI回答…", "when someone DMs us on Telegram, answer them": a message
    that arrives in a messenger is answered where it was asked, unless the request sends the
    answer somewhere itself; with a hand-off case ("if it can't answer, open a Zendesk ticket")
    the questions it could answer get the reply. Returns the steps with the reply."""
    if not isinstance(trigger, AppEventTrigger) or "message" not in trigger.event:
        return steps
    service = ent.lookup_service(trigger.service)
    flat = _flat(steps)
    answers = [s for s in flat if isinstance(s, AiStep) and s.task == "answer"]
    hand_offs = [s for s in steps if _hand_off_branch(s)]
    handed = {id(x) for b in hand_offs for c in b.cases for x in _flat(c.steps)}  # what the AI could not answer
    if service is None or service.kind != "messaging" or not answers or any(
            isinstance(s, DeliverStep) and id(s) not in handed for s in flat):
        return steps
    if _NO_REPLY.search(state.raw.lower()):
        return steps  # "结果给我看就行，先不要自动回复客户"
    reply = DeliverStep(id=state.uid(f"reply_{service.id}"), service=service.id, operation="send", content=answers[-1].id,
                        quote=answers[-1].quote)
    if hand_offs:  # "if it can't answer, create a Zendesk ticket": the others get the answer
        return [msgspec.structs.replace(s, otherwise=[reply]) if s is hand_offs[0] else s for s in steps]
    return [*steps, reply]


# a case for what the AI could not answer ("if it is not answerable", 回答不了): a hand-off to a person
_NOT_ANSWERED = compile_filtered(r"\bnot answerable\b|无法回答|回答不了|答不上|答不了|不能回答")


def _hand_off_branch(step: Step) -> bool:
    return isinstance(step, BranchStep) and step.otherwise is None and bool(step.cases) \
        and all(_NOT_ANSWERED.search(case.label) for case in step.cases)

