"""The offline planner's per-request state and its assembly (pure): ``_State.assemble`` walks
the clauses in reading order and, for each, tries the readers in a fixed order (the order
matters): category cut, the trigger restated, a colon split, the condition-first rewrite,
parallel tasks, a case list, yes/no judgements, the if / otherwise branch, a category list,
"respectively", batching, a loop, else the clause's plain actions; ``_actions`` reads one clause
(:func:`pilot.generation.plan_actions.parse_actions`) and keeps what later clauses refer to (the
last AI step, classification, source, approval, switch field). The readers are the mixins
``_State`` is made of (:mod:`pilot.generation.planner_conditionals`,
:mod:`pilot.generation.planner_case_lists`, :mod:`pilot.generation.planner_branches`)."""

from __future__ import annotations

import re

import msgspec

from pilot.generation import conditions as conds
from pilot.generation import entities as ent
from pilot.generation import phrases as ph
from pilot.generation import switches
from pilot.generation.action_ai_step import no_ai_requested
from pilot.generation.action_sources import _UPTIME
from pilot.generation.clauses import CONTINUES, plain, split_clauses
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
    TransformStep,
)
from pilot.generation.plan_actions import Actions, parse_actions  # noqa: F401 - Actions: the type of parse results
from pilot.generation.planner_branches import _ONCE_APPROVED, _ONCE_REJECTED, _OUTCOME_FIRST, BranchReader
from pilot.generation.planner_case_lists import CaseListReader, _merged_cases, _with_categories
from pilot.generation.planner_conditionals import ConditionalReader, _condition_first, wait_then_test
from pilot.generation.planner_loops import (
    _FILTER_VALUE,
    _PAGES,
    _READ_FILTER,
    _TABLE_NAMED,
    _THE_ONE,
    _batching_remark,
    _filtered_read,
    _iterable_source,
    _one_page_fetch,
)
from pilot.generation.planner_passes import _parallel_sources
from pilot.generation.planner_triggers import _asked_of_event
from pilot.generation.prefilter import compile_filtered


_DEST_HEAD = compile_filtered(r"^(?P<dest>to (?:the |our |my )?[^,:;]{1,50}?)\s*:\s*(?:at \d{1,2}(?::\d{2})?\s*(?:am|pm)?)?\s*$")


def _waits_before_tests(clauses: list[str], lang: str) -> list[str]:
    """"如果24小时内他还没完成实名认证" → "等24小时", "如果他还没完成实名认证": a test of what has not
    happened in a while waits that long first (every clause, before cases are read across them)."""
    out: list[str] = []
    for clause in clauses:
        waited = wait_then_test(plain(clause), lang)
        if waited is None:
            out.append(clause)
        else:
            out += [(CONTINUES if clause.startswith(CONTINUES) else "") + waited[0], waited[1]]
    return out


_SAME_ITEMS = compile_filtered(r"每一?条|每一?个|\beach one\b|\beach of them\b|逐条|一条条|一个个")
_PER_PART = compile_filtered(r"\b(?:list|summari[sz]e|outline|describe|explain|note|highlight|give|extract|compare|break down)\b[^.;]{0,80}?"
                             r"\bfor (?:each|every) (?:party|side|section|chapter|clause|speaker|participant|stakeholder|option|plan|role|phase|stage)\b")
_TOGETHER_WITH = compile_filtered(r"连同[^,，。；;]{0,24}?一起")


_LOOK_AT_HEAD = compile_filtered(r"^(?:then\s+|and\s+)?(?:check|look at|inspect|examine)\s+(?:the\s+|its\s+|their\s+)?[a-z]+(?:\s+[a-z]+)?\s*:\s*(?P<tail>.{4,})$")

