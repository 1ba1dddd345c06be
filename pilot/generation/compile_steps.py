"""How each plan step becomes nodes (used by :mod:`pilot.generation.compiler`; pure).

A :class:`Builder` walks the plan with a list of *ports* (a node id plus the condition handle the
next node hangs off) and the *data refs* the next step reads (``nodes.fetch.output.body``). The
per-service node shapes (delivery arguments, endpoints) live in :mod:`pilot.generation.services`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import msgspec

from pilot.chat.graph_ops import unique_id
from pilot.generation import services
from pilot.generation.storage import agent_config
from pilot.generation.plan import (
    OP_SYMBOLS,
    AiStep,
    BranchStep,
    Comparison,
    DeliverStep,
    LoopStep,
    ParallelStep,
    PlanField,
    RespondStep,
    SourceStep,
    Step,
    SubflowStep,
    TransformStep,
    WaitStep,
    WorkflowPlan,
    walk,
)

_DICT_METHODS = frozenset({"items", "keys", "values", "get", "update", "pop", "popitem", "copy", "clear", "setdefault",
                           "fromkeys"})
TRIGGER_FIELD = {"webhook": ("payload", "object"), "form": ("submission", "object"), "chat": ("message", "string"),
                 "app_event": ("event", "object")}


@dataclass(frozen=True)
class Port:
    node: str
    handle: str | None = None


class Builder:
    """Accumulates node/edge dicts for one plan; ``nodes``/``edges`` point at the current scope."""

    def __init__(self, plan: WorkflowPlan) -> None:
        self.plan = plan
        self.zh = plan.language == "zh"
        self.taken: set[str] = {"start", "result"}
        self.nodes: list[dict[str, Any]] = []
        self.edges: list[dict[str, Any]] = []
        self.fields: list[dict[str, Any]] = [msgspec_field(f) for f in plan.inputs]
        self.refs: dict[str, str] = {"inputs": "inputs"}
        self.current: list[str] = []
        self.in_loop = False
        self.loop_item = "item"  # what a loop body's item is ("item.item" after a wait that carried results)
        self.loop_quote = ""  # the words of the loop being built (a delivery inside names its table from them)
        self.tested = _tested_fields(plan)
        self.input_id = "start"
        self.nodes.append({"id": "start", "type": "input", "title": self._t("开始", "Start"), "config": {"fields": []}})
        self.respond: list[str] | None = None

    # ---------------------------------------------------------------- plumbing

    def _t(self, zh: str, en: str) -> str:
        return zh if self.zh else en

    def uid(self, base: str) -> str:
        nid = unique_id(base.lower(), self.taken)
        self.taken.add(nid)
        return nid

    def emit(self, node: dict[str, Any], ports: list[Port], quote: str = "") -> list[Port]:
        if quote:
            node["description"] = quote[:300]
        self.nodes.append(node)
        for p in ports:
            eid = unique_id(f"e_{p.node}_{node['id']}", {e["id"] for e in self.edges})
            edge = {"id": eid, "source": p.node, "target": node["id"]}
            if p.handle is not None:
                edge["source_handle"] = p.handle
            self.edges.append(edge)
        return [Port(node["id"])]

    def input_field(self, name: str, *, type_: str = "string", required: bool = True, description: str = "") -> str:
        """Declare a run input once; returns its reference (``inputs.<name>``). A name that is a
        dict method in jinja2 (``inputs.items`` is the method) gets a suffix."""
        if name in _DICT_METHODS:
            name = f"{name}_list" if type_ == "array" else f"{name}_value"
        if not any(f["name"] == name for f in self.fields):
            self.fields.append({"name": name, "type": type_, "required": required, "description": description})
        return f"inputs.{name}"

    def payload_path(self, path: str) -> str | None:
        """A plan's ``payload.<x>`` as the run input the trigger fills (a form's ``submission.<x>``,
        an app's ``event.<x>``); None for any other path or a trigger that delivers nothing."""
        kind = trigger_kind(self.plan)
        if not path.startswith("payload.") or kind not in TRIGGER_FIELD:
            return None
        return TRIGGER_FIELD[kind][0] + path.removeprefix("payload")

    def trigger_data(self) -> str | None:
        """``inputs.<field>``: what the trigger delivers (declared as a run input), or None."""
        kind = trigger_kind(self.plan)
        if kind not in TRIGGER_FIELD:
            return None
        name, type_ = TRIGGER_FIELD[kind]
        return self.input_field(name, type_=type_, description=self._t("触发时收到的数据", "what the trigger received"))

    def data(self) -> list[str]:
        """What the next step reads: the latest data, else the trigger's payload / the text input."""
        if self.current:
            return self.current
        kind = trigger_kind(self.plan)
        if kind in TRIGGER_FIELD:
            name, type_ = TRIGGER_FIELD[kind]
            return [self.input_field(name, type_=type_, description=self._t("触发时收到的数据", "what the trigger received"))]
        if kind == "manual":
            if self.fields:
                return [f"inputs.{self.fields[0]['name']}"]
            return [self.input_field("text", description=self._t("要处理的内容", "the text to work on"))]
        return []

    # ---------------------------------------------------------------- steps

    def steps(self, steps: list[Step], ports: list[Port]) -> list[Port]:
        i = 0
        while i < len(steps):
            if i + 1 < len(steps) and _writes_only_for(steps[i], steps[i + 1]):
                # the message of the next delivery alone ("send them a welcome email, and log them in
                # Notion"): what later steps read stays what came before it, not the welcome text
                before = list(self.current)
                ports = self.step(steps[i + 1], self.step(steps[i], ports))
                self.current, i = before, i + 2
                continue
            ports = self.step(steps[i], ports)
            i += 1
        return ports

    def step(self, step: Step, ports: list[Port]) -> list[Port]:
        if isinstance(step, SourceStep):
            return self.source(step, ports)
        if isinstance(step, AiStep):
            return self.ai(step, ports)
        if isinstance(step, DeliverStep):
            return self.deliver(step, ports)
        if isinstance(step, BranchStep):
            return self.branch(step, ports)
        if isinstance(step, ParallelStep):
            return self.parallel(step, ports)
        if isinstance(step, LoopStep):
            return self.loop(step, ports)
        if isinstance(step, WaitStep):
            return self.wait(step, ports)
        if isinstance(step, TransformStep):
            return self.transform(step, ports)
        if isinstance(step, SubflowStep):
            return self.subflow(step, ports)
        if isinstance(step, RespondStep):
            self.respond = [self.refs.get(step.content, step.content)] if step.content else list(self.current)
            return ports
        raise TypeError(f"unknown plan step {step!r}")

    def source(self, s: SourceStep, ports: list[Port]) -> list[Port]:
        if s.from_ in ("input", "file"):
            name = re.sub(r"\W", "_", s.service or ("file_text" if s.from_ == "file" else "text")).lower()
            ref = self.input_field(name, description=s.quote[:200])
            self.refs[s.id] = ref
            self.current = [ref]
            return ports
        if s.from_ == "knowledge":
            nid = self.uid(s.id)
            query = "{{ " + (self.data() or [self.input_field("question")])[0] + " }}"
            out = self.emit({"id": nid, "type": "knowledge", "title": self._t("检索知识库", "Search the knowledge base"),
                             "config": {"knowledge_base": s.service or "default", "query": query, "top_k": 4}}, ports, s.quote)
            self.refs[s.id] = f"nodes.{nid}.output"
        else:
            node = services.source_node(self, s)
            out = self.emit(node, ports, s.quote)
            self.refs[s.id] = f"nodes.{node['id']}.output.body"
        self.current = [self.refs[s.id]]
        return out

    def ai(self, s: AiStep, ports: list[Port]) -> list[Port]:
        nid = self.uid(s.id)
        inputs = self.data()
        if trigger_kind(self.plan) == "chat":
            # "它自己去查MySQL然后回答", "answer from our policy docs": what was fetched, and the question it answers
            name, type_ = TRIGGER_FIELD["chat"]
            message = self.input_field(name, type_=type_, description=self._t("触发时收到的数据", "what the trigger received"))
            inputs = inputs if message in inputs else [message, *inputs]
        schema = _schema(s, self.tested.get(s.id, {}))
        prompt = services.ai_prompt(self, s, inputs)
        if s.task == "agent":  # an LLM calling the tools the request named (pilot.generation.storage)
            node = {"id": nid, "type": "agent", "title": services.ai_title(self, s),
                    "config": agent_config(self, s, services.ai_system(self, s), prompt, schema)}
        else:
            node = {"id": nid, "type": "llm", "title": services.ai_title(self, s),
                    "config": {"model": "gpt-4o-mini", "system": services.ai_system(self, s), "prompt": prompt,
                               "temperature": 0.2 if schema else 0.7, **({"output_schema": schema} if schema else {})}}
        out = self.emit(node, ports, s.quote)
        self.refs[s.id] = f"nodes.{nid}.output"
        # A judgement (category, score) travels with what was judged: deliveries get both.
        self.current = [*inputs, self.refs[s.id]] if s.task in ("classify", "score") else [self.refs[s.id]]
        return out

    def transform(self, s: TransformStep, ports: list[Port]) -> list[Port]:
        nid = self.uid(s.id)
        data = (self.data() or ["inputs"])[0]
        node = {"id": nid, "type": "transform", "title": _transform_title(self, s), "config": _transform_config(s, data)}
        out = self.emit(node, ports, s.quote)
        self.refs[s.id] = f"nodes.{nid}.output"
        self.current = [self.refs[s.id]]
        return out

    def subflow(self, s: SubflowStep, ports: list[Port]) -> list[Port]:
        nid = self.uid(s.id)
        data = self.data()
        inputs = dict(s.inputs) or ({"data": "{{ " + data[0] + " }}"} if data else {})
        # the name as said ("cleanup", "数据清理"): the panel and readiness ask for the real workflow
        slug = (re.sub(r"[^\w]+", "_", s.workflow.lower()).strip("_") or "workflow")[:64]
        node = {"id": nid, "type": "workflow", "title": self._t(f"运行工作流「{s.workflow}」", f"Run the {s.workflow} workflow"),
                "config": {"workflow_id": slug, "inputs": inputs}}
        out = self.emit(node, ports, s.quote)
        self.refs[s.id] = f"nodes.{nid}.output"
        self.current = [self.refs[s.id]]
        return out

    def deliver(self, s: DeliverStep, ports: list[Port]) -> list[Port]:
        # a quoted message is sent as it is: a jinja string literal, which no text in it can escape
        content = [self.refs[s.content]] if s.content in self.refs else [json.dumps(s.text, ensure_ascii=False)] if s.text \
            else self.data()
        node = services.delivery_node(self, s, content)
        return self.emit(node, ports, s.quote)

    def wait(self, s: WaitStep, ports: list[Port]) -> list[Port]:
        nid = self.uid(s.id)
        if s.approval:
            approval: dict[str, Any] = {"prompt": s.approval[:4000]}
            if s.approver:
                approval["approvers"] = [s.approver]
            config: dict[str, Any] = {"approval": approval}
            title = self._t("等待审批", "Wait for approval") + (f" ({s.approver})" if s.approver else "")
        elif s.until and s.offset_s:  # "an hour before the appointment": its time (the trigger's, else a run input), moved
            path = self.payload_path(s.until)
            if path:
                self.trigger_data()  # the trigger's data is a run input the wait reads
            until = f"inputs.{path}" if path else self.input_field("wait_until", description=self._t(
                f"{s.until}的时间（ISO-8601）", f"the time of {s.until} (ISO-8601)"))
            ahead = _duration(abs(s.offset_s), self.zh)
            config = {"until": "{{ " + until + " }}", "offset_s": s.offset_s}
            what = self._t("开始时间", "the start time") if s.until == "payload.start_time" else s.until.removeprefix("payload.")
            title = self._t(f"等到{what}前{ahead}", f"Wait until {ahead} before {what}") if s.offset_s < 0 else \
                self._t(f"等到{what}后{ahead}", f"Wait until {ahead} after {what}")
        elif s.until:
            until = s.until if re.fullmatch(r"[\w.]+", s.until) and "." in s.until else self.input_field(
                "wait_until", description=self._t(f"何时继续（ISO-8601 时间）：{s.until}", f"when to continue (ISO-8601 time): {s.until}"))
            config, title = {"until": "{{ " + until + " }}"}, self._t(f"等到 {s.until}", f"Wait until {s.until}")
        else:
            seconds = s.duration_s or 3600.0
            config, title = {"duration_s": seconds}, self._t(f"等待 {_duration(seconds, True)}", f"Wait {_duration(seconds, False)}")
        node: dict[str, Any] = {"id": nid, "type": "wait", "title": title, "config": config}
        if s.approval and s.id in self.tested:
            # a branch tests the decision: a rejection is an answer, not a failure of the run
            node.update(on_error="default", default_output={"approved": False, "comment": ""})
        out = self.emit(node, ports, s.quote)
        self.refs[s.id] = f"nodes.{nid}.output"  # the data flowing on stays what was waited for
        return out

    def branch(self, s: BranchStep, ports: list[Port]) -> list[Port]:
        nid = self.uid(s.id)
        subject = self.refs.get(s.on, "inputs" if s.on == "inputs" else f"nodes.{s.on}.output")
        cases, handles = [], []
        for i, case in enumerate(s.cases):
            handle = _case_id(case.label, i, handles)
            handles.append(handle)
            cond = case.when or Comparison(subject=s.on, field=s.field, op="eq", value=case.label)
            cases.append({"id": handle, "when": self.expression(cond, subject)})
        out = self.emit({"id": nid, "type": "condition", "title": services.branch_title(self, s),
                         "config": {"cases": cases}}, ports, s.quote)
        before = list(self.current)
        ends: list[Port] = []
        for handle, case in zip(handles, s.cases):
            self.current = list(before)
            ends += self.steps(case.steps, [Port(nid, handle)])
        self.current = list(before)
        ends += self.steps(s.otherwise or [], [Port(nid, "else")])
        self.current = before
        return ends or out

    def expression(self, c: Comparison, subject: str) -> str:
        # A subject that is not upstream here (or the loop's item) tests the data this step reads.
        base = "inputs" if c.subject == "inputs" else self.refs.get(c.subject) or (self.data() or ["inputs"])[0]
        field = c.field
        if base == "inputs":
            field = self.payload_path(field) or field
        if field == "status_code" and base.endswith(".output.body"):
            base, field = base.removesuffix(".body"), "status"  # a request's HTTP status is beside its body
            self._status_when_unreachable(base.split(".")[1])
        lhs = f"{base}.{field}" if field else base
        if c.op == "truthy":
            return lhs
        v = c.value
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        value = json.dumps(v, ensure_ascii=False) if isinstance(v, str) else (
            "true" if v is True else "false" if v is False else "none" if v is None else repr(v))
        if c.op == "contains":
            return f"{value} in ({lhs} | string | lower)" if isinstance(v, str) else f"{value} in {lhs}"
        return f"{lhs} {OP_SYMBOLS[c.op]} {value}"

    def _status_when_unreachable(self, nid: str) -> None:
        """A request whose status is tested answers status 0 when the host cannot be reached, so
        "if it's down, page on-call" runs its case instead of the run failing at the request."""
        node = next((n for n in self.nodes if n["id"] == nid and n["type"] == "api"), None)
        if node is not None:
            node.update(on_error="default", default_output={"status": 0, "headers": {}, "body": None})

    def parallel(self, s: ParallelStep, ports: list[Port]) -> list[Port]:
        branches = [branch for branch in s.branches if branch]
        if not branches:  # every branch was refused ("…同时发到钉钉群和飞书群。不用发任何通知"): nothing runs here
            return ports
        before = list(self.current)
        ends: list[Port] = []
        merged: list[str] = []
        for branch in branches:
            self.current = list(before)
            ends += self.steps(branch, ports)
            merged += [r for r in self.current if r not in merged]
        self.current = merged
        return ends

    def _listed(self, ref: str) -> str:
        """``ref``, or the one list an AI step's structured output holds ("把待办事项一条条拆出来，
        然后逐条在Jira里建任务": the loop goes over the extracted items, not the whole answer)."""
        parts = ref.split(".")
        node = next((n for n in self.nodes if len(parts) == 3 and parts[0] == "nodes" and n["id"] == parts[1]), None)
        schema = (node or {}).get("config", {}).get("output_schema") or {}
        arrays = [k for k, v in (schema.get("properties") or {}).items() if v.get("type") == "array"]
        return f"{ref}.{arrays[0]}" if len(arrays) == 1 and len(schema["properties"]) == 1 else ref

    def loop(self, s: LoopStep, ports: list[Port], *, carry: frozenset[str] = frozenset()) -> list[Port]:
        """A loop node over ``s.over``; a wait in the body splits it (see below). With ``carry``
        (step ids of the body) each item's result is ``{"item": the item, <id>: that step's output}``."""
        s = msgspec.structs.replace(s, steps=_case_waits_lifted(s.steps))
        at = next((k for k, step in enumerate(s.steps) if isinstance(step, WaitStep)), None)
        if at is not None:
            # A wait pauses the whole run, so it cannot sit in a loop body: "draft a reply for each,
            # let me approve them, then post each" is loop → wait → loop over the first loop's results.
            before = msgspec.structs.replace(s, steps=s.steps[:at])
            after = LoopStep(id=f"{s.id}_after", quote=s.quote, over=s.id, steps=s.steps[at + 1:])
            # "score each lead, wait a day, then if the score is above 7 …": what the second loop tests
            # of the first one's steps comes with each item of its results
            needed = frozenset(_referenced(after.steps) & {x.id for x in walk(before.steps)}) if before.steps else frozenset()
            ports = self.loop(before, ports, carry=needed) if before.steps else ports
            ports = self.wait(s.steps[at], ports)
            if not after.steps:
                return ports
            saved = {k: self.refs.get(k) for k in needed}
            self.refs.update({k: f"item.{k}" for k in needed})
            ports = self._carried_loop(after, ports) if needed else self.loop(after, ports)
            self.refs.update({k: v for k, v in saved.items() if v is not None})
            return ports
        nid = self.uid(s.id)
        if s.over != "inputs" and s.over in self.refs:
            over = self.refs[s.over]
        elif self.current or trigger_kind(self.plan) in TRIGGER_FIELD:
            over = self._listed(self.data()[0])
        else:  # nothing fetched: the list is a run input
            over = self.input_field("items", type_="array", description=self._t("要逐条处理的列表", "the list to process item by item"))
        items = f"{{{{ {over} | batch({s.batch_size}) | list }}}}" if s.batch_size else f"{{{{ {over} }}}}"
        outer = (self.nodes, self.edges, self.current, self.in_loop, self.loop_quote)
        item = self.loop_item
        self.nodes, self.edges, self.current, self.in_loop, self.loop_quote = [], [], [item], True, s.quote
        saved_refs = dict(self.refs)
        self.refs["item"] = item
        if s.over in self.refs and s.over != "inputs":
            self.refs[s.over] = item  # inside the body, what the loop goes over is one item of it
        ends = self.steps(s.steps, [])
        if carry:
            outputs = {"item": "{{ item }}", **{k: "{{ " + self.refs[k] + " }}" for k in sorted(carry) if k in self.refs}}
            self.emit({"id": self.uid("carry"), "type": "output", "title": self._t("带到下一步", "Carried on"),
                       "config": {"outputs": outputs}}, ends, s.quote)
        self.refs = {**saved_refs, **{k: v for k, v in self.refs.items() if k not in saved_refs and k != "item"}}
        body = {"nodes": self.nodes, "edges": self.edges}
        self.nodes, self.edges, self.current, self.in_loop, self.loop_quote = outer
        if not body["nodes"]:
            return ports
        title = self._t(f"每批 {s.batch_size} 条处理", f"In batches of {s.batch_size}") if s.batch_size else self._t(
            "逐条处理", "For each item")
        out = self.emit({"id": nid, "type": "loop", "title": title,
                         "config": {"items": items, "body": body, "max_concurrency": 4, "max_items": 1000}}, ports, s.quote)
        self.refs[s.id] = f"nodes.{nid}.output"
        self.current = [self.refs[s.id]]
        return out

    def _carried_loop(self, s: LoopStep, ports: list[Port]) -> list[Port]:
        """The loop after a wait over results that carry their item (``{"item": …, <id>: …}``):
        inside it the item the request talks about is ``item.item``."""
        self.loop_item = "item.item"
        try:
            return self.loop(s, ports)
        finally:
            self.loop_item = "item"

    # ---------------------------------------------------------------- the ends

    def finish(self, ports: list[Port]) -> None:
        start = self.nodes[0]
        trigger = msgspec_trigger(self.plan)
        start["config"] = {"fields": self.fields, **({"trigger": trigger} if trigger["kind"] != "manual" else {})}
        start["title"] = services.trigger_title(self, trigger)
        refs = self.respond if self.respond is not None else self.current
        outputs = {_out_name(r, i): "{{ " + r + " }}" for i, r in enumerate(refs)} or {"status": "done"}
        self.emit({"id": "result", "type": "output", "title": self._t("结果", "Result"),
                   "config": {"outputs": outputs}}, ports or [Port("start")])


