"""One clause → its actions: sources, a wait, an AI step, deliveries (offline planner, pure).

Services come from the integration registry with the role the governing verb gives them
(:func:`pilot.generation.entities.find_integrations`): "post it to Slack" is a delivery,
"pull our Stripe revenue" a source, "translate the email" neither (it is the subject).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import msgspec

from pilot.generation.prefilter import compile_filtered
from pilot.generation import entities as ent
from pilot.generation import phrases as ph
from pilot.generation.plan import AiStep, DeliverStep, ParallelStep, PlanField, SourceStep, Step, SubflowStep, TransformStep, WaitStep
from pilot.generation.text import ascii_re, cached_re

if TYPE_CHECKING:
    from pilot.generation.offline_planner import _State

_CHANNEL = compile_filtered(r"#[\w-]+")
_EMAIL = compile_filtered(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_WHO_EN = ascii_re(r"\b(?:email|e-mail|mail|notify|alert|message|ping|text|send (?:it |them |this |that |an? [\w ]{1,20}? )?to|"
                       r"forward (?:it |them )?to|cc)\s+(?:the |our |my |a |an |their )?(?P<who>[a-z][a-z ]{1,30}?)"
                       r"(?=\s+(?:with|about|that|saying|on|via|by|in|if|and|when|including|so|to)\b|[,.;]|$)")
_WHO_ZH = compile_filtered(r"(?:发(?:邮件|消息|短信)?给|通知|告知|提醒|发送给|转给|抄送)(?P<who>[\u4e00-\u9fff]{1,8}?)(?=[,，。；;]|$|并|和|，|的邮箱)")
_CATEGORIES = ascii_re(r"\b(?:into|as|as either|between|decides?\s*:|(?:priority|severity|category|level|tier|urgency)\s+(?:to|of))\s+(?P<list>[\w -]+(?:,\s*[\w -]+)*,?\s+(?:and|or)\s+[\w -]+)")
_CATEGORIES_ZH = compile_filtered(r"(?:分为|分成|归为|归类[成为到]|归到|划分为|分类为|分类:\s*|评定为|评为|标记为|判断是|判断为|是|属于|类型有|有|(?<![区部])分(?=[\u4e00-\u9fffa-z0-9]{1,8}、))\s*(?P<list>[\u4e00-\u9fff\w]+(?:\s*(?:[、,/和或]|还是)\s*[\u4e00-\u9fff\w]+)+)")
# "label it bug / feature / question", "tag as p1/p2/p3": a slash list
_CATEGORIES_SLASH = ascii_re(r"\b(?:label|labels|tag|tags|mark|marks|classify|classifies|categori[sz]e|sort|route)\s+(?:it|them|each(?: one)?|the \w+)?\s*(?:as|into)?\s*"
                                 r"(?P<list>[\w-]+(?:\s*/\s*[\w-]+)+)")
_CATEGORIES_IS = ascii_re(r"(?:\b(?:is|are|was|be)|'s)\s+(?:\w+ing\s+about\s+)?(?:an?\s+)?(?P<list>[\w-]+(?:,\s*(?:an?\s+)?[\w-]+)*,?\s+or\s+(?:an?\s+)?[\w-]+)")
_FIELDS_EN = ascii_re(r"\b(?:extracts?|pulls?(?: out)?|parses?|gets?|captures?|grabs?|guess|infer|determine)\s+(?:the\s+|their\s+|its\s+)?"
                          r"(?P<list>[\w' -]+(?:,\s*[\w' -]+)*,?\s+(?:and|\+|&)\s+[\w' -]+?)\s*(?:\b(?:out of|from|in|with|using|via|by|based on)\b|,|$)")
_WRITE_METHOD = compile_filtered(r"\b(?:post|put|patch)\b[^,.;]{0,45}?\s+(?:to|at|on|into)\s+$|(?<![a-z])(?:post|put|patch)(?:请求)?(?:到|给)?\s*$", re.I)
_WRITE_AFTER = compile_filtered(r"\s*(?:,\s*)?(?:创建|提交|写入|更新|新建|推送|上报|create|submit|update)")
_CALL_TO_SEND = compile_filtered(r"(?:调用|调)[^,，。;；]{0,14}?(?:接口|api)[^,，。;；]{0,3}?(?:群发|发送|推送|发|通知|回复|创建|提交|写入|下单)")
_ACCESS_REMARK = compile_filtered(r"[\w.' ]{1,30}\b(?:is|are|stays?)\s+read[- ]only\b[^.;]{0,60}$|(?:read[- ]only|only read|just read)(?:\s+(?:on|for|access|from|to)\b[^,.;]{0,40})?\s*[.!]?$|(?:只读|只查|只能查|只查不改)[^,，。；]{0,12}$")
_NAMED_SYSTEM = compile_filtered(r"系统|平台|后台|接口|\bapi\b|\bsystem\b|\bplatform\b|\bendpoint\b")
_HOW_NOUN = {"urgent": "urgency", "important": "importance", "serious": "severity", "severe": "severity", "bad": "severity",
             "likely": "likelihood", "big": "size", "large": "size", "happy": "satisfaction", "angry": "anger", "positive": "sentiment"}
_FIELDS_PAREN = ascii_re(r"(?:结构化|structured|fields?|字段)[\w\u4e00-\u9fff ]{0,12}\((?P<list>[^()]{2,80}?)\)")  # "结构化记录（功能点、问题、建议）"
_FIELDS_ZH = compile_filtered(r"(?:提取|抽取|抽出|提炼出|识别出|提取出|抽取出|解析出)(?:出)?(?:[^:：,，。]{0,20}[:：])?\s*(?P<list>[\u4e00-\u9fff\w]+(?:[、,和及][\u4e00-\u9fff\w]+)+)")
_CATEGORIES_COLON = ascii_re(r":\s*(?P<list>[\w -]{1,24}(?:,\s*[\w -]{1,24})*,?\s+or\s+[\w -]{1,24}?)\s*(?:[.;]|$)")  # "how bad it is: critical, warning or noise"
_CATEGORIES_PAREN = compile_filtered(r"\((?P<list>[\w -]+(?:,\s*[\w -]+)*,?\s+(?:or|and)\s+[\w -]+)\)|\((?P<list2>[\w\u4e00-\u9fff -]{1,12}(?:[、/]\s*[\w\u4e00-\u9fff -]{1,12}){1,7})\)")
_NOT_DEST = {"webhook"}
# "send them to the AI in batches of 20", "交给AI总结": handing data to the model is the AI step,
# not a delivery (to the service the data came from, or anywhere else).
_TO_AI = compile_filtered(r"\b(?:send|pass|feed|hand|give|run|push|submit|throw|pipe)\s+(?:(?:them|it|these|those|each(?: one)?|every\w*|all(?: of them)?|the \w+(?: \w+)?)\s+)?"
                    r"(?:over\s+)?(?:to|through|into)\s+(?:the\s+|an?\s+|our\s+)?(?:ai|llm|gpt[\w.-]*|chatgpt|claude|openai|model|language model)\b")
# "the messages posted in #feedback on Discord": where the data was posted, read from there
_POSTED_IN = compile_filtered(r"\b((?:messages?|comments?|posts?|links?|questions?|reviews?|articles?|content|photos?|videos?|feedback|updates?)"
                        r"(?: that (?:people|users|customers|members|the team|we|they))?)\s+(?:posted|sent|shared|left|dropped)\s+(?:in|on|to|into)\b")
_DESCRIBED_TARGET = compile_filtered(r"(?:是|这是)要?(?:发给|发送给|给)[^,，。]{0,14}的(?:邮件|内容|正文|文案|消息|通知)"
                                     # "营业数据会记在腾讯文档的表格里": where the data is kept, not a write
                                     r"|(?:会|都会|一般会|平时|每天都)(?:被)?(?:记|存|写|放|录)(?:在|到|进)")
_ASKS_AI = compile_filtered(r"\b(?:have|let|ask|get|use|using|with)\s+(?:the\s+|an\s+)?(?:ai|llm|gpt|chatgpt|model)\b(?!\s+(?:provider|key))|让\s*(?:ai|大模型)|用\s*(?:ai|大模型)|(?:ai|大模型)\s*(?:来|帮)")
_READ_DB = compile_filtered(r"(?:从|在)?(?:我们|公司|自己)?的?(?:数据库|\bdatabase\b|\bdb\b)(?:里|中|里面)?(?:的)?.{0,16}?(?:读|取出|拉|查|导出|捞)"
                      r"|(?:数据库|database)(?:里|中)(?:存了|有)\s*\d+"
                      r"|\b(?:pull|fetch|get|read|query|load|take)\b[^,.;]{0,40}\bfrom (?:our |the |my )?(?:\w+ )?(?:database|db)\b")
_READ_API = compile_filtered(r"(?:调|调用|请求|访问)(?:一[次下遍]|一下)?(?:我们|公司|自己)?的?(?P<name>[\u4e00-\u9fffa-z0-9]{0,10}?)(?:的)?(?:接口|api)(?![\u4e00-\u9fff]{0,2}(?:群发|发送|推送|回复|回帖|评论|发布|提交|创建|下单))"
                       r"|\b(?:call|hit|ping|poll|query)\s+(?:our |the |their )?(?P<name2>[\w/.' -]{0,30}?)\s*(?:endpoint|api)\b(?=[^,.;]{0,30}\b(?:check|get|read|see|for|and (?:check|see|get|read))\b)")
_THIS_ONE = compile_filtered(r"这场|这条|这个|这单|这次|该(?:订单|直播|会议|工单)|\b(?:this|that) (?:meeting|stream|order|call|event|ticket|issue|deal|recording)\b")
_UPTIME = compile_filtered(r"(?:检查|检测|监控|看看|check|monitor|ping)[^,，。;；]{0,12}(?:官网|网站|首页|主页|页面|接口|website|site|homepage|home page|url|endpoint)"
                     r"[^,，。;；]{0,12}(?:能不能|是否|能否|正常|可用|可以访问|挂了|\bis up\b|\bup\b|\bdown\b|reachable|available|responds?|status)")
_MARKET = compile_filtered(r"股价|收盘价|开盘价|实时价格|行情(?!分析)|涨跌幅|涨幅|跌幅|基金净值|净值|k线|汇率|币价"
                     r"|\b(?:stock|share|crypto|bitcoin|btc|eth) (?:price|prices|quote|quotes)\b|\bexchange rates?\b|\bclosing prices?\b")
_TO_AI_ZH = compile_filtered(r"(?:交给|发给|丢给|扔给|喂给|传给|提交给|送给)(?=\s*(?:ai|大模型|模型|gpt|chatgpt|llm)(?![a-z]))")


@dataclass
class Actions:
    sources: list[SourceStep] = field(default_factory=list)
    wait: WaitStep | None = None
    ai: AiStep | None = None
    transform: TransformStep | None = None
    subflow: SubflowStep | None = None
    deliveries: list[DeliverStep] = field(default_factory=list)

    parallel_id: str | None = None  # "at the same time create A, B and C": the deliveries run side by side
    wait_first: bool = False  # the clause opens with the wait
    wait_last: bool = False  # "先发一封欢迎邮件，等24小时": the wait follows what the clause sends first

    def steps(self) -> list[Step]:
        out: list[Step] = [*self.sources]
        # an approval in the same clause as an AI step approves what the AI wrote ("generate a post,
        # but ask me for approval before it is published"); other waits come before the work
        approves_ai = self.wait is not None and self.wait.approval is not None and self.ai is not None and not self.wait_first
        if self.wait is not None and not self.wait_last and not approves_ai:
            out.insert(0 if self.wait_first else len(out), self.wait)
        if self.transform is not None:
            out.append(self.transform)
        if self.ai is not None:
            out.append(self.ai)
        if approves_ai and not self.wait_last:
            out.append(self.wait)
        if self.subflow is not None:
            out.append(self.subflow)
        if self.parallel_id and len(self.deliveries) > 1:
            out.append(ParallelStep(id=self.parallel_id, branches=[[d] for d in self.deliveries]))
        else:
            out.extend(self.deliveries)
        if self.wait is not None and self.wait_last:
            out.append(self.wait)
        return out


def parse_actions(clause: str, state: _State, *, default_service: str | None = None) -> Actions:
    """The actions one clause asks for, in reading order."""
    from pilot.generation.conditions import wait_seconds

    acts = Actions()
    quote = clause[:200]
    if _ACCESS_REMARK.match(clause.strip()):
        return acts  # "Read only on github/jira.", "只读，不要改": how to treat the services, not a step
    agent = state.last_ai if state.last_ai is not None and state.last_ai.task == "agent" else None
    if agent is not None and _AGENT_CAN.search(clause):
        # "…and the agent can call our status page API and search Jira to answer": what the agent may
        # use (its tools; the list is this step's own), not steps of the workflow
        agent.tools.extend(x for x in ent.find_integrations(clause)[0] if x not in agent.tools)
        return acts
    clause = _POSTED_IN.sub(r"\g<1> from", _TO_AI_ZH.sub("让", _TO_AI.sub("have the ai", clause)))
    # "#inbox" is a channel and 'Bad emails' a table name: neither names a service
    found, dests, srcs = ent.find_integrations(_CHANNEL.sub("#", re.sub(r"(?<!\w)'[^']{1,40}'(?!\w)|\"[^\"]{1,40}\"", " ", clause)))
    # each verb test once per clause (the planner runs on every request)
    fetch = bool(ph.FETCH.search(clause)) and not _CALL_TO_SEND.match(clause)  # "调用短信平台接口群发…" writes
    send = bool(ph.SEND.search(clause))
    neg = ph.NEGATED.search(clause)
    # "记到 Notion …，不用通知任何人": what comes before the refusal still stands (the plan drops the rest)
    negated = bool(neg) and not ph.asks_to_write(clause[: neg.start()])
    storage_op = ph.delivery_op(clause)
    writes = send or storage_op is not None
    if default_service is not None or (writes and not fetch and not negated):
        # a switch case's action ("bug reports → Jira") or a clause that only delivers ("post it in #sales on Slack");
        # a feed (Hacker News, 知乎热榜) is never a destination
        feeds = [x for x in srcs if _read_only(x) or (ent.BY_ID[x].role == "source" and not storage_op)]
        pool = found if send else srcs  # "share it on Slack, Discord and X": every service a send names
        dests, srcs = [*dests, *(x for x in pool if x not in dests and x not in feeds)], feeds
    # "from our Postgres table", "Stripe's team channel": the service is where data comes from / a modifier;
    # a read-only service (web search, a feed, a model provider) is never written to
    read = [d for d in dests if _read_only(d) or _read_from(d, clause)]
    srcs += [d for d in read if d not in srcs and ent.BY_ID[d].category != "ai"]
    email_field = re.search(r"\b(?:name|names|phone|address|title|company)\s*(?:and|&|,|/)\s*(?:\w+\s*(?:,|/)\s*)*e-?mails?\b"
                            r"|\be-?mails?\s*(?:and|&|,|/)\s*(?:name|phone|message|company)\b", clause)
    email_sent = re.search(r"\be-?mail (?:it|them|him|her|me|us|the|a|an)\b|\b(?:by|via) e-?mail\b|\ban? (?:[\w-]+ ){0,2}e-?mail\b|\be-?mailed\b", clause)
    dests = [d for d in dests if d not in read
             and not (d == "email" and ((re.search(r"\b(?:the|their|this|that|each|his|her|its)\s+(?:[\w-]+\s+)?e-?mails?(?:\s+address(?:es)?)?\b", clause)
                                         and not send) or (email_field and not email_sent)))]
    # "小红书风格的文案", "a LinkedIn-style post": the service names a style, not where it goes
    styled = [d for d in dests if _named_with(d, ph.STYLE_OF, clause) and not _named_with(d, r"\s+post\b", clause, after=_PUBLISH_THE)]
    if styled:
        state.style_service = styled[0]  # "write a LinkedIn post …, then publish it": where "it" goes later
    linked = [d for d in dests if _named_with(d, "(?:" + ph.LINK_OF + "|" + ph.CONTENT_OF + ")", clause)]
    dests = [d for d in dests if d not in styled and d not in linked]  # "with the Zoom link" is not a delivery
    # "a blog post on how realtors can use Instagram Reels", "asking them to leave a Google review",
    # "an email about our HubSpot integration": what the text is about, neither read nor written
    topics = {x for x in found if _topic(x, clause)}
    dests, srcs, found = [d for d in dests if d not in topics], [x for x in srcs if x not in topics], [f for f in found if f not in topics]
    if send and not negated and "email" not in dests and re.search(r"\b(?:gets?|be|is|are)\s+e-?mailed\b", clause):
        dests = [*dests, "email"]  # "an update that gets emailed to the founders and saved in Google Drive"
    if send and not dests and not negated:  # "send the customer a thank-you SMS": the medium is the destination
        dests = [f for f in found if ent.BY_ID[f].kind == "messaging" and f not in state.trigger_clause_services()
                 and not _read_from(f, clause)]
    via = [d for d in dests if ent.BY_ID[d].kind == "messaging" and any(
        cached_re(r"\b(?:on|via|through|in|over)\s+(?:our\s+|my\s+|the\s+)?" + re.escape(a) + r"\b").search(clause) for a in ent.BY_ID[d].en
        if a in clause)]
    via += [d for d in dests if d not in via and ent.BY_ID[d].kind == "messaging" and re.search(r"\(\s*#[\w-]+", clause)]  # "for Slack (#eng-standup)"
    if "email" in dests and not send and re.search(r"\b(?:write|draft|compose)\b[^,.;]{0,40}\be-?mails?\b", clause):
        dests = [d for d in dests if d != "email"]  # "write a cold outreach email": what is written, not where it goes
    if _DESCRIBED_TARGET.search(clause):
        dests, send, writes = [], False, False  # "是要发给海外客户的邮件正文": who it is for, not a step
    if negated or (default_service is None and not writes and not via):
        dests = []  # "reply to this email", "dedupe by email address": the service is only mentioned
    # waits and approvals
    w = ph.WAIT.search(clause)
    until = ph.WAIT_UNTIL.search(clause) if not ph.APPROVAL.search(clause) else None  # "wait for the manager's approval"
    if w and wait_seconds(w):
        acts.wait = WaitStep(id=state.uid("wait"), duration_s=wait_seconds(w), quote=quote)
        first_send = ph.SEND.search(clause)
        acts.wait_last = bool(first_send and first_send.start() < w.start() and not ph.IF.search(clause))
        acts.wait_first = w.start() <= 2  # "等3天以后去金数据看问卷": the wait comes before what the clause reads
    elif until:
        acts.wait = WaitStep(id=state.uid("wait"), until=(until.group("until") or until.group("until2")).strip(), quote=quote)
    elif ph.APPROVAL.search(clause) and not re.search(r"不需要|不用|无需|\bno\b|\bwithout\b|\bdon't need\b|\bno need\b", clause):
        who = re.search(r"\b(?:the |a |an |our )?(?P<who>[a-z]+(?: (?!must\b|needs?\b|has\b|should\b|will\b|to\b)[a-z]+)?)"
                        r" (?:(?:must|needs? to|has to|should|will|to) )?(?:approves?|signs? off)", clause)
        approver = who.group("who") if who and not re.fullmatch(r"(?:let |have )?(?:me|us|i|we)|let|i'll|we'll", who.group("who")) else None
        acts.wait = WaitStep(id=state.uid("approval"), approval=quote, approver=approver, quote=quote)
    # sources; a data service only named ("汇总有赞当天的订单") is still where the data comes from
    srcs = [*srcs, *(f for f in found if f not in dests and f not in srcs and not negated
                     and (ent.BY_ID[f].role == "source" or (fetch and _read_from(f, clause))))]
    for sid in srcs:
        if sid in state.trigger_clause_services() or _named_with(
                sid, "(?:" + ph.STYLE_OF + "|" + ph.LINK_OF + ")" if writes and not fetch else ph.STYLE_OF, clause):
            continue  # the trigger's payload, or a style ("小红书风格的文案"), not something to fetch
        if fetch or ent.BY_ID[sid].kind != "messaging" or _owned(sid, clause) or re.search(r"\bgiven\b", clause):
            acts.sources.append(SourceStep(id=state.uid(f"fetch_{sid}"), service=sid, quote=quote))
    urls = [u for u in ent.find_urls(state.raw) if u.lower() in clause and not any(b in u for b in ("hook", "robot/send"))]
    for url in urls:
        at = clause.find(url.lower())
        method = _WRITE_METHOD.search(clause[max(0, at - 60): at]) or _WRITE_AFTER.match(clause[at + len(url):])
        if method and not negated:
            # "调用 POST https://erp…/aftersale 创建售后单", "PUT the order as fulfilled to https://erp…": a write to that URL
            verb = (method.group(0) or "").strip().lower()
            op = "update" if re.match(r"(?:put|patch|更新|update)", verb) else "create"
            host = re.sub(r"^https?://", "", url).split("/")[0]
            acts.deliveries.append(DeliverStep(id=state.uid("call_" + host.split(".")[0]), service=host, operation=op,  # type: ignore[arg-type]
                                               target=url, quote=quote))
            continue
        acts.sources.append(SourceStep(id=state.uid("fetch_page"), from_="url", url=url, quote=quote))
    # "Give it a URL -> it scrapes the page", "输入一个文章链接，把正文抓下来": the link named before is what is read
    handed_url = ph.URL_INPUT.search(clause) or (ph.URL_INPUT.search(state.raw.lower()) and re.search(r"\b(?:page|article|site)\b|正文|文章|网页|页面", clause))
    works_on_link = bool(ph.URL_INPUT.search(clause)) and re.search(r"提取|总结|摘要|翻译|要点|extract|summari[sz]e|translate|key points", clause)
    if not urls and (fetch or works_on_link) and handed_url and not srcs:  # "把链接丢给你，你帮我提取标题": the page is read
        acts.sources.append(SourceStep(id=state.uid("fetch_page"), from_="url", url="{{ inputs.url }}", quote=quote))
    if (fetch or re.search(r"(?:同时|并行)(?:去)?(?:搜|查)", clause)) and ph.PARALLEL.search(clause) and not negated:
        acts.sources += _listed_sources(clause, acts.sources, state)  # "同时搜它的官网介绍、知乎上的讨论和…": each one
    if not acts.sources and not srcs and fetch and ph.PARALLEL.search(clause):
        listed = ph.LIST_OBJECT.search(clause)
        if listed:  # "同时查北京、上海、深圳的天气": one source each, side by side
            for item in re.split(r"[、,和及]", listed.group("items")):
                if item.strip():
                    acts.sources.append(SourceStep(id=state.uid("fetch_data"), service=item.strip(), quote=quote))
    if not acts.sources and not srcs and not negated:
        db_read = _READ_DB.search(clause)
        read = db_read or _READ_API.search(clause)
        tail = clause[read.end():] if read else ""
        if read and not (read.groupdict().get("name") and re.search(r"短信|发送|推送|通知|群发", read.group("name"))) \
                and not (ph.SEND.match(tail.lstrip()) or re.match(r"\s*(?:群发|发送|推送|通知|写入|下单)", tail)):
            # "从数据库里读出来", "数据库里存了3000条", "调一次库存接口", "call our /health endpoint": a read
            name = (read.groupdict().get("name") or "").strip()
            service = "database" if read is db_read else ((name + " api").strip() if name else "api")
            acts.sources.append(SourceStep(id=state.uid("fetch_" + ("database" if service == "database" else "api")),
                                           service=service, quote=quote))
    if not acts.sources and not srcs and fetch and not negated and _THIS_ONE.search(clause) and (app := event_app(state)):
        # "抖音直播一结束，就拉取这场直播的数据": the details of the event, from the app it happened in
        acts.sources.append(SourceStep(id=state.uid(f"fetch_{app}"), service=app, quote=quote))
    if not acts.sources and not srcs and not negated and not urls and _UPTIME.search(clause):
        # "检查一次官网首页能不能正常访问", "check our website is up": request the page (its status code is tested later)
        acts.sources.append(SourceStep(id=state.uid("fetch_page"), from_="url", url="{{ inputs.url }}", quote=quote))
    if not acts.sources and not srcs and not negated and _MARKET.search(clause) and state.trigger_kind not in ("webhook", "form", "app_event") \
            and not re.search(r"\b(?:on|from|via|using|at)\s+(?!the\b|our\b|my\b)[a-z][\w.]{2,}", clause):
        # "看下茅台、比亚迪的收盘价和涨跌幅", "check AAPL's stock price": market data is read from a quotes API
        acts.sources.append(SourceStep(id=state.uid("fetch_quotes"), service="行情接口" if state.lang == "zh" else "stock quotes api",
                                       quote=quote))
    if not acts.sources and not srcs and not negated and _FEED.search(clause):
        # "draft a tweet from the newest post in our blog's RSS feed": the feed is read
        acts.sources.append(SourceStep(id=state.uid("fetch_feed"), from_="url", url="{{ inputs.feed_url }}", quote=quote))
    summed = _SUMMED_RECORDS.search(clause) if not acts.sources and not srcs and not negated and state.trigger_kind == "schedule" else None
    if summed:  # "每天下午6点汇总当天所有客服工单": the day's records are read first
        acts.sources.append(SourceStep(id=state.uid("fetch_data"), service=summed.group("obj"), quote=quote))
    system = _IN_SYSTEM.search(clause) if not acts.sources and not srcs and not negated else None
    if system:  # "再去工单系统查这单有没有人接", "到ERP系统里查库存": a read from that system
        acts.sources.append(SourceStep(id=state.uid("fetch_system"), service=system.group("sys"), quote=quote))
    if not acts.sources and not srcs and fetch and state.trigger_kind not in ("webhook", "form", "app_event"):
        generic = (ph.GENERIC_OBJECT_ZH if state.lang == "zh" else ph.GENERIC_OBJECT_EN).search(clause)
        if generic and not ph.WEB_SEARCH.search(clause) and not ph.KNOWLEDGE.search(clause):
            named = re.search(r"\b(?:on|from|via|at|using)\s+(?:the\s+)?([a-z][\w.-]{2,30})\b", clause[generic.end():])
            name = named.group(1) if named and named.group(1) not in ("the", "our", "my", "web", "internet") else generic.group("obj")
            acts.sources.append(SourceStep(id=state.uid("fetch_data"), service=name.strip(), quote=quote))
    for sub in ph.SUBREDDIT.findall(clause):
        acts.sources.append(SourceStep(id=state.uid(f"reddit_{sub}"), service="reddit",
                                       url=f"https://www.reddit.com/r/{sub}/top.json", quote=quote))
    if ph.SUBREDDIT.search(clause):
        acts.sources = [x for x in acts.sources if x.service != "reddit" or x.url]
    if ph.WEB_SEARCH.search(clause) and not any(x.service == "web_search" for x in acts.sources):
        acts.sources.append(SourceStep(id=state.uid("web_search"), from_="web_search", quote=quote))
    if ph.KNOWLEDGE.search(clause) and not any(s.from_ == "knowledge" for s in acts.sources) and _reads_docs(clause):
        acts.sources.append(SourceStep(id=state.uid("search_docs"), from_="knowledge", quote=quote))
    # the AI step
    hits = [(m.start(), rank, task) for rank, (task, rx) in enumerate(ph.AI_TASKS) if (m := rx.search(clause))]
    if hits and state.last_ai is not None and _delivers_result(clause):
        hits = []  # "save the summary to Notion": the summary an earlier step wrote
    if not hits and _ASKS_AI.search(clause) and not _delivers_result(clause):
        hits = [(0, 6, "analyze")]  # "have AI work out the return on ad spend": an AI step whatever the verb
    if hits:
        # agent / translate name the whole job; otherwise the first task verb of the clause wins
        task = min(hits, key=lambda h: (h[1] > 1, h[0], h[1]))[2]
        acts.ai = _ai_step(task, clause, state, found)
    if acts.ai is None and send and not negated and _COMPOSED.search(clause):
        acts.ai = _ai_step("generate", clause, state, found)  # "email the customer a polite reminder": someone has to write it
    no_ai = bool(_NO_AI.search(clause)) or getattr(state, "no_ai", False)  # "不要用AI" anywhere in the request holds for every step
    if acts.ai is None or no_ai:
        acts.transform = _transform_step(clause, state, quote)
        if no_ai:
            acts.ai = None
    sub = _SUBFLOW.search(clause)
    if sub and not _NO_SUBFLOW.search(sub.group(0)):
        acts.subflow = SubflowStep(id=state.uid("run_workflow"), workflow=(sub.group("name") or sub.group("name2") or "workflow").strip(), quote=quote)
    # deliveries
    deliver_verb = bool(ph.DELIVER.search(clause))
    for sid in dests:
        if sid in _NOT_DEST and not deliver_verb:
            continue
        acts.deliveries.append(_deliver(sid, clause, state))
    replies = re.match(r"(?:reply|answer|respond|thank|tell)\b|回复|回答|答复|直接回复", (default_service or "").strip()) or ph.IGNORE.search(default_service or "")
    if not acts.deliveries and default_service and not acts.sources and not replies and not (
            acts.ai is not None and not ph.SEND.search(default_service) and not ph.delivery_op(default_service)
            and not ph.OWN_OBJECT.search(default_service)):
        target = re.sub(r"^(?:to|into|the|our|a|an)\s+", "", default_service.strip()).strip()
        target = re.sub(r"^(?:写进|写入|写到|记到|记进|记在|存到|存进|存入|加到|推到|同步到)", "", target)  # "写进日志表" → 日志表
        integ = ent.find_integrations(target)[0] or (["slack"] if _CHANNEL.search(target) else []) or (
            ["email"] if re.search(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*", target) else [])  # "forward to ops@ourco.com"
        own = sorted(state.trigger_clause_services())
        if not integ and own and re.search(r"(?<![a-z])(?:pr|pull request|issue|ticket|order|comment|card|task|deal)(?![a-z])|工单|评论|订单", target) \
                and not _NAMED_SYSTEM.search(target):  # "在工单系统里建一条工单": that system, not the trigger's app
            integ = own[:1]  # "closed → comment on the PR" in a GitHub-triggered flow: GitHub
        # "(GDPR export/deletion requests)", "比较急": a remark about the case, not where it goes
        remark = target.startswith(("(", "（")) or re.match(r"^(?:比较|很|非常|特别|最|有点|挺|太|较|更)[\u4e00-\u9fff]{1,3}$", target)
        if not integ and ent.lookup_service(target):
            integ = [ent.lookup_service(target).id]  # "engineering candidates go into Greenhouse": a name only looked up
        named = target.isascii() and len(target.split()) <= 2 and not re.match(r"(?:or|and|nor|then|also|just|only|not)\b", target)
        sid = integ[0] if integ else None if remark or not (named or _DESTINATION_NOUN.search(target)) else _service_phrase(target)
        if sid:
            acts.deliveries.append(_deliver(sid, clause, state, target=None if integ else target))
    elif not acts.deliveries and (send or re.search(r"回(?:一|个)?封|回信", clause)) and _emails_someone(clause) and not negated:
        acts.deliveries.append(_deliver("email", clause, state))
    if not acts.deliveries and send and not negated and acts.ai is None and state.last_ai is not None and _TO_THEM.search(clause):
        # "用AI写一条跟进短信，然后发给客户": what the AI wrote says how it goes out
        medium = [m for m in ent.find_integrations(state.last_ai.quote.lower())[0] if ent.BY_ID[m].kind == "messaging"]
        if medium:
            acts.deliveries.append(_deliver(medium[0], clause, state))
    if not acts.deliveries and send and not negated and _TO_THE_SENDER.search(clause) and (app := event_app(state)) \
            and ent.BY_ID[app].kind == "messaging":
        # "企业微信有新客户加好友的时候，自动给他发一段欢迎语": to the person of the event, in the app it happened in
        acts.deliveries.append(_deliver(app, clause, state))
    if not acts.deliveries and not negated and (_REPLY_BACK.match(clause.strip()) or _REPLY_BACK_ANY.search(clause)) \
            and (app := event_app(state)):
        # "淘宝店每来一条买家咨询…是的话自动回复…": an event's reply goes back where the event came from
        acts.deliveries.append(_deliver(app, clause, state))
    if acts.deliveries and not negated and _ALSO_NOTIFY.search(clause) and not any(
            d.service in ent.BY_ID and ent.BY_ID[d.service].kind == "messaging" for d in acts.deliveries):
        # "录入飞书多维表格并通知HR": a second action, on the messenger the request uses, else by email
        acts.deliveries.append(_deliver(_request_messenger(state), clause, state))
    if (actuated := ph.ACTUATE.search(clause)) and not neg:
        # "switch on the fan through the device API", "trigger the CI pipeline": a call that changes something
        api = ph.API_NAME.search(clause)
        named = ent.find_integrations(actuated.group(0))[0]  # "调用有赞的退款接口退掉": that service's API
        name = (api.group("name") or api.group("name2")).strip() if api else named[0] if named else ("device api" if "on" in clause else "api")
        service = ent.find_integrations(name)[0]  # "via the Shopify refund API": Shopify's
        name = service[0] if service else name
        acts.deliveries.insert(0, _deliver(name, clause, state))
        acts.sources = [x for x in acts.sources if x.service != name]  # the call writes there; nothing is read first
    if not acts.deliveries and writes and not negated and not fetch:
        # what the trigger or the loop reads is what "the ticket" / "the PR" of a write means
        own = sorted(state.trigger_clause_services()) or (
            [state.loop_service] if state.loop_service in ent.BY_ID and storage_op not in (None, "send", "post") else [])
        target = ph.GENERIC_TARGET.search(clause)
        last = state.last_source.service if state.last_source is not None else None
        looked_up = last if last in ent.BY_ID and ent.BY_ID[last].role != "source" else None
        if ph.STORAGE_GENERIC.search(clause):
            src = state.last_source.service if state.last_source is not None and state.last_source.service else None
            db = src if src in ent.BY_ID and ent.BY_ID[src].category == "database" else "database"
            acts.deliveries.append(_deliver(db, clause, state))  # "写回数据库": the database it came from, else ours
        elif re.search(r"(?<![a-z])crm(?![a-z])", clause):
            acts.deliveries.append(_deliver("crm", clause, state))  # "更新回CRM": the team's CRM
        elif re.search(r"\b(?:sheet|spreadsheet|table|tab|worksheet)\b|表格|数据表", clause):
            # "the talent pool sheet": the table the rows came from (飞书多维表格, Airtable…), else Google Sheets
            src = state.loop_service or (state.last_source.service if state.last_source is not None else None)
            tabular = src in ent.BY_ID and ent.BY_ID[src].category in ("spreadsheet", "database", "table")
            acts.deliveries.append(_deliver(src if tabular else "google_sheets", clause, state))
        elif own and (ph.OWN_OBJECT.search(clause) or (own[0] == "email" and re.search(r"\breply\b|回复|发回|回过去", clause))):
            acts.deliveries.append(_deliver(own[0], clause, state))  # "add that label to the issue" (GitHub)
        elif looked_up and _LOOKED_UP_OBJECT.search(clause):
            acts.deliveries.append(_deliver(looked_up, clause, state))  # "look them up in HubSpot … update them": in HubSpot
        elif target and not any(_read_from(x, clause) for x in ent.find_integrations(target.group(0))[0]):
            name = (target.group("t") or target.group("t2")).strip()
            acts.deliveries.append(_deliver(name, clause, state, target=target.group(0)))
    if send and _CHANNEL.search(clause) and not any(d.service in ("slack", "teams", "discord", "mattermost")
                                                                     for d in acts.deliveries):
        acts.deliveries.append(_deliver("slack", clause, state))  # "posts in #incidents": a Slack channel
    if len(acts.deliveries) > 1 and ph.PARALLEL.search(clause) and not acts.sources:
        acts.parallel_id = state.uid("at_once")
    ai_tags = acts.ai is not None and re.search(r"\b(?:tag|label)\b|打标签", clause)  # "have AI tag the root cause": the AI's output
    if not acts.deliveries and writes and not negated and state.loop_service and not ai_tags and re.search(
            r"\b(?:comment|close|label|tag|reply|archive|assign|update|move|write|back)\b|评论|关闭|打标签|回复|写回|回写", clause):
        acts.deliveries.append(_deliver(state.loop_service, clause, state))  # "for each issue: … close it"
    if not acts.deliveries and not negated and _SET_FIELD.search(clause) and (
            where := state.loop_service if state.loop_service in ent.BY_ID else event_app(state)):
        # "其他的把状态改成“培育中”" in a loop over a 飞书多维表格: that record is updated where it lives
        acts.deliveries.append(msgspec.structs.replace(_deliver(where, clause, state), operation="update"))
    if acts.ai is not None and acts.ai.task == "generate" and re.search(r"\be-?mails?\b|邮件", clause) and not acts.deliveries:
        state.style_service = "email"  # "写一封面试邀约邮件，然后发给候选人": the email is how it goes
    if not acts.deliveries and send and not negated and not found and state.style_service and (
            state.style_service == "email" or re.search(r"\bpublish|\bpost\b|发布", clause)):
        acts.deliveries.append(_deliver(state.style_service, clause, state))
    if not acts.deliveries and not acts.sources and acts.ai is None and not fetch and found and state.lang == "en" \
            and len(clause.split()) <= 4 and re.match(r"(?:to\s+|into\s+)?(?:" + "|".join(
                re.escape(a) for a in ent.BY_ID[found[0]].en) + r")\b(?!\s*(?:and|or|&|/|,)\s)", clause):  # not "email and dietary needs"
        acts.deliveries.append(_deliver(found[0], clause, state))  # "→ slack #sales": the bare destination
    if any(d.service in ent.BY_ID for d in acts.deliveries):
        # "调用我们的短信平台接口群发通知": the call is how the named service is reached, not a second write
        acts.deliveries = [d for d in acts.deliveries if not re.fullmatch(r"(?:[\w ]+ )?api", d.service) or d.service in ent.BY_ID]
    # one delivery per service per clause ("shoot an email to partners@acme.io"), the one naming a target
    acts.deliveries.sort(key=lambda d: d.target is None)
    seen: set[str] = set()
    acts.deliveries = [d for d in acts.deliveries if d.service not in seen and not seen.add(d.service)]

    if acts.ai is not None and acts.ai.task == "agent":
        tools, as_tools = _named_tools(clause, [*(s.service or s.from_ for s in acts.sources)])
        acts.sources = [s for s in acts.sources if (s.service or s.from_) not in as_tools]  # the agent calls them
        acts.ai = AiStep(id=acts.ai.id, task="agent", instruction=acts.ai.instruction, quote=acts.ai.quote, tools=tools)
    if acts.wait is not None and acts.wait.approval and acts.ai is not None and not acts.deliveries:
        # "生成公众号文章，先等我审核通过": the approval is of what the AI wrote
        gate = ph.APPROVAL.search(clause)
        acts.wait_last = bool(gate and min(h[0] for h in hits) < gate.start())
    return acts


_NO_AI = compile_filtered(r"\bno (?:ai|llm|gpt)\b|\bwithout (?:ai|an llm|the llm)\b|\b(?:don'?t|do not) use (?:ai|an llm|the llm|gpt)\b"
                    r"|不需要\s*ai|不用\s*ai|不要用\s*ai|无需\s*ai|(?:别|不要|不用|无需|不必)(?:用|调|走)?\s*(?:大模型|ai)(?![a-z])")
_TRANSFORM = compile_filtered(
    r"\b(?:reshape|remap|re-?format|format(?:s|ted)? (?:the|it|them|each|all|dates?|phone|numbers?)|normali[sz]e|rename|convert(?:s)? (?:the|it|them|each|all|its|their|\w+ fields?)"
    r"|map (?:its |the |their )?fields|dedupe|de-?duplicate|remove (?:the )?duplicates|drop (?:the )?(?:empty|duplicate|blank)|"
    r"group (?:them |it |the \w+ |everything )?by|compute (?:the )?(?:total|sum|average|count)|total \w+ per|sum (?:up )?(?:the )?\w+ (?:per|by)|"
    r"only keep|keep only|flatten|camel ?case)\b"
    r"|格式化|格式转换|转换一下|转换成|转成|统一成|统一格式|换算成|去重|去掉重复|删除重复|字段名|改成驼峰|只保留|按.{1,8}?(?:分组|汇总|统计)|求和|合计|汇总每|统计每")
_GROUP_BY = compile_filtered(r"\bgroup (?:them |it |the \w+ |everything )?by (?:the )?(?P<f>[a-z_]+)|\bper (?P<f2>[a-z_]+)\b|按(?P<f3>[\u4e00-\u9fffa-z_]{1,8}?)(?:分组|汇总|统计)|每个?(?P<f4>[\u4e00-\u9fff]{1,4})的")
_DEDUPE_BY = compile_filtered(r"\b(?:dedupe|de-?duplicate|remove (?:the )?duplicates)(?: \w+)?(?: by| on| using)? (?:the |their |its )?(?P<f>[a-z_ ]{2,20}?)(?:\s+address)?(?=[,.;]|\band\b|$)")
_KEEP = compile_filtered(r"(?:只保留|keep only|only keep)\s*(?:the )?(?P<list>[\w\u4e00-\u9fff ,、和]+)|\{(?P<list2>[\w ,]+)\}")
_SUBFLOW = compile_filtered(r"\b(?:run|trigger|call|start|kick off)s? (?:our |the |my )?(?P<name>[\w' -]{2,30}?) (?:workflow|flow|sub-?workflow)\b"
                      r"|(?:运行|调用|执行|触发)(?:一下)?(?:我们的|已有的)?[「“\"]?(?P<name2>[\u4e00-\u9fffa-z0-9_ -]{1,16}?)[」”\"]?(?:工作流|子流程|流程)")
_NO_SUBFLOW = compile_filtered(r"\b(?:this|a|new|ci|github)\s+(?:workflow|flow)|^(?:运行|执行)(?:这个|本)")


def no_ai_requested(text: str) -> bool:
    """The request says no AI is wanted ("No AI needed", "plain data mapping, no LLM", "不要用AI")."""
    return bool(_NO_AI.search(text.lower()))


def _transform_step(clause: str, state: _State, quote: str) -> TransformStep | None:
    """"remove duplicates by email", "group them by team", "只保留订单号、金额", "compute total
    sales per region": reshaping without an LLM."""
    if not _TRANSFORM.search(clause):
        return None
    dedupe = _DEDUPE_BY.search(clause)
    if dedupe:
        return TransformStep(id=state.uid("dedupe"), dedupe_by=re.sub(r"\W+", "_", dedupe.group("f").strip()) or "id", quote=quote)
    group = _GROUP_BY.search(clause)
    if group and re.search(r"group|per|分组|每|total|sum|汇总|统计|合计|求和", clause):
        field = re.sub(r"\W+", "_", next(g for g in group.groups() if g).strip())
        total = re.search(r"\b(?:total|sum of|sum)\s+(?:the\s+)?(?P<f>[a-z_]+)|(?:求和|合计|汇总)(?P<f2>[\u4e00-\u9fff]{1,6})?", clause)
        aggs = {"total": "sum:" + (total.group("f") or "amount")} if total and total.group("f") else (
            {"total": "sum:amount"} if total else {"items": "list"})
        return TransformStep(id=state.uid("group"), mode="aggregate", group_by=field, aggregates={**aggs, "count": "count"}, quote=quote)
    keep = _KEEP.search(clause)
    if keep:
        names = [n.strip() for n in re.split(r"[,、和]|\band\b", keep.group("list") or keep.group("list2")) if n.strip()]
        fields = {re.sub(r"\W+", "_", n): re.sub(r"\W+", "_", n) for n in names[:12]}
        return TransformStep(id=state.uid("reshape"), fields=fields, quote=quote)
    return TransformStep(id=state.uid("transform"), quote=quote)