class _State(ConditionalReader, CaseListReader, BranchReader):
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
        self.and_also: dict[str, tuple[Comparison, str]] = {}  # a case's second comparison ("… AND over 200 employees"), by its clause
        self.colon_cases = bool(ph.SWITCH_ON.search(trigger_clause) or ph.SWITCH_HEAD.search(trigger_clause))
        on = ph.SWITCH_ON.search(trigger_clause)
        if on and trigger_kind in ("webhook", "form", "app_event"):  # "our form has a priority dropdown (…)."
            self.switch_field = re.sub(r"[^a-z0-9]+", "_", next(g for g in on.groups() if g).strip()).strip("_")
        self.loop_service: str | None = None  # inside "for each issue of GitHub": writes go back to it
        # inside "把GitLab上的MR一个个拿出来…": the app the items come from, for an action on the item ("作为评论发回")
        self.loop_app: str | None = None
        self.in_loop = False  # "批量写回" inside a loop body is not a second loop
        self.since_event_s = 0.0  # how long the waits planned so far hold the run after its event ("满30天" counts from it)
        self.style_service: str | None = None  # "write a LinkedIn post" names where "publish it" goes
        self.style_services: list[str] = []  # …and "a LinkedIn post and a tweet" where "publish both" goes
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
        clauses = _waits_before_tests(clauses, self.lang)
        i = 0
        while i < len(clauses):
            clause = plain(clauses[i])
            cut = self._next_category(clause)
            if cut:  # "bug发到钉钉群,功能需求记到notion": one clause per category case
                clauses[i: i + 1] = [clauses[i][: len(clauses[i]) - len(clause) + cut], clause[cut:].lstrip(",、 ")]
                clause = plain(clauses[i])
            head = _DEST_HEAD.match(clause)
            if head and i + 1 < len(clauses) and (ent.find_integrations(head.group("dest"))[0] or "#" in head.group("dest")) \
                    and ph.SEND.search(plain(clauses[i + 1])):
                # "To the #finance-alerts channel in Slack: every morning at 9, post a summary …": where the send goes
                clauses[i: i + 2] = [plain(clauses[i + 1]) + " " + head.group("dest")]
                continue
            once = _ONCE_APPROVED.match(clause) if steps and isinstance(steps[-1], WaitStep) and steps[-1].approval else None
            if once and clause[once.end():].strip(" ,") and not any(_ONCE_REJECTED.match(plain(c)) for c in clauses[i + 1:]):
                # "给主编审核，审核通过后自动发布到公众号": the approval gates what follows; no outcome is tested
                clauses[i] = clause = re.sub(r"^(?:自动|直接|马上|立即|立刻|就|再)+", "", clause[once.end():].strip(" ,"))
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
            looked = _LOOK_AT_HEAD.match(clause)
            if looked and conds.comparison(looked.group("tail").split(" get")[0], self.lang):
                # "check the total: orders over $1000 get flagged …": the head only names what the cases compare
                clauses[i] = clause = looked.group("tail")
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
            uptime = bool(_UPTIME.search(clause))  # "检查一下官网能不能打开": a request to the site, not the AI's judgement
            if self.lang == "zh" and not uptime and _A_NOT_A.search(clause):
                # "让AI判断紧不紧急：…" is "判断是不是紧急"
                clause = _A_NOT_A.sub(lambda m: f"{m.group(1)}是不是{m.group(2)}{m.group(3)}", clause)
                clauses[i] = clause
            judge_zh = _WHETHER_ZH.search(clause) if self.lang == "zh" and not uptime and not ph.IF.match(clause) else None
            if judge_zh and judge_zh.group("any") and (judge_zh.group("y").startswith("新")
                                                       or not re.search(r"判断|ai|大模型", clause[: judge_zh.start("any")])):
                judge_zh = None  # "看一下淘宝店有没有新的差评": a look at the data, not the AI's judgement
            if judge_zh:
                # "让AI看看是不是发票：是发票就…；不是的话…": a yes/no judgement; what follows ":" is its first case
                yes = judge_zh.group("y")
                # "让AI判断有没有负面舆情": whether there is any, answered 「有负面舆情」 or 「没有负面舆情」
                yes, no = (f"有{yes}", f"没有{yes}") if judge_zh.group("any") else (yes, f"不是{yes}")
                cls = AiStep(id=self.uid("judge"), task="classify", categories=[yes, no], quote=clause[:200],
                             instruction=f"判断是否为「{yes}」：回答「{yes}」或「{no}」。{clause}")
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
                no = f"not {yes}"
                if judge.group("verb") in ("has", "have"):  # "check in Stripe whether the account has an active subscription"
                    yes, no = f"has {yes}", f"no {yes}"
                steps.extend(self._actions(clause[: judge.start()]) if judge.start() > 0 and ph.FETCH.search(clause[: judge.start()]) else [])
                if judge.group("in"):  # "check in Stripe whether …": read there first, then judge what was read
                    steps.extend(s for s in self._actions(clause) if isinstance(s, SourceStep))
                cls = AiStep(id=self.uid("judge"), task="classify", categories=[yes, no], quote=clause[:200],
                             instruction=f"Decide whether {(judge.group('what') or 'it').strip()} {judge.group('verb')} {judge.group('y')}: "
                                         f"answer '{yes}' or '{no}'. {clause}")
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
                    and not any(isinstance(s, SourceStep) and s.from_ != "knowledge" and s.service != "web_search" for s in steps) \
                    and not re.search(r"\b(?:array|list|batch)\b|一批|数组|列表", self.raw.lower()):
                loop = None  # "Students send questions through the form. Tag each one as …": one per run
            if loop and _PER_PART.search(clause) and loop.group(0).startswith("for "):
                loop = None  # "list the key obligations and deadlines for each party": one answer, part by part
            if loop and self.in_loop and not ph.BATCH.search(clause) and _SAME_ITEMS.search(clause) \
                    and not any(x != self.loop_service for x in ent.find_integrations(clause)[0]):
                loop = None  # "评论一条条过一遍，让AI给每条打分": the items the loop already goes over
            if loop:
                body_end = self._loop_end(clauses, i)
                # "comment on each one asking for …": the loop's item is what the action is on
                named_item = re.sub(r"\b(on|to|in|under|about)\s+(?:each|every)\s+one\b", r"\1 it", clause)
                first = re.sub(r"^\s*(?:(?:one|of them|of these)\b\s*[:,]?|(?:item|row)?\s*[:,])\s*", "", ph.BATCH.sub(" ", ph.LOOP.sub(" ", named_item))).strip(" ,")
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
                    # "逐条让AI判断情感是正面、负面还是中性": what the AI decides, not which items are taken
                    judged = any(task == "classify" and rx.search(first) for task, rx in ph.AI_TASKS)
                    head, cond = (first, None) if judged else conds.relative_condition(first, self.lang)
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
                outer_loop_app, self.loop_app = self.loop_app, self.loop_service or next(
                    (x for x in ent.find_integrations(first)[0] if ent.BY_ID[x].kind != "messaging"), None)
                was_in_loop, self.in_loop = self.in_loop, True
                body = _one_page_fetch(lead + self.assemble([*rest, *clauses[i + 1:body_end]]))
                self.in_loop = was_in_loop
                self.loop_service, self.loop_app = outer_loop_service, outer_loop_app
                # "every row of the sheet": the sheet is what the loop goes over (fetched once,
                # before it); "look each one up on Clearbit": a per-item source stays inside.
                loop_text = " ".join(plain(c) for c in clauses[i:body_end])
                pre = [s for s in body if isinstance(s, (SourceStep, ParallelStep)) and _iterable_source(clause, s, loop_text)]
                inner = [s for s in body if s not in pre]
                steps.extend(pre)
                if inner:
                    # sources read side by side: the first one named is what the loop goes over
                    fetched = [s if isinstance(s, SourceStep) else s.branches[0][0] for s in (*steps, *pre) if isinstance(s, SourceStep) or (
                        isinstance(s, ParallelStep) and s.branches and all(len(b) == 1 and isinstance(b[0], SourceStep) for b in s.branches))]
                    handed = fetched[-1] if fetched and fetched[-1].from_ == "url" and fetched[-1].url == "{{ inputs.url }}" else None
                    if handed is not None and handed in steps and not any(isinstance(s, SourceStep) and s.from_ == "url" for s in inner) \
                            and _PAGES.search(loop_text):
                        # "go through the list of URLs I paste in, scrape each page": each page is fetched in the loop
                        steps.remove(handed)
                        inner, fetched = [handed, *inner], fetched[:-1]
                    over = fetched[-1].id if fetched else "inputs"
                    picked = steps[-1] if steps and isinstance(steps[-1], TransformStep) and steps[-1].mode == "filter" else None
                    over = picked.id if picked is not None and fetched else over  # "find the ones still unpaid, email each": those
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
                clauses[i].startswith(CONTINUES) and i > 0 and ph.PARALLEL.search(plain(clauses[i - 1]))) or (
                clauses[i].startswith(CONTINUES) and ph.BOTH_AT_ONCE.search(clause))  # "…, both at the same time"
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
            said = _TOGETHER_WITH.sub(" ", plain(clauses[k]))  # "咨询的连同AI建议的回复一起存到…": one item with its reply
            if ph.AGGREGATE.search(said) and not ph.IF.search(said):
                return k
        return len(clauses)

    def _actions(self, clause: str, *, default_service: str | None = None) -> list[Step]:
        acts: Actions = parse_actions(clause, self, default_service=default_service)
        earlier_ai = self.last_ai
        if acts.ai is not None:
            self.last_ai = acts.ai
            if acts.ai.task == "classify":
                self.last_cls = acts.ai
        if acts.sources:
            self.last_source = acts.sources[-1]
        if acts.wait is not None and acts.wait.duration_s and acts.ai is None and not self.in_loop \
                and self.last_ai is not None and self.last_ai.task == "classify":
            # "再过48小时还没认证的话…": a judgement made before the wait is stale after it, and a test
            # that follows judges again; a score or extracted value is still what it was
            self.last_ai = self.last_cls = None
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
        label = next(g for g in ones.groups() if g) if ones is not None and cls is not None else None
        if label is None and acts.deliveries and default_service is None:
            # "情感分析后把负面的推送到钉钉群", "run sentiment analysis and send the negative ones to
            # Slack": one category of a classification (made in this clause or before) is delivered
            made = acts.ai if acts.ai is not None and acts.ai.task == "classify" else earlier_ai
            cls, label = _chosen_category(clause, made)
        if label and cls is not None and acts.deliveries and default_service is None:
            # "send the negative ones to Slack": only that category is delivered
            rest = [s for s in steps if s not in acts.deliveries]
            branch = BranchStep(id=self.uid("only_" + label), quote=clause[:200], on=cls.id, field="category",
                                cases=[Case(label=label, steps=list(acts.deliveries))])
            return [*rest, branch]
        return steps