def msgspec_field(f: PlanField) -> dict[str, Any]:
    return {"name": f.name, "type": f.type, "required": True, "description": f.description}


def trigger_kind(plan: WorkflowPlan) -> str:
    return plan.trigger.__struct_config__.tag  # type: ignore[return-value]


def msgspec_trigger(plan: WorkflowPlan) -> dict[str, Any]:
    return msgspec.to_builtins(plan.trigger)


def _tested_fields(plan: WorkflowPlan) -> dict[str, dict[str, Any]]:
    """{ai step id: {field: example value}} for every field a branch tests, so the AI step's
    ``output_schema`` provides it."""
    tested: dict[str, dict[str, Any]] = {}
    for step in walk(plan.steps):
        if isinstance(step, BranchStep):
            for case in step.cases:
                c = case.when
                subject, field, value = (c.subject, c.field, c.value) if c else (step.on, step.field, case.label)
                if subject != "inputs" and field:
                    tested.setdefault(subject, {})
                    labels = tested[subject].setdefault(field, [])
                    labels.append(value)
    return tested


def _schema(s: AiStep, tested: dict[str, list[Any]]) -> dict[str, Any] | None:
    props: dict[str, Any] = {}
    if s.task == "classify":
        cats = [c for c in s.categories if c] + [str(v) for v in tested.get("category", []) if isinstance(v, str)]
        props["category"] = {"type": "string", "enum": list(dict.fromkeys([*cats, "other"]))}
    if s.task == "score":
        # the scale the request gives ("from 1 to 5", "满分100"), else the one its thresholds need (80+ is out of 100)
        scale = re.search(r"\b(?:from\s+)?([01])\s*(?:-|–|to)\s*(5|10|100)\b|满分\s*(100|10|5)|(?:out of|/)\s*(100|10|5)\b", s.instruction)
        top = next((g for g in scale.groups()[1:] if g), None) if scale else None
        low = scale.group(1) if scale and scale.group(1) else "0"
        tested_max = max((v for v in tested.get("score", []) if isinstance(v, (int, float)) and not isinstance(v, bool)), default=0)
        props["score"] = {"type": "number", "description": f"{low}-{top}" if top else "0-100" if tested_max > 10 else "0-10"}
        props["reason"] = {"type": "string"}
    if s.task == "extract" and not s.fields:
        # "pull out all the key dates": what is extracted names the field (a list when plural)
        what = re.search(r"(?:extract|pull out|pull|get|find|list|capture|identify)\s+(?:all\s+)?(?:the\s+|of\s+the\s+)?([a-z][a-z ]{2,30}?)\s*(?:from|in|of|$)",
                         s.instruction.lower())
        name = re.sub(r"\W+", "_", what.group(1).strip()) if what else "extracted"
        props[name] = {"type": "array", "items": {"type": "string"}} if name.endswith("s") else {"type": "string"}
    for f in s.fields:
        spec: dict[str, Any] = {"type": f.type}
        if f.enum:
            spec["enum"] = f.enum
        if f.description:
            spec["description"] = f.description
        props.setdefault(f.name, spec)
    for field, values in tested.items():
        if field not in props:
            numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values if v is not None)
            boolean = all(isinstance(v, bool) for v in values if v is not None) and values
            props[field] = {"type": "boolean" if boolean else "number" if numeric and values else "string"}
    if not props:
        return None
    return {"type": "object", "properties": props, "required": list(props)}


