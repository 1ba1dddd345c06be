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
"""

from __future__ import annotations

import re

import msgspec

from pilot.generation.prefilter import compile_filtered
from pilot.generation import entities as ent
from pilot.generation import phrases as ph
from pilot.generation.clauses import CONTINUES, find_trigger, plain, split_clauses
from pilot.generation.plan import (
    AiStep,
    BranchStep,
    Case,
    Comparison,
    DeliverStep,
    WaitStep,
    LoopStep,
    ParallelStep,
    SourceStep,
    Step,
    WorkflowPlan,
)
from pilot.generation import conditions as conds
from pilot.generation import switches
from pilot.generation.plan_actions import Actions, event_app, no_ai_requested, parse_actions  # noqa: F401 - Actions: the type of parse results
from pilot.generation.text import clean, detect_language, normalize, cached_re
from pilot.workflows.model import AppEventTrigger, Trigger

class OfflinePlanner:
    """``plan(prompt)`` → :class:`WorkflowPlan`; pure and deterministic."""

    def plan(self, prompt: str) -> WorkflowPlan:
        raw = clean(prompt)
        # CJK quotes carry no meaning for planning, except between quoted items: “售前咨询”“售后问题” is a list
        text = ph.service_words(re.sub(r"[“”「」『』‘’]", "", re.sub(r"[”」』’]\s*[“「『‘]", "、", normalize(raw))))
        # asides addressed to us ("(I'll enter their name and email)") are not steps
        text = re.sub(r"\((?:i'll|i will|we'll|we will|e\.g\.|i\.e\.|eg|ie|for example|我会|比如)[^)]*\)", " ", text)
        lang = "zh" if detect_language(raw) == "zh" else "en"
        trigger, trigger_clause, rest = find_trigger(text)
        rest = ph.arrow_chain(rest).strip(" ,").removeprefix("then ").strip(" ,")
        state = _State(lang, raw, trigger_clause, trigger.__struct_config__.tag)
        clauses = _approval_in_trigger(_event_threshold_first(split_clauses(rest, lang), trigger, trigger_clause, state),
                                       trigger, trigger_clause)
        steps = state.assemble(clauses)
        steps = _one_approval_at_a_time(_without_refused(steps + _reply_in_place(trigger, steps, state), clauses))
        if not state.no_ai and not any(isinstance(s, AiStep) for s in _flat(steps)) and not any(
                isinstance(s, DeliverStep) for s in _flat(steps)):
            steps.append(AiStep(id=state.uid("answer" if trigger.__struct_config__.tag == "chat" else "generate"),
                                task="answer" if trigger.__struct_config__.tag == "chat" else "generate",
                                instruction=raw[:500], quote=raw[:200]))
        _restore_value_case(steps, raw)
        return WorkflowPlan(title=_title(raw), language=lang, trigger=trigger, steps=steps)


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


_SAID_AS = {"en": {"gt": "is over", "ge": "is at least", "lt": "is below", "le": "is at most"},
            "zh": {"gt": "超过", "ge": "不低于", "lt": "低于", "le": "不超过"}}


def _event_threshold_first(clauses: list[str], trigger: Trigger, trigger_clause: str, state: _State) -> list[str]:
    """"When a new Shopify order over $500 comes in, text our sales manager": the event's threshold
    is the condition of what follows (a clause of its own would say "if …" itself)."""
    if trigger.__struct_config__.tag not in ("app_event", "webhook", "form") or not clauses:
        return clauses
    found = conds.comparison(trigger_clause, state.lang)
    if found is None or found[0].field in ("", "value") or found[0].op not in ("gt", "ge", "lt", "le") \
            or not isinstance(found[0].value, (int, float)) or any(state._conditional(plain(c)) for c in clauses):
        return clauses
    cmp, zh = found[0], state.lang == "zh"
    said = _SAID_AS[state.lang].get(cmp.op)
    if said is None:
        return clauses
    lead = f"如果{cmp.field}{said}{cmp.value}," if zh else f"if the {cmp.field} {said} {cmp.value}, "
    return [lead + plain(clauses[0]), *clauses[1:]]


_NO_REPLY = compile_filtered(r"(?:不要|别|不用|无需|不必|don't|do not|never|no)\W{0,2}[^,.;，。；]{0,6}(?:回复|回答|答复|reply|replies|respond|answer)")


def _reply_in_place(trigger: Trigger, steps: list[Step], state: _State) -> list[Step]:
    """"客户在企业微信发消息时，让AI回答…", "when someone DMs us on Telegram, answer them": a message
    that arrives in a messenger is answered where it was asked, unless the request sends the
    answer somewhere itself."""
    if not isinstance(trigger, AppEventTrigger) or "message" not in trigger.event:
        return []
    service = ent.lookup_service(trigger.service)
    flat = _flat(steps)
    answers = [s for s in flat if isinstance(s, AiStep) and s.task == "answer"]
    if service is None or service.kind != "messaging" or not answers or any(isinstance(s, DeliverStep) for s in flat):
        return []
    if _NO_REPLY.search(state.raw.lower()):
        return []  # "结果给我看就行，先不要自动回复客户"
    return [DeliverStep(id=state.uid(f"reply_{service.id}"), service=service.id, operation="send", content=answers[-1].id,
                        quote=answers[-1].quote)]


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
                m = cached_re(re.escape(value), re.I).search(raw)
                if m and m.group(0) != value:
                    step.cases[k] = msgspec.structs.replace(case, when=msgspec.structs.replace(case.when, value=m.group(0)))


_MORE_OF_CASE = compile_filtered(r"(?:再|并且?|同时|顺便|还要|也|and also\b|also\b)")
_NOT_FOUND = compile_filtered(r"\b(?:isn'?t|is not|not) (?:in (?:there|the|our|them|it)|covered|found)\b|\bcan'?t (?:find|answer)|\bdoesn'?t (?:know|cover)|"
                        r"\bno answer\b|没有的|没有答案|找不到|答不上|答不出|不知道|没写")
_NOT_VALUE = compile_filtered(r"^(?:不是|不为|不等于|非|not |isn't |is not |anything but )\s*(?P<v>.+?)\s*(?:的话|的)?$")


def _label_cases_as_values(cases: list, otherwise: list[Step] | None) -> tuple[list, list[Step] | None]:
    """"如果 status 等于 SUCCESS …；不是SUCCESS的话 …", "如果状态是已签收 …；还在运输中的话 …": once one
    case tests a field for a value, a bare label in the same branch is another value of that field
    (or, "不是X", its else side), never a category for an AI to invent."""
    eqs = [c[1] for c in cases if c[1] is not None and c[1].op == "eq"]
    if not eqs or all(c[1] is not None for c in cases) or len({(e.subject, e.field) for e in eqs}) != 1:
        return cases, otherwise
    out = []
    for k, (label, cmp, steps, quote) in enumerate(cases):
        value = re.sub(r"(?:的话|的)$", "", label.strip()).strip()
        if cmp is not None or len(value) > 16 or len(value.split()) > 3:
            out.append((label, cmp, steps, quote))
            continue
        neg = _NOT_VALUE.match(value)
        if neg and otherwise is None and k == len(cases) - 1 and any(str(e.value).lower() == neg.group("v").lower() for e in eqs):
            otherwise = steps  # "不是SUCCESS的话": the else side
            continue
        op, value = ("ne", neg.group("v")) if neg else ("eq", value)
        out.append((f"{eqs[0].field} {op} {value}", Comparison(subject=eqs[0].subject, field=eqs[0].field, op=op, value=value), steps, quote))
    return out, otherwise


def _one_approval_at_a_time(steps: list[Step]) -> list[Step]:
    """"发之前必须经过我审核，我点通过了再发布": two phrasings of one approval, not two approvals."""
    out: list[Step] = []
    for s in steps:
        if isinstance(s, WaitStep) and s.approval and out and isinstance(out[-1], WaitStep) and out[-1].approval:
            continue
        out.append(s)
    return out


def _flat(steps: list[Step]):
    from pilot.generation.plan import walk

    return list(walk(steps))


def _title(raw: str) -> str:
    first = re.split(r"[.。!?！？\n]", raw, maxsplit=1)[0].strip()
    return first[:60] + ("…" if len(first) > 60 else "")


class _State:
    def __init__(self, lang: str, raw: str, trigger_clause: str, trigger_kind: str = "manual") -> None:
        self.trigger_kind = trigger_kind
        self.last_source: Step | None = None
        self.lang = lang
        self.raw = raw
        self.taken: set[str] = set()
        self.trigger_clause = trigger_clause
        self.last_ai: AiStep | None = None
        self.last_cls: AiStep | None = None  # the last classification, even after a case's own AI step
        self.last_approval: WaitStep | None = None  # "approved: … / rejected: …" cases test its decision
        self.declared, self.declared_field = switches.declared_labels(raw)  # "a category field: a, b or c"
        self.no_ai = bool(no_ai_requested(raw))  # "No AI needed", "不要用AI": transforms, never an LLM step
        self.switch_field: str | None = None
        self.colon_cases = bool(ph.SWITCH_ON.search(trigger_clause) or ph.SWITCH_HEAD.search(trigger_clause))
        on = ph.SWITCH_ON.search(trigger_clause)
        if on and trigger_kind in ("webhook", "form", "app_event"):  # "our form has a priority dropdown (…)."
            self.switch_field = re.sub(r"[^a-z0-9]+", "_", next(g for g in on.groups() if g).strip()).strip("_")
        self.loop_service: str | None = None  # inside "for each issue of GitHub": writes go back to it
        self.in_loop = False  # "批量写回" inside a loop body is not a second loop
        self.style_service: str | None = None  # "write a LinkedIn post" names where "publish it" goes
        self.in_switch = False  # after "根据…分别处理：" short labels start cases
        self._trigger_services = set(ent.find_integrations(trigger_clause)[0]) if trigger_clause else set()

    def trigger_clause_services(self) -> set[str]:
        """Services named by the trigger ("new row in the applicants sheet"): the run's payload, not a fetch."""
        return self._trigger_services

    def uid(self, base: str) -> str:
        base = re.sub(r"[^a-z0-9_]", "_", base.lower()).strip("_") or "step"
        if not re.match(r"[a-z_]", base):
            base = "s_" + base
        nid, n = base[:36], 2
        while nid in self.taken:
            nid, n = f"{base[:36]}_{n}", n + 1
        self.taken.add(nid)
        return nid

    # ---------------------------------------------------------------- assembly

    def assemble(self, clauses: list[str]) -> list[Step]:
        steps: list[Step] = []
        clauses = list(clauses)
        i = 0
        while i < len(clauses):
            clause = plain(clauses[i])
            cut = self._next_category(clause)
            if cut:  # "bug发到钉钉群,功能需求记到notion": one clause per category case
                clauses[i: i + 1] = [clauses[i][: len(clauses[i]) - len(clause) + cut], clause[cut:].lstrip(",、 ")]
                clause = plain(clauses[i])
            if re.match(r"(?:when|whenever|once|after)\b", clause) and not conds.comparison(clause, self.lang) and (
                    ph.FORM.search(clause) or ph.APP_EVENT.search(clause) or re.search(r"\bsubmits?\b|\bsigns? up\b", clause)):
                head, colon, work = clause.partition(":")
                if colon and re.search(r"[a-z]{3}", work):
                    clauses[i] = work.strip()  # "When someone submits it: AI pulls out …": what follows is the work
                    continue
                if asked := _asked_of_event(clause):
                    clauses[i] = asked  # "when an employee submits a claim it needs their manager's approval"
                    continue
                i += 1  # "when an employee submits it": the trigger again, not a condition
                continue
            colon = re.match(r"(?P<head>[^:]{4,}?):\s*(?P<tail>.{4,})$", clause)
            if colon and not self._conditional(colon.group("head")) and (
                    ph.IF.match(colon.group("tail")) or (self.lang == "zh" and ph.CMP_ZH.match(colon.group("tail"))
                                                         and ph.ZH_SHORT_COND.match(colon.group("tail")))
                    or (ph.APPROVAL.search(colon.group("head")) and _OUTCOME_FIRST.match(colon.group("tail")))
                    or (ph.LOOP.search(colon.group("head")) and self._conditional(colon.group("tail")))):
                # …and "在系统里等主管审批：通过了就加到日历": the approval, then what each outcome does;
                # "把应收账款表里的欠款逐笔过一遍：逾期超过60天的…": the loop, then its first case
                # "调用仓库接口查SKU A101的库存：低于100件就发企业微信…": the read, then the condition's first case
                clauses[i: i + 1] = [colon.group("head"), colon.group("tail")]
                clause = plain(clauses[i])
            rewritten = _condition_first(clauses, i, self.lang)
            if rewritten is not None:
                clauses[i: i + rewritten[1]] = [rewritten[0]]
                clause = plain(clauses[i])
            tasks = self._parallel_tasks(clauses, i)
            if tasks is not None:
                i, group = tasks
                steps.append(group)
                continue
            listed = self._case_list(clauses, i) if not ph.IF.match(clause) else None
            if listed is not None:
                j, switch = listed
                steps = _with_categories(steps, switch)
                steps.extend(_merged_cases(steps, switch))
                i = j
                continue
            if self.lang == "zh" and _A_NOT_A.search(clause):
                # "让AI判断紧不紧急：…" is "判断是不是紧急"
                clause = _A_NOT_A.sub(lambda m: f"{m.group(1)}是不是{m.group(2)}{m.group(3)}", clause)
                clauses[i] = clause
            judge_zh = _WHETHER_ZH.search(clause) if self.lang == "zh" and not ph.IF.match(clause) else None
            if judge_zh:
                # "让AI看看是不是发票：是发票就…；不是的话…": a yes/no judgement; what follows ":" is its first case
                yes = judge_zh.group("y")
                cls = AiStep(id=self.uid("judge"), task="classify", categories=[yes, f"不是{yes}"], quote=clause[:200],
                             instruction=f"判断是否为「{yes}」：回答「{yes}」或「不是{yes}」。{clause}")
                steps.append(cls)
                self.last_ai = self.last_cls = cls
                tail = clause[judge_zh.end():].lstrip(" :：,，")
                if tail:
                    clauses[i] = tail
                else:
                    i += 1
                continue
            judge = _WHETHER.search(clause) if not ph.IF.match(clause) else None
            loop_word = ph.LOOP.search(clause)
            if judge and not (loop_word and loop_word.start() < judge.start("what")):
                # "have AI decide whether each review is negative": a yes/no judgement later cases test
                yes = conds.strip_label(judge.group("y"), self.lang)
                steps.extend(self._actions(clause[: judge.start()]) if judge.start() > 0 and ph.FETCH.search(clause[: judge.start()]) else [])
                cls = AiStep(id=self.uid("judge"), task="classify", categories=[yes, f"not {yes}"], quote=clause[:200],
                             instruction=f"Decide whether {judge.group('what') or 'it'} is {yes}: answer '{yes}' or 'not {yes}'. {clause}")
                steps.append(cls)
                self.last_ai = self.last_cls = cls
                i += 1
                continue
            loop_first = ph.LOOP.match(clause) or re.match(r"^(?:逐条|逐个|逐一|依次)", clause)
            if not loop_first and (self._conditional(clause) or self._goes_case(clause) is not None):
                j, branch_steps = self._branch(clauses, i, steps)
                if j > i:
                    steps.extend(_merged_cases(steps, branch_steps))
                    i = j
                    continue
            if ph.PURE_LIST.match(clause) and steps and isinstance(steps[-1], AiStep) and steps[-1].task == "classify" \
                    and not steps[-1].categories:
                cats = [c.strip() for c in re.split(r"[、,/]|还是|或者?|\bor\b", clause) if c.strip() and c.strip() not in ("其他", "其它", "other")]
                # "AI判断应聘的是技术、销售、职能哪一类岗位": the judgement's words are not part of the first or last label
                cats = [re.sub(r"(?:中的)?(?:哪一?[类种个档]|之一)(?:岗位|问题|情况)?$", "", re.sub(r"^.{0,16}?(?:的是|是|为|属于)(?=.)", "", c)
                               if k == 0 and len(c) > 6 else c) for k, c in enumerate(cats)]
                while i + 1 < len(clauses) and clauses[i + 1].startswith(CONTINUES) and re.fullmatch(
                        r"[\u4e00-\u9fffa-z0-9_-]{1,8}", plain(clauses[i + 1])) and not ph.ELSE_LABEL.match(plain(clauses[i + 1])):
                    i += 1  # "bug、功能需求、使用提问": the splitter cut before "使用" (a verb elsewhere)
                    cats.append(plain(clauses[i]))
                steps[-1] = msgspec.structs.replace(steps[-1], categories=cats)  # "分类：bug、功能需求、使用提问"
                self.last_ai = self.last_cls = steps[-1]
                self.in_switch = True
                i += 1
                continue
            respective = self._respectively(clauses, i)
            if respective is not None:
                j, branch = respective
                steps.append(branch)
                i = j
                continue
            if _batching_remark(clause) and any(isinstance(s, SourceStep) for s in steps):
                # "… do it 25 products at a time": the steps after the fetch run per batch
                at = max(k for k, s in enumerate(steps) if isinstance(s, SourceStep))
                inner = steps[at + 1:]
                if len(inner) == 1 and isinstance(inner[0], LoopStep) and inner[0].batch_size is None:
                    # "给每位患者发…。按100人一批发": the loop there already goes over them, in batches now
                    steps[at + 1] = msgspec.structs.replace(inner[0], batch_size=conds.batch_size(clause))
                    i += 1
                    continue
                if inner:
                    steps[at + 1:] = [LoopStep(id=self.uid("in_batches"), quote=clause[:200], over=steps[at].id,
                                               batch_size=conds.batch_size(clause), steps=inner)]
                    i += 1
                    continue
            loop = (ph.LOOP.search(clause) or ph.BATCH.search(clause)) if not (self.in_loop and not ph.BATCH.search(clause)
                                                                                and re.search(r"批量", clause)) else None
            if loop and self.trigger_kind in ("form", "webhook", "app_event", "chat") and _THE_ONE.search(clause) \
                    and not any(isinstance(s, SourceStep) for s in steps) and not re.search(r"\b(?:array|list|batch)\b|一批|数组|列表", self.raw.lower()):
                loop = None  # "Students send questions through the form. Tag each one as …": one per run
            if loop:
                body_end = self._loop_end(clauses, i)
                first = re.sub(r"^\s*(?:one|of them|item|row|of these)?\s*[:,]\s*", "", ph.BATCH.sub(" ", ph.LOOP.sub(" ", clause))).strip(" ,")
                fetched_before = [s for s in steps if isinstance(s, SourceStep) and s.service]
                outer_loop_service, self.loop_service = self.loop_service, (
                    fetched_before[-1].service if fetched_before else self.loop_service)
                filtered = _READ_FILTER.search(first) if self.lang == "zh" else None
                work = re.search(r"[,:]", first[filtered.end():]) if filtered else None
                which = _FILTER_VALUE.search(filtered.group(0)) if filtered and work else None
                wanted = conds.comparison(which.group("c"), self.lang) if which else None
                if filtered and work and wanted is not None:
                    # "读出所有状态是待跟进的客户，一个一个用AI写…": a read that returns only those rows, then the work per row
                    lead = [_filtered_read(s, wanted[0]) for s in self._actions(first[: filtered.end()])]
                    rest = split_clauses(first[filtered.end() + work.end():], self.lang)
                else:
                    head, cond = conds.relative_condition(first, self.lang)
                    lead = self._actions(head) if cond and head.strip() else []
                    rest = [("如果" if self.lang == "zh" else "if ") + cond] if cond else [first]
                table = _TABLE_NAMED.search(first) if self.lang == "zh" and not lead and not fetched_before else None
                if table and not ent.find_integrations(table.group("t"))[0] and not self.trigger_kind == "app_event":
                    # "把应收账款表里的欠款逐笔过一遍": the rows of that table are what the loop goes over
                    lead = [SourceStep(id=self.uid("fetch_table"), service=table.group("t"), quote=clause[:200])]
                    self.last_source = lead[0]  # the loop's cases test its rows
                read_first = [s.service for s in lead if isinstance(s, SourceStep) and s.service]
                if read_first:
                    self.loop_service = read_first[-1]  # "把飞书多维表格里所有…逐条过一遍": writes go back to that table
                was_in_loop, self.in_loop = self.in_loop, True
                body = _one_page_fetch(lead + self.assemble([*rest, *clauses[i + 1:body_end]]))
                self.in_loop = was_in_loop
                self.loop_service = outer_loop_service
                # "every row of the sheet": the sheet is what the loop goes over (fetched once,
                # before it); "look each one up on Clearbit": a per-item source stays inside.
                loop_text = " ".join(plain(c) for c in clauses[i:body_end])
                pre = [s for s in body if isinstance(s, (SourceStep, ParallelStep)) and _iterable_source(clause, s, loop_text)]
                inner = [s for s in body if s not in pre]
                steps.extend(pre)
                if inner:
                    fetched = [s for s in (*steps, *pre) if isinstance(s, SourceStep)]
                    handed = fetched[-1] if fetched and fetched[-1].from_ == "url" and fetched[-1].url == "{{ inputs.url }}" else None
                    if handed is not None and handed in steps and not any(isinstance(s, SourceStep) and s.from_ == "url" for s in inner) \
                            and _PAGES.search(loop_text):
                        # "go through the list of URLs I paste in, scrape each page": each page is fetched in the loop
                        steps.remove(handed)
                        inner, fetched = [handed, *inner], fetched[:-1]
                    over = fetched[-1].id if fetched else "inputs"
                    batched = None
                    if len(inner) == 1 and isinstance(inner[0], LoopStep) and inner[0].batch_size and inner[0].over == over:
                        # "给每位患者发…。按100人一批发": one loop over them, in batches
                        inner, batched = inner[0].steps, inner[0].batch_size
                    # "for each URL, fetch the page": the page of this item, not one URL input for every item
                    page = "{{ item }}" if over == "inputs" else "{{ item.url }}"
                    inner = [msgspec.structs.replace(s, url=page) if isinstance(s, SourceStep) and s.from_ == "url"
                             and s.url == "{{ inputs.url }}" else s for s in inner]
                    steps.append(LoopStep(id=self.uid("for_each"), quote=clause[:200], batch_size=batched or conds.batch_size(clause),
                                          over=over, steps=inner))
                i = body_end
                continue
            new = self._actions(clause)
            # "写入 Postgres 的付款表，同时给客户发短信", "save it to Airtable and, at the same time, send …",
            # "then in parallel post it to Teams and save it to a Google Doc": deliveries side by side
            side_by_side = re.match(r"(?:同时|与此同时|at the same time|simultaneously|meanwhile)\b|同时", clause) or (
                clauses[i].startswith(CONTINUES) and i > 0 and ph.PARALLEL.search(plain(clauses[i - 1])))
            if side_by_side and new and steps and all(isinstance(x, DeliverStep) for x in new) and (
                    isinstance(steps[-1], DeliverStep) or (isinstance(steps[-1], ParallelStep) and steps[-1].id.startswith("at_once")
                                                           and all(isinstance(x, DeliverStep) for b in steps[-1].branches for x in b))):
                done = steps[-1].branches if isinstance(steps[-1], ParallelStep) else [[steps[-1]]]
                steps[-1] = ParallelStep(id=steps[-1].id if isinstance(steps[-1], ParallelStep) else self.uid("at_once"),
                                         quote=clause[:200], branches=[*done, *([x] for x in new)])
            else:
                steps.extend(new)
            i += 1
        return _parallel_sources(steps, self)

    def _loop_end(self, clauses: list[str], start: int) -> int:
        for k in range(start + 1, len(clauses)):
            if ph.AGGREGATE.search(plain(clauses[k])) and not ph.IF.search(plain(clauses[k])):
                return k
        return len(clauses)

    def _actions(self, clause: str, *, default_service: str | None = None) -> list[Step]:
        acts: Actions = parse_actions(clause, self, default_service=default_service)
        if acts.ai is not None:
            self.last_ai = acts.ai
            if acts.ai.task == "classify":
                self.last_cls = acts.ai
        if acts.sources:
            self.last_source = acts.sources[-1]
        if acts.wait is not None and acts.wait.approval:
            self.last_approval = acts.wait
            self.colon_cases = True  # "审批通过：写入…；被驳回：发邮件…"
        steps = acts.steps()
        self.in_switch = bool(re.search(r"根据|分别|按.{1,6}(?:分|处理)", clause))  # "P0发短信…" starts a case
        if ph.SWITCH_ON.search(clause) or ph.SWITCH_HEAD.search(clause):
            self.colon_cases = True  # "Urgent: text the on-call engineer" now starts a case
        on = ph.SWITCH_ON.search(clause)
        if on and self.trigger_kind in ("webhook", "form", "app_event") and not any(rx.search(clause) for _, rx in ph.AI_TASKS):
            # "depending on the event type", "route by country", "a priority dropdown": a payload field
            self.switch_field = re.sub(r"[^a-z0-9]+", "_", next(g for g in on.groups() if g).strip()).strip("_")
        fs = ph.FIELD_SWITCH.search(clause)
        if fs:
            self.switch_field = next(g for g in fs.groups() if g)
        ones = ph.ONES.search(clause)
        cls = self.last_ai if self.last_ai is not None and self.last_ai.task == "classify" and acts.ai is None else None
        if ones and cls is not None and acts.deliveries and default_service is None:
            # "send the negative ones to Slack": only that category is delivered
            label = next(g for g in ones.groups() if g)
            rest = [s for s in steps if s not in acts.deliveries]
            branch = BranchStep(id=self.uid("only_" + label), quote=clause[:200], on=cls.id, field="category",
                                cases=[Case(label=label, steps=list(acts.deliveries))])
            return [*rest, branch]
        return steps

    # ---------------------------------------------------------------- conditions

    def _classifier(self) -> AiStep | None:
        """The classification category cases refer to: the last AI step when it classifies, else
        the last classification ("咨询类让AI写回复；投诉类推送到…": the reply step sits in between)."""
        if self.last_ai is not None and self.last_ai.task == "classify":
            return self.last_ai
        return self.last_cls

    def _next_category(self, clause: str) -> int:
        """Where a second category case starts inside ``clause`` (0 when none)."""
        cls = self._classifier()
        cats = cls.categories if cls is not None else []
        hits = [m.start() for c in cats if c and c in clause for m in cached_re(r"[,、]\s*" + re.escape(c)).finditer(clause) if m.start() > 0]
        return min(hits) if hits else 0

    def _respectively(self, clauses: list[str], i: int) -> tuple[int, Step] | None:
        """"分别同步到A、发到B、发邮件给C" / "respectively to A, B and C": the i-th delivery is the
        i-th category's branch of the last classification."""
        first = plain(clauses[i])
        cls = self.last_ai if self.last_ai is not None and self.last_ai.task == "classify" else None
        if cls is None or not cls.categories or not re.match(r"分别|respectively\b", first):
            return None
        j, parts = i + 1, [re.sub(r"^(?:分别|respectively)\s*", "", first)]
        while j < len(clauses) and clauses[j].startswith(CONTINUES):
            parts.append(plain(clauses[j]))
            j += 1
        deliveries = [d for part in parts for d in parse_actions(part, self, default_service=part).deliveries]
        if len(deliveries) != len(cls.categories):
            return None
        otherwise = None
        if j < len(clauses) and ph.ELSE.search(plain(clauses[j])):
            otherwise = self._actions(ph.ELSE.sub("", plain(clauses[j])).strip(" ,"))
            j += 1
        return j, BranchStep(id=self.uid("route"), quote=" ".join(parts)[:300], on=cls.id, field="category",
                             cases=[Case(label=c, steps=[d]) for c, d in zip(cls.categories, deliveries)], otherwise=otherwise)

    def _conditional(self, clause: str) -> bool:
        """"if …", "items with quantity above 10 get flagged …", or in Chinese a comparison
        followed by its action ("库存少于10的就发提醒")."""
        if ph.IF.search(clause) or ph.CMP_LEAD.search(clause):
            return True
        if _RANGE_LABEL.fullmatch(clause.strip()):
            return True  # "Promoters (9-10): …", "Detractors (0-6): …": a case named by its range
        if self.lang == "en" and re.search(r"\b(?:with|whose|where|having)\b", clause) and conds.comparison(clause, "en") is not None:
            cmp = ph.CMP_EN.search(clause)
            return bool(cmp and ph.DELIVER.search(clause[cmp.end():]))
        if self.lang == "en" and (m := _NOUN_THRESHOLD.match(clause)) and (
                ph.APPROVAL.search(clause[m.end():]) or ph.DELIVER.search(clause[m.end():]) or ph.SEND.search(clause[m.end():])):
            return True  # "claims over $1,000 first need a finance manager's approval", "orders above $200 get a thank-you email"
        if self.lang != "zh":
            return False
        if _READ_FILTER.search(clause):
            return False  # "读出所有状态是“待跟进”的客户": which rows the read returns, not a branch
        if re.fullmatch(r"[\u4e00-\u9fffa-z0-9]{1,10}?(?:不是|是|为|不为)[\u4e00-\u9fffa-z0-9]{1,8}的", clause.strip()):
            return True  # "买家是会员的，（把订单记到…）": the condition of the clause after it
        value_first = ph.CMP_ZH_VALUE_FIRST.search(clause[:16])
        if value_first and clause[value_first.end(): value_first.end() + 1] == "的":
            return True  # "3天及以内的只在钉钉群里说一声": a comparison, then what its items get
        if re.search(r"的话(?![题术语])", clause) or ph.ZH_SHORT_COND.match(clause) and not ph.FETCH.match(clause):
            return True  # "构建失败的话，…", "构建成功就…"
        when = re.match(r"(?P<cond>[^,，。]{2,20}?)的时候", clause)
        if when and conds.comparison(when.group("cond"), "zh") is not None:
            return True  # "状态为“派送失败”的时候，让AI写…": a comparison, then its action
        head = ph.ZH_COND_ACTION.split(clause, maxsplit=1)[0]
        if conds.comparison(head, "zh") is None:
            return False
        tail = clause[clause.find("的") + 1:] if "的" in clause else ""
        return bool(ph.ZH_COND_ACTION.search(clause)) or clause.endswith("的") or bool(
            tail and (ph.DELIVER.search(tail) or ph.SEND.search(tail) or ph.APPROVAL.search(tail) or any(rx.search(tail) for _, rx in ph.AI_TASKS)))

    def _category_case(self, clause: str) -> tuple[str, str] | None:
        """A clause that starts with a category the last classification named ("投诉的转到…")."""
        cls = self._classifier()
        cats = cls.categories if cls is not None else []
        for cat in sorted(cats, key=len, reverse=True):
            m = cached_re(re.escape(cat) + (r"(?:s|es)?(?![a-z])" if cat.isascii() else "")).match(clause) if cat and clause.startswith(cat) else None
            rest = clause[m.end():] if m else ""
            if m and switches.LIST_GOES_ON.match(rest.strip()):
                return None  # "positive, negative or neutral": the list of categories, not a case
            if m:
                return cat, rest.lstrip(" 的:：,→->=")
        return None

    def _goes_case(self, clause: str) -> tuple[str, str] | None:
        """("billing", "the finance queue") for "billing tickets go to the finance queue"."""
        if (case := self._category_case(clause)) is not None:
            return case
        graded = _GRADE_CASE.match(clause) if self.lang == "zh" else None
        if graded:  # "分级：A类客户（年消费10万以上）发飞书消息给大客户经理；B类客户发营销邮件": a grade and what it gets
            return graded.group("label"), graded.group("action").strip(" ,:")
        decision = re.match(r"^(?P<label>[\u4e00-\u9fff\w ]{1,12}?)\s*[:：]\s*(?P<action>.+)$", clause) if self.last_approval else None
        if decision and (_APPROVED.search(decision.group("label")) or _REJECTED.search(decision.group("label"))):
            return decision.group("label").strip(), decision.group("action")  # "审批通过：写入…", "rejected: email the writer"
        if self.lang == "zh":  # "负面的马上发 Slack 提醒…": how soon is not part of the label
            clause = re.sub(r"(?<=[\u4e00-\u9fffa-z0-9])的(?:立刻|马上|立即|直接|一律|统一)+(?=[\u4e00-\u9fff])", "的", clause)
            by_ai = re.match(r"^&?(?P<label>[\u4e00-\u9fffa-z0-9 ]{1,14}?)的(?=(?:让|用|交给|由)\s*(?:ai|大模型|gpt))", clause)
            if by_ai and (self.in_switch or self.last_cls is not None):  # "标签是question的让AI先写个回复草稿": a case the AI handles
                return conds.strip_label(by_ai.group("label"), self.lang), clause[by_ai.end():]
        colon = ph.COLON_CASE.match(clause)
        if colon and (self.colon_cases or conds.comparison(colon.group("label"), self.lang)) and len(colon.group("label").split()) <= 4 \
                and not ph.IF.search(colon.group("label")):
            return conds.strip_label(colon.group("label"), self.lang), colon.group("action")  # "Urgent: text the on-call engineer"
        m = ph.GOES.search(clause)
        if not m or m.start() == 0:
            return None
        label = clause[: m.start()].strip().lstrip("&").strip()  # "&" marks an action that continues a case
        if re.match(r"(?:" + ph.ACTION_VERBS + r")\b", label) or ph.PARALLEL.search(label) or ph.IF.search(label) or ph.NEGATED.search(clause) or re.fullmatch(r"(?:it|this|that|they|i|we|i'll|don't|then|and)", label):
            return None
        words = label.split()
        marked = label.endswith("的") or m.group(0).startswith("的")  # "数据分析的发…": a label, even if it names a task
        if len(words) > 4 or len(label) > 24 or ph.FETCH.match(label) or (
                not (self.lang == "zh" and marked) and any(t.search(label) for _, t in ph.AI_TASKS)):
            return None
        cjk = len(re.findall(r"[\u4e00-\u9fff]", label))
        if self.lang == "zh" and (cjk > 7 or len(label) > 20 or label.startswith("分别") or not (marked or self.in_switch and cjk <= 6) or re.search(
                r"[把将让再也又并]|(?<!优)先|同时|马上|立即|然后|每|点|(?<![a-z])ai(?![a-z])|^&?(?:看|查|翻|读|拉|找|搜|获取|等)", label) or re.search(r"分流|分别|根据|按.{1,10}(?:分|处理)", clause) or ent.find_integrations(label)[0]):
            return None  # "投诉的转到…" is a case; "把热榜发我钉钉" is just a delivery
        if self.lang == "zh" and re.search(r"在.{1,10}?(?:上|里)|给|通过", m.group(0)):  # "年假的在钉钉上通知…": the service is in the match
            return conds.strip_label(label, self.lang), clause[m.start():].lstrip("的")
        if "mail" in m.group(0):  # "the rest is emailed to support": an email to support
            return conds.strip_label(label, self.lang), "email " + clause[m.end():].strip(" :->=→")
        action = clause[m.end():].strip(" :->=→") if not re.match(r"\s*,?\s*(?:send|post|forward|route|assign|escalate|notify|email|create|add)\b",
                                                                 clause[m.start():]) else clause[m.start():].strip(" ,:")
        return conds.strip_label(label, self.lang), action

    def _on_same_channel(self, acts: list[Step], action: str, earlier: list[Step]) -> list[Step]:
        """"北京的发到北京销售的企业微信群，上海的发上海群": a case that sends to a group without
        naming the messenger sends on the one the earlier cases use."""
        unknown = [d for d in acts if isinstance(d, DeliverStep) and d.service not in ent.BY_ID]
        to_person = not any(isinstance(d, DeliverStep) for d in acts) and re.match(r"(?:发给|转给|交给|派给|丢给|推给|分给)", action.strip())
        if to_person and earlier:  # "浦东的企业微信发给张伟，徐汇的发给李娜": the same messenger, another person
            return acts + self._same_channel(earlier, action)
        if not unknown or not earlier or not re.search(r"群|频道|#|\bchannel\b", action):
            return acts
        same = self._same_channel(earlier, action)
        return [s for s in acts if s not in unknown] + same if same else acts

    def _same_channel(self, steps: list[Step], body: str) -> list[Step]:
        """"超过10万就在企业微信里@财务经理；没超过的话往财务群发一句…": an else side that sends
        without naming where goes through the messaging service the other side uses."""
        sent = next((s.service for s in _flat(steps) if isinstance(s, DeliverStep) and s.service in ent.BY_ID
                     and ent.BY_ID[s.service].kind == "messaging"), None)
        if sent is None:
            return []
        svc = ent.BY_ID[sent]
        return [s for s in self._actions(body, default_service=(svc.zh or svc.en)[0]) if isinstance(s, DeliverStep)]

    def _answer_fallback(self, cases: list, otherwise: list[Step] | None) -> bool:
        """"if the answer isn't in there, say so and give the shop's number", "手册里没有的就老实说不知道":
        how the answer itself behaves (the answer step's prompt holds the whole request), not a
        branch, as long as no case reads, waits or delivers anything."""
        if self.last_ai is None or self.last_ai.task != "answer" or len(cases) != 1:
            return False
        acted = [s for c in cases for s in _flat(c[2])] + _flat(otherwise or [])
        return not any(isinstance(s, (DeliverStep, SourceStep, WaitStep, LoopStep)) for s in acted) and bool(_NOT_FOUND.search(cases[0][3]))

    def _branch(self, clauses: list[str], i: int, before: list[Step]) -> tuple[int, list[Step]]:
        judged = self.last_ai  # case actions may add AI steps; the classification is the one before them
        if (judged is None or judged.task != "classify") and self.last_cls is not None and self._category_case(plain(clauses[i])):
            judged = self.last_cls
        switching = self.in_switch  # …and must not end the switch the head started
        cases: list[tuple[str, Comparison | None, list[Step], str]] = []
        otherwise: list[Step] | None = None
        pre: list[Step] = []  # what a condition reads before it is tested
        j = i
        label_at = -2  # the clause of the last condition read without its action ("Passives (7-8): / just log them")
        while j < len(clauses):
            self.in_switch = switching
            clause, continues = plain(clauses[j]), clauses[j].startswith(CONTINUES)
            # "正常就发到飞书群" is the else side, unless 正常 is one of the categories being routed
            if ph.ELSE.search(clause) and self._category_case(clause) is None:
                body = ph.ELSE.sub("", clause).strip(" ,")
                j += 1
                if not re.search(r"\w", body) or ph.LOWER_ELSE.match(body):
                    # "if not, &send them a polite rejection email": the else side is the clauses that follow
                    more = []
                    while j < len(clauses) and clauses[j].startswith(CONTINUES):
                        more.append(plain(clauses[j]))
                        j += 1
                    body = ", ".join(more)
                otherwise = self._actions(body) if body else []
                if body and not any(isinstance(s, DeliverStep) for s in _flat(otherwise)) and j < len(clauses) \
                        and clauses[j].startswith(CONTINUES) and (ph.SEND.search(plain(clauses[j])) or _REPLY_VIA.search(plain(clauses[j]))):
                    # "不是的话转人工，发到钉钉客服群", "…让AI写一句回复，调用接口回复到评价下面": how it goes out
                    otherwise = [*otherwise, *self._actions(plain(clauses[j]))]
                    j += 1
                while body and j < len(clauses) and clauses[j].startswith(CONTINUES) and _MORE_OF_CASE.match(plain(clauses[j])):
                    otherwise += self._actions(plain(clauses[j]))  # "没满就写进多维表格，再发一条报名成功的短信"
                    j += 1
                if body and cases and not any(isinstance(s, DeliverStep) for s in otherwise) and ph.SEND.search(body) \
                        and (re.search(r"群|频道|#|\b(?:channel|group|team chat)\b", body) or _TO_ME.search(body)):
                    otherwise += self._same_channel(cases[-1][2], body)
                break
            if continues and cases and cases[-1][2] == [] and not self._conditional(clause):
                # "If no, forward it to sales@": the action of the case just opened, not a new label
                cases[-1] = (*cases[-1][:2], self._actions(clause), cases[-1][3])
                j += 1
                continue
            after = next((plain(c) for c in clauses[j + 1:] if not c.startswith(CONTINUES)), "")
            if continues and cases and cases[-1][2] and ph.ELSE.search(after) and not self._conditional(clause):
                # "if it's below 3, alert the manager on Telegram and have AI draft a reply; otherwise …":
                # what goes on before the else is still the case's
                cases[-1] = (*cases[-1][:2], [*cases[-1][2], *self._actions(clause)], cases[-1][3])
                j += 1
                continue
            if continues and cases and cases[-1][2] and re.match(r"(?:同时|并且|并|还要|顺便|附上|附带|带上|抄送|also\b|and also\b|as well\b|attach|include)", clause):
                # "负面的在钉钉群里告警，同时抄送主管": a second action of the same case
                cases[-1] = (*cases[-1][:2], [*cases[-1][2], *self._actions(clause)], cases[-1][3])
                j += 1
                continue
            goes = self._goes_case(clause) if not self._conditional(clause) else None
            if goes is None and cases and cases[-1][1] is None:
                goes = conds.elliptical_case(clause)  # "…, ideas to Productboard, praise to #wins"
            if goes is not None:
                label, action = goes
                labelled = conds.comparison(label, self.lang)
                if labelled is not None:  # "2 stars or less → raise a Linear issue": a comparison, not a category
                    cases.append((labelled[1], labelled[0], self._actions(action, default_service=action), clause))
                    j += 1
                    continue
                steps = self._on_same_channel(self._actions(action, default_service=action), action, [s for c in cases for s in c[2]])
                if ph.ELSE_LABEL.search(label):
                    otherwise = steps
                    j += 1
                    break
                cases.append((label, None, steps, clause))
                j += 1
                continue
            banded = self._threshold_case(clause) if cases and cases[-1][1] is not None and not continues \
                and not self._conditional(clause) else None
            if banded is not None:
                # "低于5000元就发钉钉提醒店长；5000到10000之间不用管；高于10000元在企业微信群里发个喜报": after a
                # threshold case, a clause that opens with another threshold is the next case ("不用管": none)
                cases.append(banded)
                j += 1
                continue
            if self._conditional(clause):
                cond, action = conds.split_condition(ph.IF.sub("", clause, count=1).strip(" ,"), self.lang)
                other = _OTHER_SIDE_AFTER.search(action) if self.lang == "zh" and ph.IF.search(clause) else None
                if other:  # "要是会下雨就在微信上提醒我带伞，不下雨就给我发一句早安": the else side, a clause of its own
                    clauses.insert(j + 1, CONTINUES + action[other.end():])
                    action = action[: other.start()]
                cmp = conds.comparison(cond, self.lang)
                if cmp is None and ph.ANY_NEW.search(cond):
                    # "看一下淘宝店有没有新的差评，有的话就…": read them, then go on when there are any
                    read = [s for s in self._actions(ph.ANY_NEW.sub(" ", cond)) if isinstance(s, SourceStep)]
                    if read:
                        pre.extend(read)
                        cmp = (Comparison(subject=read[-1].id, field="", op="truthy"), "any")
                acts = self._actions(action) if action else []
                if action and not any(isinstance(s, DeliverStep) for s in acts) and ph.SEND.search(action):
                    acts += self._same_channel(before, action)  # "先给他发条欢迎短信…如果还没下单，就给他发一张优惠券": by SMS too
                waits = acts[-1] if acts and isinstance(acts[-1], WaitStep) and acts[-1].approval is not None else None
                if waits is not None and j + 1 < len(clauses) and _OUTCOME_FIRST.match(plain(clauses[j + 1])):
                    # "金额超过500元的先等店长审批，审批通过就…，驳回就…": the decision's own branch, inside this case
                    saved, self.last_approval = self.last_approval, waits
                    k, decided = self._branch(clauses, j + 1, [*before, *acts])
                    self.last_approval = saved
                    if k > j + 1 and decided:
                        cases.append((cmp[1] if cmp else conds.strip_label(cond, self.lang), cmp[0] if cmp else None,
                                      [*acts, *decided], clause))
                        j = k
                        continue
                cases.append((cmp[1] if cmp else conds.strip_label(cond, self.lang), cmp[0] if cmp else None, acts, clause))
                label_at = j
                j += 1
                continue
            if cases and not self._conditional(clause) and (j == i + len(cases) or j == label_at + 1) and cases[-1][2] == []:
                cases[-1] = (*cases[-1][:2], self._actions(clause), cases[-1][3])
                j += 1
                continue
            drafted = cases and cases[-1][2] and isinstance(cases[-1][2][-1], AiStep) and ph.SEND.search(clause)
            if cases and (continues or (drafted and _TO_ME.search(clause) and len(clause) <= 12)) and (
                    ph.DELIVER.search(clause) or _REPLY_VIA.search(clause) or drafted):
                # "critical pages PagerDuty and posts in #incidents"; "…的让AI先写个回复草稿，发邮件给我": the draft is sent
                more = self._actions(clause)
                known = {d.service for d in more if isinstance(d, DeliverStep) and d.service in ent.BY_ID} if self.lang == "zh" else set()
                kept = [s for s in cases[-1][2] if not (known and isinstance(s, DeliverStep) and s.service not in ent.BY_ID
                                                         and not _A_SYSTEM.search(s.service or ""))]  # "写入考勤系统" stays
                cases[-1] = (*cases[-1][:2], [*kept, *more], cases[-1][3])  # "转给财务，在企业微信里发给他们": one delivery
                j += 1
                continue
            break
        if not cases:
            return i, []
        if otherwise is None:  # a band left alone is what the else side does already
            cases = [c for c in cases if c[2] is not _LEFT_ALONE] or cases
        cases = [(*c[:2], [] if c[2] is _LEFT_ALONE else c[2], *c[3:]) for c in cases]
        cases, otherwise = _label_cases_as_values(cases, otherwise)
        if not any(c[2] for c in cases) and not otherwise and not any(c[1] is not None for c in cases):
            return j, []  # "classify its sentiment: positive, negative or neutral": nothing is done per case
        if self._answer_fallback(cases, otherwise):
            return j, []
        cases = conds.one_side_inclusive(conds.band_bound(cases))
        if len(cases) == 2 and otherwise is None and cases[0][1] is not None and cases[1][1] is None and _OTHER_SIDE.fullmatch(cases[1][0].strip()):
            otherwise, cases = cases[1][2], cases[:1]  # "Anything over $500 needs approval …; smaller claims go straight in"
        if len(cases) == 2 and otherwise is None and (conds.complementary(cases[0][1], cases[1][1]) or conds.antonyms(cases[0][0], cases[1][0])):
            otherwise = cases[1][2]  # "> 1000 → approval; 1000及以下 → email": the second is the else branch
            if not any(isinstance(s, DeliverStep) for s in _flat(otherwise)) and _TO_ME.search(cases[1][3]):
                # "要是会下雨就在微信上提醒我带伞，不下雨就给我发一句早安": to me, the way the other side reaches me
                otherwise = [*otherwise, *self._same_channel(cases[0][2], conds.split_condition(plain(cases[1][3]), self.lang)[1])]
            cases = cases[:1]
        decided = self._approval_branch(cases, otherwise)
        if decided is not None:
            return j, [decided]
        out: list[Step] = list(pre)
        numeric = [c for c in cases if c[1] is not None]
        subject, field = "inputs", "category"
        if numeric and len(numeric) == len(cases):
            named = {c[1].field for c in numeric} - {"value"}  # type: ignore[union-attr]
            if len(named) == 1:  # "more than 100 errors / 20 to 100 / under 20": one quantity, named once
                name = next(iter(named))
                cases = [(re.sub(r"^value\b", name, c[0]), msgspec.structs.replace(c[1], field=name), *c[2:])  # type: ignore[arg-type]
                         for c in cases]
            subject = self._subject_for(judged)
            scored = judged is not None and judged.id == subject and judged.task == "score"
            comparisons = [Comparison(subject=subject, op=c[1].op, value=c[1].value,  # type: ignore[union-attr]
                                      field="score" if scored and c[1].field in ("value", "rating", "score") else  # type: ignore[union-attr]
                                      self._field_path(subject, c[1].field)) for c in cases]  # type: ignore[union-attr]
            field = comparisons[0].field or field  # "Route by score", not "by category"
        elif self.switch_field:
            field = self._field_path("inputs", self.switch_field)
            comparisons = [Comparison(subject="inputs", field=field, op="eq", value=c[0]) for c in cases]
            self.switch_field = None
        else:
            labels = [c[0] for c in cases]
            cls = judged if judged is not None and judged.task == "classify" else None
            if cls is None:
                app = event_app(self) if before and isinstance(before[-1], WaitStep) and before[-1].approval is None else None
                if app is not None:  # "先等2个小时，到时候如果还没发货，就…": what is true now, read again after the wait
                    out.append(SourceStep(id=self.uid(f"fetch_{app}"), service=app, operation="get", quote=clauses[i][:200]))
                cls = AiStep(id=self.uid("classify"), task="classify", categories=labels,
                             instruction=_classify_instruction(clauses[i], labels, self.lang), quote=clauses[i][:200])
                out.append(cls)
                self.last_ai = self.last_cls = cls
            subject = cls.id
            comparisons = [None] * len(cases)
            cases = [(conds.as_category(c[0], cls.categories), *c[1:]) for c in cases]
        bid = self.uid("route" if len(cases) > 1 else "check")
        branch = BranchStep(id=bid, quote=" ".join(c[3] for c in cases)[:300], on=subject, field=field,
                            cases=[Case(label=c[0], when=cmp, steps=c[2]) for c, cmp in zip(cases, comparisons)],
                            otherwise=otherwise)
        out.append(branch)
        return j, out

    def _threshold_case(self, clause: str) -> tuple[str, Comparison, list[Step], str] | None:
        """A clause that opens with a threshold and says what to do in it ("高于10000元在企业微信群里发个喜报",
        "5000到10000之间不用管"), as a case; None for anything else."""
        cond, action = conds.split_condition(clause, self.lang)
        ignored = ph.IGNORE.search(cond)
        if ignored:
            cond, action = cond[: ignored.start()].strip(" ,"), ""
        cmp = conds.comparison(cond, self.lang) if cond and len(cond) <= (16 if self.lang == "zh" else 40) else None
        if cmp is None or not (action or ignored):
            return None
        return cmp[1], cmp[0], self._actions(action) if action else _LEFT_ALONE, clause

    def _parallel_tasks(self, clauses: list[str], i: int) -> tuple[int, ParallelStep] | None:
        """"do three things in parallel: pull out the key dates, flag risky clauses and summarize
        it", "同时做三件事：翻译摘要、提炼方法、分析局限性": AI tasks side by side (their merge is
        whatever comes next)."""
        clause = plain(clauses[i])
        head = _PARALLEL_TASKS.search(clause)
        if head is None:
            return None
        parts = [clause[head.end():]]
        j = i + 1
        while j < len(clauses) and clauses[j].startswith(CONTINUES):
            parts.append(plain(clauses[j]))
            j += 1
        items = [x.strip() for part in parts for x in re.split(r"[,;、]\s*(?:and\s+)?|\s+and\s+(?=[a-z]+\s)", part) if x.strip()]
        said = _TASK_COUNT.get(m.group(1)) if (m := re.search(r"(two|three|four|2|3|4|两|二|三|四)\s*(?:件事|个任务|things|tasks)", clause)) else None
        while said and len(items) < said and j < len(clauses):
            # "同时做两件事：给他发一封确认邮件，再把报名信息存到飞书多维表格": the count says how many follow
            items.append(re.sub(r"^(?:再|然后|并且?|还要|also\s+|then\s+)", "", plain(clauses[j])).strip())
            j += 1
        ais: list[AiStep] = []
        sends: list[list[Step]] = []
        for item in items:
            acts = parse_actions(item, self)
            if acts.deliveries and acts.ai is None and not acts.sources and not re.match(r"flag|标记|标出", item):
                sends.append(list(acts.deliveries))  # "同时做三件事：企业微信通知仓库、在多维表格记一行、给我发封邮件"
                continue
            if sends or (acts.sources and acts.ai is None) or acts.deliveries and acts.ai is None:
                return None  # fetches side by side, or sends mixed with other work: the clause parser's job
            ais.append(acts.ai or AiStep(id=self.uid("analyze"), task="analyze", instruction=item, quote=item[:200]))
        if len(sends) >= 2 and len(sends) == len(items):
            return j, ParallelStep(id=self.uid("in_parallel"), quote=clause[:200], branches=sends)
        if len(ais) < 2 or sends:
            return None
        self.last_ai = ais[-1]
        return j, ParallelStep(id=self.uid("in_parallel"), quote=clause[:200], branches=[[a] for a in ais])

    def _case_list(self, clauses: list[str], i: int) -> tuple[int, list[Step]] | None:
        """"P0 发企业微信，P1 建 Jira 工单，其他的发邮件": a switch written as a list of
        label-led items (see :mod:`pilot.generation.switches`)."""
        cls = self._classifier()
        labels = list(cls.categories) if cls is not None and cls.categories else list(self.declared)
        found = switches.case_list(clauses, i, labels)
        if found is None or any(_COMPARED.match(label) or (re.search(r"\d", label) and conds.comparison(label, self.lang))
                                for label, _ in found.cases):
            return None  # "低于60分的，…；60分及以上的，…": comparisons, the if/else reader's job
        cases: list[tuple[str, list[Step]]] = []
        for k, (label, action) in enumerate(found.cases):
            acts = self._actions(action, default_service=action)
            for more in found.extra.get(k, []):
                more_acts = self._actions(more)
                if any(isinstance(d, DeliverStep) and d.service in ent.BY_ID for d in more_acts):
                    # "退款的转给财务，在企业微信里发给他们": the second half says how the first is sent
                    acts = [s for s in acts if not (isinstance(s, DeliverStep) and s.service not in ent.BY_ID)]
                acts += more_acts
            cases.append((label, self._on_same_channel(acts, action, [s for _, a in cases for s in a])))
        rest = found.otherwise
        otherwise = None if rest is None else [] if not rest or ph.IGNORE.search(rest) else self._actions(rest, default_service=rest)
        if len(cases) == 2 and otherwise is None and conds.antonyms(cases[0][0], cases[1][0]):
            cases, otherwise = cases[:1], cases[1][1]  # "Urgent ones → …. Not urgent → …": the second is the else side
        quote = " ".join(plain(c) for c in clauses[i:found.end])[:300]
        out: list[Step] = []
        if cls is not None and (cls.categories or cls is self.last_ai):
            # the classification's own cases (its categories come from the labels when it named none)
            branch = BranchStep(id=self.uid("route"), quote=quote, on=cls.id, field="category", otherwise=otherwise,
                                cases=[Case(label=conds.as_category(label, cls.categories), steps=acts) for label, acts in cases])
        elif self.trigger_kind in ("webhook", "form", "app_event"):
            name = self.switch_field or self.declared_field or found.field or ("priority" if switches.is_code(cases[0][0]) else "category")
            path = self._field_path("inputs", name)
            self.switch_field = None
            branch = BranchStep(id=self.uid("route"), quote=quote, on="inputs", field=path, otherwise=otherwise,
                                cases=[Case(label=label, when=Comparison(subject="inputs", field=path, op="eq", value=label), steps=acts)
                                       for label, acts in cases])
        else:
            labels = [label for label, _ in cases]
            judged = AiStep(id=self.uid("classify"), task="classify", categories=labels, quote=quote,
                            instruction=_classify_instruction(quote, labels, self.lang))
            self.last_ai = self.last_cls = judged
            out.append(judged)
            branch = BranchStep(id=self.uid("route"), quote=quote, on=judged.id, field="category", otherwise=otherwise,
                                cases=[Case(label=label, steps=acts) for label, acts in cases])
        return found.end, [*out, branch]

    def _approval_branch(self, cases: list[tuple[str, Comparison | None, list[Step], str]],
                         otherwise: list[Step] | None) -> BranchStep | None:
        """"if approved … otherwise …", "审批通过：…；被驳回：…": a branch on the person's decision."""
        appr = self.last_approval
        if appr is None or not all(_APPROVED.search(c[0]) or _REJECTED.search(c[0]) for c in cases):
            return None
        yes = [c for c in cases if not _REJECTED.search(c[0])]
        no = [c for c in cases if _REJECTED.search(c[0])]
        if not yes:
            return None
        return BranchStep(id=self.uid("if_approved"), quote=" ".join(c[3] for c in cases)[:300], on=appr.id, field="approved",
                          cases=[Case(label="approved", when=Comparison(subject=appr.id, field="approved", op="eq", value=True),
                                      steps=yes[0][2])],
                          otherwise=otherwise if otherwise is not None else (no[0][2] if no else None))

    def _subject_for(self, judged: AiStep | None) -> str:
        """The upstream step whose output a comparison tests: the AI step before the branch when it
        produces fields (score / extract / classify / analyze), else the last source, else the payload."""
        if judged is not None and judged.task in ("score", "extract", "classify", "analyze"):
            return judged.id
        if self.last_source is not None:
            return self.last_source.id
        return "inputs"

    def _field_path(self, subject: str, field: str) -> str:
        if subject != "inputs":
            return field
        return f"payload.{field}" if self.trigger_kind in ("webhook", "app_event", "form") else field


