"""Which clauses open a condition or a case (offline planner, pure): "if …" and its Chinese
forms, a comparison followed by its action ("库存少于10的就发提醒"), a category the last
classification named ("投诉的转到…"), "label goes to X", a grade or an approval's outcome
("审批通过：…"); and conditions said after their action, rewritten condition-first. The methods
are a mixin of the planner's state (:class:`pilot.generation.planner_state._State`)."""

from __future__ import annotations

import re

from pilot.generation import conditions as conds
from pilot.generation.action_transform_subflow import ZH_PICK
from pilot.generation import entities as ent
from pilot.generation import phrases as ph
from pilot.generation import switches
from pilot.generation.clauses import CONTINUES, plain
from pilot.generation.plan import AiStep
from pilot.generation.planner_loops import _READ_FILTER
from pilot.generation.prefilter import compile_filtered


_COMMA = re.compile(r"[,、]")
_SPACES = re.compile(r"\s*")
_ZH_BARE_THRESHOLD = compile_filtered(r"^&?(?:如果|若)?(?:超过|高于|低于|大于|小于|不足|不到|少于|多于)\s*\d+(?:\.\d+)?\s*(?:%|万|元|分|个|条|件|天|度|mb|gb|ms|秒)?\s*"
                                      r"(?:的话)?(?:就|则)?(?:发|通知|提醒|推送|告警|报警|写|记|存|给|在|用|打电话|电话)")
_PLURAL_END = re.compile(r"(?:s|es)?(?![a-z])")
_ITEMS_NOUN = re.compile(r"\s+(?:ones|items|tickets|reviews|mentions|messages|emails|leads|comments|posts|orders|results|cases)\b")
_ACTION_VERB_FIRST = re.compile(r"(?:" + ph.ACTION_VERBS + r")\b")


def listed_after_comma(text: str, name: str) -> list[int]:
    r"""The starts of ``re.finditer(r"[,、]\s*" + re.escape(name), text)``'s matches (each at its
    comma), found without compiling a pattern per name: the categories are the request's own
    words, so each new one cost a compile."""
    starts: list[int] = []
    comma = _COMMA.search(text)
    while comma is not None:
        at = comma.start()
        run = _SPACES.match(text, at + 1).end()
        # \s* is greedy: the longest run of spaces first, then shorter ones (a name may start with a space)
        after = next((j for j in range(run, at, -1) if text.startswith(name, j)), None)
        if after is None:
            comma = _COMMA.search(text, at + 1)
        else:
            starts.append(at)
            comma = _COMMA.search(text, after + len(name))  # matches do not overlap
    return starts


def _category_end(clause: str, cat: str) -> int | None:
    """Where ``re.match(re.escape(cat) + r"(?:s|es)?(?![a-z])", clause)`` (the suffix for ASCII
    categories only) ends, or None when it does not match."""
    if not cat or not clause.startswith(cat):
        return None
    if not cat.isascii():
        return len(cat)
    tail = _PLURAL_END.match(clause, len(cat))
    return tail.end() if tail else None