def _delivers_result(clause: str) -> bool:
    """The clause only delivers what an earlier AI step produced ("post the summary to Slack")."""
    return bool(re.match(r"(?:and\s+|then\s+|also\s+)?(?:send|post|save|store|email|e-mail|share|publish|forward|add|append|write|upload|push)\b"
                         r"\s+(?:it|them|this|that|both|all|these|those|the (?:summary|report|digest|result|results|analysis|translation|draft|reply|answer|fields|values|scores?|labels?)s?)\b", clause)
                or re.match(r"(?:并|再|然后)?(?:把|将)?(?:[\u4e00-\u9fff]{0,4}结果|摘要|总结|报告|简报|译文|回复|分数|评分|分类)(?:发|推|存|写|保存|同步|回写|填)", clause))


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


_LOOKED_UP_OBJECT = ascii_re(r"\b(?:update|create|add|tag|edit|modify|archive|delete)\s+(?:them|it|him|her|the (?:contact|record|deal|row|lead|customer|page|card|issue|person))\b|"
                                 r"\bnew (?:contact|record|deal|lead|customer|row|page|card)\b|(?:更新|新建|创建)(?:一个|一条)?(?:联系人|客户|记录|线索)")


_ALSO_NOTIFY = ascii_re(
    r"(?:并|并且|同时|再)(?:通知|知会)(?:一下)?(?:hr|人事|财务|老板|主管|经理|负责人|运营|客服|销售|老师|店长|团队)|"
    r"\b(?:and|then|also)\s+(?:notify|alert|ping)\s+(?:the\s+|our\s+|my\s+)?(?:hr|manager|team|boss|owner|finance|ops|admin|recruiter)\b|"
    r"\band let (?:the |our |my )?(?:hr|manager|team|boss|owner|finance|ops|admin|recruiter) know\b")


