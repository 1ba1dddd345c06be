"""What the assistant says (English or Chinese) and the small intents a turn checks first:
undo, "run it with …", and answers to a clarifying question."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from pilot.chat.phrases import batch_size, normalize, parse_schedule
from pilot.chat.rules_steps import subflow_name
from pilot.chat.schemas import ClarifyOptionOut, PendingQuestion
from pilot.workflows.model import WorkflowGraph, node_type

_UNDO = re.compile(r"^(?:please |pls )?(?:undo|revert|roll ?back|go back)\b|^撤销|^撤回|^回退|^还原|^恢复上一版|^undo$")
_RUN = re.compile(r"^(?:please |pls |now |ok,? |okay,? )?(?:run|execute|test|try)(?: it| this| the workflow| now)?\b|^(?:请)?(?:运行|执行|跑|试运行|测试)(?:一下|一次)?")
# "test it" / "try it" / "测试一下": a dry run (nothing is sent), not a real one.
_TEST = re.compile(r"^(?:please |pls |now |ok,? |okay,? )?(?:(?:test|try)(?: it| this| the workflow| once)\b|dry[- ]?run\b)"
                   r"|^(?:请)?(?:测试|试运行|试跑|试一下)")
_LOOPY = re.compile(r"\b(?:every|each) (?:row|line|item|record|entry|file|document)|每一|每行|每条|逐")
# Most specific first: "the second one" is about "second", not "one".
_ORDINALS = {
    "first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "last": -1,
    "第一": 0, "第二": 1, "第三": 2, "最后": -1, "1": 0, "2": 1, "3": 2,
    "one": 0, "two": 1, "three": 2, "一": 0, "二": 1, "三": 2,
}


_NEW = re.compile(r"\b(?:create|build|make|generate|set up|start over|new workflow|instead)\b|创建|新建|搭建|做一个|重新|换一个|改成一个")


def is_new_request(text: str) -> bool:
    """"actually, build me a customer-support bot instead": a request for a different workflow."""
    return bool(_NEW.search(normalize(text)))


def replaced_text(lang: str) -> str:
    if lang == "zh":
        return "已按新的需求重新生成工作流（旧版本已保留）。"
    return "I rebuilt the workflow for the new request (the previous version is kept)."


def is_undo(text: str) -> bool:
    return bool(_UNDO.search(normalize(text)))


def is_run(text: str) -> bool:
    """"run it with …" / "运行一下" — but not "run it every Monday", "run it on every row",
    "run it in batches of 50" or "run the cleanup workflow after that" (a new step)."""
    t = normalize(text)
    return (bool(_RUN.search(t)) and parse_schedule(t) is None and not _LOOPY.search(t) and batch_size(t) is None
            and subflow_name(text) is None)


def is_test_request(text: str) -> bool:
    """A run request that asks for a test (dry) run."""
    return bool(_TEST.search(text.strip().lower()))


def run_inputs(text: str, graph: WorkflowGraph) -> dict[str, Any]:
    """Inputs from "run it with {json}" / "with text=hello, lang=fr" / "with 'some text'"."""
    raw = text.strip()
    brace = raw.find("{")
    if brace >= 0:
        try:
            data = json.loads(raw[brace:raw.rfind("}") + 1])
            if isinstance(data, dict):
                return data
        except ValueError:
            pass
    m = re.search(r"\b(?:with|using)\b\s*(.+)$|(?:输入|用|以)[:：]?\s*(.+)$", raw, re.DOTALL)
    rest = (m.group(1) or m.group(2)).strip() if m else ""
    if not rest:
        return {}
    pairs = re.findall(r"([A-Za-z_]\w*)\s*[=:]\s*(\"[^\"]*\"|'[^']*'|[^,;，；]+)", rest)
    if pairs:
        return {k: _value(v) for k, v in pairs}
    fields = [f for n in graph.nodes if node_type(n) == "input" for f in n.config.fields]  # type: ignore[attr-defined]
    target = next((f for f in fields if f.required and f.type == "string"), fields[0] if fields else None)
    if target is None:
        return {}
    return {target.name: rest.strip("\"'“”‘’ ")}


def _value(text: str) -> Any:
    text = text.strip()
    if text[:1] in "\"'" and text[-1:] == text[:1]:
        return text[1:-1]
    try:
        return json.loads(text)
    except ValueError:
        return text


def resolve_answer(text: str, pending: PendingQuestion) -> str | None:
    """The option (template id) a reply to a clarifying question picks, if it clearly picks one."""
    t = normalize(text)
    ids = [o.id for o in pending.options]
    for oid in ids:
        if oid in t or oid.replace("_", " ") in t:
            return oid
    for word, index in _ORDINALS.items():
        named = re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", t) if word.isascii() else word in t
        if named and len(t) <= 40 and -len(ids) <= index < len(ids):
            return ids[index]
    for option in pending.options:
        label = normalize(option.label)
        if label and (label in t or t in label) and len(t) >= 2:
            return option.id
    return None


def chunks(text: str, size: int = 24) -> Iterator[str]:
    """Split a reply into stream-sized pieces on word boundaries (characters for Chinese)."""
    piece = ""
    for token in re.findall(r"\S+\s*|\s+", text):
        if len(piece) + len(token) > size and piece:
            yield piece
            piece = ""
        piece += token
        while len(piece) > size * 2:  # no spaces (Chinese): cut by length
            yield piece[:size]
            piece = piece[size:]
    if piece:
        yield piece


def creation_text(lang: str, *, name: str, template_name: str | None, graph: WorkflowGraph, schedule_text: str | None) -> str:
    """What was built: from the request's plan, or (``template_name``) from the template the
    user picked."""
    steps = [n.title or n.id for n in graph.nodes if node_type(n) not in ("input", "output")]
    listed = "、".join(steps) if lang == "zh" else ", ".join(steps)
    if lang == "zh":
        source = f"根据“{template_name}”模板" if template_name else "按你的需求"
        text = f"已{source}创建工作流“{name}”，共 {len(graph.nodes)} 个节点：{listed}。"
        if schedule_text:
            text += f"定时：{schedule_text}。"
        return text + "你可以继续调整，比如“同时发邮件给我”“换成 gpt-4o”或“每周一早上9点运行”。"
    source = f" from the {template_name} template" if template_name else ""
    text = f"I built the workflow \"{name}\"{source}: {len(graph.nodes)} nodes ({listed})."
    if schedule_text:
        text += f" It runs {schedule_text}."
    return text + " Refine it in plain words, e.g. \"also email me the result\", \"use gpt-4o\" or \"every Monday at 9\"."


def clarify_question(lang: str) -> str:
    if lang == "zh":
        return "你想搭建哪一类工作流？可以选一个模板，或者再具体描述一下。"
    return "Which kind of workflow do you want? Pick one of these, or describe it in a bit more detail."


def clarify_text(lang: str, question: str, options: list[ClarifyOptionOut]) -> str:
    lines = [question]
    for i, option in enumerate(options, 1):
        lines.append(f"{i}. {option.label}" + (f" — {option.reason}" if option.reason else ""))
    return "\n".join(lines)


def nothing_understood(lang: str) -> str:
    if lang == "zh":
        return ("我没能理解要做什么修改，工作流保持不变。你可以说：“同时发邮件给我”、“删除审校步骤”、“换成 gpt-4o”、"
                "“翻译成日语”、“每周一早上9点运行”、“对每一行执行”、“改成发到 Slack”，或“撤销”。")
    return ("I couldn't tell what to change, so the workflow is unchanged. Try e.g. \"also email me the result\", "
            "\"remove the review step\", \"use gpt-4o\", \"translate to Japanese instead\", \"every Monday at 9\", "
            "\"run it on every row\", \"send to Slack instead of email\", or \"undo\".")


def edit_text(lang: str, changes: list[str], problems: list[str], version: int | None) -> str:
    parts = list(changes)
    if problems:
        parts += problems
    if changes and version is not None:
        parts.append(f"已保存为第 {version} 版（可以撤销）。" if lang == "zh" else f"Saved as version {version} (you can undo).")
    elif not changes:
        parts.append("工作流未作修改。" if lang == "zh" else "The workflow is unchanged.")
    return " ".join(parts) if lang != "zh" else "".join(parts)