class ConditionalReader:
    """The planner state's condition and case recognisers (a mixin of ``_State``, whose
    attributes they read)."""

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
        hits = [at for c in cats if c and c in clause for at in listed_after_comma(clause, c) if at > 0]
        return min(hits) if hits else 0

    def _conditional(self, clause: str) -> bool:
        """"if …", "items with quantity above 10 get flagged …", or in Chinese a comparison
        followed by its action ("库存少于10的就发提醒")."""
        if ph.IF.search(clause) or ph.CMP_LEAD.search(clause):
            return True
        if _RANGE_LABEL.fullmatch(clause.strip()):
            return True  # "Promoters (9-10): …", "Detractors (0-6): …": a case named by its range
        colon = ph.COLON_CASE.match(clause) if self.lang == "en" else None
        if colon and ph.OR_MORE.search(colon.group("label")):
            return True  # "Scores of 7 or above: move them to the 'Interview' stage": a case named by its threshold
        if self.lang == "en" and re.search(r"\b(?:with|whose|where|having)\b", clause) and conds.comparison(clause, "en") is not None:
            cmp = ph.CMP_EN.search(clause)
            return bool(cmp and ph.DELIVER.search(clause[cmp.end():]))
        if self.lang == "en" and (m := _NOUN_THRESHOLD.match(clause)) and (
                ph.APPROVAL.search(clause[m.end():]) or ph.DELIVER.search(clause[m.end():]) or ph.SEND.search(clause[m.end():])):
            return True  # "claims over $1,000 first need a finance manager's approval", "orders above $200 get a thank-you email"
        if self.lang != "zh":
            return False
        if conds.ZH_BAND_LEAD.match(clause.strip()):
            return True  # "50到80分之间的加到Mailchimp的培育名单": a band, then what its items get
        if _READ_FILTER.search(clause) or ZH_PICK.search(clause):
            return False  # "读出所有状态是“待跟进”的客户", "把逾期超过30天的客户挑出来": which rows, not a branch
        if re.fullmatch(r"[\u4e00-\u9fffa-z0-9]{1,10}?(?:不是|是|为|不为)[\u4e00-\u9fffa-z0-9]{1,8}的", clause.strip()):
            return True  # "买家是会员的，（把订单记到…）": the condition of the clause after it
        value_first = ph.CMP_ZH_VALUE_FIRST.search(clause[:16])
        if value_first and clause[value_first.end(): value_first.end() + 1] == "的":
            return True  # "3天及以内的只在钉钉群里说一声": a comparison, then what its items get
        if _IF_SAID.search(clause) or ph.ZH_SHORT_COND.match(clause) and not ph.FETCH.match(clause):
            return True  # "构建失败的话，…", "构建成功就…"
        when = re.match(r"(?P<cond>[^,，。]{2,20}?)的时候", clause)
        if when and conds.comparison(when.group("cond"), "zh") is not None:
            return True  # "状态为“派送失败”的时候，让AI写…": a comparison, then its action
        if _ZH_BARE_THRESHOLD.match(clause):
            return True  # "超过70%发企业微信通知": a threshold, then straight away its action
        head = ph.ZH_COND_ACTION.split(clause, maxsplit=1)[0]
        if conds.comparison(head, "zh") is None:
            return False
        tail = clause[clause.find("的") + 1:] if "的" in clause else ""
        return bool(ph.ZH_COND_ACTION.search(clause)) or clause.endswith("的") or bool(
            tail and (ph.DELIVER.search(tail) or ph.SEND.search(tail) or ph.APPROVAL.search(tail) or any(rx.search(tail) for _, rx in ph.AI_TASKS)
                     or ph.delivery_op(tail) is not None))  # "不超过2000的直接在金蝶里记账": stored somewhere

    def _category_case(self, clause: str) -> tuple[str, str] | None:
        """A clause that starts with a category the last classification named ("投诉的转到…")."""
        cls = self._classifier()
        cats = cls.categories if cls is not None else []
        if cats and self.lang == "en":  # "for negative ones, alert #social-team": the category, then what it gets
            clause = re.sub(r"^&?(?:for|with)\s+(?:the\s+|all\s+|any\s+)?(?=[a-z])", "", clause)
        for cat in sorted(cats, key=len, reverse=True):
            end = _category_end(clause, cat)
            if end is not None and (noun := _ITEMS_NOUN.match(clause, end)) and not clause[noun.end():].strip(" ,"):
                return cat, ""  # "negative ones," alone: its action is the clause that follows
            rest = clause[end:] if end is not None else ""
            if end is not None and switches.LIST_GOES_ON.match(rest.strip()):
                # "positive and neutral reviews go into the sheet" after "if it's negative, …": every category
                # but the one already taken, the else side; otherwise the list of categories, not a case
                listed = _LISTED_THEN_ACTION.match(clause)
                named = {c for c in cats if listed and re.search(rf"(?<![a-z]){re.escape(c)}(?![a-z])", listed.group("labels"))}
                if listed and len(named) >= 2 and len(cats) - len(named) == 1 and self.lang == "en":
                    return "everything else", listed.group("action")
                return None
            if end is not None:
                return cat, rest.lstrip(" 的:：,→->=")
        return None

    def _goes_case(self, clause: str) -> tuple[str, str] | None:
        """("billing", "the finance queue") for "billing tickets go to the finance queue"."""
        if (case := self._category_case(clause)) is not None:
            return case
        graded = _GRADE_CASE.match(clause) if self.lang == "zh" else None
        if graded:  # "分级：A类客户（年消费10万以上）发飞书消息给大客户经理；B类客户发营销邮件": a grade and what it gets
            return graded.group("label"), graded.group("action").strip(" ,:")
        # "审批通过：写入…", "rejected: email the writer", "approved means create the coupon"
        decision = re.match(r"^(?P<label>[\u4e00-\u9fff\w ]{1,12}?)\s*(?:[:：]|\s+means\s+|=|→|->|=>)\s*(?P<action>.+)$", clause) if self.last_approval else None
        if decision and (_APPROVED.search(decision.group("label")) or _REJECTED.search(decision.group("label"))):
            return decision.group("label").strip(), decision.group("action")  # "审批通过：写入…", "rejected: email the writer"
        outcome = _BARE_OUTCOME.match(clause) if self.last_approval else None
        if outcome:  # "审批通过的，写进…；不通过的，…": the outcome alone, its action in the clauses that follow
            return outcome.group("label"), ""
        if self.lang == "zh":  # "负面的马上发 Slack 提醒…": how soon is not part of the label
            clause = re.sub(r"(?<=[\u4e00-\u9fffa-z0-9])的(?:立刻|马上|立即|直接|一律|统一|只|仅|就)+(?=[\u4e00-\u9fff])", "的", clause)
            by_ai = re.match(r"^&?(?P<label>[\u4e00-\u9fffa-z0-9 ]{1,14}?)的(?=(?:让|用|交给|由)\s*(?:ai|大模型|gpt))", clause)
            if by_ai and (self.in_switch or self.last_cls is not None):  # "标签是question的让AI先写个回复草稿": a case the AI handles
                return conds.strip_label(by_ai.group("label"), self.lang), clause[by_ai.end():]
        coded = _EVENT_CODE_CASE.match(clause) if self.trigger_kind in ("webhook", "app_event") else None
        if coded:  # "on invoice.payment_failed, email …; on charge.refunded, …": the event's type is the case
            self.switch_field = self.switch_field or "type"
            return coded.group("label"), (coded.group("action") or "").strip(" ,")
        intent = _INTENT_CASE.match(clause) if self.lang == "zh" and (
            self.trigger_kind == "chat" or self.last_cls is not None or self.in_switch or self.colon_cases) else None
        if intent:  # a bot's "问物流的，去快递100查…；想预约演示的，建个会议": what the user asks about is the case
            return intent.group("label"), intent.group("action").strip(" ,")
        colon = ph.COLON_CASE.match(clause)
        if colon and colon.group("label").count('"') % 2:
            colon = None  # 'post "new payment: $X from Y"': the colon is inside a quoted text, not after a label
        if colon and (self.colon_cases or conds.comparison(colon.group("label"), self.lang)) and len(colon.group("label").split()) <= 4 \
                and not ph.IF.search(colon.group("label")):
            return conds.strip_label(colon.group("label"), self.lang), conds.their_items(colon.group("label"), colon.group("action"), self.lang)  # "Urgent: text the on-call engineer"
        m = ph.GOES.search(clause)
        if not m or m.start() == 0:
            return None
        label = clause[: m.start()].strip().lstrip("&").strip()  # "&" marks an action that continues a case
        modal = re.search(r"\s+(?:can|could|will|would|should|must|may|to)$", label)
        if modal and not re.search(r"\b(?:that|which|who)\b", label):
            label = label[: modal.start()]  # "quotes should become a card …": the label is "quotes"
        if _ACTION_VERB_FIRST.match(label) or modal and label.endswith(modal.group(0)) or ph.PARALLEL.search(label) or ph.IF.search(label) or ph.NEGATED.search(clause) or re.fullmatch(r"(?:it|this|that|they|i|we|i'll|don't|then|and|people|users|customers|clients|employees|staff|"
                                                                                                                                                     r"everyone|someone|anyone|members|folks|after that|and then|next|finally|afterwards|lastly|first|second|third|at the end|just|only|instead|simply|also|and also|plus|too|"
                                                                                                                                                     r"(?:i |we )?(?:want|would like|'d like|need|like|wish)(?: to)?|please)", label):
            # "People post requests in #ops-help": who acts; "3) after that post …": when; not a case
            return None
        words = label.split()
        marked = label.endswith("的") or m.group(0).startswith("的")  # "数据分析的发…": a label, even if it names a task
        if len(words) > 4 or len(label) > 24 or ph.FETCH.match(label) or (
                not (self.lang == "zh" and marked) and any(t.search(label) for _, t in ph.AI_TASKS)):
            return None
        cjk = len(re.findall(r"[\u4e00-\u9fff]", label))
        if self.lang == "zh" and (cjk > 7 or len(label) > 20 or label.startswith("分别") or not (marked or self.in_switch and cjk <= 6) or re.search(
                r"[把将让再也又并]|(?<!优)先|同时|马上|立即|然后|每|点|(?<![a-z])ai(?![a-z])|^&?(?:看|查|翻|读|拉|找|搜|获取|等)", label) or re.search(r"分流|分别|根据|按.{1,10}(?:分|处理)", clause)
                or (ent.find_integrations(label)[0] and not self.switch_field)):  # "根据 carrier 字段：顺丰的调…": a value of the field
            return None  # "投诉的转到…" is a case; "把热榜发我钉钉" is just a delivery
        # "年假的在钉钉上通知…": the service is in the match; "小于100元的直接调有赞的退款接口退掉": the call is the action
        if self.lang == "zh" and re.search(r"在.{1,10}?(?:上|里)|给|通过|调用?$", m.group(0)):
            return conds.strip_label(label, self.lang), clause[m.start():].lstrip("的")
        if "mail" in m.group(0):  # "the rest is emailed to support": an email to support
            return conds.strip_label(label, self.lang), "email " + clause[m.end():].strip(" :->=→")
        action = clause[m.end():].strip(" :->=→") if not re.match(r"\s*,?\s*(?:send|post|forward|route|assign|escalate|notify|email|create|add)\b",
                                                                 clause[m.start():]) else clause[m.start():].strip(" ,:")
        return conds.strip_label(label, self.lang), action


