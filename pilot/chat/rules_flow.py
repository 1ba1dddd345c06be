"""Rules that change how the workflow flows: a conditional branch and a parallel source
(batches are part of the loop rule, :func:`pilot.chat.rules_structure.rule_loop`).

The words are read with the generation package's language layer (``if`` / ``如果`` clauses and
comparisons such as "score above 7" / "金额大于1000", parallel cues, the service registry and
its source/destination roles, delivery targets), and the new nodes are compiled by the
generation compiler's step builder (:mod:`pilot.chat.graft`): a follow-up adds exactly what the
same words would have built in a request.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import msgspec
import networkx as nx

from pilot.chat import builders as b
from pilot.chat.graft import Graft, Port
from pilot.chat.ops import AddEdge, EditOp, RemoveEdge, UpdateNode
from pilot.chat.phrases import has_any, language_of
from pilot.chat.planner_base import INSTEAD_CUES, Ctx, Note, Step, Unable
from pilot.generation import entities as ent
from pilot.generation import phrases as ph
from pilot.generation.conditions import comparison as _comparison
from pilot.generation.conditions import split_condition as _split_condition
from pilot.generation.plan import OP_SYMBOLS, BranchStep, Case, Comparison, DeliverStep, SourceStep
from pilot.generation.action_deliveries import _WHO_EN, _WHO_ZH, _deliver
from pilot.generation.services import display
from pilot.generation.text import ascii_re
from pilot.generation.text import normalize as gen_normalize
from pilot.workflows.model import ApiNode, KnowledgeNode, LlmNode, LoopNode, Node, ToolNode, WorkflowGraph
from pilot.workflows.validation import to_digraph

ALSO_CUES = ("also", "as well", "too", "additionally", "in addition", "同时", "也", "另外", "再", "还要", "顺便")
_SINGLE_EXPR = re.compile(r"^\s*\{\{\s*(.+?)\s*\}\}\s*$", re.S)
_TRAILING_IF = ascii_re(r"\s+(?:only\s+)?(?:if|when(?:ever)?)\s+")
_IF_WORD = ascii_re(r"^(?:and\s+|but\s+)?(?:if|only if|in case)\b|^(?:如果|若|假如|要是|如)")
_SELF = {"me", "us", "myself", "ourselves", "我", "我们", "自己"}
_KNOWN_FIELDS = frozenset(ph.FIELD_NAMES.values()) - {"value"}
_OP_WORDS_ZH = {"gt": "大于", "ge": "不低于", "lt": "小于", "le": "不超过", "eq": "等于", "ne": "不等于"}


# ---------------------------------------------------------------- conditions ("if the score is above 7, …")


def _condition(c: Ctx, lang: str) -> tuple[str, str, bool] | None:
    """(condition words, action words, whether it is surely a condition) in the message: an
    "if …" / "如果…" is; a "when …" may just say when ("when the summary is ready, email me")."""
    text = gen_normalize(c.raw)
    if ph.IF.search(text):
        cond, action = _split_condition(ph.IF.sub("", text, count=1).strip(" ,"), lang)
        return cond.strip(" ,"), action.strip(" ,"), bool(_IF_WORD.search(text))
    if lang == "zh" and ph.CMP_ZH.search(text) and ph.ZH_COND_ACTION.search(text):  # "金额超过1000的就发给主管"
        cond, action = ph.ZH_COND_ACTION.split(text, maxsplit=1)
        if _comparison(cond, "zh") is not None:
            return cond.strip(" ,"), action.strip(" ,"), True
    m = _TRAILING_IF.search(text)  # "send it to Slack if the score is above 7"
    if m and lang == "en":
        return text[m.end():].strip(" ,."), text[: m.start()].strip(" ,"), "if" in m.group(0)
    return None


def _plausible(cmp: Comparison, graph: WorkflowGraph) -> bool:
    """A comparison worth branching on: a number ("score above 7"), or an equality on a field
    people test ("status is paid", "category is bug") or on a value the workflow produces (an
    output category) or receives (an input field). "the summary is ready" is not one."""
    if isinstance(cmp.value, (int, float)) and not isinstance(cmp.value, bool):
        return True
    if cmp.field in _KNOWN_FIELDS:
        return True
    start = b.input_node(graph)
    if start is not None and any(f.name == cmp.field for f in start.config.fields):
        return True
    return any(isinstance(spec, dict) and (name == cmp.field or cmp.value in (spec.get("enum") or []))
               for n in b.llm_nodes(graph) for name, spec in _output_schema_fields(n).items())


def _output_schema_fields(node: LlmNode) -> dict[str, Any]:
    schema = node.config.output_schema or {}
    props = schema.get("properties") if isinstance(schema, dict) else None
    return props if isinstance(props, dict) else {}


def _subject(graph: WorkflowGraph, cmp: Comparison, before: str, graft: Graft) -> tuple[Comparison, str, list[EditOp]]:
    """Where the tested value comes from, upstream of ``before``: an AI step whose structured
    output has the field (or whose categories include the value), an input field or the
    trigger's payload, an AI step named after the field (its output schema gains the field),
    else a new run input (declared on ``graft``). Returns (the comparison on it, its reference,
    ops it needs)."""
    g = to_digraph(graph)
    upstream = nx.ancestors(g, before) if before in g else set()
    llms = [n for n in b.topo_nodes(graph) if isinstance(n, LlmNode) and n.id in upstream]
    field = cmp.field
    for node in reversed(llms):
        props = _output_schema_fields(node)
        if field in props:
            return Comparison(subject=node.id, field=field, op=cmp.op, value=cmp.value), f"nodes.{node.id}.output", []
    if isinstance(cmp.value, str):
        for node in reversed(llms):
            for name, spec in _output_schema_fields(node).items():
                if isinstance(spec, dict) and cmp.value in (spec.get("enum") or []):
                    return Comparison(subject=node.id, field=name, op=cmp.op, value=cmp.value), f"nodes.{node.id}.output", []
    start = b.input_node(graph)
    fields = {f.name: f for f in start.config.fields} if start is not None else {}
    if field in fields:
        return Comparison(subject="inputs", field=field, op=cmp.op, value=cmp.value), "inputs", []
    payload = next((f.name for f in fields.values() if f.type == "object" and f.name in ("payload", "submission", "event")), None)
    if payload is not None:
        return Comparison(subject="inputs", field=f"{payload}.{field}", op=cmp.op, value=cmp.value), "inputs", []
    numeric = isinstance(cmp.value, (int, float)) and not isinstance(cmp.value, bool)
    named = [n for n in llms if field in f"{n.id} {n.title}".lower()]
    if named:
        node = named[-1]
        props = dict(_output_schema_fields(node))
        props[field] = {"type": "number" if numeric else "string"}
        if not node.config.output_schema:
            props["reason"] = {"type": "string"}
        schema = {"type": "object", "properties": props, "required": list(props)}
        return (Comparison(subject=node.id, field=field, op=cmp.op, value=cmp.value), f"nodes.{node.id}.output",
                [UpdateNode(node_id=node.id, config={"output_schema": schema})])
    if start is None:
        raise Unable("The workflow has no input step to read the value from.", "工作流没有输入步骤，无法读取要判断的值。")
    graft.builder.input_field(field, type_="number" if numeric else "string", description=f"the {field} the condition tests")
    return Comparison(subject="inputs", field=field, op=cmp.op, value=cmp.value), "inputs", []


def _delivery(action: str, lang: str) -> DeliverStep | None:
    """What the action delivers where: a named service (the generation registry, destinations
    first), else a person ("发给主管", "email my manager") by email."""
    found, dests, _ = ent.find_integrations(action)
    sid = next(iter(dests), None) or next((s for s in found if ent.BY_ID[s].kind == "messaging" or s == "email"), None)
    person = (_WHO_ZH if lang == "zh" else _WHO_EN).search(action)
    if sid is None and (person or re.search(r"\be-?mail\b|邮件|邮箱", action)):
        sid = "email"
    if sid is None:
        return None
    state = SimpleNamespace(lang=lang, uid=lambda base: base)
    step = _deliver(sid, action, state)  # type: ignore[arg-type]
    if step.target and step.target.strip().lower() in _SELF:
        step = msgspec.structs.replace(step, target=None)  # "email me": the run asks for the address
    return step


def _delivery_of(graph: WorkflowGraph, service: str) -> Node | None:
    """The workflow's existing delivery to ``service`` (tool or api node)."""
    for node in graph.nodes:
        if isinstance(node, ToolNode) and (b.tool_integration(node) == service or node.config.tool == service):
            return node
        if isinstance(node, ApiNode) and node.config.service == service and node.config.method != "GET":
            return node
    return None


