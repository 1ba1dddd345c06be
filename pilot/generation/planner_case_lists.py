"""Clauses that list several things at once (offline planner, pure): a switch written as
label-led items ("P0 发企业微信，P1 建 Jira 工单，其他的发邮件"), deliveries "respectively" per
category of the last classification, AI tasks side by side ("do three things in parallel: …");
and how a new case list joins the switch or the classification just before it. The methods are a
mixin of the planner's state (:class:`pilot.generation.planner_state._State`)."""

from __future__ import annotations

import re

import msgspec

from pilot.generation import conditions as conds
from pilot.generation import entities as ent
from pilot.generation import phrases as ph
from pilot.generation import switches
from pilot.generation.clauses import CONTINUES, plain
from pilot.generation.action_deliveries import HANDOFF
from pilot.generation.plan import AiStep, BranchStep, Case, Comparison, DeliverStep, ParallelStep, Step
from pilot.generation.plan_actions import parse_actions
from pilot.generation.planner_branches import _classify_instruction
from pilot.generation.prefilter import compile_filtered


class CaseListReader:
    """The planner state's readers of listed cases and tasks (a mixin of ``_State``)."""

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
        said = " ".join(parts)
        named = _LISTED_TARGETS.search(said)
        names = [re.sub(r"^(?:分别)?(?:转发|发送|推送|发|转|同步)(?:到|给|至)|的$", "", n) for n in re.split(r"[、,和及]", named.group("list")) if n] if named else []
        targets: list[str] = []
        if named and len(deliveries) == 1 and len(names) == len(cls.categories) > 1:
            # "咨询、投诉、合作…，分别转发到客服、经理、商务的邮箱": the i-th category to the i-th of them
            targets = [f"{n}{named.group('what')}" for n in names]
        elif len(deliveries) == 1 and len(cls.categories) > 1 and _EACH_ITS_OWN.search(said):
            # "分别转发给对应面试官的邮箱", "forward each to the corresponding owner": one delivery per category, to its own
            targets = [f"{c}: {deliveries[0].target or ''}".strip(": ") for c in cls.categories]
        if targets:
            one = deliveries[0]
            deliveries = [msgspec.structs.replace(one, id=self.uid(one.id), target=t) for t in targets]
        if len(deliveries) != len(cls.categories):
            return None
        otherwise = None
        if j < len(clauses) and ph.ELSE.search(plain(clauses[j])):
            otherwise = self._actions(ph.ELSE.sub("", plain(clauses[j])).strip(" ,"))
            j += 1
        return j, BranchStep(id=self.uid("route"), quote=" ".join(parts)[:300], on=cls.id, field="category",
                             cases=[Case(label=c, steps=[d]) for c, d in zip(cls.categories, deliveries)], otherwise=otherwise)

    def _paired_tasks(self, items: list[str], clause: str, j: int) -> tuple[int, ParallelStep] | None:
        """"in parallel: generate a tweet and post it to X, generate a LinkedIn post and publish it
        on LinkedIn": each piece of writing with the send of "it" after it is one branch."""
        branches: list[list[Step]] = []
        for item in items:
            acts = parse_actions(item, self)
            if acts.sources or (acts.ai is None and not acts.deliveries):
                return None
            if acts.ai is not None:
                branches.append([acts.ai, *acts.deliveries])
            elif branches and _SENDS_IT.match(item) and not any(isinstance(s, DeliverStep) for s in branches[-1]):
                branches[-1].extend(acts.deliveries)  # "… and post it to X": where that piece goes
            else:
                branches.append(list(acts.deliveries))
        if len(branches) < 2:
            return None
        self.last_ai = None
        return j, ParallelStep(id=self.uid("in_parallel"), quote=clause[:200], branches=branches)

    def _parallel_tasks(self, clauses: list[str], i: int) -> tuple[int, ParallelStep] | None:
        """"do three things in parallel: pull out the key dates, flag risky clauses and summarize
        it", "同时做三件事：翻译摘要、提炼方法、分析局限性": AI tasks side by side (their merge is
        whatever comes next)."""
        clause = plain(clauses[i])
        head = _PARALLEL_TASKS.search(clause)
        if head is None:
            return self._parallel_pieces(clauses, i)
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
                return self._paired_tasks(items, clause, j)  # "generate a tweet and post it to X, …": each its own
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
        if found is not None and conds.QUOTED_EQ.search(plain(clauses[i])):
            return None  # "如果“是否需要发票”选的是“是”": a field compared with a value, the if/else reader's job
        if found is None or any(_COMPARED.match(label) or (re.search(r"\d", label) and conds.comparison(label, self.lang))
                                for label, _ in found.cases):
            return None  # "低于60分的，…；60分及以上的，…": comparisons, the if/else reader's job
        cases: list[tuple[str, list[Step]]] = []
        latest = cls is not None and cls is self.last_ai  # before a case's own AI step ("create a Jira ticket in TRIAGE") follows it
        for k, (label, action) in enumerate(found.cases):
            acts = self._actions(action, default_service=action) if action else []
            for more in found.extra.get(k, []):
                more_acts = self._actions(more)
                if any(isinstance(d, DeliverStep) and d.service in ent.BY_ID for d in more_acts):
                    # "退款的转给财务，在企业微信里发给他们": the second half says how the first is sent
                    handed = HANDOFF.match(action) is not None  # "转给财务" was only who: the rest says how
                    acts = [s for s in acts if not (isinstance(s, DeliverStep) and (handed or s.service not in ent.BY_ID))]
                acts += more_acts
            cases.append((label, self._on_same_channel(acts, action, [s for _, a in cases for s in a])))
        rest = found.otherwise
        otherwise = None if rest is None else [] if not rest or ph.IGNORE.search(rest) else self._actions(rest, default_service=rest)
        if found.else_as is not None:  # "For pricing and other, answer …": the same steps, again on the else side
            otherwise = [msgspec.structs.replace(s, id=self.uid(s.id)) for s in cases[found.else_as][1]]
        if len(cases) == 2 and otherwise is None and conds.antonyms(cases[0][0], cases[1][0]):
            cases, otherwise = cases[:1], cases[1][1]  # "Urgent ones → …. Not urgent → …": the second is the else side
        quote = " ".join(plain(c) for c in clauses[i:found.end])[:300]
        if not latest:  # "Approved → post it on LinkedIn. Rejected → save the draft": the person's decision
            decided = self._approval_branch([(label, None, acts, quote) for label, acts in cases], otherwise)
            if decided is not None:
                return found.end, [decided]
        out: list[Step] = []
        if cls is not None and (cls.categories or latest):
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


    def _parallel_pieces(self, clauses: list[str], i: int) -> tuple[int, ParallelStep] | None:
        """"in parallel, produce a blog post draft, 5 tweet ideas, and show notes", "同时改写成小红书笔记、
        微博文案和抖音短视频脚本三个版本": one piece of writing per item, side by side."""
        clause, j = plain(clauses[i]), i + 1
        while j < len(clauses) and clauses[j].startswith(CONTINUES):
            clause, j = clause + ", " + plain(clauses[j]), j + 1
        said = _PARALLEL_PIECES.search(clause)
        if said is None or (ph.FETCH.search(clause[: said.start()]) and ent.find_integrations(clause[: said.start()])[0]):
            return None  # (what is read first, from a service, is the clause parser's)
        listed = re.sub(r"\s*(?:[两三四五]个版本|[两三四五]种版本|(?:in|as) (?:two|three|four|2|3|4) versions)\s*$", "", (said.group("list") or said.group("list2")).strip(" .。"))
        items = [x.strip() for x in re.split(r",\s*(?:and\s+)?|\s+and\s+|[、，]|和|以及|及", listed) if x.strip()]
        if len(items) < 2 or len(items) > 5 or any(len(x) > 40 for x in items):
            return None
        verb = said.group("verb") or said.group("verb2")
        ais = [AiStep(id=self.uid("generate"), task="generate", instruction=f"{verb}{'' if self.lang == 'zh' else ' '}{item}"[:500],
                      quote=item[:200]) for item in items]
        self.last_ai = ais[-1]
        return j, ParallelStep(id=self.uid("in_parallel"), quote=clause[:200], branches=[[a] for a in ais])


