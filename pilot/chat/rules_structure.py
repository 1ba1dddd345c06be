"""Rules that change the workflow's structure: swap or add a notification, remove a step,
run per item (loop), add a knowledge-base search, add an LLM step."""

from __future__ import annotations

import re

import msgspec
import networkx as nx

from pilot.chat import builders as b
from pilot.chat.edits import (
    AddEdge,
    AddNode,
    EditOp,
    RemoveNode,
    UpdateNode,
    WrapInLoop,
    apply_edits,
    unique_id,
)
from pilot.chat.phrases import INTEGRATION_ZH, INTEGRATIONS, batch_size, has_any
from pilot.chat.planner_base import (
    ADD_CUES,
    INSTEAD_CUES,
    REMOVE_CUES,
    Ctx,
    Note,
    Step,
    Unable,
    integrations,
    phrase_after_cue,
    score_node,
)
from pilot.workflows.model import ApiNode, KnowledgeNode, LlmNode, OutputNode, ToolNode
from pilot.workflows.validation import to_digraph


def rule_swap_integration(c: Ctx) -> Step | None:
    found = integrations(c.t)
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


def rule_remove(c: Ctx) -> Step | None:
    if "remove" in c.consumed or not has_any(c.t, REMOVE_CUES):
        return None
    phrase = phrase_after_cue(c.t, REMOVE_CUES)
    if not phrase:
        return None
    candidates = [n for n in c.graph.nodes if b.type_of(n) not in ("input", "output")]
    scored = sorted(((score_node(n, phrase), i, n) for i, n in enumerate(candidates)), key=lambda x: (-x[0], x[1]))
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


_LOOP_EN = re.compile(r"\b(?:for |on |over |to )?(?:each|every) (?:single )?(row|line|item|record|entry|file|document|doc|email|message|ticket|review|url|link|product|lead|customer|one|element)s?\b|\bin (?:bulk|batch(?:es)?)\b|\bbatch\b|one by one")
_LOOP_ZH = re.compile(r"(每一|每|逐|批量)(行|条|个(?![月星小工周])|份|封|篇|项|个文件)?")
_ITEM_FIELD = {"row": "rows", "line": "lines", "file": "files", "document": "documents", "doc": "documents",
               "email": "emails", "message": "messages", "ticket": "tickets", "review": "reviews", "url": "urls",
               "link": "urls", "product": "products", "lead": "leads", "customer": "customers", "record": "records"}


def _batched(items: str, size: int) -> str:
    """``items`` (bare or one ``{{ }}`` expression) split into lists of ``size``."""
    m = re.fullmatch(r"\s*\{\{\s*(.+?)\s*\}\}\s*", items, re.S)
    inner = m.group(1) if m else items.strip()
    inner = re.sub(r"\s*\|\s*batch\(\s*\d+\s*\)\s*\|\s*list\s*$", "", inner)
    expr = f"{inner} | batch({size}) | list"
    return f"{{{{ {expr} }}}}" if m else expr