def _reads(graph: WorkflowGraph) -> list[str]:
    """What "it" is: the expressions the output node returns (what the workflow produced)."""
    out = b.output_node(graph)
    refs = [m.group(1) for v in (out.config.outputs.values() if out else []) if (m := _SINGLE_EXPR.match(v))]
    if refs:
        return list(dict.fromkeys(refs))
    field = b.main_input_field(graph)
    return [f"inputs.{field}"] if field else []


def _readable(cmp: Comparison, lang: str) -> str:
    field = cmp.field.split(".")[-1]
    if cmp.op in ("contains", "truthy"):
        return field
    value = cmp.value if not isinstance(cmp.value, float) or not cmp.value.is_integer() else int(cmp.value)
    if lang == "zh":
        return f"{field} {_OP_WORDS_ZH.get(cmp.op, OP_SYMBOLS[cmp.op])} {value}"
    return f"{field} {OP_SYMBOLS[cmp.op]} {value}"


def rule_branch(c: Ctx) -> Step | None:
    """"if the score is above 7, also send it to Slack" / "如果金额大于1000就发给主管": a condition
    before the output whose case delivers (the rest of the workflow is unchanged: the other
    branch goes straight on), or, without "also", a condition in front of the existing delivery
    to that service ("only send to Slack if …")."""
    if "branch" in c.consumed:
        return None
    lang = language_of(c.raw)
    found = _condition(c, lang)
    if found is None:
        return None
    cond_text, action, surely = found
    parsed = _comparison(cond_text, lang)
    if parsed is not None and not _plausible(parsed[0], c.graph):
        parsed = None
    if parsed is None:
        if not surely:
            return None  # "retry 3 times when a step fails": not a branch on a value
        c.consumed.update({"branch", "integration"})
        raise Unable(f"I can branch on a comparison such as \"score above 7\" or \"amount over 1000\"; \"{cond_text}\" is not one.",
                     f"我可以按比较条件分支（如“分数大于7”“金额超过1000”），“{cond_text}”不是这样的条件。")
    cmp = parsed[0]
    deliver = _delivery(action, lang) if action else None
    c.consumed.update({"branch", "integration"})
    if deliver is None:
        raise Unable(f"I understood the condition ({_readable(cmp, 'en')}) but not what to do when it holds.",
                     f"我理解了条件（{_readable(cmp, 'zh')}），但不清楚条件成立时要做什么。")
    out = b.output_node(c.graph)
    if out is None:
        return None
    existing = _delivery_of(c.graph, deliver.service)
    gate = existing if existing is not None and not has_any(c.t, ALSO_CUES) else None
    anchor = gate.id if gate is not None else out.id
    graft = Graft(c.graph, lang)
    cmp, subject_ref, prep = _subject(c.graph, cmp, anchor, graft)
    incoming = [e for e in c.graph.edges if e.target == anchor]
    branch = BranchStep(id="check", on=cmp.subject, field=cmp.field, quote=c.raw[:200],
                        cases=[Case(label=parsed[1], when=cmp, steps=[] if gate is not None else [deliver])])
    reads = _reads(c.graph)
    if subject_ref != "inputs" and subject_ref not in reads:
        reads.append(subject_ref)
    ends = graft.step(branch, [Port(e.source, e.source_handle) for e in incoming], reads)
    cond = graft.nodes[0]
    en, zh = _readable(cmp, "en"), (cond_text if lang == "zh" else _readable(cmp, "zh"))
    cond["title"] = f"判断：{zh}" if lang == "zh" else f"Check: {en}"
    case = cond["config"]["cases"][0]["id"]
    ops: list[EditOp] = [*prep, *(RemoveEdge(edge_id=e.id) for e in incoming), *graft.ops()]
    if gate is None:
        ops += [AddEdge(source=p.node, target=out.id, source_handle=p.handle) for p in ends]
        new = graft.nodes[1]
        return ops, Note(f"Added a check ({en}) before the output; when it holds, '{new['title']}' also runs.",
                         f"在输出前新增判断（{zh}），条件成立时还会执行“{new['title']}”。")
    ops.append(AddEdge(source=cond["id"], target=gate.id, source_handle=case))
    ops += [AddEdge(source=cond["id"], target=t, source_handle="else") for t in b.successors(c.graph, gate.id)]
    return ops, Note(f"'{gate.title or gate.id}' now runs only when {en}.", f"“{gate.title or gate.id}”现在只在{zh}时执行。")


