"""The if / otherwise reader of the offline planner (pure): ``_branch`` reads consecutive
condition clauses, each with its action, and the else side into one BranchStep — on compared
values, a payload field, a classification (made here when none came before) or an approval's
decision — with threshold bands, value labels and else sides that send the way the other side
does. The methods are a mixin of the planner's state
(:class:`pilot.generation.planner_state._State`)."""

from __future__ import annotations

import re

import msgspec

from pilot.generation import conditions as conds
from pilot.generation import entities as ent
from pilot.generation import phrases as ph
from pilot.generation.action_services import event_app
from pilot.generation.clauses import CONTINUES, plain
from pilot.generation.plan import (
    AiStep,
    BranchStep,
    Case,
    Comparison,
    DeliverStep,
    LoopStep,
    ParallelStep,
    SourceStep,
    Step,
    WaitStep,
)
from pilot.generation.planner_conditionals import _APPROVED, _REJECTED
from pilot.generation.planner_passes import _flat
from pilot.generation.prefilter import compile_filtered
from pilot.generation.text import ascii_re


class BranchReader:
    """The planner state's if / otherwise reader (a mixin of ``_State``)."""

    def _on_same_channel(self, acts: list[Step], action: str, earlier: list[Step]) -> list[Step]:
        """"北京的发到北京销售的企业微信群，上海的发上海群": a case that sends to a group without
        naming the messenger sends on the one the earlier cases use."""
        unknown = [d for d in acts if isinstance(d, DeliverStep) and d.service not in ent.BY_ID]
        to_person = not any(isinstance(d, DeliverStep) for d in acts) and re.match(r"(?:发给|转给|交给|派给|丢给|推给|分给)", action.strip())
        if to_person and earlier:  # "浦东的企业微信发给张伟，徐汇的发给李娜": the same messenger, another person
            return acts + self._same_channel(earlier, action)
        if earlier and not any(isinstance(d, DeliverStep) for d in acts):
            acts = acts + self._same_place(earlier, action)
        if not unknown or not earlier or not re.search(r"群|频道|#|\bchannel\b", action):
            return acts
        same = self._same_channel(earlier, action)
        return [s for s in acts if s not in unknown] + same if same else acts

    def _both_held(self, cond: str, cmp: tuple | None, acts: list[Step], clause: str) -> tuple[tuple | None, list[Step]]:
        """"worth more than $20k AND the company has over 200 employees": the first comparison is the
        case's, and the second a check inside it, so the steps run only when both hold."""
        parts = _BOTH.split(cond)
        if len(parts) != 2:
            return cmp, acts
        first, second = (conds.comparison(p.strip(" ,"), self.lang) for p in parts)
        if first is None or second is None:
            return cmp, acts
        subject = self._subject_for(self.last_ai)  # what the outer comparison tests too (see _branch)
        self.and_also[clause] = (msgspec.structs.replace(second[0], subject=subject, field=self._field_path(subject, second[0].field)),
                                 second[1])
        return first, acts

    def _second_test(self, steps: list[Step], quote: str) -> list[Step]:
        """A case's steps inside the check of its second comparison (see :meth:`_both_held`)."""
        also = self.and_also.pop(quote, None)
        if also is None:
            return steps
        when, label = also
        return [BranchStep(id=self.uid("check"), quote=quote[:200], on=when.subject, field=when.field,
                           cases=[Case(label=label, when=when, steps=steps)], otherwise=[])]  # else: nothing more

    def _same_place(self, earlier: list[Step], action: str) -> list[Step]:
        """"if 'Workshop' add them to the Workshop audience in Mailchimp, if 'Conference' add them to the
        Conference audience": a case writing to another place without naming the service writes to the
        one the earlier case wrote to."""
        # ("$200 or less gets logged right away" after "… logged in our Airtable base": no place at all)
        if not ph.asks_to_write(action) or not (_SAME_KIND_OF_PLACE.search(action) or _WRITTEN_PASSIVELY.search(action)):
            return []
        prev = next((s.service for s in _flat(earlier) if isinstance(s, DeliverStep) and s.service in ent.BY_ID), None)
        if prev is None:
            return []
        svc = ent.BY_ID[prev]
        return [s for s in self._actions(action, default_service=(svc.en or svc.zh)[0]) if isinstance(s, DeliverStep)]

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
                while body and j < len(clauses) and clauses[j].startswith(CONTINUES) and (
                        _MORE_OF_CASE.match(plain(clauses[j])) or (self.lang == "en" and _ELSE_NEXT_ACTION.match(plain(clauses[j])))):
                    # "没满就写进多维表格，再发一条报名成功的短信", "otherwise open a GitHub issue and notify #eng in
                    # Slack": the else side's own next action (a "then …" or "in both cases …" comes after the join)
                    otherwise += self._actions(plain(clauses[j]))
                    j += 1
                if body and cases and not any(isinstance(s, DeliverStep) for s in otherwise) and ph.SEND.search(body) \
                        and (re.search(r"群|频道|#|\b(?:channel|group|team chat)\b", body) or _TO_ME.search(body)):
                    otherwise += self._same_channel(cases[-1][2], body)
                break
            once = _ONCE_APPROVED.match(clause) if cases and cases[-1][2] and isinstance(cases[-1][2][-1], WaitStep) \
                and cases[-1][2][-1].approval else None
            if once:
                # "more than $50 needs a finance lead's approval; once approved, issue the refund and email the
                # customer": what the approval lets through is that case's, with what goes on in its sentence
                body = [clause[once.end():].strip(" ,")]
                j += 1
                while j < len(clauses) and clauses[j].startswith(CONTINUES) and not _ONCE_REJECTED.match(plain(clauses[j])):
                    body.append(plain(clauses[j]))
                    j += 1
                passed = [s for b in body if b for s in self._actions(b)]
                rejected = _ONCE_REJECTED.match(plain(clauses[j])) if j < len(clauses) else None
                if rejected:  # "…批准后同步到飞书日历；驳回的话在飞书上给员工发消息": both outcomes, a branch on the decision
                    said = plain(clauses[j])[rejected.end():].strip(" ,")
                    j += 1
                    if not said and j < len(clauses) and clauses[j].startswith(CONTINUES):
                        said, j = plain(clauses[j]), j + 1  # "if rejected, &email the employee the reason": its own clause
                    refused = self._actions(said)
                    decided = self._approval_branch([("approved", None, passed, clause)], refused)
                    passed = [decided] if decided is not None else passed
                cases[-1] = (*cases[-1][:2], [*cases[-1][2], *passed], cases[-1][3])
                continue
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
            if continues and cases and cases[-1][2] and (re.match(r"(?:同时|并且|并|还要|顺便|附上|附带|带上|抄送|also\b|and also\b|as well\b|attach|include)", clause)
                                                         or _SAME_SENTENCE_ACTION.match(clause)):
                # "负面的在钉钉群里告警，同时抄送主管": a second action of the same case
                more, done = self._actions(clause), cases[-1][2]
                if ph.BOTH_AT_ONCE.search(clause) and more and all(isinstance(x, DeliverStep) for x in [*done, *more]):
                    # "notify #vip-orders on Slack and add them to the VIP list in Klaviyo, both at the same time"
                    more, done = [ParallelStep(id=self.uid("at_once"), quote=clause[:200], branches=[[x] for x in [*done, *more]])], []
                cases[-1] = (*cases[-1][:2], [*done, *more], cases[-1][3])
                j += 1
                continue
            goes = self._goes_case(clause) if not self._conditional(clause) else None
            if goes is None and cases and cases[-1][1] is None:
                goes = conds.elliptical_case(clause)  # "…, ideas to Productboard, praise to #wins"
            if goes is not None:
                label, action = goes
                labelled = conds.comparison(label, self.lang)
                if labelled is not None:  # "2 stars or less → raise a Linear issue": a comparison, not a category
                    acts = self._actions(action, default_service=action)
                    if not any(isinstance(s, DeliverStep) for s in acts):
                        acts += self._same_place([st for c in cases for st in c[2]], clause)  # "$200 or less gets logged right away"
                    cases.append((labelled[1], labelled[0], acts, clause))
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
                action = conds.their_items(cond, action, self.lang)  # "Refunds of $50 or less: just issue them …"
                if cmp is None and ph.ANY_NEW.search(cond):
                    # "看一下淘宝店有没有新的差评，有的话就…": read them, then go on when there are any
                    read = [s for s in self._actions(ph.ANY_NEW.sub(" ", cond)) if isinstance(s, SourceStep)]
                    if read:
                        pre.extend(read)
                        cmp = (Comparison(subject=read[-1].id, field="", op="truthy"), "any")
                acts = self._actions(action) if action else []
                if action and not any(isinstance(s, DeliverStep) for s in acts) and ph.SEND.search(action):
                    acts += self._same_channel(before, action)  # "先给他发条欢迎短信…如果还没下单，就给他发一张优惠券": by SMS too
                if action and cases and not any(isinstance(s, DeliverStep) for s in acts):
                    acts += self._same_place([st for c in cases for st in c[2]], action)
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
                cmp, acts = self._both_held(cond, cmp, acts, clause)
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
                                                         and not _A_SYSTEM.search(s.service or "")
                                                         and not (s.target or "").startswith(("http://", "https://")))]  # "写入考勤系统", "POST https://…" stay
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
        if len(cases) == 2 and otherwise is None and cases[0][1] is not None and cases[1][1] is None and not cases[1][2] \
                and (ph.NEGATED.search(cases[1][3]) or ph.IGNORE.search(cases[1][3])):
            otherwise, cases = [], cases[:1]  # "低于500元就…；余额够的话什么都不用发": the other side of the threshold does nothing
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
                            cases=[Case(label=c[0], when=cmp, steps=self._second_test(c[2], c[3])) for c, cmp in zip(cases, comparisons)],
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
        action = conds.their_items(cond, action, self.lang)
        return cmp[1], cmp[0], self._actions(action) if action else _LEFT_ALONE, clause

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


