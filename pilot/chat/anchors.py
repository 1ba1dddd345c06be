"""Where a new v2 step goes and what it reads (shared by :mod:`pilot.chat.rules_pause` and
:mod:`pilot.chat.rules_steps`; pure).

- :func:`placement`: "before sending the email" / "发邮件前" / "after the summary" / "after
  that" → the node the new step goes in front of (``before``) or behind (``after``); nothing
  said → the default the rule gives (the first delivery, else the output).
- :func:`data_ref`: what a step in front of a node should work on: the data that node reads
  (a source's list first), as a bare expression.
- :func:`compiled`: the node the generation compiler builds for a plan step (so a follow-up
  adds exactly what the same words compile to in a request), plus the input-field update it
  needs.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from pilot.chat import builders as b
from pilot.chat.graft import Graft
from pilot.chat.graph_ops import map_strings
from pilot.chat.ops import AddNode, EditOp
from pilot.chat.phrases import language_of
from pilot.chat.planner_base import Ctx, Unable, score_node
from pilot.generation.plan import Step
from pilot.workflows.model import ApiNode, InputNode, KnowledgeNode, LlmNode, LoopNode, Node, OutputNode, ToolNode

_BEFORE_EN = re.compile(r"\b(?:before|prior to)\s+(?:(?:it|they|this|that|we|you|i)(?:'s|'re| is| are| gets?| get)?\s+)?"
                        r"(?P<what>[^,.;!?]+)")
_AFTER_EN = re.compile(r"\b(?:after|following)\s+(?P<what>[^,.;!?]+)")
_BEFORE_ZH = re.compile(r"(?:在)?(?P<what>[\u4e00-\u9fffA-Za-z0-9]{1,12}?)(?:之前|以前|前)")
_AFTER_ZH = re.compile(r"(?:在)?(?P<what>[\u4e00-\u9fffA-Za-z0-9]{1,12}?)(?:之后|以后|完后|后)")
_DURATION_WORDS = re.compile(r"^\s*(?:\d+|a|an|one|two|three|four|five|six|seven|ten|[一二两三四五六七八九十半]+)\s*个?"
                             r"\s*(?:minute|min|hour|hr|day|week|month|分钟|小时|天|周|星期|月)")
_NOT_STEPS = frozenset({"然", "随", "最", "之", "以", "稍", "此", "其", "目", "提", "先", "当", "事", "从", "向", "往", "之前", "此前",
                        "以后", "之后", "往", "空", "面"})
_THAT = re.compile(r"^\s*(?:that|this|it|everything|all that|all of that|the rest|all)\b|^(?:这|那|这个|那个|这一步|那一步|上面|以上|这些|全部|所有)")
_DELIVER_VERB = re.compile(r"\b(?:send|sent|sending|post|posted|posting|publish|published|publishing|deliver|delivered|delivering|"
                           r"notify|notifying|share|shared|sharing|goes out|go out|email|emailing|emailed|mail|mailing)\b"
                           r"|发送|发出|推送|发布|通知|发邮件|发消息|发给|发到|分享|^发")
_SAVE_VERB = re.compile(r"\b(?:save|saved|saving|store|stored|storing|write|written|writing|upload|uploading|insert|inserting|"
                        r"upsert|append|appending|sync|syncing|import|importing)\b|保存|存储|存入|存到|写入|写回|上传|同步|入库|导入|^存")
_OUTPUT_WORDS = re.compile(r"\b(?:return|returning|returned|the end|finish|finishing|output|the result)\b|输出|返回|结束")
_STORAGE_NAME = re.compile(r"upsert|append|save|store|insert|create|write|sheet|table|notion|airtable|database|\bdb\b|record|bitable|写入|保存|表格")
_MESSAGING = frozenset({"email", "slack", "webhook", "telegram", "discord", "teams", "dingtalk", "feishu", "wecom"})
_REF = re.compile(r"\b(nodes\.([A-Za-z_]\w*)\.output(?:\.body)?|inputs\.[A-Za-z_]\w*)\b(?!\s*\()")


def deliveries(c: Ctx) -> list[Node]:
    """Top-level steps with side effects (tool calls, writing api calls), in flow order."""
    return [n for n in b.topo_nodes(c.graph)
            if isinstance(n, ToolNode) or (isinstance(n, ApiNode) and n.config.method != "GET")]


def _storage(nodes: list[Node]) -> list[Node]:
    named = [n for n in nodes if _STORAGE_NAME.search(f"{n.id} {n.title}".lower())]
    return named or [n for n in nodes if not (isinstance(n, ToolNode) and n.config.tool in _MESSAGING)] or nodes


def _resolve(c: Ctx, what: str) -> Node | None:
    """The step ``what`` names ("sending the email", "发布", "the summary step")."""
    if _OUTPUT_WORDS.search(what) and not _DELIVER_VERB.search(what) and not _SAVE_VERB.search(what):
        return b.output_node(c.graph)
    candidates = [n for n in b.topo_nodes(c.graph) if not isinstance(n, (InputNode, OutputNode))]
    scored = sorted(((score_node(n, what), i, n) for i, n in enumerate(candidates)), key=lambda x: (-x[0], x[1]))
    if scored and scored[0][0] > 0:
        return scored[0][2]
    sends = deliveries(c)
    if sends and _SAVE_VERB.search(what):
        return _storage(sends)[0]
    if sends and _DELIVER_VERB.search(what):
        return sends[0]
    return None


def _phrase(c: Ctx, en: re.Pattern[str], zh: re.Pattern[str]) -> str | None:
    """The words after "before"/"after" (or before "前"/"后"): what names the step; None when
    nothing does (a duration, "然后", "目前")."""
    pattern = zh if language_of(c.raw) == "zh" and not en.search(c.t) else en
    for m in pattern.finditer(c.t):
        what = m.group("what").strip()
        what = re.split(r"\s+(?:and|then|so|but)\s+|然后|并且|再|先", what)[0].strip()
        what = re.sub(r"^(?:在|于|等|要|需要|必须|请|把|将)+", "", what)
        if what and not _DURATION_WORDS.match(what) and what not in _NOT_STEPS:
            return what
    return None


def placement(c: Ctx, *, default: str = "delivery") -> tuple[list[str], list[str], Node]:
    """(after, before, the node named or defaulted to) for a new single-step node.

    "before X" → in front of X (X's incoming edges now end at the new step); "after X" → spliced
    between X and its successors; "after that" → in front of the output; nothing said →
    ``default``: in front of the first delivery (``delivery``, else the output) or of the
    output (``output``)."""
    out = b.output_node(c.graph)
    if out is None:
        raise Unable("The workflow has no output step to put the new step in front of.", "工作流没有输出步骤，无法放置新步骤。")
    before = _phrase(c, _BEFORE_EN, _BEFORE_ZH)
    if before is not None:
        node = _resolve(c, before)
        if node is None:
            raise _not_found(c, before)
        return [], [node.id], node
    after = _phrase(c, _AFTER_EN, _AFTER_ZH)
    if after is not None and not _THAT.search(after):
        node = _resolve(c, after)
        if node is None:
            raise _not_found(c, after)
        if isinstance(node, OutputNode):
            return [], [node.id], node
        succ = b.successors(c.graph, node.id)
        return [node.id], succ or [out.id], node
    if default == "delivery" and (sends := deliveries(c)):
        return [], [sends[0].id], sends[0]
    return [], [out.id], out


def where(after: list[str], anchor: Node, lang: str) -> str:
    """"before 'Send to Slack'" / "after 'Review'" / "before the output" (在…之前 / 之后)."""
    if isinstance(anchor, OutputNode):
        return "在输出之前" if lang == "zh" else "before the output"
    name = anchor.title or anchor.id
    if lang == "zh":
        return f"在“{name}”之后" if after else f"在“{name}”之前"
    return f"after '{name}'" if after else f"before '{name}'"


def _not_found(c: Ctx, what: str) -> Unable:
    steps = ", ".join(f"'{n.title or n.id}'" for n in c.graph.nodes if not isinstance(n, InputNode)) or "none"
    return Unable(f"I couldn't find the step \"{what}\" refers to (steps: {steps}).",
                  f"没有找到“{what}”对应的步骤（现有步骤：{steps}）。")


def data_ref(c: Ctx, node: Node) -> str:
    """What ``node`` reads, as a bare expression (``nodes.fetch.output.body``): a source's data
    first, then any other step's output, then an input; the workflow's main input without any."""
    by_id = {n.id: n for n in c.graph.nodes}
    refs: list[tuple[int, str]] = []
    text = msgspec.json.encode(node.config).decode()
    for m in _REF.finditer(text):
        ref, nid = m.group(1), m.group(2)
        src = by_id.get(nid) if nid else None
        if nid and src is None:
            continue  # a loop-body step, or a name that is no step
        rank = 0 if isinstance(src, (KnowledgeNode, LoopNode)) or (isinstance(src, ApiNode) and src.config.method == "GET") else (
            1 if nid else 2)
        if isinstance(src, ApiNode) and not ref.endswith(".body"):
            ref += ".body"
        refs.append((rank, ref))
    if refs:
        return min(refs, key=lambda r: r[0])[1]
    main = b.main_input_field(c.graph)
    return f"inputs.{main}" if main else "inputs"


def is_list(c: Ctx, ref: str) -> bool:
    """Whether ``ref`` is known to hold a list (a source's data, a loop's results, an array input)."""
    m = re.match(r"nodes\.(\w+)\.output", ref)
    if m:
        src = next((n for n in c.graph.nodes if n.id == m.group(1)), None)
        return isinstance(src, (KnowledgeNode, LoopNode)) or (isinstance(src, ApiNode) and src.config.method == "GET")
    start = b.input_node(c.graph)
    name = ref.removeprefix("inputs.")
    return start is not None and any(f.name == name and f.type == "array" for f in start.config.fields)


def is_text(c: Ctx, ref: str) -> bool:
    """Whether ``ref`` is known to be plain text (an AI step without an output schema, a string input)."""
    m = re.match(r"nodes\.(\w+)\.output$", ref)
    if m:
        src = next((n for n in c.graph.nodes if n.id == m.group(1)), None)
        return isinstance(src, LlmNode) and not src.config.output_schema
    start = b.input_node(c.graph)
    name = ref.removeprefix("inputs.")
    return start is not None and any(f.name == name and f.type == "string" for f in start.config.fields)


def compiled(c: Ctx, step: Step, reads: list[str]) -> tuple[dict[str, Any], list[EditOp]]:
    """(the node the compiler builds for ``step`` reading ``reads``, the input-field update it needs)."""
    graft = Graft(c.graph, language_of(c.raw))
    graft.step(step, [], reads)
    node = graft.nodes[0]
    node.pop("description", None)
    prep = [op for op in graft.ops() if not isinstance(op, AddNode) and getattr(op, "node_id", None) is not None]
    return node, prep


def rewire(node: Node, old: str, new: str, *, kept: list[str] | None = None) -> dict[str, Any] | None:
    """A config patch making ``node`` read ``new`` where it read ``old`` (None when it does not).
    With ``kept`` (the fields a reshape keeps) a read of another field of ``old`` stays as it was."""
    tail = rf"(?:(?=\.(?:{'|'.join(map(re.escape, kept))})\b)|(?!\.\w))" if kept else ""
    pattern = re.compile(rf"\b{re.escape(old)}\b(?!\.body)" + tail)
    config = msgspec.to_builtins(node.config)
    changed = map_strings(config, lambda s: pattern.sub(new, s))
    if changed == config:
        return None
    if isinstance(node, OutputNode):
        return {"outputs": changed["outputs"]}
    return {k: v for k, v in changed.items() if v != config.get(k)}