def _rule_batch(c: Ctx, size: int) -> Step:
    """Run the processing steps on batches of ``size`` items: an existing loop now takes its
    items ``size`` at a time; otherwise the steps after the workflow's source (or, without one,
    the steps that read the input) go into a loop over that data in batches."""
    c.consumed.add("loop")
    if (loop := b.has_loop(c.graph)) is not None:
        items = _batched(loop.config.items, size)
        if items == loop.config.items:
            raise Unable(f"'{loop.title or loop.id}' already runs in batches of {size}.", f"“{loop.title or loop.id}”已经是每批 {size} 条。")
        return [UpdateNode(node_id=loop.id, config={"items": items}, fields={"title": f"In batches of {size}"})], Note(
            f"'{loop.title or loop.id}' now processes its items in batches of {size}.",
            f"“{loop.title or loop.id}”改为每批 {size} 条处理。")
    sinks = _sinks(c)
    sources = [n for n in b.topo_nodes(c.graph) if isinstance(n, KnowledgeNode) or (isinstance(n, ApiNode) and n.config.method == "GET")]
    ops: list[EditOp] = []
    if len(sources) == 1:
        src = sources[0]
        after = nx.descendants(to_digraph(c.graph), src.id)
        wrapped = _wrappable(c, [n.id for n in b.topo_nodes(c.graph) if n.id in after and b.type_of(n) not in ("input", "output")
                                 and n.id not in sinks])
        data = f"nodes.{src.id}.output" + (".body" if isinstance(src, ApiNode) else "")
        reads = re.compile(rf"\bnodes\.{re.escape(src.id)}\.output(?:\.body)?\b")
        for n in c.graph.nodes:  # inside the loop the wrapped steps read the batch, not the whole list
            if n.id in wrapped and reads.search(msgspec.json.encode(n.config).decode()):
                config = msgspec.to_builtins(n.config)
                patch = {k: reads.sub("item", v) for k, v in config.items() if isinstance(v, str) and reads.search(v)}
                if patch:
                    ops.append(UpdateNode(node_id=n.id, config=patch))
        items, per_item, what, what_zh = data, None, f"the output of '{src.title or src.id}'", f"“{src.title or src.id}”的输出"
    else:
        wrapped = _wrappable(c, [n.id for n in b.topo_nodes(c.graph) if b.type_of(n) not in ("input", "output") and n.id not in sinks])
        per_item = _read_field(c, wrapped)
        if op := b.add_input_field_op(c.graph, "items", type_="array", description="The items to process, in batches"):
            outside = [n for n in c.graph.nodes if n.id not in wrapped and b.type_of(n) != "input"]
            if per_item and not any(re.search(rf"\binputs\.{per_item}\b", msgspec.json.encode(n).decode()) for n in outside):
                op = UpdateNode(node_id=op.node_id, config={"fields": [f for f in op.config["fields"] if f["name"] != per_item]})
            ops.append(op)
        items, what, what_zh = "inputs.items", "the new input 'items'", "新输入“items”"
    if not wrapped:
        raise Unable("There is no processing step to run in batches.", "没有可以分批执行的处理步骤。")
    loop_id = unique_id(f"batches_of_{size}", b.all_ids(c.graph))
    ops.append(WrapInLoop(node_ids=wrapped, loop_id=loop_id, items=_batched(items, size), per_item_input=per_item,
                          title=f"In batches of {size}"))
    return ops, Note(f"Wrapped {len(wrapped)} step(s) in a loop that runs them on {what} in batches of {size}.",
                     f"已把{len(wrapped)}个步骤放进循环，对{what_zh}每批 {size} 条执行。")


def _wrappable(c: Ctx, ids: list[str]) -> list[str]:
    """``ids`` without a condition whose branches leave them (a loop body cannot branch to
    steps outside it) and without what comes after such a condition."""
    g = to_digraph(c.graph)
    keep = list(ids)
    for nid in ids:
        if nid in keep and b.type_of(next(n for n in c.graph.nodes if n.id == nid)) == "condition" and any(
                t not in keep for t in b.successors(c.graph, nid)):
            dropped = {nid} | nx.descendants(g, nid)
            keep = [k for k in keep if k not in dropped]
    return keep


def _read_field(c: Ctx, ids: list[str]) -> str | None:
    """The run input the steps ``ids`` read most (what they process item by item)."""
    start = b.input_node(c.graph)
    blob = " ".join(msgspec.json.encode(n.config).decode() for n in c.graph.nodes if n.id in ids)
    counts = [(len(re.findall(rf"\binputs\.{re.escape(f.name)}\b", blob)), -i, f.name)
              for i, f in enumerate(start.config.fields if start is not None else [])]
    best = max(counts, default=(0, 0, None))
    return best[2] if best[0] else b.main_input_field(c.graph)


def _sinks(c: Ctx) -> set[str]:
    """Deliveries right before the output: they run once, on everything (never per item)."""
    return {n.id for n in c.graph.nodes if isinstance(n, ToolNode)
            and all(isinstance(s, OutputNode) for s in (x for x in c.graph.nodes if x.id in b.successors(c.graph, n.id)))}


def rule_loop(c: Ctx) -> Step | None:
    if "loop" in c.consumed:
        return None
    if (size := batch_size(c.raw)) is not None:
        return _rule_batch(c, size)
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
    sinks = _sinks(c)
    wrapped = _wrappable(c, [n.id for n in b.topo_nodes(c.graph) if b.type_of(n) not in ("input", "output") and n.id not in sinks])
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


def rule_notify(c: Ctx) -> Step | None:
    if "integration" in c.consumed:
        return None
    found = integrations(c.t)
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


def rule_knowledge(c: Ctx) -> Step | None:
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


def rule_add_step(c: Ctx) -> Step | None:
    if "step" in c.consumed:  # a v2 rule already added the step ("add a python step that …")
        return None
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
