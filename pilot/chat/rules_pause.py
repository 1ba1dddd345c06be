"""Rules that pause a run: a timed ``wait`` ("wait 2 days before sending the email", "发邮件前先等两天",
"change the wait to 3 hours") and an approval ("a manager must approve before it is posted",
"发布前需要主编审批"). The nodes are the plan compiler's (:meth:`pilot.generation.compile_steps.Builder.wait`),
placed with :func:`pilot.chat.anchors.placement`.
"""

from __future__ import annotations

import re

from pilot.chat import builders as b
from pilot.chat.anchors import compiled, placement, where
from pilot.chat.ops import AddNode, UpdateNode
from pilot.chat.phrases import has_any, language_of
from pilot.chat.planner_base import REMOVE_CUES, Ctx, Note, Step, Unable
from pilot.generation import phrases as ph
from pilot.generation.compile_steps import _duration
from pilot.generation.plan import WaitStep
from pilot.generation.text import normalize as gen_normalize
from pilot.workflows.model import Node, OutputNode, WaitNode

_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
            "ten": 10, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty-five": 45, "half an": 0.5, "half a": 0.5}
_ZH_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"second": 1, "sec": 1, "minute": 60, "min": 60, "hour": 3600, "hr": 3600, "day": 86400, "week": 604800,
          "month": 2592000, "秒": 1, "秒钟": 1, "分钟": 60, "小时": 3600, "钟头": 3600, "天": 86400, "日": 86400,
          "周": 604800, "星期": 604800, "礼拜": 604800, "月": 2592000}
_DURATION = re.compile(
    r"\b(?P<n>\d+(?:\.\d+)?|half an?|an?|one|two|three|four|five|six|seven|eight|nine|ten|twelve|fifteen|twenty|thirty|forty-five)"
    r"\s*-?\s*(?P<unit>second|sec|minute|min|hour|hr|day|week|month)s?\b"
    r"|(?P<zn>\d+(?:\.\d+)?|[一二两三四五六七八九十]+|半)\s*个?\s*(?P<zunit>秒钟?|分钟|小时|钟头|天|日|周|星期|礼拜|月)")
_WAIT_CUE = re.compile(r"\b(?:wait|waits|waiting|pause|delay|delayed|hold off|sleep)\b|\blater\b|等待?|延迟|延时|暂停|停顿|过\s*[\d一二两三四五六七八九十半]|后再")
_CHANGE_CUE = re.compile(r"\b(?:change|make|set|update|instead|shorten|extend|increase|reduce|only)\b|改成|改为|改到|换成|调整|设为|设置为|缩短|延长|改")
_MODALS = {"must", "should", "need", "needs", "to", "has", "have", "will", "can", "shall", "first", "always", "then"}
_NOBODY = {"i", "me", "we", "us", "someone", "somebody", "person", "a person", "human", "people", "user", "manual", "add", "an",
           "require", "requires", "need", "needs", "with", "for", "the", "get", "wait", "ask", "人工", "我", "我们", "人", "有人",
           "某人", "用户"}
_WHO_EN = re.compile(r"\b(?:approved|signed off|okayed|reviewed and approved)\s+by\s+(?:the\s+|a\s+|an\s+|our\s+|my\s+|their\s+)?(?P<a>[a-z]+(?:\s[a-z]+)?)"
                     r"|(?P<pre>(?:[a-z]+\s+){0,4})(?:approves?|sign(?:s)? off|okays?)\b"
                     r"|(?P<b>[a-z]+)(?:'s)?\s+(?:approval|sign-off|sign off)")
_WHO_ZH = re.compile(r"(?P<who>[\u4e00-\u9fff]{1,6}?)(?:来)?(?:审批|审核|批准|签字|签批|确认|同意)")


def seconds_in(text: str) -> float | None:
    """The duration a message names ("2 days", "three hours", "两天", "半小时"), in seconds."""
    m = _DURATION.search(text)
    if m is None:
        return None
    if m.group("n"):
        n, unit = m.group("n"), m.group("unit")
        count = float(n) if n[0].isdigit() else _NUMBERS.get(n, 1)
    else:
        n, unit = m.group("zn"), m.group("zunit")
        count = float(n) if n[0].isdigit() else (0.5 if n == "半" else _zh_number(n))
    seconds = count * _UNITS.get(unit, 0)
    return seconds if 0 < seconds <= 31_536_000 else None


