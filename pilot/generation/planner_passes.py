"""Passes over the steps the planner assembled (offline planner, pure): consecutive sources run
side by side, two phrasings of one approval are one approval, the deliveries the request refuses
are removed, a compared string keeps the request's own spelling; and ``_flat``, every step of a
plan, nested ones included."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import msgspec

from pilot.generation import entities as ent
from pilot.generation import phrases as ph
from pilot.generation.clauses import plain
from pilot.generation.plan import AiStep, BranchStep, DeliverStep, LoopStep, ParallelStep, SourceStep, Step, WaitStep, map_steps, walk
from pilot.generation.prefilter import compile_filtered
from pilot.generation.text import cached_re, cased

if TYPE_CHECKING:
    from pilot.generation.planner_state import _State


def _flat(steps: list[Step]):
    from pilot.generation.plan import walk

    return list(walk(steps))


def _restore_value_case(steps: list[Step], raw: str) -> None:
    """Planning reads lower-cased text; a compared string keeps the request's own spelling
    ("status 等于 SUCCESS" tests for "SUCCESS", which an exact comparison needs)."""
    from pilot.generation.plan import walk

    for step in walk(steps):
        if not isinstance(step, BranchStep):
            continue
        for k, case in enumerate(step.cases):
            value = case.when.value if case.when is not None else None
            if isinstance(value, str) and value and not value.isdigit():
                spelled = _spelled_in(raw, value)
                if spelled is not None and spelled != value:
                    step.cases[k] = msgspec.structs.replace(case, when=msgspec.structs.replace(case.when, value=spelled))


def _spelled_in(raw: str, value: str) -> str | None:
    """What ``re.search(re.escape(value), raw, re.I)`` finds: for ASCII text a lower-cased
    ``find`` (no pattern compiled per value), else ``re`` (its case folding goes beyond ``lower``:
    "ſ" matches "s")."""
    if raw.isascii() and value.isascii():
        at = raw.lower().find(value.lower())
        return raw[at:at + len(value)] if at >= 0 else None
    if not cased(value):  # "已支付": compared exactly
        return value if value in raw else None
    m = cached_re(re.escape(value), re.I).search(raw)
    return m.group(0) if m else None


def _one_approval_at_a_time(steps: list[Step]) -> list[Step]:
    """"发之前必须经过我审核，我点通过了再发布": two phrasings of one approval, not two approvals."""
    out: list[Step] = []
    for s in steps:
        if isinstance(s, WaitStep) and s.approval and out and isinstance(out[-1], WaitStep) and out[-1].approval:
            continue
        out.append(s)
    return out


_READ_ONLY = compile_filtered(r"只读|只查|不要改|别改|不改|不要修改|read[- ]only|\b(?:don't|do not|never) (?:modify|change|update|touch|write)")


# "Do not send any patient details to Slack or email — SMS only": what is allowed is not refused
_ONLY_THIS = compile_filtered(r"(?<![—–-])[—–-]+\s*[\w ]{1,20}?\s+only\b|\b(?:only|just)\s+(?:via|by|through|on|in)\s+[\w ]{1,20}|"
                             r"\b(?:only|just)\s+(?:the|a|an|one)\s+[\w ]{1,20}?\s+(?:entry|entries|record|row|page|item|note|card|update|post)\b|只(?:用|通过|发)[\u4e00-\u9fffa-z]{1,8}")
_SENDING = compile_filtered(r"\b(?:post|send|share|publish|notify|message|ping|alert|dm)\b|发到|发给|发送|推送|通知|群里|频道")
_ONE_SIDE = compile_filtered(r"^\s*(?:if|when|otherwise,? if)\b[^,;]{1,40}?,?\s*(?:then\s+|just\s+)?$|^[^,，;；]{1,14}?的话\s*(?:就|什么都|啥都|都|也|就什么都)?\s*$|^[^,，;；的]{1,12}的\s*(?:就|都|也)?\s*$|^[\u4e00-\u9fff]{1,8}就\s*$|^(?:没|没有|无|不)[\u4e00-\u9fff]{1,4}(?:的话)?\s*$")  # "已经取消预约的别发", "约过了就不用发了", "没变化不要发消息"
_THE_OTHERS = compile_filtered(r"(?:其他|其它|其余|剩下|别的)的?|否则|不然|(?:otherwise|if not|the rest|the others|all others|everything else|anything else|other ones)\b")


def _without_refused(steps: list[Step], clauses: list[str]) -> list[Step]:
    """Deliveries the request refuses ("don't send anything", "I'll post it myself", "别往钉钉里写",
    "don't reply to the email") are removed: to the services named there, else all of them."""
    refused: set[str] = set()
    everything = False
    previous = ""
    for c in (plain(c) for c in clauses):
        neg = ph.NEGATED.search(c)
        if not neg or _THE_OTHERS.match(c) or _ONE_SIDE.match(c[: neg.start()]):
            # "负面的发到群里，其他的不用发", "if nothing's low, don't send anything", "余额够的话什么都不用发":
            # one side of a condition does nothing, the other side still sends
            previous = c
            continue
        # "记到 Notion 的数据库里，不用通知任何人": the refusal's own clause may hold nothing before it
        after = c[neg.start():]
        if re.search(r"\b(?:until|unless|before|till)\b|之前|以前|审批通过|确认(?:后|之后)|批准(?:后|之后)", after):
            previous = c  # "Don't send anything until I approve it": when, not whether
            continue
        notify_only = re.search(r"通知|提醒|告诉|(?:任何|一条)?消息|\bnotify\b|\btell\b|\balert\b|\bping\b|\bmessage\b", after)
        lead = re.sub(r"注意|请|记得|另外|但是?|并且?|同时|千万|一定|务必|\b(?:please|note|but|and|also|just|make sure)\b|[,，:：\s]", "", c[: neg.start()])
        before = c[: neg.start()] if lead or not notify_only else previous  # "注意不要在群里发任何消息": the clause before
        named = set(ent.find_integrations(_ONLY_THIS.sub(" ", after))[0]) | ({"email"} if re.search(r"\breply\b|\be-?mail\b|邮件|回复", after) else set()) \
            | ({"crm"} if re.search(r"(?<![a-z])crm(?![a-z])", after) else set())  # "不要同步到CRM": the team's CRM only
        head = c[: neg.start()]
        if not named and len(head) <= 8:  # "邮件先别发出去！", "the emails: don't send them yet": what is refused leads
            named = set(ent.find_integrations(head)[0]) | ({"email"} if re.search(r"\be-?mails?\b|邮件", head) else set())
        if not named and re.search(r"read[- ]only|只读|只查", head):  # "Greenhouse is read-only for this, don't write": that one
            named = set(ent.find_integrations(head)[0]) or {i.id for w in re.findall(r"[a-z][\w.]+", head) if (i := ent.lookup_service(w))}
        if not named and re.match(r"(?:不要|别)(?:改|修改|动)|\b(?:don't|do not|never) (?:modify|change|touch|update)\b", after):
            # "Notion那边不要改" protects that service's data; "订单状态一个都不要改" protects records, sends nothing less
            refused |= set(ent.find_integrations(c[max(0, neg.start() - 14): neg.start()])[0])
            previous = c
            continue
        if named:
            refused |= named
        elif not re.search(r"\b(?:anything|everything|nothing|any\s+\w+)\b|任何|什么", after) and re.search(r"\b(?:the |a )?(?:customers?|buyers?|users?|clients?|candidates?|applicants?|leads?|patients?|students?)\b|买家|客户|用户|顾客|候选人|学员|患者|家长", after):
            # "don't message the customer", "不要直接发给买家": nothing goes to that person directly
            refused |= {"email", "sms", "whatsapp", "wechat", "telegram"}
        elif ph.asks_to_write(before):
            # "记到 Notion …，不用通知任何人": keep what was asked, refuse the notifications
            asked = set(ent.find_integrations(before)[0])
            refused |= {i.id for i in ent.INTEGRATIONS if i.kind == "messaging" and i.id not in asked}
        elif _SENDING.search(after) and not re.search(r"\b(?:anything|everything|nothing)\b", after):
            # "don't post it anywhere, just save it", "存到Notion就行，不要发到任何群里": no message goes out; what is saved stays
            refused |= {i.id for i in ent.INTEGRATIONS if i.kind == "messaging"}
        elif not re.match(r"\S+(?:\s+\S+)*?\s+(?:update|modify|change|touch|comment|sync)\b", after, re.I):
            # "don't touch the deal itself" protects a record, it does not refuse the notification
            everything = True
    if not refused and not everything:
        return steps
    kept = _drop_deliveries(steps, refused, everything)
    read_only = {d.service for d in _flat(steps) if isinstance(d, DeliverStep) and d.service in refused} - {
        d.service for d in _flat(kept) if isinstance(d, DeliverStep)}
    read_only = {x for x in read_only if x in ent.BY_ID and ent.BY_ID[x].kind == "data" and _READ_ONLY.search(" ".join(clauses))
                 and not any(isinstance(x2, SourceStep) and x2.service == x for x2 in _flat(kept))}
    # "汇总有赞当天的订单…只读数据就行，订单状态一个都不要改": the service is read, never written
    return [*(SourceStep(id=f"fetch_{x}", service=x, quote=x) for x in sorted(read_only)), *kept]


def _drop_deliveries(steps: list[Step], refused: set[str], everything: bool) -> list[Step]:
    # a draft is kept for a person to send: what "don't send it" asks for
    return _rewrite_deliveries(steps, lambda d: None if d.action != "draft" and (everything or d.service in refused) else d)


def _per_item_branch(steps: list[Step], state: _State) -> list[Step]:
    """"拉当天的新评价，评分低于3星的逐条让AI写一条回复": a condition on a fetched list that says it
    goes item by item tests each item, inside a loop over the list (it tested the list once)."""
    out: list[Step] = []
    for s in steps:
        if isinstance(s, BranchStep) and ph.LOOP.search(s.quote) and any(
                isinstance(x, SourceStep) and x.id == s.on and x.from_ != "knowledge" for x in out):
            s = LoopStep(id=state.uid("for_each"), quote=s.quote, over=s.on, steps=[s])
        out.append(s)
    return out


_FUNCTION_WORDS = frozenset({"they", "the", "it", "this", "that", "a", "an", "not", "no", "any", "some", "there", "is", "we", "i",
                             "you", "he", "she", "if", "when", "other", "all"})


def _cases_in_categories(steps: list[Step]) -> list[Step]:
    """A case of a classification tests a category the AI can answer. "严重的话" on the categories
    严重故障 / 不是严重故障 compared with "严重", which no answer equals, so the case never ran: the
    one category the label starts is named as the request's case says it (严重), and a label no
    category starts with becomes one more category."""
    ais = {s.id: s for s in walk(steps) if isinstance(s, AiStep) and s.task == "classify" and s.categories}
    named: dict[str, list[str]] = {}  # classification id → its categories as the cases say them
    for b in walk(steps):
        if not isinstance(b, BranchStep) or b.field != "category" or b.on not in ais:
            continue
        cats = named.setdefault(b.on, list(ais[b.on].categories))
        for case in b.cases:
            if case.when is not None or case.label in cats:
                continue
            # "有负面的话" on 有负面舆情 / 没有负面舆情: "whether there is any" answers start with 有
            fits = [k for k, c in enumerate(cats) if c.startswith(case.label) or c.startswith("有" + case.label)
                    or (case.label.startswith("不") and c == "不是" + case.label[1:])]  # "不合理的" on 合理 / 不是合理
            first = case.label.split()[0] if " " in case.label else ""
            if not fits and first.isalpha() and first not in _FUNCTION_WORDS:
                # "negative coverage" on negative press / not negative press: two names of one answer
                fits = [k for k, c in enumerate(cats) if " " in c and c.split()[0] == first]
            if len(fits) == 1:
                cats[fits[0]] = case.label
            else:
                cats.append(case.label)
    changed = {i: c for i, c in named.items() if c != ais[i].categories}
    if not changed:
        return steps

    def renamed(s: AiStep) -> AiStep:
        instruction = s.instruction  # "回答「严重故障」或「不是严重故障」": the answers it asks for, renamed too
        for before, after in zip(s.categories, changed[s.id]):
            if before != after:
                instruction = instruction.replace(f"「{before}」", f"「{after}」").replace(f'"{before}"', f'"{after}"')
        return msgspec.structs.replace(s, categories=changed[s.id], instruction=instruction)

    return map_steps(steps, lambda s: renamed(s) if isinstance(s, AiStep) and s.id in changed else s)


def _rewrite_deliveries(steps: list[Step], change: Callable[[DeliverStep], DeliverStep | None]) -> list[Step]:
    """The steps with every delivery (in branches, parallel branches and loops too) changed by
    ``change``, or dropped where it returns None."""
    out: list[Step] = []
    for s in steps:
        if isinstance(s, DeliverStep):
            changed = change(s)
            if changed is not None:
                out.append(changed)
            continue
        if isinstance(s, BranchStep):
            s = msgspec.structs.replace(s, cases=[msgspec.structs.replace(c, steps=_rewrite_deliveries(c.steps, change))
                                                  for c in s.cases],
                                        otherwise=None if s.otherwise is None else _rewrite_deliveries(s.otherwise, change))
        elif isinstance(s, ParallelStep):
            s = msgspec.structs.replace(s, branches=[b for b in (_rewrite_deliveries(b, change) for b in s.branches) if b])
        elif isinstance(s, LoopStep):
            s = msgspec.structs.replace(s, steps=_rewrite_deliveries(s.steps, change))
        out.append(s)
    return out


# "Use SendGrid for both emails", "短信统一用阿里云短信发": the provider every email (or text) of the request goes through
_PROVIDER_FOR = compile_filtered(
    r"\b(?:use|using|via|through|send (?:them|both|all|everything) (?:via|through|with))\s+(?P<name>[a-z][\w.-]*(?: [a-z][\w.-]*)?)\s+"
    r"(?:for|to send)\s+(?:both|all|the|every|each|our|these|those|any)?\s*(?:of (?:the|them)\s*)?(?P<what>e-?mails?|texts?|sms|messages?)\b"
    r"|(?P<what2>邮件|短信)(?:都|统一|全部|一律)?(?:用|通过|走)\s*(?P<name2>[a-z][\w.-]*|[\u4e00-\u9fff]{2,8}?)(?:来)?(?:发|发送|$|[,，。；;])"
    # "发短信给值班同事（走阿里云短信）": the provider in brackets after the send; what it sends is in its name
    r"|[(（]\s*(?:走|用|通过|via|through|using)\s*(?P<name3>[a-z][\w. -]{1,20}?|[\u4e00-\u9fff]{2,8}?)\s*(?:发|发送)?\s*[)）]")


def _through_named_provider(steps: list[Step], raw: str) -> list[Step]:
    """Every email (or SMS) delivery of the request through the provider it names for them all."""
    said = _PROVIDER_FOR.search(raw.lower())
    if said is None:
        return steps
    provider = next(iter(ent.find_integrations(said.group("name") or said.group("name2") or said.group("name3"))[0]), None)
    what = said.group("what") or said.group("what2") or ("email" if provider and ent.BY_ID[provider].category == "email" else "sms")
    generic = "sms" if re.match(r"texts?|sms|短信", what) else "email"
    if provider is None or provider == generic or ent.BY_ID[provider].category not in ("email", "messaging"):
        return steps
    through = _rewrite_deliveries(steps, lambda d: msgspec.structs.replace(d, service=provider) if d.service == generic and d.action is None else d)
    sends = [d for d in _flat(through) if isinstance(d, DeliverStep) and d.service == provider]
    remark_only = any(not _provider_remark(d) for d in sends)  # the remark itself ("短信统一用阿里云短信发") sends nothing
    seen: set[tuple[str, str]] = set()  # "…再发一条优惠券短信，短信统一用阿里云短信发": one send, now both named it

    def kept(d: DeliverStep) -> DeliverStep | None:
        if remark_only and d.service == provider and _provider_remark(d):
            return None
        key = (d.service, d.quote)
        if key in seen:
            return None
        seen.add(key)
        return d

    return _rewrite_deliveries(through, kept)


def _provider_remark(d: DeliverStep) -> bool:
    """Whether a delivery came from the provider remark itself ("Use SendGrid for both emails")."""
    return bool(_PROVIDER_FOR.match(re.sub(r"^\W*(?:and|then|also|并且?|再|另外)?\s*", "", d.quote)))


def _parallel_sources(steps: list[Step], state: _State) -> list[Step]:
    """Two or more consecutive sources run side by side and merge into the next step."""
    out: list[Step] = []
    run: list[Step] = []
    for step in [*steps, None]:
        if isinstance(step, SourceStep):
            run.append(step)
            continue
        if len(run) >= 2:
            out.append(ParallelStep(id=state.uid("in_parallel"), quote="", branches=[[s] for s in run]))
        else:
            out.extend(run)
        run = []
        if step is not None:
            out.append(step)
    return out


_UNSEEN_OUTPUT = ("schedule", "app_event", "webhook", "form")  # runs nobody watches: only what is delivered is seen


def _remark_before_its_push(steps: list[Step], trigger_kind: str) -> list[Step]:
    """"推送一下今天抖音账号的数据…，再让AI简单点评两句": in a run nobody watches, an AI remark said
    after the push and delivered nowhere goes into the push: it runs before the deliveries it follows."""
    if trigger_kind not in _UNSEEN_OUTPUT or len(steps) < 2 or not isinstance(last := steps[-1], AiStep) \
            or last.task not in ("analyze", "summarize", "generate") or not isinstance(steps[-2], DeliverStep):
        return steps
    start = len(steps) - 1
    while start > 0 and isinstance(steps[start - 1], DeliverStep):
        start -= 1
    return [*steps[:start], last, *steps[start:-1]]