# ---------------------------------------------------------------- parallel sources ("also pull data from HubSpot at the same time")


def _sources(graph: WorkflowGraph) -> list[Node]:
    return [n for n in b.topo_nodes(graph)
            if isinstance(n, KnowledgeNode) or (isinstance(n, ApiNode) and n.config.method == "GET")]


def rule_parallel_source(c: Ctx) -> Step | None:
    """Another source read side by side with the workflow's first one (or, with none, next to
    the first step that reads the input), feeding the same step."""
    if "integration" in c.consumed or has_any(c.t, INSTEAD_CUES):
        return None
    text = gen_normalize(c.raw)
    if not ph.FETCH.search(text) or not (ph.PARALLEL.search(text) or has_any(c.t, ALSO_CUES)):
        return None
    _, _, srcs = ent.find_integrations(text)
    if not srcs:
        return None
    c.consumed.add("integration")
    lang = language_of(c.raw)
    graph = c.graph
    present = {n.config.service for n in graph.nodes if isinstance(n, ApiNode)}
    new = [s for s in srcs if s not in present]
    if not new:
        raise Unable("The workflow already reads from there.", "工作流已经在从那里读取数据。")
    sources = _sources(graph)
    start = b.input_node(graph)
    if sources:
        anchor = sources[0]
        before = [e for e in graph.edges if e.target == anchor.id]
        consumers = [t for t in b.successors(graph, anchor.id)]
    else:
        first = next((n for n in b.topo_nodes(graph) if isinstance(n, LlmNode)), None)
        if first is None or start is None:
            raise Unable("There is no step that could use the data.", "没有可以使用这些数据的步骤。")
        before, consumers = [], [first.id]
    graft = Graft(graph, lang)
    ports = [Port(e.source, e.source_handle) for e in before] or [Port(start.id if start else "start")]
    ops: list[EditOp] = []
    names: list[str] = []
    refs: list[tuple[str, str]] = []
    for sid in new:
        step = SourceStep(id=f"fetch_{sid}", service=sid, quote=c.raw[:200])
        graft.step(step, ports, [])
        refs.append((display(sid), graft.ref(step.id)))
        names.append(display(sid))
    ops += graft.ops()
    by_id = {n.id: n for n in graph.nodes}
    for added in graft.nodes:
        ops += [AddEdge(source=added["id"], target=t) for t in consumers]
    extra = "".join(f"\n\n{name}:\n{{{{ {ref} }}}}" for name, ref in refs)
    for t in consumers:
        node = by_id.get(t)
        if isinstance(node, LoopNode):  # the loop's first AI step reads it (outer steps are in scope)
            node = next((n for n in node.config.body.nodes if isinstance(n, LlmNode)), None)
        if isinstance(node, LlmNode):
            ops.append(UpdateNode(node_id=node.id, config={"prompt": node.config.prompt.rstrip() + extra}))
    where = f"'{sources[0].title or sources[0].id}'" if sources else "the input"
    en, zh = " and ".join(names), "和".join(names)
    readers = ", ".join(f"'{by_id[t].title or t}'" for t in consumers if t in by_id)
    return ops, Note(f"Added a step that reads {en} at the same time as {where}; its data goes to {readers}.",
                     f"新增从{zh}读取数据的步骤，与{'“' + (sources[0].title or sources[0].id) + '”' if sources else '输入'}同时进行，数据提供给{readers}。")