def _transform_config(s: TransformStep, data: str) -> dict[str, Any]:
    """The ``transform`` node config for a plan step reading ``data`` (a jinja2 reference)."""
    def ref(field: str, base: str) -> str:
        return field if "{{" in field else "{{ " + f"{base}.{field}" + " }}"

    if s.dedupe_by:
        return {"mode": "aggregate", "items": data, "group_by": f"item.{s.dedupe_by}",
                "aggregates": {"row": {"op": "first", "of": "item"}}}
    if s.mode == "aggregate":
        aggs: dict[str, Any] = {}
        for name, spec in (s.aggregates or {"count": "count"}).items():
            op, _, field = spec.partition(":")
            # every op but count needs what it reads: the whole item when no field is named
            aggs[name] = {"op": op, **({"of": f"item.{field}"} if field else {} if op == "count" else {"of": "item"})}
        return {"mode": "aggregate", "items": data, "aggregates": aggs,
                **({"group_by": f"item.{s.group_by}"} if s.group_by else {})}
    if s.mode == "filter":
        return {"mode": "filter", "items": data, "where": s.where or "item"}
    if s.mode == "map":
        return {"mode": "map", "items": data, "fields": {k: ref(v, "item") for k, v in s.fields.items()} or {"item": "{{ item }}"}}
    return {"fields": {k: ref(v, data) for k, v in s.fields.items()} or {"data": "{{ " + data + " }}"}}