_TO_THEM = ascii_re(r"^(?:然后|再|并|最后)?(?:发|发送|推送)给(?:客户|用户|会员|家长|学员|对方|他|她|他们|她们|本人|每个人|每一位客户|这位客户|该客户)$"
                    r"|^(?:then\s+|and\s+)?send (?:it|them|each one|the (?:message|text|reply|draft)s?) (?:out )?to (?:the |each |that )?"
                    r"(?:customer|user|member|lead|client|parent|student|person|them|him|her)s?$")


def _request_messenger(state: _State) -> str:
    """The chat tool the request sends with elsewhere (钉钉, Slack…), else email."""
    named = ent.find_integrations(state.raw.lower())[0]
    return next((s for s in named if ent.BY_ID[s].kind == "messaging" and s not in ("sms", "email")
                 and s not in state.trigger_clause_services()), "email")


_LIST_SPLIT = ascii_re(r",\s*(?:and\s+)?|\s+and\s+|[、]|(?<=[\u4e00-\u9fff])(?:和|及|以及)(?=[\u4e00-\u9fff])")
_LIST_HEAD = ascii_re(r"\b(?:get|gets|fetch|fetches|pull|pulls|grab|grabs|check|checks|collect|gather|look up)\s+|(?:查|查一下|去查|拉取|抓取|获取|搜|看看)")


