"""Messages a request names by kind: "send the customer a thank-you email", "给客户发一封感谢邮件".

A delivery says what it sends. After a summary or a fetched list it sends that; but "send them a
welcome email" right after the trigger has nothing to send but the raw event, and the workflow
then mails a JSON dump under "πlot: workflow result". A person asking for a thank-you, welcome,
confirmation or reminder message expects that message: :func:`written_messages` puts an AI step
that writes it (from what the trigger received) before each such delivery, unless the request
refuses AI ("不用ai"), and :func:`message_subject` gives an email its subject ("Thank you").
"""

from __future__ import annotations

import re

import msgspec

from pilot.generation.plan import (
    AiStep,
    DeliverStep,
    SourceStep,
    Step,
    SubflowStep,
    TransformStep,
    map_steps,
    with_children,
)
from pilot.generation.planner_passes import _spelled_in
from pilot.generation.prefilter import compile_filtered

# (kind words, English subject, Chinese subject); the kind is said before the message's medium
_KINDS = (
    (r"thank[- ]?you|thanks|感谢|致谢|答谢", "Thank you", "感谢"),
    (r"welcome|onboarding|欢迎|入职", "Welcome", "欢迎"),
    (r"confirmation|确认", "Confirmation", "确认"),
    (r"reminder|提醒", "Reminder", "提醒"),
    (r"follow[- ]?up|跟进|回访", "Following up", "跟进"),
    (r"birthday|生日祝福|生日", "Happy birthday", "生日快乐"),
    (r"congratulations?|congrats|祝贺|恭喜|祝福", "Congratulations", "祝贺"),
    (r"apology|道歉|致歉", "Our apologies", "致歉"),
    (r"invitation|invite|邀请", "Invitation", "邀请"),
    (r"rejection|婉拒|拒信", "Update on your application", "结果通知"),
)
_KIND_WORDS = "|".join(k for k, _en, _zh in _KINDS)
_MEDIUM_EN = r"e-?mails?|mails?|messages?|notes?|texts?|sms|dms?|letters?|cards?|whatsapps?"
_MEDIUM_ZH = r"邮件|信|消息|短信|通知|卡片|函|话"
# "a thank-you email", "a quick welcome message", "a confirmation" / "a reminder" as the thing sent,
# "感谢邮件", "一封感谢信", "发感谢": the kind before its medium, or as the object itself
_NAMED = compile_filtered(
    rf"\b(?:a|an|the|their|our|my|his|her)\s+(?:(?:quick|short|friendly|personal(?:i[sz]ed)?|polite|warm|nice|brief|"
    rf"automatic|automated|custom|sms|text|email|e-mail|whatsapp|slack|telegram|push)\s+)*(?P<en>{_KIND_WORDS})(?:\s+(?:{_MEDIUM_EN}))?\b"
    rf"|\b(?P<en2>{_KIND_WORDS})\s+(?:{_MEDIUM_EN})\b"
    rf"|(?P<zh>感谢|致谢|答谢|欢迎|确认|提醒|跟进|回访|生日祝福|祝贺|恭喜|祝福|道歉|致歉|邀请|婉拒)(?:{_MEDIUM_ZH})"
    rf"|(?:发|写|送|寄)(?:一|个)?(?:封|条|句|段|份)?(?P<zh2>感谢|祝福|道歉|祝贺|生日祝福)")
# a delivery of something already said ("send the confirmation number", "a reminder that the API key expires"
# is still a reminder); a delivery of a record someone keeps ("confirmation record") is not a message
_NOT_A_MESSAGE = compile_filtered(r"\b(?:confirmation|invitation|invite)\s+(?:number|code|link|record|id|status)s?\b")


# the message itself, quoted ("post a reminder in #general: "Please submit your timesheets""): nothing to write
_QUOTED = compile_filtered(r"[\"“「『][^\"”」』]{3,}[\"”」』]")
# …and sent as it is: quoted after a colon or "saying" (a quoted name, "the 'Orders' sheet", is not a message)
_SAID = compile_filtered(r"(?::|\bsaying|\bthat says|\bwith the (?:message|text)|说|内容是|内容为|写着)\s*[\"“「『](?P<text>[^\"”」』]{3,500})[\"”」』]")


def _kind(quote: str) -> tuple[str, str, str] | None:
    found = _NAMED.search(quote.lower())
    if found is None or _NOT_A_MESSAGE.search(quote.lower()) or _QUOTED.search(quote):
        return None
    word = next(g for g in found.groups() if g)
    return next(((word, en, zh) for pattern, en, zh in _KINDS if re.fullmatch(pattern, word)), None)


def message_subject(quote: str | None, zh: bool) -> str | None:
    """An email's subject for a message named by kind ("Thank you"), or None."""
    kind = _kind(quote or "")
    return None if kind is None else kind[2] if zh else kind[1]


# steps whose output a later delivery sends (an event trigger's raw payload is not a message, nor
# is a category, a score or extracted fields: "if the review is positive, send a thank-you email")
_PRODUCERS = (SourceStep, TransformStep, SubflowStep)
_JUDGEMENTS = ("classify", "score", "extract")


def _produces(step: Step) -> bool:
    return isinstance(step, _PRODUCERS) or isinstance(step, AiStep) and step.task not in _JUDGEMENTS


def written_messages(steps: list[Step], lang: str, uid, raw: str, *, no_ai: bool) -> list[Step]:
    """``steps`` with each quoted message sent as the request spells it, and an AI step writing
    each message named by kind that nothing before it produces (in branches, parallel branches
    and loops too; not when AI is refused)."""
    steps = map_steps(steps, lambda s: _quoted(s, raw))
    return steps if no_ai else _written(steps, lang, uid, produced=False)


def _quoted(step: Step, raw: str) -> Step:
    if not isinstance(step, DeliverStep) or step.content is not None or step.text is not None or step.operation != "send":
        return step
    found = _SAID.search(step.quote)
    if found is None:
        return step
    text = found.group("text").strip()
    return msgspec.structs.replace(step, text=_spelled_in(raw, text) or text)


def _written(steps: list[Step], lang: str, uid, *, produced: bool) -> list[Step]:
    out: list[Step] = []
    for step in steps:
        if isinstance(step, DeliverStep) and not produced and step.content is None and step.text is None and step.action is None \
                and step.operation == "send" and (kind := _kind(step.quote)) is not None:
            writer = AiStep(id=uid("write"), task="generate", quote=step.quote,
                            instruction=(f"撰写{kind[2]}内容（{step.quote}）" if lang == "zh" else
                                         f"Write the {kind[0]} message ({step.quote})"))
            out += [writer, msgspec.structs.replace(step, content=writer.id)]
            continue
        produced = produced or _produces(step)
        seen = produced
        out.append(with_children(step, lambda inner: _written(inner, lang, uid, produced=seen)))
    return out