# "用户问物流的，…", "想预约演示的,在飞书日历上建一个会议", "咨询退款问题的": the subject a user asks about
_EVENT_CODE_CASE = compile_filtered(r"^&?(?:[^:,]{1,40}:\s*)?(?:on|for|if it's|if it is|when it's)\s+(?:an?\s+|the\s+)?(?P<label>[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)"
                                    r"(?:\s+events?)?\s*(?:$|[,:]\s*(?P<action>.+)$)")
_INTENT_CASE = compile_filtered(r"^&?(?:[^:,]{1,20}:)?(?:如果|要是)?(?:是)?(?:用户|客户|顾客|买家|访客|对方|有人)?(?:是)?(?:来)?(?:问|咨询|询问|打听|想|想要|要)(?!不)"
                                r"(?P<label>[\u4e00-\u9fffa-z0-9]{1,8}?)(?:相关|方面)?(?:问题)?的(?!时)(?:问题|话)?(?:[,:]|(?=[\u4e00-\u9fff])|$)(?P<action>.*)$")
_LISTED_THEN_ACTION = compile_filtered(r"^(?P<labels>[a-z][a-z ,/-]{2,60}?\b(?:and|or)\s+[a-z-]+)(?:\s+(?:ones|reviews|tickets|messages|emails|leads|items|comments|posts|requests))?"
                                      r"\s+(?P<action>(?:go|get|are|should|will|can|move|land|end up)\b.+)$")