def _transform_title(b: Builder, s: TransformStep) -> str:
    if s.dedupe_by:
        return b._t(f"按 {s.dedupe_by} 去重", f"Remove duplicates by {s.dedupe_by}")
    if s.mode == "aggregate":
        by = f" per {s.group_by}" if s.group_by else ""
        return b._t(f"按 {s.group_by} 汇总" if s.group_by else "汇总", f"Aggregate{by}")
    if s.mode == "filter":
        return b._t("筛选", "Keep the matching items")
    if s.fields:
        names = ", ".join(list(s.fields)[:4])
        return b._t(f"整理字段：{names}", f"Reshape: {names}")
    return b._t("转换数据", "Transform the data")


def _writes_only_for(step: Step, delivery: Step) -> bool:
    """Whether ``step`` is an AI step that writes ``delivery``'s message and nothing else: right
    before it, said in the same words, and its content (pilot.generation.planner_messages)."""
    return isinstance(step, AiStep) and isinstance(delivery, DeliverStep) and delivery.content == step.id \
        and step.task == "generate" and step.quote == delivery.quote


def _duration(seconds: float, zh: bool) -> str:
    for size, en, cn in ((86400, "day", "天"), (3600, "hour", "小时"), (60, "minute", "分钟")):
        if seconds >= size and seconds % size == 0:
            n = int(seconds // size)
            return f"{n} {cn}" if zh else f"{n} {en}{'s' if n != 1 else ''}"
    return f"{int(seconds)} 秒" if zh else f"{int(seconds)} s"


def _case_id(label: str, index: int, taken: list[str]) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:40]
    if not slug or not re.match(r"[a-z_]", slug) or slug == "else" or slug in taken:
        slug = f"case_{index + 1}"
    return slug