def _listed_sources(clause: str, have: list[SourceStep], state: _State) -> list[SourceStep]:
    """"get the weather for Berlin, the EUR/USD rate and my calendar at the same time", "同时去查它的最新
    行情、相关新闻和雪球上的讨论": each listed thing is read, side by side; the ones a service or the
    web search already covers are left to them."""
    head = _LIST_HEAD.search(clause)
    if head is None:
        return []
    body = ph.PARALLEL.sub(" ", clause[head.end():])
    body = re.split(r"[,;]\s*(?=(?:and\s+)?(?:then|send|post|email|combine|merge|summari[sz]e)\b)|,(?=综合|汇总|合并|然后|再|让)", body)[0]
    items = [x.strip(" ,.") for x in _LIST_SPLIT.split(body) if x.strip(" ,.")]
    if len(items) < 2:
        return []
    covered = {x.service for x in have}
    out: list[SourceStep] = []
    for item in items:
        named = ent.find_integrations(item)[0]
        if named and all(n in covered or n in ("web_search",) for n in named):
            continue
        if named or ph.WEB_SEARCH.search(item) or ph.KNOWLEDGE.search(item):
            continue
        if ph.NEWS.search(item) and "web_search" not in covered:
            out.append(SourceStep(id=state.uid("web_search"), from_="web_search", quote=item[:200]))
            covered.add("web_search")
        elif re.search(r"官网|官方网站|网站|主页|\b(?:website|homepage|home page|web ?site)\b", item):
            out.append(SourceStep(id=state.uid("fetch_page"), from_="url", url="{{ inputs.url }}", quote=item[:200]))
        elif len(re.findall(r"[a-z]+|[\u4e00-\u9fff]", item)) >= 2:
            name = re.sub(r"^(?:(?:the|a|an|my|our|their|its|current|latest|today's|recent|live)\s+)+|^(?:它的|他的|我们的|最新的?|最近一周的?|今天的|当前的?)+", "", item)
            words = re.findall(r"[\w\u4e00-\u9fff]+", name)
            out.append(SourceStep(id=state.uid("fetch_data"), service=" ".join(words[:5]) or item[:40], quote=item[:200]))
    return out if len(out) + len(have) >= 2 else []