# "把负面的推送到…", "负面的发到…": a category of the classification just made, picked out by name
_CATEGORY_PICKED = compile_filtered(r"(?:只|仅|只有|仅仅)?(?:把|将)?(?P<label>[\u4e00-\u9fff]{1,4})的(?:笔记|评论|评价|内容|消息|邮件|帖子|工单|反馈|那些|部分)?(?=.{0,3}?(?:推送|发送|发到|发给|转发|通知|同步|写入|提醒|发))")


# "add only the suggestions as cards", "turn only the bugs into issues", "a Slack DM for every urgent one"
_CATEGORY_NAMED_EN = compile_filtered(r"\b(?:only|just)\s+(?:the\s+)?(?P<label>[a-z][a-z-]{2,20})\b"
                                      r"|\b(?P<alt>[a-z][a-z-]{2,20})\s+ones?\b")


def _chosen_category(clause: str, cls: AiStep | None) -> tuple[AiStep | None, str | None]:
    """(the classification, the one of its categories the clause delivers alone), else (None, None).
    "后把负面的推送": a category is picked when what precedes 的 ends with its name."""
    if cls is None or cls.task != "classify" or not cls.categories:
        return None, None
    found = ph.ONES.search(clause)
    named = [next(g for g in found.groups() if g)] if found is not None else []
    named += [m.group("label") for m in _CATEGORY_PICKED.finditer(clause)]
    named += [m.group("label") or m.group("alt") for m in _CATEGORY_NAMED_EN.finditer(clause)]
    for label in named:
        singular = re.sub(r"(?<=[a-z]{3})e?s$", "", label)  # "only the suggestions", "only the bugs"
        picked = next((c for c in cls.categories if label == c or singular == c.lower() or re.sub(r"(?<=[a-z]{3})e?s$", "", c.lower()) == singular
                       or (not label.isascii() and label.endswith(c))), None)
        if picked is not None:
            return cls, picked
    return None, None