def _zh_number(n: str) -> float:
    if n == "十":
        return 10
    if "十" in n:
        tens, _, ones = n.partition("十")
        return _ZH_DIGITS.get(tens, 1) * 10 + _ZH_DIGITS.get(ones, 0)
    return _ZH_DIGITS.get(n, 1)


def _waits(c: Ctx, *, approval: bool) -> list[WaitNode]:
    return [n for n in c.graph.nodes if isinstance(n, WaitNode) and (n.config.approval is not None) == approval]


def _title(seconds: float, lang: str) -> str:
    return f"等待 {_duration(seconds, True)}" if lang == "zh" else f"Wait {_duration(seconds, False)}"


def _wait_in_front(c: Ctx, node: Node, *, approval: bool) -> WaitNode | None:
    """The wait (of that kind) directly in front of ``node``, if any."""
    return next((n for n in _waits(c, approval=approval) if node.id in b.successors(c.graph, n.id)), None)


def rule_wait(c: Ctx) -> Step | None:
    """A timed pause in front of a step (the first delivery when none is named), or a new
    duration for the existing one ("change the wait to 3 hours", "等待改成3小时")."""
    text = gen_normalize(c.raw)
    seconds = seconds_in(text)
    if seconds is None or "wait" in c.consumed or not (_WAIT_CUE.search(text) or ph.WAIT.search(text)):
        return None
    if ph.APPROVAL.search(text) or (has_any(c.t, REMOVE_CUES) and not _CHANGE_CUE.search(text)):
        return None
    if re.search(r"\bretr(?:y|ies)\b|\btime ?out|\bdeadline\b|重试|超时|时限", text):
        return None  # "retry with a 2 minute delay", "time out after 30 seconds": not a pause
    c.consumed.update({"wait", "schedule", "integration", "remove", "step"})
    lang = language_of(c.raw)
    existing = _waits(c, approval=False)
    target: WaitNode | None = None
    if not existing and _CHANGE_CUE.search(text) and re.search(r"\bthe (?:wait|delay|pause)\b|把等待|等待时间|等待改|延迟改", text):
        raise Unable("The workflow has no wait to change; say where to add one (\"wait 2 days before sending the email\").",
                     "工作流里还没有等待步骤可改；请说明在哪里添加（如“发邮件前先等两天”）。")
    if existing and _CHANGE_CUE.search(text) and not re.search(r"\b(?:another|also|add)\b|再加|另加|新增", text):
        target = existing[0] if len(existing) == 1 else None
        if target is None:
            _, _, anchor = placement(c)
            target = _wait_in_front(c, anchor, approval=False) or existing[0]
    else:
        after, before, anchor = placement(c)
        target = _wait_in_front(c, anchor, approval=False) if not after else None
    if target is not None:
        if target.config.duration_s == seconds:
            raise Unable(f"'{target.title or target.id}' already waits {_duration(seconds, False)}.",
                         f"“{target.title or target.id}”已经是等待 {_duration(seconds, True)}。")
        title = _title(seconds, lang)
        return [UpdateNode(node_id=target.id, config={"duration_s": seconds, "until": None, "approval": None},
                           fields={"title": title})], Note(
            f"'{target.title or target.id}' now waits {_duration(seconds, False)}.",
            f"“{target.title or target.id}”改为等待 {_duration(seconds, True)}。")
    node, prep = compiled(c, WaitStep(id="wait", duration_s=seconds), [])
    return [*prep, AddNode(node=node, after=after, before=before)], Note(
        f"Added a wait of {_duration(seconds, False)} {where(after, anchor, 'en')}; the run pauses without holding a worker.",
        f"{where(after, anchor, 'zh')}新增等待 {_duration(seconds, True)}（等待期间不占用执行资源）。")


