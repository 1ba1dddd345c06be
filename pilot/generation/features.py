"""Feature detection (loop, condition, knowledge, ...) and the ordered steps of a request.

Works on normalised text (see :mod:`pilot.generation.text`). Every rule is a regular
expression compiled once; "every morning" (a schedule) is told apart from "every email" (a
loop), and "when a new ticket arrives" (a trigger) from "when the total exceeds 100" (a branch).
"""

from __future__ import annotations

import re

from pilot.generation.blueprint import Entities, Features, Step
from pilot.generation.text import ascii_re

_TIME_WORDS = (r"(?:day|days|morning|mornings|evening|night|week|weeks|month|months|hour|hours|minute|minutes|time|times|"
               r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekday|weekdays|year|other|single day|\d+)")
LOOP_RE = ascii_re(
    rf"\bfor (?:each|every)\b(?!\s+{_TIME_WORDS}\b)|\beach\s+(?!{_TIME_WORDS}\b|other\b|of them\b)\w+|\bevery\s+(?!{_TIME_WORDS}\b)\w+"
    r"|\bone by one\b|\bitem by item\b|\brow by row\b|\bin (?:bulk|batch(?:es)?)\b|\bbatch(?:es)?\b|\bbulk\b|\ball (?:of )?the \w+s\b"
    r"|\biterate\b|\bloop (?:over|through)\b|\ba list of\b|\blist of \w+s\b|\bmultiple\b"
    r"|批量|每一(?:个|条|封|篇|行|份|位|项|张|页|章|段|句|件|笔|单|首|家)|逐个|逐条|逐一|逐行|逐篇|逐页|逐章|逐段|挨个|一个一个|遍历|循环"
    r"|所有的?(?:邮件|评论|工单|文章|文件|客户|线索|订单|记录|链接|简历|发票)"
    r"|每(?:个|条|封|篇|行|份|位|项|张|页|章|段|句|件|笔|单|首|家)(?!月|星期|礼拜|小时|工作日|周)"
)
CONDITION_RE = ascii_re(
    r"\bif\b|\botherwise\b|\belse\b|\bunless\b|\bin case\b|\bdepending on\b|\bonly (?:when|if)\b|\bwhether\b"
    r"|\bwhen(?:ever)?\b[^,.;]*\b(?:is|are|was|exceeds?|greater|less|more than|fewer|above|below|over|under|contains?|"
    r"negative|positive|urgent|fails?|failed|high|low|missing)\b"
    r"|如果|假如|要是|若是|若|否则|不然|的话|是否|超过|低于|高于|大于|小于|一旦|根据.{0,12}(?:分别|不同)|判断|不是.{0,10}就"
)
_ELSE_RE = ascii_re(r"\botherwise\b|\belse\b|否则|不然|反之|其他情况|其余")
KNOWLEDGE_RE = ascii_re(
    r"knowledge ?base|\bour (?:docs?|documentation|documents|manuals?|wiki|faq|policies|handbook)\b|\bdocs?\b|\bdocumentation\b"
    r"|\bdocuments?\b|\bpdfs?\b|\bmanuals?\b|\bhandbook\b|\bwiki\b|\bfaqs?\b|\bpolic(?:y|ies)\b|\brag\b|\bretriev"
    r"|知识库|文档|手册|说明书|资料库|常见问题|faq|制度|规章|政策|检索|内部资料"
)
NOTIFY_RE = ascii_re(
    r"\bnotify\b|\bnotification\b|\balert\b|\bping\b|\bsend (?:it|them|me|a|the|an|to)\b|\bpost (?:it|them|to|in|on)\b|\bemail me\b"
    r"|\bmessage me\b|\bremind\b|通知|提醒|推送|告警|报警|发给|发到|发送"
)
# Documents are a knowledge base only when the request answers questions from them
# ("translate our docs" reads documents as input; "answer questions from our docs" retrieves).
ANSWER_RE = ascii_re(
    r"\banswer|\bquestions?\b|\bask\b|\bbased on\b|\baccording to\b|\bq ?& ?a\b|\bfaqs?\b|\brag\b|\bretriev|knowledge ?base"
    r"|\bchat ?bot|\blook ?up\b|回答|问答|问题|咨询|答疑|根据|依据|基于|知识库|检索|查询"
)
REVIEW_RE = ascii_re(r"\bapprov|\bhuman review\b|\bmanual review\b|\breview before\b|\bsign[- ]off\b|审批|人工审核|人工确认|确认后|审核后")
_SPLIT_RE = ascii_re(
    r"[,;.!?，。；！？、\n]+|\b(?:and then|then|after that|afterwards|finally|next|and also)\b|然后|接着|之后|随后|再把|最后|并且|同时"
)
_FETCH_RE = ascii_re(
    r"\b(?:fetch|get|pull|grab|scrape|crawl|read|collect|gather|load|download|monitor|watch|import|search|look up|find|query|check)\w*\b"
    r"|https?://|获取|拉取|抓取|爬取|读取|收集|搜集|采集|下载|导入|监控|搜索|查找|查询|从"
)
_RETRIEVE_RE = KNOWLEDGE_RE
_NOTIFY_STEP_RE = ascii_re(
    r"\b(?:send|post|notify|alert|email|ping|share|push|publish|forward|deliver|message)\w*\b|发到|发送|推送|通知|发给|同步到|分享|发布|提醒"
)
_TRIGGER_RE = ascii_re(
    r"^(?:every|each|daily|weekly|hourly|on (?:monday|tuesday|wednesday|thursday|friday)|when(?:ever)? (?:a |an )?new|"
    r"每天|每日|每周|每月|每小时|每隔|每晚|天天|当.{0,8}(?:收到|有新)|收到)"
)
_CONDITION_TERM_RE = ascii_re(
    r"\b(?:if|when|unless|only if|only when|in case)\s+(?:the\s+|it\s+|a\s+|an\s+|they\s+)?([^,.;]{1,60}?)(?=\s*(?:,|\bthen\b|\.|;|$|\b(?:send|post|notify|alert|escalate|forward|email|flag|route|reply|create|mark)\b))"
    r"|(?:如果|假如|要是|若是|若|一旦)\s*([^，,。；;]{1,30}?)(?=\s*(?:，|,|就|则|那么|。|；|$|的话))"
)