def _out_name(ref: str, index: int) -> str:
    parts = [p for p in ref.split(".") if p not in ("nodes", "output", "body", "inputs")]
    name = re.sub(r"\W", "_", parts[0] if parts else "result")
    return name if index == 0 or name else f"result_{index + 1}"


def _referenced(steps: list[Step]) -> set[str]:
    """Step ids the steps read: what a branch tests, a delivery sends, a loop goes over."""
    found: set[str] = set()
    for step in walk(steps):
        if isinstance(step, BranchStep):
            found.add(step.on)
            found.update(c.when.subject for c in step.cases if c.when is not None)
        elif isinstance(step, (DeliverStep, RespondStep)) and step.content:
            found.add(step.content)
        elif isinstance(step, LoopStep):
            found.add(step.over)
    return found


def _case_waits_lifted(steps: list[Step]) -> list[Step]:
    """"逐条看：低于3星的让AI写回复，等我审批通过后再发到淘宝": a wait inside a case of a loop
    body's branch (its else too, a parallel branch, or a loop nested in the body) comes out of it,
    with what follows it there, to run after that step; the loop is then split at it (a wait pauses
    the whole run, so no loop body may hold one). One wait per call: the split loops call it again."""
    if any(isinstance(step, WaitStep) for step in steps):
        return steps
    for k, step in enumerate(steps):
        if isinstance(step, BranchStep):
            arms = [*(c.steps for c in step.cases), *([step.otherwise] if step.otherwise else [])]
        elif isinstance(step, ParallelStep):
            arms = list(step.branches)
        elif isinstance(step, LoopStep):
            inner = _case_waits_lifted(step.steps)
            at = next((j for j, x in enumerate(inner) if isinstance(x, WaitStep)), None)
            if at is None:
                continue
            # a loop in the body holding a wait: loop → wait → loop over the first one's results
            head = msgspec.structs.replace(step, steps=inner[:at])
            tail = LoopStep(id=f"{step.id}_after", quote=step.quote, over=step.id if inner[:at] else step.over, steps=inner[at + 1:])
            return [*steps[:k], *([head] if inner[:at] else []), inner[at], *([tail] if tail.steps else []), *steps[k + 1:]]
        else:
            continue
        for a, arm in enumerate(arms):
            arm = _case_waits_lifted(arm)
            at = next((j for j, inner in enumerate(arm) if isinstance(inner, WaitStep)), None)
            if at is not None:
                return [*steps[:k], _with_arm(step, a, arm[:at]), *arm[at:], *steps[k + 1:]]
    return steps


def _with_arm(step: BranchStep | ParallelStep, index: int, arm: list[Step]) -> Step:
    """``step`` with its ``index``-th arm (cases, then the else; or parallel branches) replaced."""
    if isinstance(step, ParallelStep):
        return msgspec.structs.replace(step, branches=[arm if b == index else x for b, x in enumerate(step.branches)])
    if index < len(step.cases):
        return msgspec.structs.replace(step, cases=[msgspec.structs.replace(c, steps=arm) if b == index else c
                                                    for b, c in enumerate(step.cases)])
    return msgspec.structs.replace(step, otherwise=arm)