# A case action that names no known service must still name where things go ("the finance queue",
# "财务组", "招生老师"); otherwise ("or neutral", "比较急") it is not a delivery.
_DESTINATION_NOUN = ascii_re(
    r"\b(?:queue|inbox|team|channel|group|table|sheet|list|board|database|db|folder|system|crm|erp|api|endpoint|portal|"
    r"desk|tracker|backlog|log|wiki|drive|bucket|calendar|doc|docs|page|mailbox|address|hotline|on-?call|manager|lead|owner|"
    r"admin|department|dept|support|sales|finance|billing|legal|hr|ops|engineering|engineer|engineers|dev|devs|security|"
    r"marketing|it|accounting|payroll|recruiting|partners|reception|front desk|ticket|tickets|issue|issues|card|task|tasks|"
    r"record|records|row|rows|contact|deal|lead|leads|person|people|someone|me|us|them|him|her|customer|client|user|"
    r"[\w.+-]+@[\w.-]*)s?\b|[@#]|群|组|表|库|系统|平台|接口|队列|邮箱|频道|人|经理|主管|老师|财务|客服|销售|运营|老板|负责人|"
    r"同事|部门|团队|中心|专员|医生|律师|顾问|店长|仓库|后台|台账|工单|记录|文档|日历")


def _reads_docs(clause: str) -> bool:
    return bool(re.search(r"\b(?:from|using|based on|in|search|according to|with)\b[\w ]{0,20}(?:docs|documentation|knowledge|handbook|wiki|faq|manual|polic|help center|articles)"
                          r"|\b(?:we|i)(?:'ve| have)? uploaded\b|来自.{0,8}上传的|只能(?:来自|根据|基于)|根据|基于|检索|查询|从.{0,6}(?:知识库|文档)|知识库|查.{0,8}(?:文档|资料|手册|制度)", clause))