# "构建失败的话，…" is a condition; "解读成通俗易懂的话" (plain words) is what is written
_IF_SAID = compile_filtered(r"(?<!懂)(?<!听)(?<!客气)(?<!暖心)(?<!安抚)(?<!鼓励)(?<!祝福)(?<!感谢)(?<!俏皮)(?<!简单)(?<!一句)(?<!几句)(?<!大白)的话(?![题术语])")
_POSTFIX_IF = compile_filtered(r"^(?P<first>only\s+)?(?P<action>.+?)\s+(?P<only>only\s+)?(?:if|whenever|in case)\s+(?P<cond>[^,]+)$")
_GRADE_CASE = compile_filtered(r"^&?(?:[^:,]{0,12}(?:分级|分档|分类|分等|分流|分层)[^:,]{0,4}:)?(?P<label>[a-z0-9一二三四五六七八九十甲乙丙丁]{1,2}(?:类|级|档|等))"
                               r"(?:客户|用户|会员|工单|订单|线索|问题|商品|产品|的)?(?:\s*\([^)]{0,30}\))?\s*(?P<action>[^,]{2,})$")
_NOUN_THRESHOLD = compile_filtered(r"(?<![a-z])(?:(?:any |all |the )?[a-z]+(?: [a-z]+)? )?(?:over|above|under|below|more than|less than|at least|at most)"
                                   r" [$€£¥]?\d[\d,.]*\s*(?:k\b|usd\b|dollars?\b|%|stars?\b|points?\b|days?\b|items?\b|units?\b)?"
                                   # "anything $1,000 or less just gets posted to #finance"
                                   r"|^(?:anything|everything) (?:of |at |worth )?[$€£¥]?\d[\d,.]*\s*(?:k\b|usd\b|dollars?\b|%|stars?\b|points?\b)?\s*or (?:less|more|under|below|above|over|lower|higher)\b"
                                   # "candidates scoring 4 or 5 get …", "leads scoring 80+ get …", "those below 50 get …"
                                   r"|^(?:the |any |all )?[a-z]+ (?:scoring|scored|rated|rating) (?:\d{1,3} or \d{1,3}\b|\d{1,3}\s*\+|\d{1,3} (?:or|and) (?:above|up|higher|more|below|lower|less|under)\b)"
                                   r"|^(?:those|ones|the ones|anyone|anything) (?:over|above|under|below|scoring)\b")