_WHETHER = compile_filtered(r"\b(?:decide|check|determine|judge|tell(?: me)?|work out|figure out|assess|see)\s+(?P<in>(?:in|on|with)\s+[\w.]+\s+)?(?:if|whether)\s+(?P<what>(?:each |the |it |this |that |every |any of )?[\w-]*?)\s*"
                      r"(?P<verb>is|are|was|looks|sounds|seems|'s|has|have)\s+(?:an?\s+|really\s+)?(?![\w -]*\bor\s+(?!not\b))(?P<y>[a-z][\w -]{1,30}?)(?:\s+or not)?\s*$")
_WHETHER_ZH = compile_filtered(r"^(?:先)?(?:让|用)?\s*(?:ai|大模型)?\s*(?:先)?\s*(?:判断|看看|看一下|检查|识别)(?:一下)?(?:它|这封邮件|这条|这个|[\u4e00-\u9fff]{1,6}?)?(?:是不是|是否(?:是|为|属于)?|(?P<any>有没有|是否有))"
                         r"(?P<y>[\u4e00-\u9fffa-z]{1,8}?)(?=$|[:：,，])")
_A_NOT_A = compile_filtered(r"((?:判断|看看|看一下|检查|识别)(?:一下)?(?:[\u4e00-\u9fff]{1,6}?)?)([\u4e00-\u9fff])不\2([\u4e00-\u9fff]{0,2}?)(?=$|[:：,，])")
