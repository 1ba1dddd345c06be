"""Graph surgery for the generator: unique ids, splicing nodes after the input or before the
output, adding input fields, giving downstream LLM nodes the new context. Pure functions over
plain lists of (frozen) node Structs and edges; the generator validates the result."""

from __future__ import annotations

import re
from collections import deque

import msgspec

from pilot.workflows.model import Edge, InputField, InputNode, LlmNode, Node, node_type


class Draft:
    """A mutable working copy of a graph's top level."""

    def __init__(self, nodes: list[Node], edges: list[Edge]) -> None:
        self.nodes = list(nodes)
        self.edges = list(edges)
        self.taken: set[str] = set()
        for n in nodes:
            self._collect(n)

    def _collect(self, node: Node) -> None:
        self.taken.add(node.id)
        body = getattr(getattr(node, "config", None), "body", None)
        if body is not None:
            for inner in body.nodes:
                self._collect(inner)

    def unique(self, base: str) -> str:
        """A readable id not used anywhere in the graph (``notify_slack``, ``notify_slack_2`` …)."""
        base = re.sub(r"[^A-Za-z0-9_]", "_", base).strip("_")[:56] or "node"
        if not re.match(r"[A-Za-z_]", base):
            base = f"n_{base}"
        nid, k = base, 2
        while nid in self.taken:
            nid, k = f"{base}_{k}", k + 1
        self.taken.add(nid)
        return nid

    def edge_id(self, source: str, target: str) -> str:
        existing = {e.id for e in self.edges}
        eid, k = f"e_{source}_{target}", 2
        while eid in existing:
            eid, k = f"e_{source}_{target}_{k}", k + 1
        return eid

    def connect(self, source: str, target: str, handle: str | None = None) -> None:
        self.edges.append(Edge(id=self.edge_id(source, target), source=source, target=target, source_handle=handle))

    def add(self, node: Node) -> None:
        self.nodes.append(node)

    def of_type(self, kind: str) -> list[Node]:
        return [n for n in self.nodes if node_type(n) == kind]

    def node(self, nid: str) -> Node:
        return next(n for n in self.nodes if n.id == nid)

    def replace(self, node: Node) -> None:
        self.nodes = [node if n.id == node.id else n for n in self.nodes]

    @property
    def input(self) -> InputNode | None:
        return next((n for n in self.nodes if isinstance(n, InputNode)), None)

    @property
    def output_id(self) -> str | None:
        return next((n.id for n in self.nodes if node_type(n) == "output"), None)

    def splice_after(self, anchor: str, new_ids: list[str]) -> None:
        """anchor → X becomes anchor → new (each, in parallel) → X."""
        out = [e for e in self.edges if e.source == anchor]
        self.edges = [e for e in self.edges if e.source != anchor]
        for nid in new_ids:
            self.connect(anchor, nid)
            for e in out:
                self.connect(nid, e.target, None)
        if not out:
            return
        # the same anchor→X edge rerouted through several parallel nodes is fine: X joins them

    def splice_before(self, target: str, new_ids: list[str]) -> list[Edge]:
        """X → target becomes X → new (each, in parallel) → target; returns the rerouted edges."""
        into = [e for e in self.edges if e.target == target]
        self.edges = [e for e in self.edges if e.target != target]
        for nid in new_ids:
            for e in into:
                self.edges.append(Edge(id=self.edge_id(e.source, nid), source=e.source, target=nid, source_handle=e.source_handle))
            self.connect(nid, target)
        return into

    def downstream_llms(self, start: str, limit: int = 1) -> list[str]:
        """The first ``limit`` LLM nodes reachable from ``start`` (breadth first)."""
        succ: dict[str, list[str]] = {}
        for e in self.edges:
            succ.setdefault(e.source, []).append(e.target)
        seen, found, queue = {start}, [], deque(succ.get(start, []))
        while queue and len(found) < limit:
            nid = queue.popleft()
            if nid in seen:
                continue
            seen.add(nid)
            if isinstance(self.node(nid), LlmNode):
                found.append(nid)
                continue
            queue.extend(succ.get(nid, []))
        return found

    def add_context(self, llm_id: str, label: str, expression: str) -> None:
        """Append ``label: {{ expression }}`` to an LLM node's prompt so the new data reaches it."""
        node = self.node(llm_id)
        if not isinstance(node, LlmNode) or expression in node.config.prompt:
            return
        prompt = f"{node.config.prompt.rstrip()}\n\n{label}:\n{{{{ {expression} }}}}"
        self.replace(msgspec.structs.replace(node, config=msgspec.structs.replace(node.config, prompt=prompt)))

    def add_input_field(self, name: str, *, type_: str = "string", required: bool = False, default=None, description: str = "") -> str:
        """Declare a run input on the input node (if not declared); returns ``inputs.<name>``.

        Names must not shadow dict methods (``items``, ``keys``, ``values``…): in jinja2
        ``inputs.items`` is the method, not the field."""
        node = self.input
        if node is None:
            return f"inputs.{name}"
        if not any(f.name == name for f in node.config.fields):
            field = InputField(name=name, type=type_, required=required, default=default, description=description)  # type: ignore[arg-type]
            config = msgspec.structs.replace(node.config, fields=[*node.config.fields, field])
            self.replace(msgspec.structs.replace(node, config=config))
        return f"inputs.{name}"

    def first_input_field(self) -> str | None:
        node = self.input
        if node is None or not node.config.fields:
            return None
        text_like = [f.name for f in node.config.fields if f.type == "string"]
        return (text_like or [node.config.fields[0].name])[0]