# "in parallel, produce …", "produce … in parallel", "同时改写成…": the pieces of writing are what is listed
_PARALLEL_PIECES = compile_filtered(
    r"\b(?:in parallel|at the same time|simultaneously|all at once),?\s+(?P<verb>produce|write|generate|draft)\s+(?P<list>.+)$"
    r"|(?:同时|并行)(?:把它|将它)?(?P<verb2>改写成|改写为|写成|生成|产出|做成|改成)(?P<list2>.+)$")


_TASK_COUNT = {"two": 2, "2": 2, "两": 2, "二": 2, "three": 3, "3": 3, "三": 3, "four": 4, "4": 4, "四": 4}
_PARALLEL_TASKS = compile_filtered(r"\b(?:(?:two|three|four|2|3|4|several|a few) (?:things|tasks) )?(?:in parallel|at the same time|at once|side by side|simultaneously)\s*:\s*"
                             r"|(?:同时|并行)(?:做|进行|处理)?(?:[两三四几]件事|[两三四几]个任务)?\s*[:：]\s*"
                             r"|(?:[两三四几]件事|[两三四几]个任务)(?:要)?(?:同时|并行)(?:做|进行|处理|执行)?\s*(?:[:：]\s*|$)")  # "下面三件事并行做："
_SENDS_IT = compile_filtered(r"^(?:then\s+|and\s+)?[a-z]+\s+(?:it|them|that|this)\b|^(?:再|然后|并)?(?:把它|发到|发布到|存到|推送到)")
_COMPARED = compile_filtered(r"value (?:lt|le|gt|ge|eq|ne) ")


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
_EACH_ITS_OWN = compile_filtered(r"对应|相应|各自|\bcorresponding\b|\brespective\b|\btheir own\b")
_LISTED_TARGETS = compile_filtered(r"(?<![\u4e00-\u9fffa-z0-9、,])(?P<list>[\u4e00-\u9fffa-z0-9]{1,8}(?:[、,][\u4e00-\u9fffa-z0-9]{1,8}){1,6})(?:各自)?的?(?P<what>邮箱|群|钉钉群|飞书群|企业微信群|频道|手机)")
