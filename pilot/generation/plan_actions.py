"""One clause → its actions: sources, a wait, an AI step, deliveries (offline planner, pure).

Services come from the integration registry with the role the governing verb gives them
(:func:`pilot.generation.entities.find_integrations`): "post it to Slack" is a delivery,
"pull our Stripe revenue" a source, "translate the email" neither (it is the subject).

This module holds :class:`Actions` and :func:`parse_actions`, the order in which one clause's
rules are tried; the rules' parts are :mod:`pilot.generation.action_services` (the role a named
service plays), :mod:`pilot.generation.action_sources`, :mod:`pilot.generation.action_ai_step`,
:mod:`pilot.generation.action_transform_subflow` and :mod:`pilot.generation.action_deliveries`.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import msgspec

from pilot.generation import entities as ent
from pilot.generation.around import AroundName
from pilot.generation import phrases as ph
from pilot.generation.action_ai_step import (
    _AGENT_CAN,
    _ASKS_AI,
    _COMPOSED,
    _NO_AI,
    _TO_AI,
    _TO_AI_ZH,
    _ai_step,
    _delivers_result,
    _named_tools,
)
from pilot.generation.action_deliveries import (
    _ALSO_NOTIFY,
    _CALL_TO_SEND,
    _CHANNEL,
    _DESCRIBED_TARGET,
    _DESTINATION_NOUN,
    _LOOKED_UP_OBJECT,
    _NAMED_SYSTEM,
    _NOT_DEST,
    _REPLY_BACK,
    _REPLY_BACK_ANY,
    _SET_FIELD,
    _TO_THE_SENDER,
    _TO_THEM,
    _WRITE_AFTER,
    _WRITE_METHOD,
    _deliver,
    _emails_someone,
    _TO_GROUP,
    _group_messenger,
    _request_messenger,
    HANDOFF,
    _NOT_A_PERSON,
    handoff_messenger,
    _service_phrase,
)
from pilot.generation.action_services import _named_with, _owned, _PUBLISH_THE, _read_from, _read_only, _topic, event_app
from pilot.generation.action_sources import (
    _API_OWNER,
    _FEED,
    _FROM_UNKNOWN_APP,
    _GET_PATH,
    said_data_sources,
    METRICS,
    _NO_KNOWLEDGE,
    _IN_SYSTEM,
    _MARKET,
    _POSTED_IN,
    _READ_API,
    _READ_DB,
    _SUMMED_RECORDS,
    _THIS_ONE,
    _UPTIME,
    _listed_sources,
    _reads_docs,
)
from pilot.generation.action_transform_subflow import _NO_SUBFLOW, _SUBFLOW, THE_ONES, ZH_PICK, _transform_step
from pilot.generation.plan import AiStep, DeliverStep, ParallelStep, SourceStep, Step, SubflowStep, TransformStep, WaitStep
from pilot.generation.prefilter import compile_filtered
from pilot.generation.service_actions import with_asked_actions
from pilot.generation.text import ascii_re

if TYPE_CHECKING:
    from pilot.generation.planner_state import _State

# "post it on our Slack", "via Telegram": the messaging service named is where the message goes
_VIA = AroundName(r"\b(?:on|via|through|in|over)\s+(?:our\s+|my\s+|the\s+)?", r"\b")
_BEFORE_IT_GOES_OUT = ascii_re(r"\s+before (?:anything|it|this|that|they|the \w+) (?:is|are|gets?|goes|go) (?:published|posted|sent|out|live|shared)\s*[.!]?$")
_OUTCOMES_SAID = ascii_re(r"\b(?:approved|if i approve|once approved)\s*(?:→|->|=>|:|means\b)")
_SUITED_FOR = r"(?:适合|适用于|适于)(?:发|发布|发到|发在|投放|放|在)?(?:在|到)?\s*"
_METHOD_PATH = ascii_re(r"(?<![a-z])(?P<m>post|put|patch|delete)\s+(?P<path>/[\w/{}.:-]{1,80})")
_SYSTEM_NAMED = compile_filtered(r"(?:调用?|请求|call)?\s*(?:我们|公司|our)?的?\s*(?P<sys>[\u4e00-\u9fff]{1,4}?|[a-z]{2,12})\s*(?:系统|平台|system)(?:的)?\s*(?:接口|api)?[^,，。;；]{0,6}$")
_TWEET = ascii_re(r"\btweet(?:s|ed|ing)?\s+(?:it|them|this|that|about|out|the)\b")
_A_TWEET = ascii_re(r"\b(?:a|an|the|one|this|that|our|my)\s+(?:[\w-]+\s+)?$")  # "write a (short) tweet about": the noun
# (?<![a-z-]): from a word's start only, so a search stays linear on a long run of letters
_TITLE_ONLY = ascii_re(r"(?<![a-z-])(?:[a-z-]+\s+){0,3}(?:approvals|approval\s+(?:flow|process|workflow|pipeline))\s*[.!:]?$|(?:[\u4e00-\u9fff]{1,8})?审批流程[:：]?$"
                      # "Build a customer service chatbot for our Shopify store.": what is built, not a step of it
                      r"|^(?:please\s+)?(?:build|create|make|set up|give me)\s+(?:me\s+|us\s+)?an?\s+(?:(?!(?:in|for|to|on|with|from|of)\b)[\w-]+\s+){0,4}(?:chat ?bot|bot|assistant|ai agent)"
                      r"(?:\s+(?:for|on|in)\s+(?:our|my|the|a)\s+[\w' -]{1,40})?\s*[.!:]?$")
_ACCESS_REMARK = compile_filtered(r"[\w.' ]{1,30}\b(?:is|are|stays?)\s+read[- ]only\b[^.;]{0,60}$|(?:read[- ]only|only read|just read)(?:\s+(?:on|for|access|from|to)\b[^,.;]{0,40})?(?:,\s*(?:don'?t|do not|never)\b[^.;]{0,60})?\s*[.!]?$|(?:只读|只查|只能查|只查不改)[^,，。；]{0,12}$")


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
    wait_after: int | None = None  # "send me the draft on Slack for approval, once I approve send it": the wait after that many

    def steps(self) -> list[Step]:
        out: list[Step] = [*self.sources]
        # an approval in the same clause as an AI step approves what the AI wrote ("generate a post,
        # but ask me for approval before it is published"); other waits come before the work
        approves_ai = self.wait is not None and self.wait.approval is not None and self.ai is not None and not self.wait_first
        if self.wait is not None and not self.wait_last and not approves_ai and self.wait_after is None:
            out.insert(0 if self.wait_first else len(out), self.wait)
        if self.transform is not None:
            out.append(self.transform)
        if self.ai is not None:
            out.append(self.ai)
        if approves_ai and not self.wait_last and self.wait_after is None:
            out.append(self.wait)
        if self.subflow is not None:
            out.append(self.subflow)
        if self.parallel_id and len(self.deliveries) > 1:
            out.append(ParallelStep(id=self.parallel_id, branches=[[d] for d in self.deliveries]))
        elif self.wait_after is not None:
            out[len(out):] = [*self.deliveries[:self.wait_after], self.wait, *self.deliveries[self.wait_after:]]
        else:
            out.extend(self.deliveries)
        if self.wait is not None and self.wait_last:
            out.append(self.wait)
        return out


_FOR_APPROVAL = compile_filtered(r"(?<!wait )(?<!waits )(?<!waiting )(?<!ask )(?<!asks )\bfor (?:my |your |their |his |her |an? |the )?(?:approval|review|sign-?off)\b|\band\s+wait(?:s|ing)?\s+for\s+(?:my|our|your)\s+(?:ok|okay|go-ahead|approval|sign-?off|green light)\b|(?:让|给|请|等|通知)(?:我|老板|主管|经理|领导|[\u4e00-\u9fff]{1,6}?)(?:先)?(?:审批|审核|确认|过目)")


_ROUTES_TO_EACH = compile_filtered(r"分别(?:通知|发给|发到|推送给|推送到|转给|交给)(?:不同|各自|对应)的|\b(?:notify|route (?:it|them) to|send (?:it|them) to) (?:the )?(?:right|matching|respective|different|relevant) (?:team|teams|warehouse|warehouses|department|departments|person|people|channel|channels)\b")
_REWARD = compile_filtered(r"(?:送|赠送|发放|加|返|奖励)\s*(?:\d+\s*)?(?:个)?积分|(?:发|送|赠送|发放)(?:一张|\d+张)?[\u4e00-\u9fff]{0,4}优惠券"
                           r"|\b(?:give|award|add|grant)\s+(?:them\s+|the customer\s+)?(?:\d+\s+)?(?:loyalty\s+|reward\s+)?points\b")
# "tag the customer as VIP in Klaviyo": the tag is given
_TAG_AS_GIVEN = compile_filtered(r"\b(?:tag|label|mark|flag)\w*\s+(?:the\s+|this\s+|that\s+|them\s+|it\s+|him\s+|her\s+)?(?:[a-z]+\s+)?as\s+(?:an?\s+)?['\"]?[\w-]+['\"]?\s*(?:$|\b(?:in|on|and|then)\b)")


_NOTIFY_PERSON = ascii_re(
    r"\b(?:notify|remind|alert|ping|tell)\s+(?:the |our |my |their |his |her )?(?:[\w-]+\s+){0,2}"
    r"(?:rep|manager|team|owner|lead|engineer|admin|hr|recruiter|assistant|agent|staff|coordinator|director|boss|accountant|"
    r"doctor|teacher|on-?call|supervisor|approver|reviewer)s?\b"
    r"|(?:再|然后|并)?(?:提醒|通知|告诉|告知)(?:一下)?[\u4e00-\u9fff]{0,4}?(?:hr|人事|财务|老板|主管|经理|负责人|运营|客服|销售|老师|店长|团队|同事|值班|行政|采购|仓库|总监)")
# "推送给我", "再发一份入职问卷给他", "send it to me": to that person, on the request's messenger, else by email
_SENT_TO_ME = compile_filtered(r"(?:推送|推|发送|发|转发)(?:一[份条封个])?[\u4e00-\u9fff]{0,8}?给(?:我|他|她|他们|她们|对方)(?![\u4e00-\u9fff]{0,2}(?:看看|的))|\b(?:send|forward|push)\s+(?:it|them|this|that|the \w+)\s+(?:over\s+)?to me\b"
                               # "send me a daily summary of my unread Gmail": me, then what is sent
                               r"|\b(?:send|forward)\s+(?:me|us)\s+(?:a|an|the|my|our|this|that|every|each|all|[a-z]+'s)\b")
# "send it to sales-leads@acme.com and to #sales on Slack": an address the clause sends to
_TO_ADDRESS = compile_filtered(r"(?<!from )(?<!reply-)\b(?:to|cc)\s+(?P<address>[\w.+-]+@[\w-]+(?:\.[\w-]+)+)")
_IN_PLACE = ascii_re(r"\b(?:in|into|on|to)\s+(?:our\s+|the\s+)?([a-z][\w.-]{2,20})\s*$")
_WRITES_FIGURES = ascii_re(r"(?:then\s+|and\s+)?write\s+(?:the|these|those|all|each|its|their)\s+(?:[\w-]+\s+){0,2}?"
                           r"(?:totals?|numbers|figures|results|rows|records|data|values|scores|counts|sums|amounts)\s+(?:into|to|in|back)\b")
_SCALE = compile_filtered(r"\b(?:from|between)\s+[01]\s*(?:-|to|and)\s*(?:5|10|100)\b|\bon a (?:scale|score) of\b|\bout of (?:5|10|100)\b|(?<![\d.])[01]\s*-\s*(?:5|10|100)\b")
_STYLE_ONLY = r"(?:\s*(?:风格|式的|体的|笔记风|style|-style|tone|风))"
_LIKE = r"\b(?:like|similar to|in the style of|modell?ed on|inspired by)\s+"
# "加一条备注“已同步ERP”": the words of a note or label, not a service it goes to
_NOTE_WORDS = r"(?:备注|标签|注明|写上|打上)(?:为|成|是)?(?:(?!(?<![已未待])(?:写|同步|发|推|存|记|回|到|进))[^,，。;；]){0,6}?"  # not "把标签写回 Zendesk"
_OTHERS_ACT = ascii_re(r"(?:people|users|customers|clients|employees|staff|members|folks|everyone|our (?:team|staff|users|customers|employees))\s+"
                       r"(?:post|send|drop|submit|ask|share|message|write|fill|email|text|leave|upload)s?\b")
# "I'll paste a list of 50 company websites", "一批公司官网": pages, one per item
_SITES_LISTED = compile_filtered(r"\b(?:websites|web sites|homepages|domains|landing pages)\b|(?:一批|这些|一堆|批量)[^,，。；;]{0,8}?(?:官网|网站|网址|网页)")
_CHANGES_RECORD = compile_filtered(r"^(?:and\s+|then\s+)*(?:update|enrich|tag|label|close|assign|mark|archive|upsert|reopen)\s+(?:the|this|that|its|their)\b")
_EVENT_RECORD = r"\s+(?:issues?|pull requests?|prs?|rows?|orders?|tickets?|messages?|e-?mails?|comments?|deals?|leads?|contacts?|reviews?|stars?|events?)\b"
_WRITTEN_TO = r"\b(?:to|into|in|on|onto|back to)\s+(?:the\s+|our\s+|my\s+|their\s+)?|(?:到|进|回|在)\s*"
# "我审核后再手动回", "I'll review them and post manually": the review and what follows happen outside the workflow
_DONE_BY_HAND = compile_filtered(r"(?:审核|审批|确认|看过|看完)(?:一下|一遍)?(?:后|之后|以后|完)\s*(?:再|就)?\s*(?:手动|手工|自己|亲自)"
                                 r"|\b(?:review|check|approve)\w*\b[^,.;]{0,30}?\b(?:then|and)\s+(?:\w+\s+){0,3}?(?:manually|by hand|myself|ourselves)\b")
_OWN_PLACE = compile_filtered(r"(?:写进|写入|写到|写回|回写到?|记到|记进|记入|存到|存进|存入|录入|登记到|登记进|同步到|同步回)(?:我们|公司)?的?"
                              r"(?P<place>[\u4e00-\u9fff]{0,6}?(?:台账|总账|明细账|登记表|名册|档案)|[\u4e00-\u9fff]{2,6}?(?:系统|平台))")
_SUMMARY_OF = (r"\b(?:summary|summaries|report|digest|list|recap|overview|roundup|round-up|rundown|breakdown|count|number|total)\s+of\s+"
               r"(?:the\s+|our\s+|all\s+|any\s+|new\s+|today's\s+|yesterday's\s+|this week's\s+|last week's\s+)*(?:[\w-]+\s+){0,2}?")
_THAT_ROW = compile_filtered(r"\b(?:that|the|this|its|their)\s+(?:row|record|entry)\b|这一行|这条记录|该行|该记录|这行")
# "email my manager asking them to approve it": a message that asks; the run does not wait for an answer
_ASKED_TO_APPROVE = compile_filtered(r"\b(?:asking|ask|to ask|requesting)\s+(?:them|him|her|the \w+|my \w+)\s+(?:to\s+)?(?:approve|sign off)\b")
_FORWARD_IT = compile_filtered(r"\bforward(?:s|ed|ing)?\s+(?:it|them|this|that|the (?:e-?mail|message|thread))\b|转发(?:给|到)?")
_CALLED_API_ZH = compile_filtered(r"调用?(?:一下)?(?:我们|公司|自己)?的?(?P<name>[\u4e00-\u9fffa-z0-9]{1,8}?)的?(?:接口|\s?api)")


_BOOKED = compile_filtered(ph.BOOKS_RECORD_ZH)
# "We run a Shopify store.", "I use HubSpot as our CRM": who the user is, not a step
_CONTEXT_REMARK = compile_filtered(r"^(?:we|i)\s+(?:run|have|own|use|operate|sell on|sell through|are|am)\s+(?:a|an|our|my|the)?\s*[\w.' -]{0,30}?"
                                   r"\b(?:store|shop|site|website|business|company|agency|startup|team|account|instance|workspace|clinic|practice|firm|school|restaurant)\s*[.!]?$"
                                   # "Front desk inbox for our clinic is in Outlook": where something is kept, not a step
                                   r"|^(?:the\s+|our\s+|my\s+)?[\w' -]{1,40}?\b(?:inbox|calendar|mailbox|data|orders?|leads?|tickets?|files?|docs?|crm)\b[\w' -]{0,30}?\s+(?:is|are|lives?|sits?)\s+(?:all\s+)?(?:in|on)\s+[\w.]+(?:\s+[\w.]+)?\s*[.!]?$")
_POSTED_TO = r"\b(?:to|on|onto)\s+(?:our\s+|the\s+|my\s+)?"
_APPROVER_ZH = compile_filtered(r"(?:交给|发给|提交给|给|等|让|请|需要|要|由)(?:先)?(?:等|让|由|给|交给|发给)?(?P<who>(?!我|你|人工|先|等)[\u4e00-\u9fff]{1,5}?)(?:先|人工|来)?(?:审核|审批|批准|过目|把关)")
_REPLIED_IN = compile_filtered(r"(?:回复|回)(?:到|在)")


def _replied_in(found: list[str], clause: str) -> str | None:
    """The service a reply goes back to when the clause names it right after 回复到 ("再回复到淘宝上")."""
    at = _REPLIED_IN.search(clause)
    if at is None:
        return None
    rest = clause[at.end():]
    return next((f for f in found if any(rest.startswith(a) for a in (*ent.BY_ID[f].zh, *ent.BY_ID[f].names) if a)), None)


def parse_actions(clause: str, state: _State, *, default_service: str | None = None) -> Actions:
    """The actions one clause asks for, in reading order."""
    from pilot.generation.conditions import wait_seconds

    acts = Actions()
    notified: list[DeliverStep] = []  # the person a clause notifies, before what else it writes
    quote = clause[:200]
    if _ACCESS_REMARK.match(clause.strip()) or _TITLE_ONLY.match(clause.strip()) or _CONTEXT_REMARK.match(clause.strip()):
        return acts  # "Read only on github/jira.", "只读，不要改", "Discount approvals.": how to treat the services, a title; not a step
    if _OTHERS_ACT.match(clause.strip()) and not re.search(r",|\b(?:it|then|we|i)\b", clause):
        return acts  # "People post requests in our Slack #ops-help channel": what others do, the event, not a step
    agent = state.last_ai if state.last_ai is not None and state.last_ai.task == "agent" else None
    if agent is not None and _AGENT_CAN.search(clause):
        # "…and the agent can call our status page API and search Jira to answer": what the agent may
        # use (its tools; the list is this step's own), not steps of the workflow
        agent.tools.extend(x for x in ent.find_integrations(clause)[0] if x not in agent.tools)
        return acts
    clause = _POSTED_IN.sub(r"\g<1> from", _TO_AI_ZH.sub("让", _TO_AI.sub("have the ai", clause)))
    if _OUTCOMES_SAID.search(state.raw.lower()):  # "approve it before anything is published. Approved → post it on LinkedIn"
        clause = _BEFORE_IT_GOES_OUT.sub("", clause)  # when, not a publish: the approved side says where it goes
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
    if writes and not found and (place := _IN_PLACE.search(clause)) and (named := ent.lookup_service(place.group(1))) is not None \
            and named.write_url and named.kind == "data":
        # "move them to the 'Interview' stage in Greenhouse": a name too ambiguous for free text, as where it goes
        found, dests = [named.id], [named.id]
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
    styled = [d for d in dests if (_named_with(d, ph.STYLE_OF, clause) and not _named_with(d, r"\s+post\b", clause, before=_PUBLISH_THE)
                                   and not _named_with(d, r"(?:\s*[,.;]|\s+and\b|\s*$)", clause, before=_POSTED_TO))  # "…, the LinkedIn post to LinkedIn"
              or _named_with(d, "", clause, before=_SUITED_FOR)]  # "适合发小红书": written for it, not posted there
    if styled:
        state.style_service = styled[0]  # "write a LinkedIn post …, then publish it": where "it" goes later
        # "write a LinkedIn post and a tweet …, then publish both": each of them
        state.style_services = [*styled, *(["twitter"] if re.search(r"\btweets?\b", clause) and "twitter" not in styled else [])]
    # "post a summary of yesterday's failed Stripe payments to Slack": what is summarised is read, not written to
    summarised = [d for d in dests if len(dests) > 1 and _named_with(d, "", clause, before=_SUMMARY_OF)]
    dests = [d for d in dests if d not in summarised]
    srcs = [*srcs, *(d for d in summarised if d not in srcs)]
    linked = [d for d in dests if _named_with(d, "(?:" + ph.LINK_OF + "|" + ph.CONTENT_OF + ")", clause)]
    dests = [d for d in dests if d not in styled and d not in linked]  # "with the Zoom link" is not a delivery
    # "a blog post on how realtors can use Instagram Reels", "asking them to leave a Google review",
    # "an email about our HubSpot integration": what the text is about, neither read nor written
    topics = {x for x in found if _topic(x, clause) or _named_with(x, "", clause, before=_LIKE)  # "formatted like Linear's changelog"
              or _named_with(x, "", clause, before=_NOTE_WORDS)}
    dests, srcs, found = [d for d in dests if d not in topics], [x for x in srcs if x not in topics], [f for f in found if f not in topics]
    # "Log every new GitHub issue … to a Notion database": the event's own record is what is written, not where
    # ("update the HubSpot contact with the industry": that record is what is written)
    dests = [d for d in dests if not (d in state.trigger_clause_services() and _named_with(d, _EVENT_RECORD, clause)
                                      and not _named_with(d, "", clause, before=_WRITTEN_TO) and not _CHANGES_RECORD.match(clause))]
    if send and not negated and "email" not in dests and re.search(r"\b(?:gets?|be|is|are)\s+e-?mailed\b", clause):
        dests = [*dests, "email"]  # "an update that gets emailed to the founders and saved in Google Drive"
    if send and not dests and not negated:  # "send the customer a thank-you SMS": the medium is the destination
        dests = [f for f in found if ent.BY_ID[f].kind == "messaging" and f not in state.trigger_clause_services()
                 and not _read_from(f, clause)]
    if "email" in dests and any(d != "email" and (ent.BY_ID[d].category == "email" or (
            ent.BY_ID[d].category == "marketing" and _named_with(d, "", clause, before=r"\b(?:through|via|using|with)\s+(?:our\s+)?"))) for d in dests):
        dests = [d for d in dests if d != "email"]  # "a reminder email through SendGrid / through Klaviyo": the provider sends it
    via = [d for d in dests if ent.BY_ID[d].kind == "messaging" and any(
        _VIA.search(clause, a) for a in ent.BY_ID[d].en if a and a in clause)]
    via += [d for d in dests if d not in via and ent.BY_ID[d].kind == "messaging" and re.search(r"\(\s*#[\w-]+", clause)]  # "for Slack (#eng-standup)"
    if "email" in dests and not send and re.search(r"\b(?:write|draft|compose)\b[^,.;]{0,40}\be-?mails?\b", clause):
        dests = [d for d in dests if d != "email"]  # "write a cold outreach email": what is written, not where it goes
    if _DESCRIBED_TARGET.search(clause):
        dests, send, writes = [], False, False  # "是要发给海外客户的邮件正文": who it is for, not a step
    if negated or (default_service is None and not writes and not via):
        dests = []  # "reply to this email", "dedupe by email address": the service is only mentioned
    place = _OWN_PLACE.search(clause) if writes and not dests and not found and not negated and default_service is None else None
    if place:  # "审批通过后再写进报销台账": the team's own ledger / table, named by what it is
        acts.deliveries.append(_deliver(place.group("place"), clause, state))
    if writes and not dests and not negated and storage_op == "update" and _THAT_ROW.search(clause) \
            and (app := event_app(state)) and ent.BY_ID[app].kind == "data":
        dests = [app]  # "set the Status column of that row to 'Approved'": the row the event is about, in its app
    # waits and approvals
    w = ph.WAIT.search(clause)
    until = ph.WAIT_UNTIL.search(clause) if not ph.APPROVAL.search(clause) else None  # "wait for the manager's approval"
    if w and wait_seconds(w):
        seconds = wait_seconds(w) or 0.0
        if w.group("n6") and state.since_event_s < seconds:  # "满30天" after "满一周": 23 more days
            seconds, state.since_event_s = seconds - state.since_event_s, seconds
        else:
            state.since_event_s += seconds
        acts.wait = WaitStep(id=state.uid("wait"), duration_s=seconds, quote=quote)
        first_send = ph.SEND.search(clause)
        acts.wait_last = bool(first_send and first_send.start() < w.start() and not ph.IF.search(clause))
        acts.wait_first = w.start() <= 2  # "等3天以后去金数据看问卷": the wait comes before what the clause reads
    elif until:
        acts.wait = WaitStep(id=state.uid("wait"), until=(until.group("until") or until.group("until2") or until.group("until3") or until.group("until4") or until.group("until5")).strip(), quote=quote)
    elif ph.APPROVAL.search(clause) and not re.search(r"不需要|不用|无需|\bno\b|\bwithout\b|\bdon't need\b|\bno need\b", clause) \
            and not _DONE_BY_HAND.search(clause) and not _ASKED_TO_APPROVE.search(clause):
        who = re.search(r"\b(?:the |a |an |our )?(?P<who>[a-z]+(?: (?!must\b|needs?\b|has\b|should\b|will\b|to\b)[a-z]+)?)"
                        r" (?:(?:must|needs? to|has to|should|will|to) )?(?:approves?|signs? off)", clause)
        approver = who.group("who") if who and not re.fullmatch(r"(?:let |have |until |unless |before |till |once |when |after |if )?(?:me|us|i|we)|let|i'll|we'll|(?:and |then )?(?:once|when|after|if|until|unless|before|till)|and|then",
                                                                who.group("who")) else None
        if approver is None and (source := re.search(r"\bapproval (?:from|by) (?:a |an |the |our |their )?(?P<who>[a-z]+(?: [a-z]+)?)", clause)):
            approver = source.group("who")  # "it needs approval from a finance manager first"
        if approver is None and (zh := _APPROVER_ZH.search(clause)):
            approver = zh.group("who")  # "先发给客服主管审核"
        acts.wait = WaitStep(id=state.uid("approval"), approval=quote, approver=approver, quote=quote)
    # sources; a data service only named ("汇总有赞当天的订单") is still where the data comes from
    replied = _replied_in(found, clause) if not fetch else None  # "…再回复到有赞": where the reply goes, not read
    srcs = [*(x for x in srcs if x != replied), *(f for f in found if f not in dests and f not in srcs and not negated and f != replied
                     and (ent.BY_ID[f].role == "source" or (fetch and _read_from(f, clause))))]
    for sid in srcs:
        # "拉一下我们小红书笔记下面的新评论": a read names the service's posts as what it reads, not as a style
        style = ph.STYLE_OF if writes or not fetch else _STYLE_ONLY
        if sid in state.trigger_clause_services() or _named_with(
                sid, "(?:" + ph.STYLE_OF + "|" + ph.LINK_OF + ")" if writes and not fetch else style, clause):
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
        acts.sources.append(SourceStep(id=state.uid("fetch_page"), from_="url", url=url if "://" in url else "https://" + url, quote=quote))
    for path in ([] if urls or negated else _METHOD_PATH.finditer(clause)):
        # "调我们工单系统的接口（POST /api/tickets）建一个工单", "PATCH /claims/{id}": a write to the team's own API
        system = _SYSTEM_NAMED.search(clause[: path.start()])
        name = (system.group("sys") + " api") if system else "api"
        op = "update" if path.group("m") in ("put", "patch") else "create"
        acts.deliveries.append(DeliverStep(id=state.uid("call_api"), service=name, operation=op, target=path.group("path"), quote=quote))
        urls.append(path.group("path"))  # the call is the clause's write: no generic read or call besides it
    # "Give it a URL -> it scrapes the page", "输入一个文章链接，把正文抓下来": the link named before is what is read
    handed_url = ph.URL_INPUT.search(clause) or ((ph.URL_INPUT.search(state.raw.lower()) or _SITES_LISTED.search(state.raw.lower()))
                                                 and re.search(r"\b(?:page|article|site|homepage|home page|landing page|website)\b|正文|文章|网页|页面|首页|官网", clause))
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
    url_writes = any(d.target in urls for d in acts.deliveries)  # "调用发货接口 POST https://…": that call is the write
    actuated = ph.ACTUATE.search(clause)  # a call that changes something (asked once: the read below and the write use it)
    unknown = _FROM_UNKNOWN_APP.search(clause) if fetch and not acts.sources and not srcs and not negated and not urls else None
    if unknown and unknown.group("name") not in ("api", "url", "csv", "excel", "pdf", "json", "xml"):
        # a name only lookup_service resolves ("moka", too ambiguous in free text) is that service
        known = ent.lookup_service(unknown.group("name"))
        sid = known.id if known is not None and known.kind != "messaging" else unknown.group("name")
        if known is not None or unknown.group("name").isascii():  # a Chinese name only when it is a known one ("有赞")
            acts.sources.append(SourceStep(id=state.uid(f"fetch_{sid}" if known else "fetch_data"), service=sid, quote=quote))
    if not negated:  # the weather and a calendar that are sent, a table of the user's own, rows said to be in a file
        acts.sources = said_data_sources(clause, state, quote, acts.sources, read_elsewhere=bool(srcs), sends=send)
    got = _GET_PATH.search(clause) if not acts.sources and not srcs and not negated and not urls else None
    if got:
        owner = _API_OWNER.search(clause[: got.start()].rstrip(" (（"))
        name = re.sub(r"^(?:我们|公司|自己)的?", "", owner.group("sys")) if owner else ""
        sid = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") if name.isascii() and name else "api"
        acts.sources.append(SourceStep(id=state.uid("fetch_" + (sid if sid != "api" else "api")), service=(name + " api").strip() if name else "api",
                                       url="{{ inputs." + sid + "_base_url }}" + (got.group("path") or got.group("path2")), quote=quote))
    if not acts.sources and not srcs and not negated and not url_writes:
        db_read = _READ_DB.search(clause)
        read = db_read or _READ_API.search(clause)
        tail = clause[read.end():] if read else ""
        named = next((v for k, v in (read.groupdict() if read else {}).items() if k.startswith("name") and v), "")
        if read and not (named and re.search(r"短信|发送|推送|通知|群发", named)) \
                and not (ph.SEND.match(tail.lstrip()) or re.match(r"\s*(?:群发|发送|推送|通知|写入|下单)", tail)) \
                and not (read is not db_read and actuated and actuated.start() <= read.start() < actuated.end()):  # "调ERP接口把订单标记为已确认" writes
            # "从数据库里读出来", "数据库里存了3000条", "调一次库存接口", "call our /health endpoint": a read
            name = named.strip()
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
    if not acts.sources and not srcs and not negated and METRICS.search(clause):
        acts.sources.append(SourceStep(id=state.uid("fetch_metrics"), service="监控接口" if state.lang == "zh" else "metrics api", quote=quote))
    if not acts.sources and not srcs and fetch and state.trigger_kind not in ("webhook", "form", "app_event") and not THE_ONES.search(clause):
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
    if ph.KNOWLEDGE.search(clause) and not any(s.from_ == "knowledge" for s in acts.sources) and _reads_docs(clause) \
            and not _NO_KNOWLEDGE.search(clause):
        acts.sources.append(SourceStep(id=state.uid("search_docs"), from_="knowledge", quote=quote))
    # the AI step
    hits = [(m.start(), rank, task) for rank, (task, rx) in enumerate(ph.AI_TASKS) if (m := rx.search(clause))]
    if hits and _BOOKED.search(clause):
        hits = [h for h in hits if h[2] != "generate"]  # "在金蝶里生成销售出库单": booked in the system, not written by AI
    if hits and _WRITES_FIGURES.match(clause):
        hits = [h for h in hits if h[2] != "generate"]  # "Write the totals into our Airtable base": stored, not written by AI
    if hits and negated and neg is not None and neg.start() <= 2:
        hits = []  # "don't auto-reply to the customer": a refusal asks for no step
    if hits and state.last_ai is not None and (_delivers_result(clause) or ph.WRITE_BACK.search(clause)):
        hits = []  # "save the summary to Notion": the summary an earlier step wrote
    if any(h[2] == "score" for h in hits) and _SCALE.search(clause):
        hits = [h for h in hits if h[2] != "classify"]  # "score each one's sentiment from 1 to 5": a number, not a label
    if not hits and _ASKS_AI.search(clause) and not _delivers_result(clause):
        hits = [(0, 6, "analyze")]  # "have AI work out the return on ad spend": an AI step whatever the verb
    if hits:
        # agent / translate name the whole job; otherwise the first task verb of the clause wins
        task = min(hits, key=lambda h: (h[1] > 1, h[0], h[1]))[2]
        acts.ai = _ai_step(task, clause, state, found)
    if acts.ai is None and send and not negated and _COMPOSED.search(clause):
        acts.ai = _ai_step("generate", clause, state, found)  # "email the customer a polite reminder": someone has to write it
    no_ai = bool(_NO_AI.search(clause)) or getattr(state, "no_ai", False)  # "不要用AI" anywhere in the request holds for every step
    if acts.ai is not None and acts.ai.task in ("analyze", "generate", "extract") and ZH_PICK.search(clause) and not _ASKS_AI.search(clause):
        acts.ai = None  # "找出迟到超过3次的员工": a threshold on what was read picks them, no judgement
    if acts.ai is None or no_ai:
        acts.transform = _transform_step(clause, state, quote)
        if no_ai:
            acts.ai = None
    sub = _SUBFLOW.search(clause)
    if sub and not _NO_SUBFLOW.search(sub.group(0)):
        acts.subflow = SubflowStep(id=state.uid("run_workflow"), workflow=(sub.group("name") or sub.group("name2") or "workflow").strip(), quote=quote)
    if not negated:
        # on the event's record, or inside a loop on the item's ("审查意见作为评论发回对应的MR")
        looped = state.loop_app if state.in_loop and state.loop_app in ent.BY_ID else None
        dests, srcs = with_asked_actions(clause, found, dests, srcs, event_app(state) or looped)
    tweeted = _TWEET.search(clause)
    if not negated and "twitter" not in dests and tweeted and not _A_TWEET.search(clause, max(0, tweeted.start() - 30), tweeted.start()):
        dests = [*dests, "twitter"]  # "tweet about it": posted on X/Twitter (a tweet written and not sent is "write a tweet")
    if "erp" in dests and any(d != "erp" and ent.BY_ID[d].category in ("commerce", "finance") and ent.BY_ID[d].role != "source"
                              for d in dests if d in ent.BY_ID):
        dests = [d for d in dests if d != "erp"]  # "调聚水潭的接口把订单同步到ERP": 聚水潭 is the ERP
    # deliveries
    deliver_verb = bool(ph.DELIVER.search(clause))
    for sid in dests:
        if sid in _NOT_DEST and not deliver_verb:
            continue
        acts.deliveries.append(_deliver(sid, clause, state))
    if not fetch:  # "直接调用有赞接口同意退款": the service is asked to act, nothing is read from it first
        acted = {d.service for d in acts.deliveries if d.action}
        acts.sources = [x for x in acts.sources if x.service not in acted]
    if acts.ai is not None and acts.ai.task == "classify" and not acts.ai.categories and acts.deliveries and not _ASKS_AI.search(clause) \
            and (any(d.action == "label" for d in acts.deliveries) or _TAG_AS_GIVEN.search(clause)):
        acts.ai = None  # "tag the customer as VIP in Shopify": the tag is given, nothing is classified
    replies = re.match(r"(?:reply|answer|respond|thank|tell)\b|回复|回答|答复|直接回复", (default_service or "").strip()) or ph.IGNORE.search(default_service or "")
    if not acts.deliveries and default_service and not acts.sources and not replies and not (
            acts.ai is not None and not ph.SEND.search(default_service) and not ph.delivery_op(default_service)
            and not ph.OWN_OBJECT.search(default_service)):
        target = re.sub(r"^(?:to|into|the|our|a|an)\s+", "", default_service.strip()).strip()
        target = ph.WHEN_WORDS.sub("", target).strip()  # "gets logged right away": how soon, not where
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
        handed = HANDOFF.match(target) if not integ and not remark else None
        if handed and not _NOT_A_PERSON.search(handed.group("who") or "") and not ent.lookup_service(handed.group("who") or handed.group("team")):
            integ = [handoff_messenger(state)]  # "售前的转给销售": to the sales team, on the messenger the team uses
        named = target.isascii() and len(target.split()) <= 2 and not re.match(r"(?:or|and|nor|then|also|just|only|not)\b", target)
        sid = integ[0] if integ else None if remark or not (named or _DESTINATION_NOUN.search(target)) else _service_phrase(target)
        if sid:
            who = handed.group("who") or handed.group("team") if handed and integ == [sid] else None
            acts.deliveries.append(_deliver(sid, clause, state, target=who or (None if integ else target)))
    elif not acts.deliveries and (send or re.search(r"回(?:一|个)?封|回信", clause)) and _emails_someone(clause) and not negated:
        acts.deliveries.append(_deliver("email", clause, state))
    if not acts.deliveries and send and not negated and acts.ai is None and state.last_ai is not None and _TO_THEM.search(clause):
        # "用AI写一条跟进短信，然后发给客户": what the AI wrote says how it goes out
        medium = [m for m in ent.find_integrations(state.last_ai.quote.lower())[0] if ent.BY_ID[m].kind == "messaging"]
        if medium:
            acts.deliveries.append(_deliver(medium[0], clause, state))
    if not acts.deliveries and send and not negated and _FORWARD_IT.search(clause) and (app := event_app(state)) \
            and ent.BY_ID[app].category == "email":
        # "When a new email comes into support@ …, forward it to them": forwarded as an email
        acts.deliveries.append(_deliver(app, clause, state))
    if not acts.deliveries and send and not negated and _TO_THE_SENDER.search(clause) and (app := event_app(state)) \
            and ent.BY_ID[app].kind == "messaging":
        # "企业微信有新客户加好友的时候，自动给他发一段欢迎语": to the person of the event, in the app it happened in
        acts.deliveries.append(_deliver(app, clause, state))
    if not acts.deliveries and not negated and (replied or _REPLY_BACK.match(clause.strip()) or _REPLY_BACK_ANY.search(clause)) \
            and (app := replied or event_app(state)):
        # "淘宝店每来一条买家咨询…是的话自动回复…": an event's reply goes back where the event came from;
        # "审核通过后再回复到有赞": to the shop it names (the reviews were read there)
        acts.deliveries.append(_deliver(app, clause, state))
    if not acts.deliveries and send and not negated and (not found or all(f in srcs for f in found)) \
            and (_NOTIFY_PERSON.search(clause) or (_SENT_TO_ME.search(clause) and not ph.APPROVAL.search(clause))):
        # "notify the sales rep to follow up", "三天后提醒HR跟进": a person, on the request's messenger, else by email
        acts.deliveries.append(_deliver(_request_messenger(state), clause, state))
        notified = list(acts.deliveries)
    if acts.deliveries and send and not negated and (address := _TO_ADDRESS.search(clause)) and not any(
            d.service in ent.BY_ID and ent.BY_ID[d.service].category == "email" for d in acts.deliveries):
        # "send it to sales-leads@acme.com and to #sales on Slack": the address is a destination of its own
        acts.deliveries.insert(0, _deliver("email", clause, state, target=address.group("address")))
    if acts.deliveries and not negated and _ALSO_NOTIFY.search(clause) and not any(
            d.service in ent.BY_ID and ent.BY_ID[d.service].kind == "messaging" for d in acts.deliveries):
        # "录入飞书多维表格并通知HR": a second action, on the messenger the request uses, else by email
        acts.deliveries.append(_deliver(_request_messenger(state), clause, state))
    if actuated and not neg and not url_writes:
        # "switch on the fan through the device API", "trigger the CI pipeline": a call that changes something
        api = ph.API_NAME.search(clause)
        named = ent.find_integrations(actuated.group(0))[0]  # "调用有赞的退款接口退掉": that service's API
        called = _CALLED_API_ZH.search(actuated.group(0))  # "调ERP接口把订单标记为已确认": the ERP's API
        called_service = ent.find_integrations(called.group("name"))[0] if called else []
        name = (api.group("name") or api.group("name2")).strip() if api else named[0] if named else \
            called_service[0] if called_service else ("device api" if "on" in clause else "api")
        service = ent.find_integrations(name)[0]  # "via the Shopify refund API": Shopify's
        name = service[0] if service else name
        acts.deliveries.insert(0, _deliver(name, clause, state))
        acts.sources = [x for x in acts.sources if x.service != name]  # the call writes there; nothing is read first
    if (not acts.deliveries or acts.deliveries == notified) and writes and not negated and not fetch:
        # what the trigger or the loop reads is what "the ticket" / "the PR" of a write means
        # ("写入大额发票表并通知财务总监": the table as well as the person)
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
        elif re.search(r"\b(?:the|our|their|his|her) (?:team )?calendar\b|日历", clause) and not found:
            # "once approved, add it to the calendar": the calendar the request named before, else Google Calendar
            named_cal = [x for x in ent.find_integrations(state.raw.lower())[0] if ent.BY_ID[x].category == "calendar"]
            acts.deliveries.append(_deliver(named_cal[0] if named_cal else "google_calendar", clause, state))
        elif (group := _TO_GROUP.search(clause)) and not re.search(r"适合|便于|方便|能够|可以", clause[: group.start()]):
            # "汇总飞书多维表格里的新记录发到群里": a group chat, on the messenger of the request's suite, not the table
            acts.deliveries.append(_deliver(_group_messenger(state), clause, state))
        elif re.search(r"\b(?:sheet|spreadsheet|table|tab|worksheet|column [a-z])\b|表格|数据表|(?<![a-z])[a-z]列", clause):
            # "the talent pool sheet": the table the rows came from (飞书多维表格, Airtable…), else Google Sheets;
            # "写回表格的D列" of a 腾讯文档 table, "write it back into column C": where it was read
            src = state.loop_service or (state.last_source.service if state.last_source is not None else None) or (own[0] if own else None)
            back = re.search(r"\bback\b|写回|回写|填回|回填", clause)
            tabular = src in ent.BY_ID and (ent.BY_ID[src].category in ("spreadsheet", "database", "table")
                                            or (back is not None and ent.BY_ID[src].kind == "data"))
            acts.deliveries.append(_deliver(src if tabular else "google_sheets", clause, state))
        elif own and (ph.OWN_OBJECT.search(clause) or (own[0] == "email" and re.search(r"\breply\b|回复|发回|回过去", clause))):
            acts.deliveries.append(_deliver(own[0], clause, state))  # "add that label to the issue" (GitHub)
        elif looked_up and _LOOKED_UP_OBJECT.search(clause):
            acts.deliveries.append(_deliver(looked_up, clause, state))  # "look them up in HubSpot … update them": in HubSpot
        elif target and not any(_read_from(x, clause) for x in ent.find_integrations(target.group(0))[0]):
            name = (target.group("t") or target.group("t2") or target.group("t3") or target.group("t4")).strip()
            acts.deliveries.append(_deliver(name, clause, state, target=target.group(0)))
        if notified and acts.deliveries != notified:
            acts.deliveries = [*(d for d in acts.deliveries if d not in notified), *notified]  # written, then told
    if send and _CHANNEL.search(clause) and not any(d.service in ("slack", "teams", "discord", "mattermost")
                                                                     for d in acts.deliveries):
        acts.deliveries.append(_deliver("slack", clause, state))  # "posts in #incidents": a Slack channel
    if len(acts.deliveries) > 1 and ph.PARALLEL.search(clause) and not acts.sources:
        acts.parallel_id = state.uid("at_once")
    ai_tags = acts.ai is not None and re.search(r"\b(?:tag|label)\b|打标签", clause)  # "have AI tag the root cause": the AI's output
    if not acts.deliveries and writes and not negated and state.loop_service and not ai_tags and re.search(
            r"\b(?:comment|close|label|tag|reply|archive|assign|update|move|write|back)\b|评论|关闭|打标签|回复|写回|回写", clause):
        acts.deliveries.append(_deliver(state.loop_service, clause, state))  # "for each issue: … close it"
    if not acts.deliveries and not negated and _REWARD.search(clause) and (app := event_app(state) or (
            state.loop_service if state.loop_service in ent.BY_ID else None)):
        acts.deliveries.append(_deliver(app, clause, state))  # "是会员就送积分" after a 有赞 order: the points are given there
    if not acts.deliveries and not negated and _SET_FIELD.search(clause) and (
            where := next((f for f in found if ent.BY_ID[f].kind != "messaging"), None)
            or (state.loop_service if state.loop_service in ent.BY_ID else event_app(state))):
        # "其他的把状态改成“培育中”" in a loop over a 飞书多维表格: that record is updated where it lives;
        # "set the ticket priority to urgent in Zendesk": in the service named
        acts.deliveries.append(msgspec.structs.replace(_deliver(where, clause, state), operation="update"))
    if acts.ai is not None and acts.ai.task == "generate" and re.search(r"\be-?mails?\b|邮件", clause) and not acts.deliveries:
        state.style_service = "email"  # "写一封面试邀约邮件，然后发给候选人": the email is how it goes
    if not acts.deliveries and send and not negated and not found and state.style_service and (
            state.style_service == "email" or re.search(r"\bpublish|\bpost\b|发布", clause)):
        both = getattr(state, "style_services", [])  # (the chat's edit planner passes a plain state)
        for sid in (both if len(both) > 1 and re.search(r"\b(?:both|all of them|each of them|them all)\b|都发|分别发", clause) else [state.style_service]):
            acts.deliveries.append(_deliver(sid, clause, state))
    if not acts.deliveries and not acts.sources and acts.ai is None and not fetch and found and state.lang == "en" \
            and len(clause.split()) <= 4 and re.match(r"(?:to\s+|into\s+)?(?:" + "|".join(
                re.escape(a) for a in ent.BY_ID[found[0]].en) + r")\b(?!\s*(?:and|or|&|/|,)\s)", clause):  # not "email and dietary needs"
        acts.deliveries.append(_deliver(found[0], clause, state))  # "→ slack #sales": the bare destination
    if any(d.service in ent.BY_ID or not re.fullmatch(r"(?:[\w ]+ )?api", d.service) for d in acts.deliveries):
        # "调用我们的短信平台接口群发通知", "调HIS系统的预约接口直接约号": the call is how the named service
        # (or system) is reached, not a second write
        acts.deliveries = [d for d in acts.deliveries if not re.fullmatch(r"(?:[\w ]+ )?api", d.service) or d.service in ent.BY_ID]
    if _ROUTES_TO_EACH.search(clause) and not ent.find_integrations(clause)[0]:
        acts.deliveries = []  # "根据商品类别分别通知不同的仓库": the head of the cases that follow, no send of its own
    # one delivery per service per clause ("shoot an email to partners@acme.io"), the one naming a target
    # (services stay in the order the clause named them: "用Stripe退款并发邮件通知客户" refunds, then emails)
    first: dict[str, int] = {}
    for i, d in enumerate(acts.deliveries):
        first.setdefault(d.service, i)
    acts.deliveries.sort(key=lambda d: (first[d.service], d.target is None))
    seen: set[str] = set()
    acts.deliveries = [d for d in acts.deliveries if d.service not in seen and not seen.add(d.service)]

    if acts.ai is not None and acts.ai.task == "agent":
        tools, as_tools = _named_tools(clause, [*(s.service or s.from_ for s in acts.sources)])
        acts.sources = [s for s in acts.sources if (s.service or s.from_) not in as_tools]  # the agent calls them
        acts.ai = AiStep(id=acts.ai.id, task="agent", instruction=acts.ai.instruction, quote=acts.ai.quote, tools=tools)
    if acts.wait is not None and acts.wait.approval and acts.deliveries and (asks := _FOR_APPROVAL.search(clause)):
        # "send me the draft on Slack for approval": that message asks for it, the wait follows it
        first_send = ph.SEND.search(clause)
        if first_send and first_send.start() <= asks.start():  # "通知门店经理确认": the notice is the ask
            # what comes after the gate waits for it ("for approval on Slack before creating the bill": Slack asks)
            gate = re.search(r"\b(?:before|then|once|after|and|only)\b|[,;]", clause[asks.end():])
            asked_on = set(ent.find_integrations(clause[:asks.end() + (gate.start() if gate else 0)])[0])
            acts.wait_after = len(list(itertools.takewhile(lambda d: d.service in asked_on, acts.deliveries)))
    if acts.wait is not None and acts.wait.approval and acts.ai is not None and not acts.deliveries:
        # "生成公众号文章，先等我审核通过": the approval is of what the AI wrote
        gate = ph.APPROVAL.search(clause)
        acts.wait_last = bool(gate and min(h[0] for h in hits) < gate.start())
    return acts