_RANGE_LABEL = compile_filtered(r"[a-z ]{0,24}?\(\s*\d+(?:\.\d+)?\s*(?:-|–|to|~)\s*\d+(?:\.\d+)?\s*\)")
_BARE_OUTCOME = compile_filtered(r"^&?(?P<label>(?:审批|审核)?(?:被)?(?:通过|批准|同意|驳回|拒绝|不通过|没通过|未通过|不同意|没批)(?:了)?)(?:的话|的)$")
_APPROVED = compile_filtered(r"approv|accepted|signed off|okay|\bok\b|通过|批准|同意")
_REJECTED = compile_filtered(r"reject|declin|denied|not approv|isn't approved|驳回|拒绝|不通过|没通过|未通过|不同意|没批")


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
        # "only email me if there is negative coverage", "email me only if it is negative": "only" says
        # the action is conditional even where the condition is not a comparison
        if m and (ph.SEND.search(m.group("action")) or ph.DELIVER.search(m.group("action"))) \
                and (conds.comparison(m.group("cond"), "en") or m.group("first") or m.group("only")):
            return f"{mark}if {m.group('cond')}, {m.group('action')}", 1
        return None
    if (clause.endswith("的") and i + 1 < len(clauses) and clauses[i + 1].startswith(CONTINUES)
            and any(ph.ELSE.search(plain(c)) for c in clauses[i + 2: i + 4])):
        head, _, label = clause.rpartition(":")
        loop = re.search(r"逐条|逐个|逐一|依次|一单一单|一个一个|一条一条|每(?:一)?[条个单笔]", head)
        prefix = loop.group(0) + "," if loop else ""  # "逐个检查：" → "逐个,": the loop, then its condition
        return f"{mark}{prefix}如果{label[:-1]},就{plain(clauses[i + 1])}", 2
    return None


# "如果24小时内他还没完成实名认证，…", "再过48小时还没认证的话，…", "if they haven't verified within 24 hours, …":
# a test of what has not happened in a while is a wait, then the test
_NUM = r"\d+|[一二两三四五六七八九十]+|半"
_WITHIN_ZH = compile_filtered(rf"^(?:如果|要是|若|假如)?\s*(?P<n>{_NUM})\s*个?(?P<unit>分钟|小时|天|周)(?:内|之内|以内)[,\s]*"
                              r"(?P<rest>[^,]*?(?:还|仍|依然|一直)?(?:没|未|不)[^,]*)$")
_LATER_ZH = compile_filtered(rf"^(?:再|又)过(?:了)?\s*(?P<n>{_NUM})\s*个?(?P<unit>分钟|小时|天|周)(?:后|以后|之后)?[,\s]*"
                             r"(?:如果|要是|若|假如)?(?P<rest>(?:他|她|用户|客户|对方)?(?:还|仍|依然|一直)(?:是)?(?:没|未|不).*)$")
_WITHIN_EN = compile_filtered(r"^(?:and\s+)?if\s+(?P<rest>[^,]*?\b(?:n't|not|no|never)\b[^,]*?)\s+(?:within|in)\s+(?:the\s+(?:next|first)\s+)?"
                              r"(?P<n>\d+|an?|one|two|three|four|five|six|seven|ten)\s+(?P<unit>minute|hour|day|week)s?(?P<tail>.*)$")


def wait_then_test(clause: str, lang: str) -> tuple[str, str] | None:
    """("等24小时", "如果他还没完成实名认证") for "如果24小时内他还没完成实名认证": the wait, then the
    test, as two clauses; None when the clause is not such a test."""
    if lang == "zh":
        found = _WITHIN_ZH.match(clause) or _LATER_ZH.match(clause)
        if found is None:
            return None
        return f"等{found.group('n')}{found.group('unit')}", "如果" + found.group("rest").strip()
    found = _WITHIN_EN.match(clause)
    if found is None:
        return None
    return f"wait {found.group('n')} {found.group('unit')}s", f"if {found.group('rest')}{found.group('tail')}"