# "If it's over $500, post it in #vip-orders and tag the customer as VIP": a second write in the case's sentence
_SAME_SENTENCE_ACTION = compile_filtered(r"(?:tag|label|flag|mark|move|set|add|create|update|close|assign|archive|cancel|refund|log|save|append)\b")
_SAME_KIND_OF_PLACE = compile_filtered(r"\b(?:audience|list|board|table|sheet|database|segment|folder|project|channel|group|queue|pipeline)\b"
                                      r"|列表|名单|看板|项目|分组|频道|表里|表中")
_BOTH = compile_filtered(r"\s+(?:and|&&)\s+(?=(?:the|its|it'?s|it is|their|they|there|[a-z]+\s+(?:is|are|has|have)\b))|(?:并且|而且|且|同时)(?=[^,，]{2,})")
_ONCE_APPROVED = compile_filtered(r"^(?:(?:once|after|when|if)\s+(?:it'?s\s+|it is\s+|they'?re\s+|that'?s\s+)?(?:approved|signed off)|after (?:the )?approval"
                                  r"|(?:审批|审核)?(?:通过|批准|同意)(?:了)?(?:之后|以后|后|就|再)|批了(?:之后|以后)?)\s*[,:]?\s*")
_ONCE_REJECTED = compile_filtered(r"^(?:(?:if|when)\s+(?:it'?s\s+|it is\s+)?(?:rejected|declined|denied)|(?:被)?(?:驳回|拒绝|没批准?|不批准?|不同意|不通过|未通过|没通过)(?:了)?(?:的话|之后|以后|后)?(?:就|则)?)\s*[,:]?\s*")
_WRITTEN_PASSIVELY = compile_filtered(r"\b(?:gets?|is|are)\s+(?:logged|recorded|saved|stored|added|filed|entered|written)\b")
_ELSE_NEXT_ACTION = ascii_re(r"(?!(?:then|after that|afterwards|finally|either way|in (?:both|all|any) cases?|regardless|always|in any case)\b)"
                                 r"(?:notify|ping|alert|tell|email|e-mail|text|message|post|send|add|create|open|log|save|update|tag|label|assign|dm|remind|call)\b")
