"""Rules that change parameters: schedule, model, language, temperature, retries."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from pilot.chat import builders as b
from pilot.chat.edits import AddNode, EditOp, SetSetting, UpdateNode
from pilot.chat.phrases import (
    LANGUAGE_ZH,
    LANGUAGES,
    describe_cron,
    find_languages,
    find_model,
    has_any,
    parse_schedule,
)
from pilot.chat.planner_base import REMOVE_CUES, Ctx, Note, Step, Unable, named_llms
from pilot.workflows.model import LlmNode, OutputNode, ScheduleTrigger


def _schedule_trigger(c: Ctx) -> ScheduleTrigger | None:
    start = b.input_node(c.graph)
    trigger = start.config.trigger if start is not None else None
    return trigger if isinstance(trigger, ScheduleTrigger) else None


def _trigger_ops(c: Ctx, cron: str | None) -> list[EditOp]:
    """A workflow that starts on a schedule (its input node's trigger, what the panel shows
    first) keeps that trigger in step with ``settings.schedule``: the new cron, or a manual
    start once the schedule is removed. Other workflows' triggers are left alone."""
    trigger = _schedule_trigger(c)
    start = b.input_node(c.graph)
    if trigger is None or start is None:
        return []
    fields: dict[str, Any] = {}
    if cron is None:
        config: dict[str, Any] = {"trigger": None}
        if trigger.cron in start.title:
            fields["title"] = "开始" if re.search(r"[\u4e00-\u9fff]", start.title) else "Start"
    else:
        config = {"trigger": {"kind": "schedule", "cron": cron, "timezone": trigger.timezone}}
        if trigger.cron in start.title:
            fields["title"] = start.title.replace(trigger.cron, cron)
    return [UpdateNode(node_id=start.id, config=config, fields=fields)]


def rule_schedule_off(c: Ctx) -> Step | None:
    if not (has_any(c.t, REMOVE_CUES + ("stop", "turn off", "disable", "no longer", "关闭", "停止"))
            and has_any(c.t, ("schedul", "timer", "cron", "automatically", "定时", "计划", "自动运行"))):
        return None
    c.consumed.update({"schedule", "remove"})
    if c.graph.settings.schedule is None and not _schedule_trigger(c):
        raise Unable("The workflow has no schedule to remove.", "这个工作流没有设置定时，无需取消。")
    return [SetSetting(key="schedule", value=None), *_trigger_ops(c, None)], Note("Removed the schedule; it now runs only on demand.", "已取消定时，现在只在手动触发时运行。")


def rule_schedule(c: Ctx) -> Step | None:
    if "schedule" in c.consumed:
        return None
    cron = parse_schedule(c.raw)
    if cron is None:
        return None
    c.consumed.add("schedule")
    return [SetSetting(key="schedule", value=cron), *_trigger_ops(c, cron)], Note(
        f"Scheduled it to run {describe_cron(cron, 'en')} (cron `{cron}`).",
        f"已设置定时：{describe_cron(cron, 'zh')}（cron `{cron}`）。",
    )


def rule_model(c: Ctx) -> Step | None:
    model = find_model(c.t)
    if model is None or not has_any(c.t, ("model", "use", "switch", "change", "模型", "换", "改", "用")):
        return None
    targets = [n for n in named_llms(c, model) if n.config.model != model]
    if not b.llm_nodes(c.graph):
        raise Unable("This workflow has no LLM step whose model I could change.", "这个工作流没有可以更换模型的 LLM 步骤。")
    if not targets:
        raise Unable(f"All LLM steps already use {model}.", f"所有 LLM 步骤已经在使用 {model}。")
    ops: list[EditOp] = []
    for n in targets:
        patch: dict[str, Any] = {"model": model}
        if model in n.config.fallback_models:
            patch["fallback_models"] = [m for m in n.config.fallback_models if m != model]
        ops.append(UpdateNode(node_id=n.id, config=patch))
    names = ", ".join(f"'{n.title or n.id}'" for n in targets)
    return ops, Note(f"Switched {names} to {model}.", f"已将{names}的模型换成 {model}。")


def _language_targets(c: Ctx) -> tuple[str, str | None] | None:
    langs = find_languages(c.t)
    if not langs:
        return None
    m = re.search(r"(?:in|into|to|成|为|用)\s*(\w+)", c.t)
    new = None
    for pos, name in langs:
        before = c.t[max(0, pos - 8):pos]
        if re.search(r"(into|to|in|成|为|用|换|改)\s*$", before):
            new = name
    if new is None:
        new = langs[-1][1] if m else langs[0][1]
    old = next((name for _, name in langs if name != new), None)
    return new, old


def _language_pattern(name: str) -> re.Pattern[str]:
    """A language's English name (any case, whole word) or one of its Chinese names."""
    zh = sorted((a for a in LANGUAGES[name] if not a.isascii()), key=len, reverse=True)
    return re.compile(rf"(?<![A-Za-z]){name}(?![A-Za-z])" + "".join(f"|{re.escape(a)}" for a in zh), re.IGNORECASE)


def _rename(found: str, old: str, new: str) -> str:
    """``new`` written the way ``found`` wrote ``old`` (French → Spanish, french → spanish, 法语 → 西班牙语)."""
    if not found.isascii():
        return LANGUAGE_ZH[new]
    if found.isupper():
        return new.upper()
    return new.lower() if found.islower() else new