_REPLY_BACK_ANY = compile_filtered(r"(?:并|再|然后)?(?:回复|回)(?:到)?(?:评论|留言|私信)|发回(?:给)?(?:用户|客户|买家|对方|粉丝|他|她)|回复给(?:用户|客户|买家|对方|粉丝)"
                             r"|\b(?:post|posted|reply|replied)\s+(?:it\s+)?(?:under|to|below)\s+(?:the|their|that)\s+(?:comment|review|message|post)\b")
_REPLY_BACK = compile_filtered(r"(?:就|则|直接|自动|马上|立刻)*(?:回复|答复|回(?:他|她|他们|对方|买家|客户|用户))|(?:then\s+|just\s+|automatically\s+)?"
                         r"(?:reply|respond)(?:\s+to)?\s+(?:them|him|her|it|the (?:customer|buyer|user|sender|comment|message|review))\b")


def event_app(state: _State) -> str | None:
    """The known app an ``app_event`` trigger comes from ("淘宝店每来一条买家咨询" → taobao), else None."""
    if state.trigger_kind != "app_event":
        return None
    return next((x for x in sorted(state.trigger_clause_services()) if x in ent.BY_ID), None)


def _emails_someone(clause: str) -> bool:
    # "发到 hr@xinghe-tech.com", "send it to ops@acme.io": an address is an email recipient
    return bool(re.search(r"\b(?:e-?mail|mail)\b|邮件|邮箱|[回发写](?:一|个)?封.{0,8}?信|回信|感谢信|拒信|婉拒信|邀请信", clause) or _EMAIL.search(clause))


