"""The offline, rule-based edit planner: an instruction + the current graph → edit operations.

Each rule recognises one kind of refinement (English and Chinese cues) and plans ops against
the graph as left by the rules before it, so "use gpt-4o and email me the result" yields both
edits. A rule that recognises its intent but cannot apply it reports an honest reason instead
(``RulePlan.problems``); nothing is guessed. The analyzer's entities (integrations, languages,
schedule) are used when given, the planner's own vocabularies otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from msgspec import Struct

from pilot.chat import builders as b
from pilot.chat.edits import (
    AddEdge,
    AddNode,
    EditError,
    EditOp,
    RemoveNode,
    SetSetting,
    UpdateNode,
    WrapInLoop,
    apply_edits,
    unique_id,
)
from pilot.chat.phrases import (
    INTEGRATION_ZH,
    INTEGRATIONS,
    LANGUAGE_ZH,
    LANGUAGES,
    describe_cron,
    find_integrations,
    find_languages,
    find_model,
    has_any,
    language_of,
    normalize,
    parse_schedule,
)
from pilot.workflows.model import KnowledgeNode, LlmNode, OutputNode, ToolNode, WorkflowGraph


class Note(Struct, frozen=True):
    """One sentence for the user, in both languages (the reply picks one)."""

    en: str
    zh: str

    def text(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


class RulePlan(Struct, frozen=True):
    ops: list[EditOp]
    changes: list[Note]  # what the ops do
    problems: list[Note]  # recognised requests that cannot be done (honest reasons)
    graph: WorkflowGraph | None = None  # the result of applying ``ops`` (None without ops)

    @property
    def recognised(self) -> bool:
        return bool(self.ops or self.problems)


class Unable(Exception):
    def __init__(self, en: str, zh: str) -> None:
        super().__init__(en)
        self.note = Note(en, zh)


@dataclass
class _Ctx:
    raw: str
    t: str  # normalized
    graph: WorkflowGraph
    consumed: set[str] = field(default_factory=set)  # entity kinds a rule already used


Step = tuple[list[EditOp], Note]
REMOVE_CUES = ("remove", "delete", "drop", "get rid of", "skip the", "no need for", "don't need", "do not need",
               "without the", "take out", "stop sending", "stop posting", "stop emailing", "stop alerting",
               "stop notifying", "don't send", "don't alert", "don't notify", "don't post", "don't email", "no more",
               "no longer", "删除", "去掉",
               "删掉", "移除", "不要", "不需要", "取消", "拿掉", "去除")
INSTEAD_CUES = ("instead", "rather than", "switch to", "swap", "replace", "change to", "换成", "改成", "改为", "改用",
                "替换", "换到", "改发", "而不是")
ADD_CUES = ("also", "send", "post", "notify", "email me", "mail me", "add", "push", "forward", "deliver", "alert",
            "同时", "发送", "发到", "发给", "发邮件", "推送", "通知", "加", "添加", "再", "并")
SYNONYMS: dict[str, tuple[str, ...]] = {
    "approval": ("approv", "human", "review", "sign-off", "manual", "审批", "审核", "人工", "确认"),
    "review": ("review", "proofread", "check", "审校", "校对", "审核", "检查", "复核"),
    "translate": ("translat", "翻译"),
    "summar": ("summar", "digest", "摘要", "总结", "汇总"),
    "classify": ("classif", "categor", "分类"),
    "draft": ("draft", "草稿", "起草"),
    "condition": ("condition", "branch", "if ", "判断", "条件", "分支"),
    "knowledge": ("knowledge", "retriev", "docs", "知识库", "检索"),
    "api": ("api", "http", "request", "请求", "接口"),
    "fetch": ("fetch", "scrape", "crawl", "抓取", "获取", "爬取"),
    "download": ("download", "下载"),
    "notify": ("notif", "alert", "通知", "提醒", "告警", "消息"),
    "loop": ("loop", "each", "循环", "逐"),
    # common step words, so a Chinese instruction finds an English-titled step (and vice versa)
    "social": ("social", "社交", "社媒"),
    "email": ("email", "mail", "邮件", "邮箱"),
    "outline": ("outline", "大纲", "提纲"),
    "edit": ("edit", "polish", "编辑", "润色"),
    "security": ("security", "安全"),
    "quality": ("quality", "readab", "质量", "可读性"),
    "correct": ("correct", "bug", "正确", "缺陷"),
    "score": ("score", "scoring", "打分", "评分"),
    "follow": ("follow", "跟进"),
    "crm": ("crm", "客户管理"),
    "report": ("report", "报告", "报表"),
    "profile": ("profile", "概况", "画像"),
    "compose": ("compose", "撰写", "编写"),
    "aggregate": ("aggregat", "汇总", "聚合"),
    "answer": ("answer", "reply", "回答", "答复", "回复"),
    "rewrite": ("rewrite", "rephrase", "改写"),
    "plan": ("plan", "规划", "计划"),
    "holding": ("holding", "安抚"),
    "website": ("website", "site", "网站", "官网"),
    "webhook": ("webhook", "回调"),
}


# ---------------------------------------------------------------- rules


def _schedule_off(c: _Ctx) -> Step | None:
    if not (has_any(c.t, REMOVE_CUES + ("stop", "turn off", "disable", "no longer", "关闭", "停止"))
            and has_any(c.t, ("schedul", "timer", "cron", "automatically", "定时", "计划", "自动运行"))):
        return None
    c.consumed.update({"schedule", "remove"})
    if c.graph.settings.schedule is None:
        raise Unable("The workflow has no schedule to remove.", "这个工作流没有设置定时，无需取消。")
    return [SetSetting(key="schedule", value=None)], Note("Removed the schedule; it now runs only on demand.", "已取消定时，现在只在手动触发时运行。")


def _swap_integration(c: _Ctx) -> Step | None:
    found = find_integrations(c.t)
    if not found or not has_any(c.t, INSTEAD_CUES):
        return None
    tools = [n for n in c.graph.nodes if isinstance(n, ToolNode)]
    current = {b.tool_integration(n): n for n in tools}
    named_existing = [k for _, k in found if k in current]
    new = [k for _, k in found if k not in current]
    if not new:
        return None
    target = new[0]
    if named_existing:
        old_key = named_existing[0]
    elif len(current) == 1:
        old_key = next(iter(current))
    else:
        return None
    old = current[old_key]
    fresh, extra = b.notification_node(c.graph, target, c.raw, node_id=old.id)
    c.consumed.update({"integration"})
    op = UpdateNode(node_id=old.id, config={"tool": fresh["config"]["tool"], "arguments": None},
                    fields={"title": fresh["title"]})
    # merge patch cannot replace a dict wholesale in one step: delete, then set.
    set_args = UpdateNode(node_id=old.id, config={"arguments": fresh["config"]["arguments"]})
    old_name, new_name = INTEGRATIONS.get(old_key or "", ("", (), old_key or "it"))[2], INTEGRATIONS[target][2]
    return [*extra, op, set_args], Note(
        f"Step '{old.title or old.id}' now sends to {new_name} instead of {old_name}.",
        f"“{old.title or old.id}”改为发送到{INTEGRATION_ZH[target]}（原为{INTEGRATION_ZH.get(old_key or '', old_key)}）。",
    )


def _phrase_after_cue(t: str, cues) -> str | None:
    best = None
    for cue in cues:
        i = t.find(cue)
        if i >= 0 and (best is None or i < best[0]):
            best = (i, cue)
    if best is None:
        return None
    rest = re.split(r"[,.;!?，。；！？]| and | then |然后|并且", t[best[0] + len(best[1]):])[0].strip()
    if not rest:  # Chinese puts the object first: "把审校步骤去掉"
        before = re.split(r"[,.;!?，。；！？]|然后|并且", t[:best[0]])[-1].strip()
        rest = re.sub(r"^(请|帮我|把|将)+", "", before).strip()
    return rest


def _score(node, phrase: str) -> int:
    text = f"{node.id.replace('_', ' ')} {node.title} {b.type_of(node)}".lower()
    if isinstance(node, ToolNode):
        text += f" {node.config.tool} {b.tool_integration(node) or ''} notify"
    score = 0
    for _, key in find_integrations(phrase):
        if b.tool_integration(node) == key:
            score += 5
    for words in SYNONYMS.values():
        if has_any(phrase, words) and has_any(text, words):
            score += 2
    head = (node.title or node.id).lower().split(" ")[0]
    for word in re.findall(r"[a-z]{3,}", phrase):
        if word in {"the", "step", "node", "and", "from", "this", "that", "workflow", "please", "stage"}:
            continue
        stem = word[:6]  # crude stemming: translation ~ translate, reviewer ~ review
        if stem in text:
            score += 1
            if node.id.lower().startswith(stem) or head.startswith(stem):
                score += 1  # what the step *is*, not just what it mentions
    return score


def _remove(c: _Ctx) -> Step | None:
    if "remove" in c.consumed or not has_any(c.t, REMOVE_CUES):
        return None
    phrase = _phrase_after_cue(c.t, REMOVE_CUES)
    if not phrase:
        return None
    candidates = [n for n in c.graph.nodes if b.type_of(n) not in ("input", "output")]
    scored = sorted(((_score(n, phrase), i, n) for i, n in enumerate(candidates)), key=lambda x: (-x[0], x[1]))
    c.consumed.update({"integration", "remove"})
    if not scored or scored[0][0] == 0:
        steps = ", ".join(f"'{n.title or n.id}'" for n in candidates) or "none"
        raise Unable(f"I couldn't find a step matching \"{phrase}\" (steps: {steps}).",
                     f"没有找到与“{phrase}”对应的步骤（现有步骤：{steps}）。")
    top = [n for s, _, n in scored if s == scored[0][0]]
    if len(top) > 1 and not all(isinstance(n, ToolNode) for n in top):
        names = " / ".join(f"'{n.title or n.id}'" for n in top)
        raise Unable(f"\"{phrase}\" matches several steps ({names}); which one should I remove?",
                     f"“{phrase}”对应多个步骤（{names}），请说明要删除哪一个。")
    ops: list[EditOp] = [RemoveNode(node_id=n.id) for n in top]
    titles = ", ".join(f"'{n.title or n.id}'" for n in top)
    return ops, Note(f"Removed {titles} and reconnected the steps around it.", f"已删除{titles}，并把前后步骤重新连接。")


def _schedule(c: _Ctx) -> Step | None:
    if "schedule" in c.consumed:
        return None
    cron = parse_schedule(c.raw)
    if cron is None:
        return None
    c.consumed.add("schedule")
    return [SetSetting(key="schedule", value=cron)], Note(
        f"Scheduled it to run {describe_cron(cron, 'en')} (cron `{cron}`).",
        f"已设置定时：{describe_cron(cron, 'zh')}（cron `{cron}`）。",
    )


def _clause(t: str, needle: str) -> str:
    """The clause of ``t`` that mentions ``needle`` (the whole text if none does)."""
    for part in re.split(r"[,;!?，。；！？]| and | then |然后|并且|同时", t):
        if needle in part:
            return part
    return t


def _named_llms(c: _Ctx, needle: str = "") -> list[LlmNode]:
    """LLM steps the message singles out ("for the summary step"), else all of them."""
    llms = b.llm_nodes(c.graph)
    m = re.search(r"(?:for|in|on) the ([\w\s-]+?) (?:step|node|stage)|(?:给|把)?([\u4e00-\u9fff]{2,6})(?:步骤|环节|节点)", _clause(c.t, needle))
    if m:
        phrase = m.group(1) or m.group(2)
        picked = [n for n in llms if _score(n, phrase) > 0]
        if picked:
            return picked
    return llms


def _model(c: _Ctx) -> Step | None:
    model = find_model(c.t)
    if model is None or not has_any(c.t, ("model", "use", "switch", "change", "模型", "换", "改", "用")):
        return None
    targets = [n for n in _named_llms(c, model) if n.config.model != model]
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


def _language_targets(c: _Ctx) -> tuple[str, str | None] | None:
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


def _language(c: _Ctx) -> Step | None:
    if "language" in c.consumed or not has_any(c.t, ("translat", "language", "instead", "respond", "reply", "output", "write",
                                                      "in ", "翻译", "语言", "换", "改", "输出", "回复", "用", "译")):
        return None
    found = _language_targets(c)
    if found is None:
        return None
    new, old = found
    c.consumed.add("language")
    llms = b.llm_nodes(c.graph)
    mentions: dict[str, int] = {}
    for n in [*llms, *[n for n in c.graph.nodes if isinstance(n, OutputNode)]]:
        blob = msgspec.json.encode(n).decode()
        for name in LANGUAGES:
            mentions[name] = mentions.get(name, 0) + len(re.findall(rf"\b{name}\b", blob))
    if old is None or not mentions.get(old):
        ranked = sorted((cnt, name) for name, cnt in mentions.items() if cnt and name != new)
        old = ranked[-1][1] if ranked else None
    also = has_any(c.t, ("also", "additionally", "as well", "同时", "另外", "再", "加一个", "增加"))
    if old and not also:
        pattern = re.compile(rf"\b{old}\b")
        ops: list[EditOp] = []
        for n in [*llms, *[n for n in c.graph.nodes if isinstance(n, OutputNode)]]:
            data = msgspec.to_builtins(n)
            if not pattern.search(msgspec.json.encode(data).decode()):
                continue
            cfg = data["config"]
            patch = {k: pattern.sub(new, v) for k, v in cfg.items() if isinstance(v, str) and pattern.search(v)}
            if isinstance(n, OutputNode):
                patch = {"outputs": {k: pattern.sub(new, v) for k, v in cfg["outputs"].items()}}
            fields = {"title": pattern.sub(new, n.title)} if pattern.search(n.title) else {}
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


_LOOP_EN = re.compile(r"\b(?:for |on |over |to )?(?:each|every) (?:single )?(row|line|item|record|entry|file|document|doc|email|message|ticket|review|url|link|product|lead|customer|one|element)s?\b|\bin (?:bulk|batch(?:es)?)\b|\bbatch\b|one by one")
_LOOP_ZH = re.compile(r"(每一|每|逐|批量)(行|条|个(?![月星小工周])|份|封|篇|项|个文件)?")
_ITEM_FIELD = {"row": "rows", "line": "lines", "file": "files", "document": "documents", "doc": "documents",
               "email": "emails", "message": "messages", "ticket": "tickets", "review": "reviews", "url": "urls",
               "link": "urls", "product": "products", "lead": "leads", "customer": "customers", "record": "records"}


def _loop(c: _Ctx) -> Step | None:
    m = _LOOP_EN.search(c.t)
    zh = None if m else _LOOP_ZH.search(c.t)
    if not m and not (zh and (zh.group(2) or zh.group(1) in ("逐", "批量"))):
        return None
    unit = m.group(1) if m and m.group(1) else None
    if zh:
        unit = {"行": "row", "封": "email", "篇": "document", "份": "document"}.get(zh.group(2) or "", "item")
    if has_any(c.t, ("sheet", "spreadsheet", "csv", "excel", "table", "表格", "表")):
        unit = "row"
    field_name = _ITEM_FIELD.get(unit or "", "items")
    c.consumed.add("loop")
    if (loop := b.has_loop(c.graph)) is not None:
        raise Unable(f"The workflow already runs '{loop.title or loop.id}' once per item.",
                     f"工作流里的“{loop.title or loop.id}”已经在逐项处理。")
    sinks = {n.id for n in c.graph.nodes if isinstance(n, ToolNode)
             and all(isinstance(s, OutputNode) for s in (x for x in c.graph.nodes if x.id in b.successors(c.graph, n.id)))}
    wrapped = [n.id for n in b.topo_nodes(c.graph) if b.type_of(n) not in ("input", "output") and n.id not in sinks]
    if not wrapped:
        raise Unable("There is no processing step to repeat per item.", "没有可以逐项重复执行的处理步骤。")
    main = b.main_input_field(c.graph)
    ops: list[EditOp] = []
    if op := b.add_input_field_op(c.graph, field_name, type_="array", description=f"The {field_name} to process, one at a time"):
        # The per-item field is replaced by the list when only the wrapped steps read it.
        outside = [n for n in c.graph.nodes if n.id not in wrapped and b.type_of(n) != "input"]
        if main and not any(re.search(rf"\binputs\.{main}\b", msgspec.json.encode(n).decode()) for n in outside):
            op = UpdateNode(node_id=op.node_id, config={"fields": [f for f in op.config["fields"] if f["name"] != main]})
        ops.append(op)
    loop_id = unique_id(f"each_{field_name.rstrip('s')}", b.all_ids(c.graph))
    ops.append(WrapInLoop(node_ids=wrapped, loop_id=loop_id, items=f"inputs.{field_name}", per_item_input=main,
                          title=f"For each {field_name.rstrip('s')}"))
    return ops, Note(f"Wrapped {len(wrapped)} step(s) in a loop that runs once per item of the new input '{field_name}'.",
                     f"已把{len(wrapped)}个步骤放进循环，对新输入“{field_name}”中的每一项分别执行。")


_VERB_USE = re.compile(r"\b(?:e-?mail|mail|slack|ping|message)\s+(?:it|them|me|us|the|this|that|results?|reports?|summary|answer|to)\b")


def _notify(c: _Ctx) -> Step | None:
    if "integration" in c.consumed:
        return None
    found = find_integrations(c.t)
    if not found or not (has_any(c.t, ADD_CUES) or _VERB_USE.search(c.t)):
        return None
    out = b.output_node(c.graph)
    if out is None:
        return None
    c.consumed.add("integration")
    existing = {b.tool_integration(n) for n in c.graph.nodes if isinstance(n, ToolNode)}
    ops: list[EditOp] = []
    names = []
    graph = c.graph
    for _, key in found:
        if key in existing:
            continue
        node, extra = b.notification_node(graph, key, c.raw)
        step = [*extra, AddNode(node=node, before=[out.id])]
        graph = apply_edits(graph, step)
        ops.extend(step)
        names.append(key)
    if not ops:
        raise Unable("The workflow already sends the result there.", "工作流已经会发送到那里。")
    en = " and ".join(INTEGRATIONS[k][2] for k in names)
    zh = "和".join(INTEGRATION_ZH[k] for k in names)
    return ops, Note(f"Added a step that sends the result to {en} before the output.", f"在输出前新增了把结果发送到{zh}的步骤。")


def _knowledge(c: _Ctx) -> Step | None:
    if not has_any(c.t, ("knowledge base", "knowledge", "our docs", "documentation", "知识库", "文档库", "资料库")):
        return None
    if "remove" in c.consumed:
        return None
    name_m = re.search(r"(?:knowledge base|知识库)\s*(?:called|named|叫|：|:)?\s*[\"'“]?([\w-]{2,60})", c.t)
    kb_name = name_m.group(1) if name_m and name_m.group(1) not in ("to", "for", "and", "the", "a") else "company-docs"
    existing = next((n for n in c.graph.nodes if isinstance(n, KnowledgeNode)), None)
    if existing is not None:
        if name_m and existing.config.knowledge_base != kb_name:
            return [UpdateNode(node_id=existing.id, config={"knowledge_base": kb_name})], Note(
                f"Step '{existing.title or existing.id}' now searches the knowledge base '{kb_name}'.",
                f"“{existing.title or existing.id}”改为检索知识库“{kb_name}”。")
        raise Unable("The workflow already retrieves from a knowledge base.", "工作流已经在使用知识库检索。")
    first_llm = next((n for n in b.topo_nodes(c.graph) if isinstance(n, LlmNode)), None)
    start = b.input_node(c.graph)
    if first_llm is None or start is None:
        raise Unable("There is no LLM step that could use retrieved passages.", "没有可以使用检索结果的 LLM 步骤。")
    main = b.main_input_field(c.graph) or "query"
    kid = unique_id("retrieve", b.all_ids(c.graph))
    node = {"id": kid, "type": "knowledge", "title": "Search the knowledge base",
            "config": {"knowledge_base": kb_name, "query": f"{{{{ inputs.{main} }}}}", "top_k": 4}}
    prompt = f"Relevant passages from the knowledge base:\n{{{{ nodes.{kid}.output }}}}\n\n{first_llm.config.prompt}"
    return [AddNode(node=node, after=[start.id]), AddEdge(source=kid, target=first_llm.id),
            UpdateNode(node_id=first_llm.id, config={"prompt": prompt})], Note(
        f"Added a knowledge-base search ('{kb_name}') feeding '{first_llm.title or first_llm.id}'.",
        f"新增知识库检索（“{kb_name}”），结果提供给“{first_llm.title or first_llm.id}”。")


def _temperature(c: _Ctx) -> Step | None:
    m = re.search(r"(?:temperature|温度)\s*(?:to|=|为|设为|:)?\s*([0-2](?:\.\d+)?)", c.t)
    if m:
        value = float(m.group(1))
    elif has_any(c.t, ("more creative", "more varied", "更有创意", "更有创造力", "更活泼")):
        value = 1.0
    elif has_any(c.t, ("more precise", "more deterministic", "more consistent", "less random", "更严谨", "更稳定", "更准确", "更确定")):
        value = 0.2
    else:
        return None
    targets = [n for n in _named_llms(c) if n.config.temperature != value]
    if not targets:
        raise Unable("No LLM step's temperature needs changing.", "没有需要修改温度的 LLM 步骤。")
    return [UpdateNode(node_id=n.id, config={"temperature": value}) for n in targets], Note(
        f"Set the temperature of {len(targets)} LLM step(s) to {value:g}.", f"已将{len(targets)}个 LLM 步骤的温度设为 {value:g}。")


def _retry(c: _Ctx) -> Step | None:
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


def _add_step(c: _Ctx) -> Step | None:
    m = re.search(r"add (?:a |an )?(?:new )?(?:step|node|stage) (?:that |to |which )?(.+)|(?:加|添加|增加)一?个?(.+?)的?(?:步骤|环节|节点)", c.t)
    if not m:
        return None
    instruction = (m.group(1) or m.group(2)).strip()
    out = b.output_node(c.graph)
    if out is None or not instruction:
        return None
    words = re.findall(r"[a-z]+", instruction)[:3]
    base = "_".join(words) or "extra_step"
    node = b.llm_step_node(c.graph, base=base, title=instruction[:60].capitalize(), instruction=instruction.capitalize())
    key = unique_id(base, set(out.config.outputs))
    return [AddNode(node=node, before=[out.id]),
            UpdateNode(node_id=out.id, config={"outputs": {key: f"{{{{ nodes.{node['id']}.output }}}}"}})], Note(
        f"Added an LLM step \"{instruction}\" before the output (output '{key}').", f"在输出前新增 LLM 步骤“{instruction}”（输出字段“{key}”）。")


RULES: list[Callable[[_Ctx], Step | None]] = [
    _schedule_off, _swap_integration, _remove, _schedule, _model, _language, _loop, _notify, _knowledge,
    _temperature, _retry, _add_step,
]


def plan_edits(text: str, graph: WorkflowGraph) -> RulePlan:
    """Plan the edits ``text`` asks for on ``graph``. Recognised-but-impossible requests are
    reported in ``problems``; the returned ``graph`` is the validated result of ``ops``."""
    ctx = _Ctx(raw=text, t=normalize(text), graph=graph)
    ops: list[EditOp] = []
    changes: list[Note] = []
    problems: list[Note] = []
    for rule in RULES:
        try:
            step = rule(ctx)
        except Unable as exc:
            problems.append(exc.note)
            continue
        except EditError as exc:
            problems.append(Note(f"That change would break the workflow: {exc.detail}", f"这个修改会让工作流无效：{exc.detail}"))
            continue
        if step is None:
            continue
        step_ops, note = step
        try:
            ctx.graph = apply_edits(ctx.graph, step_ops)
        except EditError as exc:
            problems.append(Note(f"I couldn't apply that: {exc.detail}", f"无法完成这个修改：{exc.detail}"))
            continue
        ops.extend(step_ops)
        changes.append(note)
    return RulePlan(ops=ops, changes=changes, problems=problems, graph=ctx.graph if ops else None)


__all__ = ["Note", "RulePlan", "plan_edits", "language_of"]