def _translates(node: LlmNode) -> bool:
    text = f"{node.id} {node.title} {node.config.system}".lower()
    return "translat" in text or "翻译" in text


def rule_language(c: Ctx) -> Step | None:
    if "language" in c.consumed or not has_any(c.t, ("translat", "language", "instead", "respond", "reply", "output", "write",
                                                      "in ", "翻译", "语言", "换", "改", "输出", "回复", "用", "译")):
        return None
    found = _language_targets(c)
    if found is None:
        return None
    new, old = found
    c.consumed.add("language")
    llms = b.llm_nodes(c.graph)
    targets = [*llms, *[n for n in c.graph.nodes if isinstance(n, OutputNode)]]
    mentions: dict[str, int] = {}
    for n in targets:
        blob = msgspec.json.encode(n).decode()
        for name in LANGUAGES:
            mentions[name] = mentions.get(name, 0) + len(_language_pattern(name).findall(blob))
    if old is None or not mentions.get(old):
        ranked = sorted((cnt, name) for name, cnt in mentions.items() if cnt and name != new)
        old = ranked[-1][1] if ranked else None
    also = has_any(c.t, ("also", "additionally", "as well", "同时", "另外", "再", "加一个", "增加"))
    if old and not also:
        pattern = _language_pattern(old)

        def swap(text: str) -> str:
            return pattern.sub(lambda m: _rename(m.group(0), old, new), text)

        ops: list[EditOp] = []
        for n in targets:
            data = msgspec.to_builtins(n)
            if not pattern.search(msgspec.json.encode(data).decode()):
                continue
            cfg = data["config"]
            patch = {k: swap(v) for k, v in cfg.items() if isinstance(v, str) and pattern.search(v)}
            if isinstance(n, OutputNode):
                patch = {"outputs": {k: swap(v) for k, v in cfg["outputs"].items()}}
            elif _translates(n) and not _language_pattern(new).search(patch.get("system", n.config.system)):
                # A translation step states its target in the system prompt, so the new language
                # is unambiguous whatever else the step's text says.
                system = patch.get("system", n.config.system).rstrip()
                zh = bool(re.search(r"[\u4e00-\u9fff]", system))
                patch["system"] = (f"{system}请翻译成{LANGUAGE_ZH[new]}。" if zh else f"{system} Translate into {new}.").strip()
            fields = {key: swap(value) for key, value in (("title", n.title), ("description", n.description))
                      if value and pattern.search(value)}
            ops.append(UpdateNode(node_id=n.id, config=patch, fields=fields))
        return ops, Note(f"Changed the language from {old} to {new}.", f"已将语言从{LANGUAGE_ZH[old]}改为{LANGUAGE_ZH[new]}。")
    out = b.output_node(c.graph)
    if out is None:
        return None
    node = b.llm_step_node(c.graph, base=f"translate_{new.lower()}", title=f"Translate to {new}",
                           instruction=f"Translate the text below into {new}. Keep names, numbers and formatting. Return only the translation.")
    key = b.unique_id(f"{new.lower()}_translation", set(out.config.outputs))
    return [
        AddNode(node=node, before=[out.id]),
        UpdateNode(node_id=out.id, config={"outputs": {key: f"{{{{ nodes.{node['id']}.output }}}}"}}),
    ], Note(f"Added a step that translates the result into {new} (output '{key}').",
            f"新增一个把结果翻译成{LANGUAGE_ZH[new]}的步骤（输出字段“{key}”）。")


def rule_temperature(c: Ctx) -> Step | None:
    m = re.search(r"(?:temperature|温度)\s*(?:to|=|为|设为|:)?\s*([0-2](?:\.\d+)?)", c.t)
    if m:
        value = float(m.group(1))
    elif has_any(c.t, ("more creative", "more varied", "更有创意", "更有创造力", "更活泼")):
        value = 1.0
    elif has_any(c.t, ("more precise", "more deterministic", "more consistent", "less random", "更严谨", "更稳定", "更准确", "更确定")):
        value = 0.2
    else:
        return None
    targets = [n for n in named_llms(c) if n.config.temperature != value]
    if not targets:
        raise Unable("No LLM step's temperature needs changing.", "没有需要修改温度的 LLM 步骤。")
    return [UpdateNode(node_id=n.id, config={"temperature": value}) for n in targets], Note(
        f"Set the temperature of {len(targets)} LLM step(s) to {value:g}.", f"已将{len(targets)}个 LLM 步骤的温度设为 {value:g}。")


def rule_retry(c: Ctx) -> Step | None:
    m = re.search(r"retr(?:y|ies)\s*(?:up to\s*)?(\d+)|(\d+)\s*retries|重试\s*(\d+)\s*次", c.t)
    if not m:
        return None
    retries = int(next(g for g in m.groups() if g))
    if not 1 <= retries <= 10:
        raise Unable("I can set between 1 and 10 retries.", "重试次数需要在 1 到 10 之间。")
    policy = {"max_attempts": retries + 1, "initial_delay_s": 1.0, "backoff": 2.0, "max_delay_s": 30.0, "jitter": 0.1}
    targets = [n for n in c.graph.nodes if b.type_of(n) in ("llm", "api", "tool", "knowledge")]
    return [UpdateNode(node_id=n.id, fields={"retry": policy}) for n in targets], Note(
        f"Steps that call out (LLM, API, tools) now retry up to {retries} times with backoff.",
        f"调用外部服务的步骤（LLM、API、工具）失败时最多重试 {retries} 次（指数退避）。")