_NAMED_TOOL = compile_filtered(r"\b(?:an?|the|our|my|its)\s+(?P<name>(?:(?!(?:and|or|an?|the|with|to|that|which)\b)[a-z][a-z-]*\s+){1,3})"
                         r"(?P<kind>api|tool)s?\b")


def _named_tools(clause: str, tools: list[str]) -> tuple[list[str], set[str]]:
    """An agent's tools: its sources, then each "a <name> tool" / "a <name> API" the clause names
    ("a currency conversion API tool" → ``currency conversion api``) that is not one of them; and
    the sources named as a tool ("a web search tool": the agent searches, no fetch step before it)."""
    out, as_tools = list(tools), set()
    for m in _NAMED_TOOL.finditer(clause):
        name = m.group("name").strip() + (" api" if m.group("kind") == "api" else "")
        key, services = re.sub(r"\W+", "_", name), set(ent.find_integrations(name)[0])
        same = [t for t in out if re.sub(r"\W+", "_", t) == key or t in services]
        if not same:
            out.append(name)
        elif m.group("kind") == "tool":
            as_tools.update(same)
    return out, as_tools


def _service_phrase(text: str) -> str | None:
    system = re.search(r"(?:在|到|往|进)?(?P<name>[\u4e00-\u9fffa-z0-9]{1,8}?(?:系统|平台|后台))", text)
    if system:  # "在工单系统里建一条工单(POST接口)" → 工单系统
        return system.group("name")
    text = re.split(r"\s+(?:as|for|with|so|to|and)\s+", text, maxsplit=1)[0]  # "greenhouse as a new candidate"
    words = re.findall(r"[\w\u4e00-\u9fff]+", text)
    return " ".join(words[:4]) if words else None


