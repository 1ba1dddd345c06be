"""How a service named in a clause figures in it (offline planner, pure): read from ("from our
Postgres table"), the user's own ("summarise my emails"), only the topic ("a post on how to use
Instagram Reels"), a style or a link ("a LinkedIn-style post", "the Zoom link"), never written to
(read-only: web search, a feed, a model provider); and the app an ``app_event`` trigger comes
from."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pilot.generation import entities as ent
from pilot.generation.prefilter import compile_filtered
from pilot.generation.text import cached_re

if TYPE_CHECKING:
    from pilot.generation.planner_state import _State


def _owned(sid: str, clause: str) -> bool:
    """"summarise my emails", "我的邮件": the user's own mailbox / channel is read."""
    integ = ent.BY_ID[sid]
    return any(cached_re(r"\b(?:my|our)\s+(?:[\w#-]+\s+)?" + re.escape(a) + r"\b|我的\s*" + re.escape(a)
                         # "钉钉的考勤异常", "Slack's analytics": records the app itself keeps
                         + r"|" + re.escape(a) + _KEPT_RECORDS).search(clause)
               for a in (*integ.en, *integ.zh) if a and a in clause) or _HISTORY.search(clause) is not None


_KEPT_RECORDS = (r"(?:的|里的|上的|'s\s+|\s+)(?:考勤|打卡|审批(?:记录|单)?|日志|工作日志|日报|周报|请假|报销单|记录|数据|报表|统计|"
                 r"attendance|analytics|approvals?|audit log|records?|stats|statistics|reports?)")


# "this week's messages from our #product channel", "客户群里的聊天记录": a channel's history is read
_HISTORY = compile_filtered(r"\b(?:messages?|conversations?|chats?|threads?|posts?|discussions?)\s+(?:from|in|on|of)\b|聊天记录|会话记录|群消息|消息记录|对话记录")


_TOPIC_BEFORE = compile_filtered(r"(?<!saying )(?<!say )(?<!talking )(?<!said )(?<!posting )(?<!complaining )(?<!tweeting )\b(?:about(?! \d)|on how|how (?:to|we|you|they|small|our|your)|mentioning|mention(?:s)? that|explaining|explain how|regarding|"
                           r"on the topic of|asking (?:\w+ ){0,2}to (?:leave|write|give|post|rate|review|follow|join|try)|asking (?:them |him |her |for )+|to leave (?:us )?)\b[^,;.)）]{0,60}$")
_DIRECTED = compile_filtered(r"\b(?:to|into|onto|on|in|via|through)\s+(?:the\s+|our\s+|my\s+|their\s+)?$")


def _topic(sid: str, clause: str) -> bool:
    """Every mention of the service sits in what the text is about ("a post on how to use
    Instagram Reels", "asking them to leave a Google review"), none after a direction."""
    svc = ent.BY_ID[sid]
    spans = [m.start() for a in svc.en if a and a in clause
             for m in cached_re(r"(?<![a-z0-9])" + re.escape(a) + r"(?![a-z0-9])").finditer(clause)]
    return bool(spans) and all(_TOPIC_BEFORE.search(clause[:at]) and not _DIRECTED.search(clause[:at]) for at in spans)


# "publish the LinkedIn post": the post goes to LinkedIn (a "LinkedIn post" alone is a format)
_PUBLISH_THE = r"\b(?:publish|post|share|schedule)\w*\s+(?:the|this|that|our|my|it as a)\s+"


def _named_with(sid: str, suffix: str, clause: str, after: str = "") -> bool:
    """Whether one of the service's names is followed by ``suffix`` ("LinkedIn-style", "Zoom link")
    (and preceded by ``after``, when given)."""
    svc = ent.BY_ID[sid]
    return any(cached_re(after + re.escape(a) + suffix).search(clause) for a in (*svc.en, *svc.zh) if a and a in clause)


def _read_only(sid: str) -> bool:
    """A service nothing is written to (web search, a news feed, a model provider); Stripe reads *and* refunds."""
    svc = ent.BY_ID[sid]
    # a model provider ("rewrite it with Groq", "using OpenRouter AI") runs the AI step, it receives nothing
    return (svc.role == "source" and not svc.write_op) or svc.category == "ai"


def _read_from(sid: str, clause: str) -> bool:
    integ = ent.BY_ID[sid]
    for alias in (*integ.en, *integ.zh):
        if not alias or alias not in clause:
            continue  # every pattern below contains the name itself (a name not in the clause compiles nothing)
        a = re.escape(alias)
        if integ.category == "email" and cached_re(r"\b(?:send|sends|sent|reply|replies|forward|forwards)\b[^,.;]{0,60}?\bfrom\s+(?:our\s+|my\s+|the\s+)?"
                                                   + a + r"\b").search(clause):
            return False  # "send it to the customer from our Gmail": the account it goes out from
        if cached_re(r"把\s*" + a + r"[^,，。;；]{0,16}?(?:更新|改为|改成|标记为|标成|设为|置为)").search(clause):
            return False  # "把 MySQL 里的订单状态更新为已支付": written there
        if cached_re(r"\b(?:from|out of|of)\s+(?:our\s+|the\s+|my\s+|their\s+|your\s+)?" + a + r"\b|从\s*" + a + "|" + a + r"'s\b"
                     r"|\bfrom\b[^,.;]{0,30}\b(?:in|on)\s+(?:our\s+|the\s+)?" + a + r"\b"
                     r"|\b(?:with|of|from)\s+(?:my|our)\s+(?:\w+\s+)?" + a + r"\b|\babout\s+(?:our\s+|the\s+|your\s+)?" + a + r"\b"
                     r"|\b(?:we|i|you|they)\s+(?:published|posted|wrote|sent|shared)\s+(?:on|to|in)\s+(?:our\s+|the\s+)?" + a +
                     r"|数据(?:都)?(?:在|存在|放在)\s*" + a + r"|把\s*" + a + r"[^,，。;；]{0,8}?的" + r"|把[^,，。;；写存同发推记加导插到进]{0,8}?" + a + r"\s*的?\s*(?:交易|支付|销售|用户)?(?:记录|数据|订单|交易|明细|列表|信息)" + r"|(?:根据|基于)\s*" + a + "|(?<![到进入在往给成为])(?<!到我)(?<!进我)(?<!到我们)(?<!到我的)(?<!进我们)" + a + r"\s*(?:上|里|中)的").search(clause):
            return True
    return False


def event_app(state: _State) -> str | None:
    """The known app an ``app_event`` trigger comes from ("淘宝店每来一条买家咨询" → taobao), else None."""
    if state.trigger_kind != "app_event":
        return None
    return next((x for x in sorted(state.trigger_clause_services()) if x in ent.BY_ID), None)
