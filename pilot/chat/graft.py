"""Plan steps compiled into an existing workflow (used by the flow rules; pure).

A follow-up such as "if the score is above 7, also send it to Slack" is a small plan: a branch
step with a delivery on its case. :class:`Graft` runs the generation compiler's step builder
(:class:`pilot.generation.compile_steps.Builder`) against the current graph, so the new nodes are
exactly what the same words would have compiled to in a request (condition expression and case
handle, the service's node shape, its run inputs), with ids unique among the graph's and run
inputs declared once. The caller turns :attr:`nodes` / :attr:`edges` into edit ops and wires the
graft's open ends into the graph.
"""

from __future__ import annotations

from typing import Any

import msgspec

from pilot.chat import builders as b
from pilot.chat.ops import AddEdge, AddNode, EditOp, UpdateNode
from pilot.generation.compile_steps import Builder, Port
from pilot.generation.plan import Step, WorkflowPlan
from pilot.workflows.model import ApiNode, ManualTrigger, WorkflowGraph

__all__ = ["Graft", "Port"]


class Graft:
    def __init__(self, graph: WorkflowGraph, lang: str) -> None:
        start = b.input_node(graph)
        trigger = start.config.trigger if start is not None and start.config.trigger is not None else ManualTrigger()
        self.start = start
        self.builder = Builder(WorkflowPlan(language="zh" if lang == "zh" else "en", trigger=trigger))
        self.builder.taken |= b.all_ids(graph)
        self.builder.nodes, self.builder.edges = [], []
        self.builder.input_id = start.id if start is not None else "start"
        self._fields: list[dict[str, Any]] = msgspec.to_builtins(start.config.fields) if start is not None else []
        self.builder.fields = [dict(f) for f in self._fields]
        for node in graph.nodes:  # what a step reads of each existing node, as the compiler refers to it
            if b.type_of(node) not in ("input", "output"):
                suffix = ".body" if isinstance(node, ApiNode) else ""
                self.builder.refs.setdefault(node.id, f"nodes.{node.id}.output{suffix}")

    @property
    def nodes(self) -> list[dict[str, Any]]:
        return self.builder.nodes

    @property
    def edges(self) -> list[dict[str, Any]]:
        return self.builder.edges

    def ref(self, step_id: str) -> str:
        """What a later step reads of a grafted step (``nodes.fetch_hubspot.output.body``)."""
        return self.builder.refs[step_id]

    def step(self, step: Step, ports: list[Port], reads: list[str]) -> list[Port]:
        """Compile ``step`` hanging off ``ports``, reading ``reads`` (expressions without braces);
        returns its open ends (the ports the next node hangs off)."""
        self.builder.current = list(reads)
        return self.builder.step(step, ports)

    def ops(self) -> list[EditOp]:
        """The new run inputs (an update of the input node), then each new node followed by the
        edges that end at it, in the order the compiler emitted them."""
        ops: list[EditOp] = []
        if self.start is not None and len(self.builder.fields) > len(self._fields):
            ops.append(UpdateNode(node_id=self.start.id, config={"fields": self.builder.fields}))
        for node in self.builder.nodes:
            ops.append(AddNode(node=node))
            ops.extend(AddEdge(source=e["source"], target=e["target"], source_handle=e.get("source_handle"))
                       for e in self.builder.edges if e["target"] == node["id"])
        return ops
