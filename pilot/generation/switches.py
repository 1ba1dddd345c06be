"""Switch case lists: "P0 用企业微信发给值班工程师，P1 建Jira工单，其他的发邮件给客服组",
"Send hardware requests to Teams, software requests to Jira, and anything else to the inbox",
"报名的推给招生老师，退费的发邮件给财务，投诉的直接短信通知校长" (offline planner, pure).

A case list is two or more items, each *starting* with one of the request's labels, followed by
that label's action. Labels come from what the request declares before the list: the categories
of a classification ("分成退款、物流、技术故障三类"), the options of a field ("a category field:
hardware, software, access or other", "咨询类型：报名、退费、投诉"), or priority codes (P0/P1,
A类/B类). Items that start with "其他 / anything else / the rest" are the else branch; an item
that starts with "并 / 同时 / and also" adds a second action to the case before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pilot.generation.prefilter import compile_filtered
from pilot.generation import phrases as ph
from pilot.generation.text import cached_re, cased

_ITEM_SPLIT = compile_filtered(r"[,;，；]\s*(?:and\s+|以及\s*)?(?![^(（]*[)）])")
_DECLARED = compile_filtered(
    r"(?:类型|选项|类别|分类|级别|等级|状态|字段|\bfield\b|\bcategor(?:y|ies)\b|\btypes?\b|\bpriorit(?:y|ies)\b|\boptions?\b|\bseverity\b|\blevels?\b)"
    r"[^:：(（。.;；]{0,10}?(?:有|包括|是|分为|分成|[:：(（])\s*(?P<list>[^。.;；:：)）]{3,90})")
_SPLIT_LIST = compile_filtered(r"\s*(?:[、,/，]|\bor\b|\band\b|还是|或者?|和)\s*")
_CODES = compile_filtered(r"^(?:[pP][0-5]|sev ?[1-5]|[A-D]类|[一二三四]级)")
_NOT_LABEL = compile_filtered(r"^(?:其他|其它|其余|other|others|等|etc|\.\.\.|…)$")
_SUFFIX = (r"\s*(?:的|类的?|类型的?|问题的?|级别?的?|(?:意向|风险|等级|档|星)的|requests?|tickets?|ones?|alerts?|items?|leads?|candidates?|issues?|"
           r"messages?|orders?|posts?|reports?|inquir(?:y|ies)|emails?|cases?|questions?)?")
_VERB_FIRST = compile_filtered(r"^(?P<verb>send|route|forward|post|push|assign|put|escalate|email)\s+(?:the\s+|all\s+|any\s+)?", re.I)
_ZH_HEAD = compile_filtered(r"按.{0,14}?(?:处理|分发|分流|分别|分给|分配|分派|分到|派给|转给)")
_HEAD = compile_filtered(r"按.{0,14}?(?:处理|分发|分流|分别|分给|分配|分派|分到|派给|转给)|根据|依据|\b(?:route|sort|split|triage)\w*\b|\bdepending on\b|\bbased on\b|\bby (?:severity|priority|type|category|level|status)\b")
_ARROW_CASE = compile_filtered(r"^(?P<label>[^→:>=,，]{1,24}?)\s*(?:→|->|=>)\s*(?P<action>.*[a-z\u4e00-\u9fff]{2}.*)$", re.I)
# "positive, negative or neutral", "P1, P2 or P3": the list of labels goes on, no action follows
LIST_GOES_ON = compile_filtered(r"(?:or|and|nor)\b|[或和及、]|还是", re.I)
_PASSIVE = compile_filtered(r"^(?:get|gets|are|is|should be|will be|must be)\s+(e-?mailed|sent|posted|forwarded|escalated|logged|added|texted)\b", re.I)
_ACTIVE = {"emailed": "email", "e-mailed": "email", "sent": "send", "posted": "post", "forwarded": "forward",
           "escalated": "escalate", "logged": "log", "added": "add", "texted": "sms"}
_MORE = compile_filtered(r"^(?:并且?|同时|再|还要|顺便|also\b|and also\b|plus\b)")
_FIELD_WORDS = (("优先级", "priority"), ("priority", "priority"), ("级别", "level"), ("等级", "level"), ("severity", "severity"),
                ("状态", "status"), ("status", "status"), ("类型", "type"), ("type", "type"), ("category", "category"),
                ("分类", "category"), ("类目", "category"), ("品类", "category"), ("topic", "topic"), ("department", "department"), ("科室", "department"))


@dataclass
class CaseList:
    """The cases found from clause ``start`` up to (not including) clause ``end``."""

    cases: list[tuple[str, str]] = field(default_factory=list)  # (label, action text)
    extra: dict[int, list[str]] = field(default_factory=dict)  # case index → more action texts
    otherwise: str | None = None
    end: int = 0
    field: str | None = None  # "按状态处理：…" → "status"
    else_as: int | None = None  # "For pricing and other, answer …": the else side does what case ``else_as`` does


def declared_labels(text: str) -> tuple[list[str], str | None]:
    """The options a request declares ("category field: hardware, software, access or other") and
    the field they belong to ("category"), if any."""
    m = _DECLARED.search(text)
    if not m:
        return [], None
    listed = re.sub(r"\s*(?:[一二三四五六七八九十两\d]+\s*(?:种|类|个|档|级)|等)\s*$", "", m.group("list"))  # "… 四种", "…等"
    items = [x.strip(" '\"“”「」") for x in _SPLIT_LIST.split(listed)]
    labels = [x for x in items if x and not _NOT_LABEL.match(x) and len(x.split()) <= 3
              and len(x) <= (20 if x.isascii() else 8) and not ph.SEND.search(x)]
    head = text[max(0, m.start() - 12): m.end("list")]
    name = next((en for word, en in _FIELD_WORDS if word in head), None)
    return (labels if len(labels) >= 2 else []), name


# What may follow a label before its action: a plural or -y/-ies ending, a noun ("… requests"),
# "Privacy (GDPR export/deletion requests): …": a remark in brackets, then a separator. Matched
# after the label with fixed patterns: a pattern per label (compiled with IGNORECASE, ~1-4 ms each)
# cost more than the rest of a new request's switch reading.
_PLURAL_EDGE = re.compile(r"(?:s|es)?(?![a-z0-9])", re.I)
_Y_PLURAL = re.compile(r"(?:y|ies)(?![a-z0-9])", re.I)
_AFTER_LABEL = re.compile(_SUFFIX + r"(?:\s*[(（][^)）]{0,60}[)）])?\s*(?:[:：→=>\-]+\s*)?", re.I)


def _label_end(body: str, label: str) -> int | None:
    """Where the text after ``label`` (and what may follow it) starts, when ``body`` starts with it."""
    y_word = re.search(r"[^aeiou]y$", label) is not None  # "partnership inquiries" for "partnership inquiry"
    head = label[:-1] if y_word else label
    start = body[:len(head)]
    if start.lower() != head.lower() or len(start.lower()) != len(start) or len(head.lower()) != len(head):
        if not (start.isascii() and head.isascii()) and cased(head):  # case folding beyond ASCII: let re decide
            return _label_end_re(body, label, y_word, head)
        # ASCII, or a head with no cased character (a Chinese label), which IGNORECASE compares
        # exactly: the body does not start with it, so no pattern could match
        return None
    end = len(head)
    if y_word or (label[-1:].isascii() and label[-1:].isalnum()):  # the word must end here (or go on as a plural)
        tail = (_Y_PLURAL if y_word else _PLURAL_EDGE).match(body, end)
        if tail is None:
            return None
        end = tail.end()
    return _AFTER_LABEL.match(body, end).end()


def _label_end_re(body: str, label: str, y_word: bool, head: str) -> int | None:
    edge = r"(?:s|es)?(?![a-z0-9])" if label[-1:].isascii() and label[-1:].isalnum() else ""
    stem = re.escape(head) + ("(?:y|ies)(?![a-z0-9])" if y_word else edge)
    m = cached_re(stem + _AFTER_LABEL.pattern, re.I).match(body)
    return m.end() if m else None


_AND_THE_REST = re.compile(r"^for\s+(?:the\s+)?(?P<label>[\w -]{1,30}?)\s+(?:and|&)\s+(?:the\s+|all\s+|any\s+)?(?:others?|everything else|anything else|rest)\s*$")
_FOR_LABEL = re.compile(r"^for\s+(?:the\s+)?(?!each\b|every\b|all\b|example\b|now\b|instance\b|more\b)")


def _start(item: str, labels: list[str]) -> tuple[str, str] | None:
    """(label, action) when ``item`` starts with a label."""
    verb = _VERB_FIRST.match(item)
    body = item[verb.end():] if verb else item
    named_for = _FOR_LABEL.match(body) if not verb else None  # "For sales, ask for their email …"
    if named_for:
        body = body[named_for.end():]
    for label in sorted(labels, key=len, reverse=True):
        end = _label_end(body, label)
        if named_for and end is not None and not body[end:].strip(" ,:"):
            return label, ""  # the case's actions are the clauses that go on after its comma
        action = body[end:].strip() if end is not None else ""
        action = re.sub(r"^(?:就|则|都|直接|一律|统一)+", "", action)
        passive = _PASSIVE.match(action)  # "upgrade requests get emailed to sales@": the action is "email to sales@"
        if passive:
            action = _ACTIVE[passive.group(1)] + action[passive.end():]
        if end is not None and re.search(r"[a-z\u4e00-\u9fff]{2}", action, re.I) and not LIST_GOES_ON.match(action):
            return label, (f"{verb.group('verb')} {action}" if verb else action)
    short = _short_label(body, labels)
    if short is not None:
        return short
    arrow = _ARROW_CASE.match(body)
    if arrow and (len(arrow.group("label").split()) <= 3 if arrow.group("label").isascii() else len(arrow.group("label")) <= 8):
        return arrow.group("label").strip(" '\""), arrow.group("action").strip()  # "已付款→写入飞书多维表格"
    code = _CODES.match(body)
    if code:
        rest = body[code.end():].lstrip(" 的:：→=>-")
        return (code.group(0), rest) if re.search(r"[a-z\u4e00-\u9fff]{2}", rest, re.I) and not LIST_GOES_ON.match(rest) else None
    return None


def _short_label(body: str, labels: list[str]) -> tuple[str, str] | None:
    """"售前的转给销售" with the categories 售前咨询 / 售后问题: a Chinese label said by its first
    characters, then 的 or 类; the start must fit one label only. The label is what was said."""
    for label in labels:
        if label.isascii() or len(label) < 3:
            continue
        for n in range(len(label) - 1, 1, -1):
            head = label[:n]
            if body.startswith(head) and body[n:n + 1] in ("的", "类") and sum(x.startswith(head) for x in labels) == 1:
                action = re.sub(r"^(?:类的?|的)\s*(?:就|则|都|直接|一律|统一)*", "", body[n:]).strip()
                if re.search(r"[a-z\u4e00-\u9fff]{2}", action, re.I) and not LIST_GOES_ON.match(action):
                    return head, action  # the label as the request says it (the categories take it)
                break
    return None


_ZH_CASE = compile_filtered(r"(?P<label>[\u4e00-\u9fffa-z0-9]{1,8}?)\s?的(?P<action>(?:[\u4e00-\u9fffa-z]{0,12}?)(?:发|推|转|给|丢|派|分|交|记|写|存|通知|提醒|建|创建|新建|开|提|加|同步|录入|打电话).*)$")


def _zh_case(item: str) -> tuple[str, str] | None:
    m = _ZH_CASE.match(item)
    # "info 的只写进日志表": how much is not part of where it goes
    return (m.group("label"), re.sub(r"^(?:只|仅|就|直接|都|也|一律|统一)+", "", m.group("action"))) if m else None


# "critical alerts should page on-call …, warning alerts go to #ops-alerts …": English items led by a
# label and the noun they all share (a list only when two or more share it; see case_list)
_EN_NOUN = (r"(?:alert|lead|ticket|order|request|candidate|issue|message|email|review|customer|user|deal|item|bug|incident|"
            r"signup|applicant|response|submission|inquir(?:y|ie)|payment|invoice|one)s?")
_EN_CASE = compile_filtered(r"^(?:the\s+|any\s+)?(?P<label>(?!(?:all|new|other|the|every|each|some|these|those|our|their|my|your|incoming|"
                            r"remaining|any|such|most|many|few|both|existing|open|closed)\b)[a-z][\w-]*)\s+(?P<noun>" + _EN_NOUN + r")\s+"
                            r"(?P<action>(?:(?:should|will|must|can|just|then|also|always)\s+)*(?:get|gets|go|goes|are|is|be|page|pages|"
                            r"trigger|triggers|create|creates|open|opens|notify|notifies|land|lands|need|needs|become|becomes)\b.*)$")


def _en_case(item: str, noun: str | None) -> tuple[str, str, str] | None:
    """(label, action, noun) of "<label> <noun> <verb> …" when the noun is ``noun`` (or the first item)."""
    m = _EN_CASE.match(item)
    if m is None:
        return None
    said = re.sub(r"(?:ie)?s$", "", m.group("noun"))
    if noun is not None and said != noun:
        return None
    action = re.sub(r"^(?:(?:should|will|must|can|just|then|also|always)\s+)+", "", m.group("action"))
    passive = _PASSIVE.match(action)
    if passive:
        action = _ACTIVE[passive.group(1)] + action[passive.end():]
    action = re.sub(r"^(?:go|goes)\s+(?:straight\s+)?(?:to|into|in)\s+", "", action)  # "warning alerts go to #ops-alerts": where (as "X → #ops-alerts")
    return m.group("label"), action, said


def _en_items(items: list[str]) -> list[str]:
    """Items split once more where a second "<label> <noun> <verb>" starts after "and" ("hot leads get a
    Slack alert and cold leads get a nurture email")."""
    out: list[str] = []
    for item in items:
        m = _EN_CASE.match(item)
        noun = re.sub(r"(?:ie)?s$", "", m.group("noun")) if m else None
        parts = re.split(r"\s+and\s+(?=(?:the\s+)?[a-z][\w-]*\s+" + re.escape(noun) + r"(?:ie)?s?\s)", item) if noun else [item]
        out += [p for p in parts if p]
    return out


def _head_field(head: str) -> str | None:
    """"按客户选的意向区域分给经纪人" → 意向区域: the field the cases are values of."""
    m = re.search(r"按(?:照)?(?:客户|用户|他们|对方|买家|学员)?(?:选的|填的|选择的|填写的)?(?P<f>[\u4e00-\u9fffa-z_]{2,8}?)(?:来)?(?:分给|分配|分派|分到|派给|转给|处理|分发|分流|分别)", head)
    return m.group("f") if m else None


def case_list(clauses: list[str], start: int, labels: list[str]) -> CaseList | None:
    """A case list beginning at clause ``start`` (a leading ``&`` marks a clause that continues
    the sentence before it)."""
    found = CaseList(end=start)
    noun: str | None = None  # the noun English label-led items share ("alerts")
    open_labels = False  # after a bare "按…分给…" head, "浦东的…" items are cases whatever their labels
    clauses = list(clauses)  # a continuation may be cut in two below (same length: indexes hold)
    k = start
    while k < len(clauses):
        if k > start and found.cases and clauses[k].startswith("&") and _start(clauses[k][1:], labels) is None \
                and not ph.ELSE.search(clauses[k][1:]) and not ph.ELSE_LABEL.search(clauses[k][1:]):
            # "question → have AI answer it, &and email the answer": the same case goes on
            items = [x.strip() for x in _ITEM_SPLIT.split(clauses[k][1:]) if x.strip()]
            nxt = next((n for n in range(1, len(items)) if _start(items[n], labels) or ph.ELSE_LABEL.search(items[n])), None)
            found.extra.setdefault(len(found.cases) - 1, []).append(", ".join(items[:nxt]) if nxt else clauses[k][1:])
            if nxt:  # "critical -> open an alert &and post in #oncall, warning -> …": the next case starts mid-clause
                clauses[k] = ", ".join(items[nxt:])
                continue
            k += 1
            continue
        text = clauses[k].lstrip("&")
        if k == start and k + 1 < len(clauses) and ":" not in text and _ZH_HEAD.search(text) and not ph.SEND.search(_ZH_HEAD.sub("", text)) \
                and (_start(clauses[k + 1].lstrip("&"), labels) or _ZH_CASE.match(clauses[k + 1].lstrip("&"))):
            # "按客户选的意向区域分给经纪人——浦东的…，徐汇的…": the head was split from its cases
            found.field = next((en for word, en in _FIELD_WORDS if word in text), None) or _head_field(text)
            open_labels = True
            k += 1
            continue
        head, colon, tail = text.rpartition(":")
        if k == start and colon and (_HEAD.search(head) or (clauses[k].startswith("&") and _ARROW_CASE.match(tail.strip())))\
                and not ph.SEND.search(_HEAD.sub("", head)) and (_start(tail.strip(), labels) or (_HEAD.search(head) and _zh_case(tail.strip()))):
            text = tail  # "按级别处理：P0 …": the head only announces the cases
            found.field = next((en for word, en in _FIELD_WORDS if word in head), None)
            open_labels = open_labels or (_start(tail.strip(), labels) is None)  # "按优先级处理：紧急的用…": cases by their own labels
        items = _en_items([x.strip() for x in _ITEM_SPLIT.split(text) if x.strip()])
        used = 0
        for item in items:
            with_rest = _AND_THE_REST.match(item)
            if with_rest and found.cases and (hit := _start("for " + with_rest.group("label"), labels)) is not None:
                found.cases.append(hit)  # "For pricing and other, answer from our knowledge base"
                found.else_as = len(found.cases) - 1  # its actions are the clauses that go on after it
                used += 1
                continue
            other = ph.ELSE.search(item) or ph.ELSE_LABEL.search(item)
            hit = (_start(item, labels) or (_zh_case(item) if open_labels else None)) if not other else None
            if hit is None and not other and not labels and (said := _en_case(item, noun)) is not None:
                hit, noun = said[:2], said[2]  # "critical alerts should page …, warning alerts go to …"
            if hit is not None and hit[0].lower() not in {c[0].lower() for c in found.cases}:
                found.cases.append(hit)
            elif found.cases and other:
                rest = ph.ELSE_LABEL.sub("", ph.ELSE.sub("", item)).strip(" 的:：,→->")
                found.otherwise = rest
            elif found.cases and _MORE.match(item):
                found.extra.setdefault(len(found.cases) - 1, []).append(_MORE.sub("", item).strip())
            elif found.cases and len(items) == 1 and ph.SEND.search(item) and k + 1 < len(clauses) \
                    and ((open_labels and _zh_case(clauses[k + 1].lstrip("&"))) or _start(clauses[k + 1].lstrip("&"), labels)):
                # "critical 的打语音电话通知值班人并且发钉钉群；warning 的…": the case's second action, cut off by "并且"
                found.extra.setdefault(len(found.cases) - 1, []).append(item)
            else:
                break
            used += 1
        if used < len(items):
            if used == 0:
                break
            return None  # the clause mixes cases with something else: leave it to the clause parser
        k += 1
        if found.otherwise is not None:
            if not found.otherwise and k < len(clauses) and clauses[k].startswith("&"):
                found.otherwise, k = clauses[k][1:], k + 1  # "For anything else, &answer from our FAQ": its action goes on
            break
    found.end = k
    return found if len(found.cases) >= 2 else None


def is_code(label: str) -> bool:
    """A priority-style code (P0, sev2, A类)."""
    return bool(_CODES.match(label))