_READ_ONLY = compile_filtered(r"只读|只查|不要改|别改|不改|不要修改|read[- ]only|\b(?:don't|do not|never) (?:modify|change|update|touch|write)")
_POSTFIX_IF = compile_filtered(r"^(?P<action>.+?)\s+(?:if|only if|whenever|in case)\s+(?P<cond>[^,]+)$")


def _filtered_read(step: Step, wanted: Comparison) -> Step:
    """A service read asked for only the rows that pass ``wanted`` (a query parameter of the read)."""
    if not isinstance(step, SourceStep) or step.from_ != "service":
        return step
    op = {"eq": "", "ne": "!=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}.get(wanted.op, wanted.op)
    param = {wanted.field: str(wanted.value)} if not op else {"filter": f"{wanted.field} {op} {wanted.value}"}
    return msgspec.structs.replace(step, params={**step.params, **param})


_OTHER_SIDE_AFTER = compile_filtered(r",\s*(?=(?:不|没|未)(?!有(?:的话|就))[\u4e00-\u9fff]{1,4}(?:的话)?就)")
_PAGES = compile_filtered(r"\b(?:pages?|urls?|links?|sites?|websites?|homepages?|articles?)\b|页面|链接|网址|网页|文章")
_TABLE_NAMED = compile_filtered(r"(?:把|从|将|对)(?P<t>[\u4e00-\u9fffa-z0-9]{2,10}?表)格?(?:里|中|上)?的")
_TO_ME = compile_filtered(r"给我发|发给我|发我|告诉我|提醒我|发[\u4e00-\u9fff]{1,3}给我|\b(?:send|message|text|tell|remind|ping) me\b")
_GRADE_CASE = compile_filtered(r"^&?(?:[^:,]{0,12}(?:分级|分档|分类|分等|分流|分层)[^:,]{0,4}:)?(?P<label>[a-z0-9一二三四五六七八九十甲乙丙丁]{1,2}(?:类|级|档|等))"
                               r"(?:客户|用户|会员|工单|订单|线索|问题|商品|产品|的)?(?:\s*\([^)]{0,30}\))?\s*(?P<action>[^,]{2,})$")
_NOUN_THRESHOLD = compile_filtered(r"(?:any |all |the )?[a-z]+(?: [a-z]+)? (?:over|above|under|below|more than|less than|at least|at most)"
                                   r" \$?\d[\d,.]*\s*(?:k\b|usd\b|dollars?\b|%|stars?\b|points?\b|days?\b|items?\b|units?\b)?")
_OUTCOME_FIRST = compile_filtered(r"(?:审批)?(?:通过|批准|同意|被驳回|驳回|拒绝|过了|批了)(?:了|的话|之后|以后)?(?:就|则|后|再)|(?:if |once |when )?(?:approved|rejected|declined)\b")
_A_SYSTEM = compile_filtered(r"系统|平台|后台|数据库|台账|\bsystem\b|\bplatform\b|\bdatabase\b")
_LEFT_ALONE: list[Step] = []  # a threshold case whose values need nothing ("不用管"); compared by identity


def _condition_first(clauses: list[str], i: int, lang: str) -> tuple[str, int] | None:
    """Conditions said after their action, rewritten condition-first: "send me a Telegram message
    if it drops below 60000" → "if it drops below 60000, send me …"; "收货地址在海外的，发到飞书…；
    否则…" → "如果收货地址在海外,就发到飞书…". Returns (new clause, clauses it replaces)."""
    clause, mark = plain(clauses[i]), CONTINUES if clauses[i].startswith(CONTINUES) else ""
    head, colon, rest = clause.partition(":")
    if colon and len(head) <= 24 and ph.IF.match(rest.strip()) and not (ph.SEND.search(head) or ph.FETCH.search(head) or ph.LOOP.search(head)
                                                                         or re.search(r"逐|每|一个一个|依次", head)):
        return mark + rest.strip(), 1  # "客服对话机器人：用户要是想投诉，就…": the title before the condition
    if lang == "en":
        m = _POSTFIX_IF.match(clause)
        if m and (ph.SEND.search(m.group("action")) or ph.DELIVER.search(m.group("action"))) and conds.comparison(m.group("cond"), "en"):
            return f"{mark}if {m.group('cond')}, {m.group('action')}", 1
        return None
    if (clause.endswith("的") and i + 1 < len(clauses) and clauses[i + 1].startswith(CONTINUES)
            and any(ph.ELSE.search(plain(c)) for c in clauses[i + 2: i + 4])):
        head, _, label = clause.rpartition(":")
        loop = re.search(r"逐条|逐个|逐一|依次|一单一单|一个一个|一条一条|每(?:一)?[条个单笔]", head)
        prefix = loop.group(0) + "," if loop else ""  # "逐个检查：" → "逐个,": the loop, then its condition
        return f"{mark}{prefix}如果{label[:-1]},就{plain(clauses[i + 1])}", 2
    return None


_TASK_COUNT = {"two": 2, "2": 2, "两": 2, "二": 2, "three": 3, "3": 3, "三": 3, "four": 4, "4": 4, "四": 4}
_PARALLEL_TASKS = compile_filtered(r"\b(?:(?:two|three|four|2|3|4|several|a few) (?:things|tasks) )?(?:in parallel|at the same time|at once|side by side|simultaneously)\s*:\s*"
                             r"|(?:同时|并行)(?:做|进行|处理)?(?:[两三四几]件事|[两三四几]个任务)?\s*[:：]\s*")
_WHETHER = compile_filtered(r"\b(?:decide|check|determine|judge|tell(?: me)?|work out|figure out|assess|see)\s+(?:if|whether)\s+(?P<what>(?:each |the |it |this |that |every )?[\w-]*?)\s*"
                      r"(?:is|are|was|looks|sounds|seems)\s+(?:an?\s+|really\s+)?(?P<y>[a-z][\w -]{1,20}?)(?:\s+or not)?\s*$")
_WHETHER_ZH = compile_filtered(r"^(?:先)?(?:让|用)?\s*(?:ai|大模型)?\s*(?:先)?\s*(?:判断|看看|看一下|检查|识别)(?:一下)?(?:它|这封邮件|这条|这个)?(?:是不是|是否(?:是|为|属于)?)"
                         r"(?P<y>[\u4e00-\u9fffa-z]{1,8}?)(?=$|[:：,，])")
_OTHER_SIDE = compile_filtered(r"(?:the\s+)?(?:smaller|lower|less|cheaper|fewer|larger|bigger|higher|more|shorter|longer)(?:\s+(?:ones?|claims?|orders?|amounts?|scores?|values?|deals?|invoices?))?"
                         r"|(?:更小|更低|更少|更便宜|更大|更高|更多)的?")
_RANGE_LABEL = compile_filtered(r"[a-z ]{0,24}?\(\s*\d+(?:\.\d+)?\s*(?:-|–|to|~)\s*\d+(?:\.\d+)?\s*\)")
_READ_FILTER = compile_filtered(r"(?:读出|查出|拉出|找出|筛出|取出|获取|读取|拉取|导出|把)[^,，。；;]{0,16}?(?:所有|全部)[^,，。；;]{0,12}?(?:是|为|等于|大于|小于|超过)[^,，。；;]{1,12}的")
_FILTER_VALUE = compile_filtered(r"(?:所有|全部)(?P<c>[^,，。；;]{0,12}?(?:是|为|等于|大于|小于|超过)[^,，。；;]{1,12})的")
_REPLY_VIA = compile_filtered(r"^(?:再|然后|并)?(?:调用?|通过|用).{0,8}?(?:接口|api).{0,4}?(?:回复|发|推|写|提交)")
_THE_ONE = compile_filtered(r"\b(?:each|every) one\b|\beach of them\b"
                      r"|\b(?:classify|tag|label|score|sort|categori[sz]e|route|triage|rate|summari[sz]e|translate)\s+(?:each|every)\s+[a-z]+\b"
                      r"|\b(?:store|save|log|record|add|send|forward|post|reply to|answer)\s+(?:each|every)\s+(?:new\s+)?"
                      r"(?:response|submission|entry|email|message|order|lead|ticket|review|comment|signup|application|request)\b"
                      # "every claim then gets recorded in Xero": each submission, one per run
                      r"|^(?:and\s+)?(?:each|every)\s+(?:new\s+)?(?:claim|response|submission|entry|request|application|signup|lead|order|ticket)s?\s+"
                      r"(?:then\s+)?(?:gets?|is|are|goes?|should)\b"
                      r"|^(?:each|every)\s+(?:new\s+)?(?:claim|response|submission|entry|request|application|signup|lead|order|ticket)s?$")
_COMPARED = compile_filtered(r"value (?:lt|le|gt|ge|eq|ne) ")
_A_NOT_A = compile_filtered(r"((?:判断|看看|看一下|检查|识别)(?:一下)?)([\u4e00-\u9fff])不\2([\u4e00-\u9fff]{0,2}?)(?=$|[:：,，])")
_APPROVED = compile_filtered(r"approv|accepted|signed off|okay|\bok\b|通过|批准|同意")
_REJECTED = compile_filtered(r"reject|declin|denied|not approv|isn't approved|驳回|拒绝|不通过|没通过|未通过|不同意|没批")


def _with_categories(steps: list[Step], new: list[Step]) -> list[Step]:
    """A case list whose labels are not the classification's categories (the list was cut by the
    clause splitter: "rate urgency as critical, high, normal or low: critical -> …") renames
    them: the labels the cases use are the categories."""
    branch = new[-1] if new and isinstance(new[-1], BranchStep) else None
    if branch is None or branch.field != "category":
        return steps
    labels = [c.label for c in branch.cases]
    out = []
    for s in steps:
        if isinstance(s, AiStep) and s.id == branch.on and s.task == "classify" and not set(labels) <= set(s.categories):
            s = msgspec.structs.replace(s, categories=labels)
        out.append(s)
    return out


def _merged_cases(steps: list[Step], new: list[Step]) -> list[Step]:
    """More cases of the switch just before (same classification, no else yet) join it instead
    of starting a second switch; returns what is left to append."""
    prev = steps[-1] if steps else None
    if (len(new) == 1 and isinstance(new[0], BranchStep) and isinstance(prev, BranchStep) and prev.on == new[0].on
            and prev.field == new[0].field == "category" and not prev.otherwise
            and not {c.label for c in prev.cases} & {c.label for c in new[0].cases}):
        steps[-1] = msgspec.structs.replace(prev, cases=[*prev.cases, *new[0].cases], otherwise=new[0].otherwise)
        return []
    return new


def _one_page_fetch(steps: list[Step]) -> list[Step]:
    """"For each URL in this list, fetch the page": the loop's head and its first step name one
    fetch of the item's page (side by side or in a row), not two."""
    def page(s: Step) -> bool:
        return isinstance(s, SourceStep) and s.from_ == "url" and s.url == "{{ inputs.url }}"

    if steps and isinstance(steps[0], ParallelStep) and all(len(b) == 1 and page(b[0]) for b in steps[0].branches):
        return [steps[0].branches[0][0], *steps[1:]]
    if len(steps) > 1 and page(steps[0]) and page(steps[1]):
        return [steps[0], *steps[2:]]
    return steps


def _iterable_source(clause: str, step: Step, loop_text: str = "") -> bool:
    """Whether a source found in a loop's clauses is what the loop goes over (fetched once,
    before it) rather than a per-item fetch: "for each URL, fetch the page", "for each lead,
    search the web", "对每个关键词去知乎搜" stay inside."""
    if isinstance(step, SourceStep) and (step.from_ in ("url", "web_search") or step.service in (None, "web_search")) and re.search(
            r"\b(?:urls?|links?|pages?|domains?|websites?|sites?|leads?|guests?|companies|company|keywords?|terms?|names?)\b|链接|网址|页面|官网|关键词|网页",
            loop_text or clause):
        return False
    if isinstance(step, ParallelStep):  # sources read side by side: iterated only if each of them is
        return all(_iterable_source(clause, x, loop_text) for branch in step.branches for x in branch)
    if not isinstance(step, SourceStep) or not step.service:
        return True
    if loop_text and re.search(r"(?:每个|每一个|对每)\S{0,6}(?:关键词|词|公司|客户|链接)|\bfor each (?:keyword|term|company|lead|domain|url|link)\b", loop_text):
        return False  # "对每个关键词去知乎搜": a search per item
    return not re.search(r"\b(?:look (?:each|every|it|them)(?: one)? up|enrich|each one up)\b", clause)


def _classify_instruction(clause: str, labels: list[str], lang: str) -> str:
    return (f"判断类别（{'、'.join(labels)}，或其他）：{clause}" if lang == "zh"
            else f"Decide which category applies ({', '.join(labels)}, or other): {clause}")


def _without_refused(steps: list[Step], clauses: list[str]) -> list[Step]:
    """Deliveries the request refuses ("don't send anything", "I'll post it myself", "别往钉钉里写",
    "don't reply to the email") are removed: to the services named there, else all of them."""
    refused: set[str] = set()
    everything = False
    previous = ""
    for c in (plain(c) for c in clauses):
        neg = ph.NEGATED.search(c)
        if not neg:
            previous = c
            continue
        # "记到 Notion 的数据库里，不用通知任何人": the refusal's own clause may hold nothing before it
        after = c[neg.start():]
        notify_only = re.search(r"通知|提醒|告诉|(?:任何|一条)?消息|\bnotify\b|\btell\b|\balert\b|\bping\b|\bmessage\b", after)
        lead = re.sub(r"注意|请|记得|另外|但是?|并且?|同时|千万|一定|务必|\b(?:please|note|but|and|also|just|make sure)\b|[,，:：\s]", "", c[: neg.start()])
        before = c[: neg.start()] if lead or not notify_only else previous  # "注意不要在群里发任何消息": the clause before
        named = set(ent.find_integrations(after)[0]) | ({"email"} if re.search(r"\breply\b|\be-?mail\b|邮件|回复", after) else set()) \
            | ({"crm"} if re.search(r"(?<![a-z])crm(?![a-z])", after) else set())  # "不要同步到CRM": the team's CRM only
        if not named and re.search(r"read[- ]only|只读|只查", c[: neg.start()]):
            head = c[: neg.start()]  # "Greenhouse is read-only for this, don't write": that one
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
    out: list[Step] = []
    for s in steps:
        if isinstance(s, DeliverStep) and (everything or s.service in refused):
            continue
        if isinstance(s, BranchStep):
            s = msgspec.structs.replace(s, cases=[msgspec.structs.replace(c, steps=_drop_deliveries(c.steps, refused, everything))
                                                  for c in s.cases],
                                        otherwise=None if s.otherwise is None else _drop_deliveries(s.otherwise, refused, everything))
        elif isinstance(s, ParallelStep):
            s = msgspec.structs.replace(s, branches=[b for b in (_drop_deliveries(b, refused, everything) for b in s.branches) if b])
        elif isinstance(s, LoopStep):
            s = msgspec.structs.replace(s, steps=_drop_deliveries(s.steps, refused, everything))
        out.append(s)
    return out


def _batching_remark(clause: str) -> bool:
    return bool(re.fullmatch(r"(?:(?:do|run|process|handle) (?:it|this|that|them|these|all)\s*)?(?:in batches of \d+|\d+\s+(?:\w+\s+)?at a time)"
                             r"(?:\s*(?:so|to|because).*)?|(?:每\s*\d+\s*(?:条|个|行)?\s*一批|分批)(?:处理|执行|跑)?", clause.strip(" ,.-—"))
                or re.search(r"(?:^|,)\s*(?:按|每)\s*\d+\s*(?:人|条|个|行|份|封)?\s*一批(?:发|发送|处理|执行|跑)?$", clause.strip(" ,.。")))


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


__all__ = ["OfflinePlanner"]