def _ai_step(task: str, clause: str, state: _State, found: list[str]) -> AiStep:
    categories: list[str] = []
    m = _CATEGORIES_PAREN.search(clause) or _CATEGORIES.search(clause) or _CATEGORIES_SLASH.search(clause) or _CATEGORIES_ZH.search(clause) or _CATEGORIES_COLON.search(clause) or (
        _CATEGORIES_IS.search(clause) if re.search(r"\bwhether\b", clause) else None)
    if task == "classify" and m:
        parts = re.split(r",\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+|还是|[、,/和或]", m.group("list") or m.group("list2"))
        # "分成紧急、一般、不急三类": the count after the last one is not part of it
        parts = [re.sub(r"\s*[一二三四五六七八九十两\d]+\s*(?:类|种|个|档|级)$|(?:中的)?(?:哪一?[类种个档]|之一)(?:岗位|问题|情况)?$", "",
                        re.sub(r"^(?:an?|the)\s+", "", c.strip())) for c in parts]  # "…、职能哪一类岗位" → 职能
        categories = [c for c in parts if c and not re.fullmatch(r"something else|anything else|other|others|else|其他|其它", c)][:8]
    high_low = _HIGH_LOW.search(clause) if task == "classify" and not categories else None
    if high_low:  # "判断意向高低", "判断风险的高低": two levels of the named quality
        categories = [f"高{high_low.group('what')}", f"低{high_low.group('what')}"]
    if task == "classify" and not categories and re.search(r"sentiment|情感|情绪", clause):
        categories = ["positive", "neutral", "negative"] if state.lang == "en" else ["正面", "中性", "负面"]
    fields: list[PlanField] = []
    f = ((_FIELDS_ZH if state.lang == "zh" else _FIELDS_EN).search(clause) or _FIELDS_PAREN.search(clause)) if task == "extract" else None
    if f:
        for i, name in enumerate(re.split(r",\s*(?:and\s+)?|\s+(?:and|\+|&)\s+|[、,和及]", f.group("list"))):
            name = name.strip().removesuffix("等")
            how = re.fullmatch(r"how (\w+)(?: (?:it|they|this|that) (?:is|are))?", name)
            name = _HOW_NOUN.get(how.group(1), how.group(1)) if how else name  # "how urgent it is" → urgency
            ident = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or f"field_{i + 1}"
            if name and not re.match(r"[a-z_]", ident):
                ident = f"field_{i + 1}"
            if name and all(ident != x.name for x in fields):
                fields.append(PlanField(name=ident[:60], description=name))
    listed = _LISTED_THINGS.search(clause) if task == "extract" and not fields else None
    if listed:  # "把待办事项一条条拆出来", "整理成待办清单": the list itself is what is extracted
        fields.append(PlanField(name="items", type="array", description=listed.group("what")))
    langs = ent.find_languages(clause)
    # "翻译成英文和日文": every target language the clause names, in order
    names = [_LANG_NAMES[code] for code in langs if code in _LANG_NAMES] if task == "translate" else []
    language = ", ".join(dict.fromkeys(names)) if len(names) > 1 else next(
        (n for code, n in _LANG_NAMES.items() if langs and code == langs[0]), None)
    return AiStep(id=state.uid(task), task=task, categories=categories, language=language, fields=fields,  # type: ignore[arg-type]
                  instruction=clause[:500], quote=clause[:200], tools=[s for s in found if task == "agent"])


_COMPOSED = ascii_re(r"\b(?:polite|friendly|personali[sz]ed|warm|apologetic|gentle|tailored|heartfelt|empathetic)\s+(?:[\w-]+\s+)?"
                     r"(?:reminder|message|e-?mail|note|reply|response|follow-?up|apology|thank-you|welcome)\b"
                     r"|(?:礼貌|个性化|温和|友好|客气|走心|真诚)的?(?:催款|提醒|回复|邮件|短信|消息|道歉|感谢|欢迎)")
_AGENT_CAN = ascii_re(r"(?:and\s+)?(?:the (?:agent|bot|assistant)|it|they)\s+(?:can|could|should be able to|may|is able to)\b"
                      r"|(?:它|机器人|助手|智能体|agent)?(?:能够?|可以)(?:调用|查|搜|读|访问|用)")
_TO_THE_SENDER = ascii_re(r"给(?:他|她|对方|这位客户|该客户|新客户|好友|用户)发|发给(?:他|她|对方)|\bsend (?:them|him|her) an?\b"
                          r"|^(?:自动)?(?:发|回)(?:一条|一段|一句|个)?(?:欢迎|感谢|问候)|^(?:auto-?)?(?:send|post) (?:a |them a )?(?:welcome|thank-you|greeting) message\b")
_LISTED_THINGS = compile_filtered(r"(?P<what>待办事项|待办清单|待办|行动项|任务清单|任务|要点|问题清单|清单|列表|\baction items\b|\bto-?dos?\b|\btasks\b)")
_FEED = ascii_re(r"\b(?:rss|atom)(?: feed)?\b|\b(?:blog|news|podcast)(?:'s)? feed\b|\bfrom (?:the |our |my |their )?feed\b|rss订阅|订阅源")
_SUMMED_RECORDS = compile_filtered(r"^(?:先)?(?:汇总|统计|盘点|整理)(?:一下)?(?:当天|今天|今日|昨天|昨日|本周|上周|这周|本月|上个?月)的?(?:所有|全部)?(?P<obj>[\u4e00-\u9fff]{2,8}?)(?:数据|记录)?$")
_IN_SYSTEM = compile_filtered(r"(?:去|到|在|从)(?P<sys>[\u4e00-\u9fffa-z0-9]{1,8}?(?:系统|平台|后台))(?:里|上|中)?(?:查|看|读|拉|取|获取|核对)")
_SET_FIELD = ascii_re(r"把(?:它|它的|这条|这条的|该条|该条的|对应的|这一行的?)?(?:状态|阶段|标签|备注|跟进状态|字段)[^,，。；;]{0,6}?(?:改成|改为|更新为|更新成|设为|设置为|标记为|标成|置为)"
                      r"|\b(?:set|change|update|mark|move)\s+(?:its|the|their|that|this)\s+(?:status|stage|label|field|column)\b[^,.;]{0,20}?\b(?:to|as)\b")
_HIGH_LOW = compile_filtered(r"(?:判断|评估|判定|看看?)(?:一下)?(?:[\u4e00-\u9fff]{0,6}?的)?(?P<what>[\u4e00-\u9fff]{1,4}?)的?(?:高低|高不高)")


_LANG_NAMES = {"en": "English", "zh": "Chinese", "ja": "Japanese", "ko": "Korean", "fr": "French", "de": "German",
               "es": "Spanish", "pt": "Portuguese", "it": "Italian", "ru": "Russian"}


def _deliver(sid: str, clause: str, state: _State, target: str | None = None) -> DeliverStep:
    integ = ent.BY_ID.get(sid)
    # no verb says how: a table or app takes its own write ("不紧急的 → 飞书多维表格" creates a record), a messenger is sent to
    op = ph.delivery_op(clause) or (integ.write_op if integ and integ.kind != "messaging" and integ.write_op else "send")
    if integ and integ.kind == "messaging" and (op in ("append", "create", "update") or (op == "upsert" and not ph.STORAGE_WORDS.search(clause))):
        op = "send"  # "写进多维表格，并在钉钉上通知申请人", "email them a reminder to update their card": a messenger is sent to
    if target is None:
        channel = _CHANNEL.search(clause)
        address = _EMAIL.search(clause)
        who = (_WHO_ZH if state.lang == "zh" else _WHO_EN).search(clause)
        target = channel.group(0) if channel else address.group(0) if address else (who.group("who").strip() if who else None)
        if target and ent.find_integrations(target)[0]:
            target = None  # "send it to Slack": the service, not a recipient
    return DeliverStep(id=state.uid(f"deliver_{sid}"), service=sid, operation=op, target=target, quote=clause[:200])  # type: ignore[arg-type]