_MORE_OF_CASE = compile_filtered(r"(?:再|并且?|同时|顺便|还要|也|and also\b|also\b)")
_NOT_FOUND = compile_filtered(r"\b(?:isn'?t|is not|not) (?:in (?:there|the|our|them|it)|covered|found)\b|\bcan'?t (?:find|answer)|\bdoesn'?t (?:know|cover)|"
                        r"\bno answer\b|没有的|没有答案|找不到|答不上|答不出|不知道|没写")
_NOT_VALUE = compile_filtered(r"^(?:不是|不为|不等于|非|not |isn't |is not |anything but )\s*(?P<v>.+?)\s*(?:的话|的)?$")

_OTHER_SIDE_AFTER = compile_filtered(r",\s*(?=(?:不|没|未)(?!有(?:的话|就))[\u4e00-\u9fff]{1,4}(?:的话)?就)")
_TO_ME = compile_filtered(r"给我发|发给我|发我|告诉我|提醒我|发[\u4e00-\u9fff]{1,3}给我|\b(?:send|message|text|tell|remind|ping) me\b")
_OUTCOME_FIRST = compile_filtered(r"(?:审批)?(?:通过|批准|同意|被驳回|驳回|拒绝|过了|批了)(?:了|的话|之后|以后)?(?:就|则|后|再)|(?:if |once |when )?(?:approved|rejected|declined)\b")
_A_SYSTEM = compile_filtered(r"系统|平台|后台|数据库|台账|\bsystem\b|\bplatform\b|\bdatabase\b")
_LEFT_ALONE: list[Step] = []  # a threshold case whose values need nothing ("不用管"); compared by identity
_OTHER_SIDE = compile_filtered(r"(?:the\s+)?(?:smaller|lower|less|cheaper|fewer|larger|bigger|higher|more|shorter|longer)(?:\s+(?:ones?|claims?|orders?|amounts?|scores?|values?|deals?|invoices?))?"
                         # "Below that, just email the customer": the other side of the threshold just named
                         r"|(?:anything\s+|everything\s+)?(?:below|under|less than|lower than|above|over|more than)\s+(?:that|this|it)(?:\s*,?\s*(?:just|only))?"
                         r"|(?:anything|everything|all)\s+(?:lower|less|smaller|cheaper|higher|bigger|larger)(?:\s+than\s+that)?(?:\s*,?\s*(?:just|only))?"
                         r"|(?:更小|更低|更少|更便宜|更大|更高|更多)的?"
                         # "If it's fine, just post the balance", "Everybody else just gets added …": the side the threshold leaves
                         r"|(?:(?:if\s+)?(?:it'?s|it is|they'?re|they are|everything'?s|everything is|all is)\s+)?(?:fine|ok|okay|normal|healthy|good|all good)"
                         r"|(?:everybody|everyone|anybody|anyone|anything|everything)\s+else(?:\s+(?:just|only))?")
_REPLY_VIA = compile_filtered(r"^(?:再|然后|并)?(?:调用?|通过|用).{0,8}?(?:接口|api).{0,4}?(?:回复|发|推|写|提交)")


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


def _classify_instruction(clause: str, labels: list[str], lang: str) -> str:
    return (f"判断类别（{'、'.join(labels)}，或其他）：{clause}" if lang == "zh"
            else f"Decide which category applies ({', '.join(labels)}, or other): {clause}")
