"""The LLM edit planner: instructor-structured edit operations, validated by applying them.

The response model's validator decodes the ops into :mod:`pilot.chat.edits` Structs and runs
:func:`apply_edits` on the current graph, so an op list that references a missing step, breaks
the graph or has a malformed node fails *validation*: instructor sends that error back and
re-asks (``settings.llm.reask_retries`` times). When it still fails (or the transport does),
:func:`plan_with_llm` raises :class:`StructuredOutputError` and the caller falls back to the
rule-based planner. Pydantic lives only here, at the instructor boundary.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Literal

import msgspec
from pydantic import BaseModel, Field, create_model, model_validator

from pilot.chat.edits import OP_NAMES, EditError, EditOp, apply_edits, decode_ops
from pilot.llm.schemas import StructuredOutputError
from pilot.llm.structured import structured
from pilot.settings import LLMSettings
from pilot.workflows.model import InputNode, LlmNode, ToolNode, WorkflowGraph, node_type

OpName = Literal["add_node", "remove_node", "update_node", "add_edge", "remove_edge", "set_setting", "wrap_in_loop"]
assert set(OpName.__args__) == set(OP_NAMES)  # type: ignore[attr-defined]


class OpModel(BaseModel):
    """One edit operation (fields unused by an op are left out)."""

    op: OpName
    node: dict[str, Any] | None = Field(None, description="add_node: the new node {id, type, title, config}")
    after: list[str] | None = Field(None, description="add_node: ids of the steps it comes after")
    before: list[str] | None = Field(None, description="add_node: ids of the steps it comes before")
    node_id: str | None = Field(None, description="remove_node / update_node: the step's id")
    config: dict[str, Any] | None = Field(None, description="update_node: JSON merge patch of the step's config")
    fields: dict[str, Any] | None = Field(None, description="update_node: title/description/retry/timeout_s/on_error")
    source: str | None = None
    target: str | None = None
    source_handle: str | None = None
    edge_id: str | None = None
    key: Literal["schedule", "deadline_s", "max_concurrency"] | None = Field(None, description="set_setting")
    value: Any = Field(None, description="set_setting: the value (a cron string for schedule, null to clear)")
    node_ids: list[str] | None = Field(None, description="wrap_in_loop: steps to run once per item")
    loop_id: str | None = None
    items: str | None = Field(None, description="wrap_in_loop: expression giving the list, e.g. inputs.rows")
    per_item_input: str | None = None

    def raw(self) -> dict[str, Any]:
        data = self.model_dump(exclude_none=True)
        if self.op == "set_setting":
            data["value"] = self.value  # null is meaningful here (clear the schedule)
        return data


class EditPlanBase(BaseModel):
    """The edit to make: operations in order plus one or two sentences for the user."""

    ops: list[OpModel] = Field(description="edit operations, applied in order, all or nothing")
    explanation: str = Field(description="what was changed, in the user's language, one or two sentences")
    current_graph: ClassVar[WorkflowGraph | None] = None

    @model_validator(mode="after")
    def _applies_cleanly(self) -> EditPlanBase:
        graph = type(self).current_graph
        if not self.ops:
            raise ValueError("ops must not be empty: give at least one operation that makes the requested change")
        try:
            ops = decode_ops([op.raw() for op in self.ops])
            if graph is not None:
                apply_edits(graph, ops)
        except EditError as exc:
            raise ValueError(f"these operations cannot be applied: {exc.detail}") from None
        return self

    def edit_ops(self) -> list[EditOp]:
        return decode_ops([op.raw() for op in self.ops])


def plan_model_for(graph: WorkflowGraph) -> type[EditPlanBase]:
    """A response model bound to ``graph`` (its validator applies the ops to it)."""
    model = create_model("EditPlan", __base__=EditPlanBase)
    model.current_graph = graph
    return model


def describe_graph(graph: WorkflowGraph) -> str:
    """A compact JSON picture of the graph for the prompt (configs trimmed)."""
    nodes = []
    for n in graph.nodes:
        item: dict[str, Any] = {"id": n.id, "type": node_type(n), "title": n.title}
        if isinstance(n, LlmNode):
            item["model"] = n.config.model
            item["system"] = n.config.system[:300]
        elif isinstance(n, ToolNode):
            item["tool"] = n.config.tool
        elif isinstance(n, InputNode):
            item["fields"] = [f.name for f in n.config.fields]
        else:
            cfg = msgspec.to_builtins(n.config)
            cfg.pop("body", None)
            text = json.dumps(cfg, ensure_ascii=False, default=str)
            item["config"] = cfg if len(text) <= 400 else text[:400] + "…"
        nodes.append(item)
    edges = [[e.source, e.target] + ([e.source_handle] if e.source_handle else []) for e in graph.edges]
    return json.dumps({"nodes": nodes, "edges": edges, "settings": msgspec.to_builtins(graph.settings)}, ensure_ascii=False)


SYSTEM = """You edit πlot workflows (DAGs of typed nodes: input, llm, condition, loop, api, knowledge, tool, output,
and the v2 types transform, code, agent, workflow, wait).
Return the MINIMAL list of operations that makes the user's requested change; leave everything else as it is.
Operations:
- add_node {node: {id, type, title, config}, after: [ids], before: [ids]} — with both after and before, the
  node is spliced into those edges; with only before, it takes over the target's incoming edges.
  tool config: {tool: "email"|"slack"|"webhook", arguments: {...}} (email: to, subject, body; slack: text,
  channel?; webhook: url, payload). llm config: {model, prompt, system?, temperature?}. Reference other
  outputs with jinja2: {{ nodes.<id>.output }}, inputs with {{ inputs.<name> }}.
  v2 configs (use them for these requests; never an llm step for them):
  wait (a pause, "wait 2 days before sending the email"): exactly one of {duration_s: <seconds>},
  {until: "{{ <expression giving an ISO-8601 time> }}"}, {approval: {prompt, approvers?: [who]}} ("a manager must
  approve before it is posted": an approval wait in front of the delivery); a wait cannot go inside a loop.
  transform (reshape data without AI): {fields: {name: "{{ expr }}"}} (set); {mode: "map", items: "<list expr>",
  fields: {name: "{{ item.x }}"}}; {mode: "filter", items, where: "<expr on item>"}; {mode: "aggregate", items,
  group_by?: "item.<field>", aggregates: {name: {op: count|sum|avg|min|max|first|last|list, of?: "item.<field>"}}}
  (remove duplicates by email = aggregate, group_by "item.email", aggregates {row: {op: first, of: item}}); make the
  step after it read {{ nodes.<transform id>.output }}.
  code (user Python): {language: "python", code: "def main(inputs):\n    return inputs\n", inputs: {data: "{{ … }}"}}.
  workflow (run another saved workflow): {workflow_id: <one of the workspace workflows listed, else the name
  said>, inputs: {<its input name>: "{{ … }}"}}.
  agent (an LLM calling tools in a loop): {prompt, model?, system?, tools: [tool refs], max_steps?}.
- remove_node {node_id} — predecessors are reconnected to successors.
- update_node {node_id, config: <JSON merge patch>, fields: {title?, retry?, timeout_s?, on_error?}}
- add_edge {source, target, source_handle?} / remove_edge {source, target} or {edge_id}
- set_setting {key: "schedule", value: "<5-field cron>" | null}
- wrap_in_loop {node_ids, loop_id, items: "inputs.rows", per_item_input?}
Node ids must be unique identifiers (letters, digits, underscore). The result must stay a valid DAG with
one input and one output node."""


async def plan_with_llm(text: str, graph: WorkflowGraph, *, settings: LLMSettings, history: list[str] | None = None,
                        workflows: list | None = None) -> tuple[list[EditOp], str]:
    """Ops (already known to apply cleanly to ``graph``) and the model's explanation.
    ``workflows`` (:class:`pilot.chat.planner_base.KnownWorkflow`) are listed for ``workflow`` steps.

    Raises StructuredOutputError when the LLM is off, fails, or never produces valid ops."""
    if not settings.enabled:
        raise StructuredOutputError("no LLM API key configured")
    messages = [{"role": "system", "content": SYSTEM}]
    for line in (history or [])[-4:]:
        messages.append({"role": "user", "content": line})
    known = "".join(f"\n- {w.id}: {w.name}" + (f" (inputs: {', '.join(w.inputs)})" if w.inputs else "") for w in (workflows or [])[:50])
    listed = f"\n\nWorkspace workflows a workflow step may run:{known}" if known else ""
    messages.append({"role": "user", "content": f"Current workflow:\n{describe_graph(graph)}{listed}\n\nRequest: {text}"})
    plan = await structured(plan_model_for(graph), messages, settings=settings)
    return plan.edit_ops(), plan.explanation
