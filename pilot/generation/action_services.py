"""How a service named in a clause figures in it (offline planner, pure): read from ("from our
Postgres table"), the user's own ("summarise my emails"), only the topic ("a post on how to use
Instagram Reels"), a style or a link ("a LinkedIn-style post", "the Zoom link"), never written to
(read-only: web search, a feed, a model provider); and the app an ``app_event`` trigger comes
from."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from pilot.generation import entities as ent
from pilot.generation.around import AroundName, any_around
from pilot.generation.prefilter import compile_filtered

if TYPE_CHECKING:
    from pilot.generation.planner_state import _State


def _owned(sid: str, clause: str) -> bool:
    """"summarise my emails", "我的邮件": the user's own mailbox / channel is read."""
    integ = ent.BY_ID[sid]
    return any(any_around(_OWNED, clause, a) for a in (*integ.en, *integ.zh) if a and a in clause) or _HISTORY.search(clause) is not None


_KEPT_RECORDS = (r"(?:的|里的|上的|'s\s+|\s+)(?:考勤|打卡|审批(?:记录|单)?|日志|工作日志|日报|周报|请假|报销单|记录|数据|报表|统计|客户列表|客户名单|通讯录|成员列表|"
                 r"attendance|analytics|approvals?|audit log|records?|stats|statistics|reports?)")
_OWNED = (AroundName(r"\b(?:my|our)\s+(?:[\w#-]+\s+)?", r"\b"), AroundName(r"我的\s*"),
          AroundName(after=_KEPT_RECORDS))  # "钉钉的考勤异常", "Slack's analytics": records the app itself keeps


# "this week's messages from our #product channel", "客户群里的聊天记录": a channel's history is read
_HISTORY = compile_filtered(r"\b(?:messages?|conversations?|chats?|threads?|posts?|discussions?)\s+(?:from|in|on|of)\b|聊天记录|会话记录|群消息|消息记录|对话记录|群(?:聊)?(?:里|中|内)的?(?:讨论|聊天|消息|对话|发言)")


_TOPIC_BEFORE = compile_filtered(r"(?<!saying )(?<!say )(?<!talking )(?<!said )(?<!posting )(?<!complaining )(?<!tweeting )\b(?:about(?! \d)|on how|how (?:to|we|you|they|small|our|your)|mentioning|mention(?:s)? that|explaining|explain how|regarding|"
                           r"on the topic of|asking (?:\w+ ){0,2}to (?:leave|write|give|post|rate|review|follow|join|try)|asking (?:them |him |her |for )+|to leave (?:us )?)\b[^,;.)）]{0,60}$")
_DIRECTED = compile_filtered(r"\b(?:to|into|onto|on|in|via|through)\s+(?:the\s+|our\s+|my\s+|their\s+)?$")


_WHOLE_NAME = AroundName(behind=r"(?<![a-z0-9])", after=r"(?![a-z0-9])")


def _topic(sid: str, clause: str) -> bool:
    """Every mention of the service sits in what the text is about ("a post on how to use
    Instagram Reels", "asking them to leave a Google review"), none after a direction."""
    svc = ent.BY_ID[sid]
    spans = [at for a in svc.en if a and a in clause for at in _WHOLE_NAME.name_starts(clause, a)]
    return bool(spans) and all(_TOPIC_BEFORE.search(clause[:at]) and not _DIRECTED.search(clause[:at]) for at in spans)


# "publish the LinkedIn post": the post goes to LinkedIn (a "LinkedIn post" alone is a format)
_PUBLISH_THE = r"\b(?:publish|post|share|schedule)\w*\s+(?:the|this|that|our|my|it as a)\s+"


def _named_with(sid: str, suffix: str, clause: str, before: str = "") -> bool:
    """Whether one of the service's names is followed by ``suffix`` ("LinkedIn-style", "Zoom link")
    (and preceded by ``before``, when given)."""
    svc = ent.BY_ID[sid]
    pattern = _around(before, suffix)
    return any(pattern.search(clause, a) for a in (*svc.en, *svc.zh) if a and a in clause)


@lru_cache(maxsize=64)  # a handful of (before, suffix) pairs: the callers pass phrase constants
def _around(before: str, after: str) -> AroundName:
    return AroundName(before, after)


def _read_only(sid: str) -> bool:
    """A service nothing is written to (web search, a news feed, a model provider); Stripe reads *and* refunds."""
    svc = ent.BY_ID[sid]
    # a model provider ("rewrite it with Groq", "using OpenRouter AI") runs the AI step, it receives nothing
    return (svc.role == "source" and not svc.write_op) or svc.category == "ai"