def detect(text: str, entities: Entities) -> Features:
    """Features of a normalised request, given the entities found in it."""
    web = bool(entities.urls) or any(s in entities.data_sources for s in ("web", "rss", "news", "hacker_news"))
    return Features(
        loop=bool(LOOP_RE.search(text)),
        condition=bool(CONDITION_RE.search(text)),
        knowledge=bool(KNOWLEDGE_RE.search(text)) and bool(ANSWER_RE.search(text)),
        schedule=entities.schedule is not None,
        notification=bool(entities.destinations) or bool(NOTIFY_RE.search(text)),
        web_fetch=web,
        api=bool(entities.sources) or "api" in entities.data_sources,
        human_review=bool(REVIEW_RE.search(text)),
    )


def has_else(text: str) -> bool:
    return bool(_ELSE_RE.search(text))


def condition_terms(text: str) -> list[str]:
    """What the request's conditions test for: "the sentiment is negative", "金额超过1000"."""
    terms: list[str] = []
    for m in _CONDITION_TERM_RE.finditer(text):
        term = (m.group(1) or m.group(2) or "").strip()
        if re.search(r"\bnew\b|arriv|comes? in|收到|有新", term):
            continue  # a trigger ("when a new ticket arrives"), not a branch
        if term and term not in terms:
            terms.append(term)
    return terms[:3]


def steps(text: str, features: Features, entities: Entities) -> list[Step]:
    """The request's clauses in order, each labelled with what it does and its node type."""
    clauses = [c.strip() for c in _SPLIT_RE.split(text) if c and len(c.strip()) > 1][:12]
    out: list[Step] = []
    for clause in clauses:
        action, node_type = _classify(clause, features)
        if out and out[-1].action == action and action in ("process", "trigger"):
            out[-1] = Step(order=out[-1].order, action=action, node_type=node_type, text=f"{out[-1].text}, {clause}")
            continue
        out.append(Step(order=len(out) + 1, action=action, node_type=node_type, text=clause[:200]))
    if not any(s.action == "process" for s in out):
        out.append(Step(order=len(out) + 1, action="process", node_type="llm", text=text[:200]))
    out.append(Step(order=len(out) + 1, action="output", node_type="output", text="return the result"))
    return out


def _classify(clause: str, features: Features) -> tuple[str, str]:
    if features.schedule and _TRIGGER_RE.search(clause) and len(clause) < 40:
        return "trigger", "input"
    if features.condition and CONDITION_RE.search(clause):
        return "condition", "condition"
    if features.loop and LOOP_RE.search(clause):
        return "loop", "loop"
    if _RETRIEVE_RE.search(clause) and features.knowledge:
        return "retrieve", "knowledge"
    if _NOTIFY_STEP_RE.search(clause) and features.notification:
        return "notify", "tool"
    if _FETCH_RE.search(clause) and (features.web_fetch or features.api):
        return "fetch", "api"
    return "process", "llm"