def approver(text: str, lang: str) -> str | None:
    """Who approves ("a manager must approve" → manager, "需要主编审批" → 主编); None for the
    user themself or nobody in particular."""
    if lang == "zh":
        for m in _WHO_ZH.finditer(text):
            who = re.sub(r"^(?:.*?(?:需要|必须|须|得|要|由|经过|经|让|请|等|先|再|给))+", "", m.group("who"))
            who = re.sub(r"^(?:前|后|之前|之后)", "", who)
            if who and who not in _NOBODY and not re.search(r"[的了过]$", who):
                return who
        return None
    for m in _WHO_EN.finditer(text):
        if m.group("a") or m.group("b"):
            who = (m.group("a") or m.group("b")).strip()
        else:
            words = [w for w in m.group("pre").split() if w not in _MODALS]
            words = [w for w in words[-2:] if w not in ("a", "an", "the", "our", "my", "their", "your")][-2:]
            who = " ".join(words)
        who = re.sub(r"\b(?:must|should|needs?|has|have|will|to)\b", "", who).strip()
        if who and who not in _NOBODY and who.split()[-1] not in _NOBODY:
            return who
    return None


def _prompt(anchor: Node, lang: str) -> str:
    if isinstance(anchor, OutputNode):
        return "请审核结果并批准。" if lang == "zh" else "Please review the result and approve it."
    name = anchor.title or anchor.id
    return f"请审核并批准后再执行“{name}”。" if lang == "zh" else f"Please review and approve before '{name}' runs."


def rule_approval(c: Ctx) -> Step | None:
    """A person approves before a step runs (the first delivery when none is named): a ``wait``
    with ``approval {prompt, approvers?}``; with one already there, a new approver replaces
    the old ("make the editor approve instead")."""
    text = gen_normalize(c.raw)
    if "approval" in c.consumed or not ph.APPROVAL.search(text) or has_any(c.t, REMOVE_CUES):
        return None
    if re.search(r"\bapproval (?:step|node|stage)\b|审批(?:步骤|环节|节点)|审核(?:步骤|环节|节点)", text) and not re.search(
            r"\b(?:add|insert|need|needs|require|requires|must|put)\b|加|添加|增加|需要|必须", text):
        return None  # "use gpt-4o for the approval step": about an existing step
    if re.search(r"\bif\b[^,.;]{0,20}\bapprov|如果.{0,6}(?:审批|批准)|审批通过(?:后|就|则)|\bonce (?:it's |it is )?approved\b", text):
        return None  # "if approved, post it": a branch on the decision, not a new approval
    c.consumed.update({"approval", "integration", "remove", "step", "wait"})
    lang = language_of(c.raw)
    who = approver(text, lang)
    after, before, anchor = placement(c)
    current = _wait_in_front(c, anchor, approval=True) if not after else None
    current = current or (_waits(c, approval=True)[0] if _waits(c, approval=True) and _CHANGE_CUE.search(text) else None)
    if current is not None:
        approvers = current.config.approval.approvers if current.config.approval else []
        if who is None or approvers == [who]:
            raise Unable(f"'{current.title or current.id}' already waits for an approval there.",
                         f"“{current.title or current.id}”已经在那里等待审批。")
        title = (f"等待审批 ({who})" if lang == "zh" else f"Wait for approval ({who})")
        return [UpdateNode(node_id=current.id, config={"approval": {"approvers": [who]}}, fields={"title": title})], Note(
            f"'{current.title or current.id}' now waits for the {who}'s approval.", f"“{current.title or current.id}”改为由{who}审批。")
    step = WaitStep(id="approval", approval=_prompt(anchor, lang), approver=who)
    node, prep = compiled(c, step, [])
    by_en = f" by the {who}" if who else ""
    by_zh = f"（审批人：{who}）" if who else ""
    return [*prep, AddNode(node=node, after=after, before=before)], Note(
        f"Added an approval{by_en} {where(after, anchor, 'en')}: the run pauses until someone approves it; "
        "a rejection fails that step.",
        f"{where(after, anchor, 'zh')}新增审批{by_zh}：运行会暂停，直到审批通过；被驳回则该步骤失败。")