# how a name is read from (any of them): "from our Postgres", "从MySQL", "Notion's", "数据都在飞书表格"…
_READ_FROM = (
    AroundName(r"\b(?:from|out of|of)\s+(?:our\s+|the\s+|my\s+|their\s+|your\s+)?", r"\b"),
    AroundName(r"从\s*"),
    AroundName(after=r"'s\b"),
    AroundName(r"\bfrom\b[^,.;]{0,30}\b(?:in|on)\s+(?:our\s+|the\s+)?", r"\b"),
    AroundName(r"\b(?:with|of|from)\s+(?:my|our)\s+(?:\w+\s+)?", r"\b"),
    AroundName(r"\babout\s+(?:our\s+|the\s+|your\s+)?", r"\b"),
    AroundName(r"\b(?:my|our)\s+(?:unread|new|incoming|latest|recent)\s+", r"\b"),  # "summarize my unread gmail and text me …"
    AroundName(r"\b(?:we|i|you|they)\s+(?:published|posted|wrote|sent|shared)\s+(?:on|to|in)\s+(?:our\s+|the\s+)?"),
    AroundName(r"数据(?:都)?(?:在|存在|放在)\s*"),
    AroundName(r"把\s*", r"[^,，。;；]{0,8}?的"),
    AroundName(r"把[^,，。;；写存同发推记加导插到进]{0,8}?", r"\s*的?\s*(?:交易|支付|销售|用户)?(?:记录|数据|订单|交易|明细|列表|信息)"),
    AroundName(r"(?:根据|基于)\s*"),
    AroundName(after=r"\s*(?:账号|店铺|后台|频道|主页)的?\s*(?:数据|报表|统计|指标|播放量|粉丝数?)"),  # "推送一下今天抖音账号的数据"
    AroundName(behind=r"(?<![到进入在往给成为])(?<!到我)(?<!进我)(?<!到我们)(?<!到我的)(?<!进我们)",
                after=r"\s*(?:crm|erp|系统|后台|平台)?\s*(?:上|里|中)(?:新增|新建|新来|最新|今天|当天)?的"),  # "纷享销客CRM里新增的客户数"
    AroundName(after=r"\s*(?:工作)?群(?:聊)?(?:里|中|内)的?(?:讨论|聊天|消息|对话|发言)"),  # "把今天钉钉群里的讨论总结一下": the group's history
    AroundName(after=r"\s+(?:sales|revenue|numbers|figures|metrics|stats|kpis?|analytics)\b"),  # "post today's Shopify sales numbers to Slack"
)
# "send it to the customer from our Gmail": the account it goes out from
_SENT_FROM = AroundName(r"\b(?:send|sends|sent|reply|replies|forward|forwards)\b[^,.;]{0,60}?\bfrom\s+(?:our\s+|my\s+|the\s+)?", r"\b")
# "把 MySQL 里的订单状态更新为已支付": written there
# "add their name to the 'Rejected' tab of my Google Sheet": where it goes is a part of the service
_PART_OF_IT = AroundName(r"\b(?:to|into|in|onto)\s+(?:the|a|our|my|their|that)\s+[\w' -]{0,30}?\b(?:tab|sheet|worksheet|table|page|list|folder|database|board|column)"
                         r"\s+(?:of|in|on)\s+(?:my\s+|our\s+|the\s+|their\s+)?", r"\b")
_UPDATED_IN = AroundName(r"把\s*", r"[^,，。;；]{0,16}?(?:更新|改为|改成|标记为|标成|设为|置为)")
# "就只更新一下腾讯文档里的订单表": the verb before the service writes there
_WRITTEN_INTO = AroundName(r"(?:更新|写入|写进|写到|记到|存到|存进|同步到|添加到|加到|填到|录入)(?:一下)?(?:到)?\s*")


def _read_from(sid: str, clause: str) -> bool:
    integ = ent.BY_ID[sid]
    for alias in (*integ.en, *integ.zh):
        if not alias or alias not in clause:
            continue
        if integ.category == "email" and _SENT_FROM.search(clause, alias):
            return False
        if _UPDATED_IN.search(clause, alias) or _PART_OF_IT.search(clause, alias) or (not alias.isascii() and _WRITTEN_INTO.search(clause, alias)):
            return False
        if any_around(_READ_FROM, clause, alias):
            return True
    return False


def event_app(state: _State) -> str | None:
    """The known app an ``app_event`` trigger comes from ("淘宝店每来一条买家咨询" → taobao), else None."""
    if state.trigger_kind != "app_event":
        return None
    return next((x for x in sorted(state.trigger_clause_services()) if x in ent.BY_ID), None)
