"""Dify DSL (``app`` + ``workflow.graph``) → a πlot graph.

Nodes map one to one (:mod:`pilot.interop.dify_nodes`) except a question classifier, which becomes
an ``llm`` choosing the class plus a ``condition`` routing on it; notes are annotations; an
iteration's children form the body of a ``loop`` (its ``iteration-start`` is the body's entry).
References ``{{#node.var#}}`` and value selectors ``[node, var]`` become πlot references: a
start variable is ``inputs.<var>``, ``sys.query`` of a chat app ``inputs.message``, an LLM's
``text`` ``nodes.<id>.output``, a code node's ``x`` ``nodes.<id>.output.result.x``, … — see
:meth:`DifyImport.ref`. Conversation variables and system values other than the query have no
πlot equivalent and stay markers.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from pilot.interop.builder import Builder
from pilot.interop.dify_nodes import NoMapping, start_fields
from pilot.interop.dify_steps import MAPPERS
from pilot.interop.textparts import Expr, Part, Untranslatable, marker, path_expr, to_expression, to_template

REFERENCE = re.compile(r"\{\{#(context|[a-zA-Z0-9_]{1,50}(?:\.[a-zA-Z0-9_\u4e00-\u9fff-]{1,64}){1,10})#\}\}")
ENTRY_TYPES = frozenset({"iteration-start", "loop-start"})
CONTAINER_TYPES = frozenset({"iteration", "loop"})


class DifyImport:
    """One Dify document being imported (``cx`` of the mappers)."""

    def __init__(self, doc: dict[str, Any], builder: Builder) -> None:
        self.doc, self.b = doc, builder
        app = doc.get("app") if isinstance(doc.get("app"), dict) else {}
        workflow = doc.get("workflow") if isinstance(doc.get("workflow"), dict) else {}
        graph = workflow.get("graph") if isinstance(workflow.get("graph"), dict) else {}
        self.app, self.chat = app, app.get("mode") in ("advanced-chat", "chat", "agent-chat")
        self.nodes: dict[str, dict[str, Any]] = {}
        for raw in graph.get("nodes") or []:
            if isinstance(raw, dict) and isinstance(raw.get("id"), (str, int)) and isinstance(raw.get("data"), dict):
                self.nodes.setdefault(str(raw["id"]), raw)
        self.raw_edges = [e for e in graph.get("edges") or [] if isinstance(e, dict)]
        self.pids: dict[str, str] = {}
        self.failed: set[str] = set()
        self.handles: dict[str, dict[str, str]] = {}  # Dify id → sourceHandle → πlot source_handle
        self.route: dict[str, str] = {}  # classifier id → its routing condition's πlot id
        self.fields: dict[str, str] = {}  # start variable → input field name
        self.env_noted: set[str] = set()
        self.native_code: set[str] = set()  # code nodes πlot exported (its main(inputs) wrapped for Dify)
        self.plain_loops: set[str] = set()  # iterations whose item result is their last step's output
        self.extra_edges: dict[str | None, list[dict[str, Any]]] = defaultdict(list)  # edges a mapper adds

    # ------------------------------------------------------------ helpers for mappers

    def kind(self, dify_id: str) -> str:
        return str(self.nodes.get(dify_id, {}).get("data", {}).get("type", ""))

    def parent(self, dify_id: str) -> str | None:
        raw = self.nodes.get(dify_id, {})
        data = raw.get("data", {})
        parent = raw.get("parentId") or data.get("iteration_id") or data.get("loop_id")
        return str(parent) if parent and str(parent) in self.nodes and parent != dify_id else None

    def ref(self, selector: Any, viewer: str) -> str:
        """A value selector ``[node, var, *path]`` as a πlot jinja2 expression."""
        if not isinstance(selector, list) or len(selector) < 2 or not all(isinstance(s, (str, int)) for s in selector):
            raise Untranslatable(f"value selector {selector!r}")
        node, var, rest = str(selector[0]), str(selector[1]), list(selector[2:])
        if node == "sys":
            if var == "query" and self.chat:
                return path_expr("inputs.message", rest)
            raise Untranslatable(f"sys.{var} has no πlot equivalent")
        if node == "env":
            if var not in self.env_noted:
                self.env_noted.add(var)
                self.b.item("credential", f"environment variable '{var}' is read from the credential of that name: create it "
                            "with POST /api/credentials", field=f"env.{var}")
            return path_expr("credentials", [var, *rest])
        if node == "conversation":
            raise Untranslatable(f"conversation variable '{var}' (πlot runs keep no conversation state)")
        kind = self.kind(node)
        if not kind:
            raise Untranslatable(f"there is no node {node!r}")
        if kind == "start":
            return path_expr("inputs", [self.fields.get(var, var), *rest])
        if kind in CONTAINER_TYPES and var in ("item", "index"):
            if not self._inside(viewer, node):
                raise Untranslatable(f"the current item of iteration {node!r} outside of it")
            return "loop.index" if var == "index" else path_expr("item", rest)
        if node in self.failed:
            raise Untranslatable(f"the output of the placeholder {node!r}")
        out = f"nodes.{self.pids[node]}.output"
        if kind in ("llm", "agent"):
            if var == "text":
                return path_expr(out, rest)
            if var == "structured_output":
                return path_expr(out, rest)
        elif kind == "code":
            if node in self.native_code:
                if var == "result" and rest[:1] == ["value"]:
                    return path_expr(out + ".result", rest[1:])
                raise Untranslatable(f"code output '{var}'")
            return path_expr(out + ".result", [var, *rest])
        elif kind in ("template-transform", "variable-aggregator", "variable-assigner"):
            return path_expr(out + ".output", rest) if var == "output" else path_expr(out + ".output", [var, *rest])
        elif kind == "http-request":
            if var == "body":
                body = out + ".body"
                return f"({body} if {body} is string else {body} | tojson)"
            if var in ("status_code", "headers"):
                return path_expr(out + (".status" if var == "status_code" else ".headers"), rest)
        elif kind == "knowledge-retrieval" and var == "result":
            return path_expr(out, rest)
        elif kind == "parameter-extractor" and not var.startswith("__"):
            return path_expr(out, [var, *rest])
        elif kind == "question-classifier" and var == "class_name":
            return out + ".category"
        elif kind in CONTAINER_TYPES and var == "output":
            return out if node in self.plain_loops else f"({out} | map(attribute='value') | list)"
        raise Untranslatable(f"{kind} output '{var}'")

    def _inside(self, viewer: str, container: str) -> bool:
        current: str | None = viewer
        while current is not None:
            if current == container:
                return True
            current = self.parent(current)
        return False

    def parts(self, text: Any, viewer: str, where: str, *, extra: dict[str, Any] | None = None) -> list[Part]:
        """A Dify text with ``{{#node.var#}}`` references as parts (``extra``: more names, e.g.
        ``context``); an unknown reference is a marker, reported."""
        if not isinstance(text, str):
            return [] if text is None else [str(text)]
        parts: list[Part] = []
        pos = 0
        for m in REFERENCE.finditer(text):
            parts.append(text[pos:m.start()])
            pos = m.end()
            selector = m.group(1).split(".")
            try:
                if extra is not None and m.group(1) in extra:
                    parts.append(Expr(self.ref(extra[m.group(1)], viewer)))
                else:
                    parts.append(Expr(self.ref(selector, viewer)))
                self.b.expression(viewer, translated=1)
            except Untranslatable as exc:
                self.b.expression(viewer, kept=1)
                self.expression_item(viewer, where, m.group(), exc)
                parts.append(marker("dify", self.remap(m.group())))
        parts.append(text[pos:])
        return parts

    def remap(self, value: Any) -> Any:
        """Dify node ids in references (``{{#id.var#}}``, ``[id, var]``) replaced by the πlot ids, so
        what is kept verbatim (markers, placeholders) still points at the right node when exported."""
        if isinstance(value, str):
            return REFERENCE.sub(lambda m: "{{#" + ".".join([self.pids.get(m.group(1).split(".")[0], m.group(1).split(".")[0]),
                                                              *m.group(1).split(".")[1:]]) + "#}}", value)
        if isinstance(value, list):
            if len(value) >= 2 and all(isinstance(v, str) for v in value) and value[0] in self.pids:
                return [self.pids[value[0]], *value[1:]]
            return [self.remap(v) for v in value]
        if isinstance(value, dict):
            return {k: self.remap(v) for k, v in value.items()}
        return value

    def expression_item(self, viewer: str, where: str, original: str, exc: Exception) -> None:
        self.b.item("expression", f"{original} not translated ({exc}); kept as a marker: the run fails here until it is "
                    "rewritten", node_id=self.pids.get(viewer), source=viewer, source_type=self.kind(viewer), field=where)

    def tmpl(self, text: Any, viewer: str, where: str, **kw: Any) -> str:
        return to_template(self.parts(text, viewer, where, **kw))

    def selector_value(self, selector: Any, viewer: str, where: str) -> str:
        """A value selector as a value field (``{{ ref }}``), or a reported marker."""
        try:
            ref = "{{ " + self.ref(selector, viewer) + " }}"
            self.b.expression(viewer, translated=1)
            return ref
        except Untranslatable as exc:
            self.b.expression(viewer, kept=1)
            original = "{{#" + ".".join(map(str, selector)) + "#}}" if isinstance(selector, list) else str(selector)
            self.expression_item(viewer, where, original, exc)
            return "{{ " + marker("dify", self.remap(original)).jinja + " }}"

    def selector_expr(self, selector: Any, viewer: str, where: str) -> str:
        return to_expression([Expr(self.selector_value(selector, viewer, where)[3:-3])])

    def lost(self, dify_id: str, where: str, message: str) -> None:
        self.b.item("parameter", message, node_id=self.pids.get(dify_id), source=dify_id, source_type=self.kind(dify_id), field=where)

    # ------------------------------------------------------------ building

    def build(self) -> tuple[str, str, dict[str, Any]]:
        levels: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
        for dify_id, raw in self.nodes.items():
            kind = self.kind(dify_id)
            if raw.get("type") == "custom-note" or not kind:
                self.b.annotations += 1
                text = str(raw["data"].get("text", ""))
                plain = re.sub(r"<[^>]+>|[{}\"]", " ", text)[:160].strip()
                self.b.item("annotation", f"note not imported: {plain}")
            elif kind not in ENTRY_TYPES:
                hint = {"start": "start", "end": "end", "answer": "answer"}.get(kind, kind.replace("-", "_"))
                self.pids[dify_id] = self.b.new_id(str(raw["data"].get("title") or ""), hint, prefer=dify_id)
        starts = [d for d in self.pids if self.kind(d) == "start"]
        for dify_id in starts[:1]:
            self.fields = {v: f["name"] for v, f in start_fields(self, dify_id).items()}
        for dify_id in self._order():
            for node in self._map(dify_id):
                levels[self.parent(dify_id)].append(node)
        if not starts:
            self.b.item("trigger", "the app has no start node: a manual start node was added")
            levels[None].insert(0, {"id": self.b.new_id("start", "start"), "type": "input", "title": "Start", "config": {"fields": []}})
        edges = self._edges()
        for level, extra in self.extra_edges.items():
            edges[level].extend(extra)
        for container in [d for d in self.pids if self.kind(d) in CONTAINER_TYPES and d not in self.failed]:
            node = next(n for n in levels[self.parent(container)] if n["id"] == self.pids[container])
            node["config"]["body"] = {"nodes": levels.get(container, []) + node["config"]["body"]["nodes"],
                                      "edges": edges.get(container, []) + node["config"]["body"]["edges"]}
        self._outputs(levels[None], edges.setdefault(None, []))
        name = str(self.app.get("name") or "Imported Dify app").strip()[:200] or "Imported Dify app"
        description = str(self.app.get("description") or "")[:10_000]
        return name, description, self.b.finish({"nodes": levels[None], "edges": edges[None], "settings": {}})

    def _order(self) -> list[str]:
        """Topological order of the edges, containers before their children, start first."""
        after: dict[str, set[str]] = {d: set() for d in self.pids}
        for edge in self.raw_edges:
            source, target = str(edge.get("source", "")), str(edge.get("target", ""))
            if source in after and target in after and source != target:
                after[target].add(source)
        for dify_id in self.pids:
            parent = self.parent(dify_id)
            if parent in after:
                after[dify_id].add(parent)
        waiting = {d: len(preds) for d, preds in after.items()}
        followers: dict[str, list[str]] = defaultdict(list)
        for d, preds in after.items():
            for pred in preds:
                followers[pred].append(d)
        ready = sorted((d for d, n in waiting.items() if n == 0), key=lambda d: self.kind(d) != "start")
        order: list[str] = []
        placed: set[str] = set()
        while ready:
            current = ready.pop(0)
            order.append(current)
            placed.add(current)
            for d in followers[current]:
                waiting[d] -= 1
                if waiting[d] == 0:
                    ready.append(d)
        return order + [d for d in self.pids if d not in placed]

    def _map(self, dify_id: str) -> list[dict[str, Any]]:
        raw, kind, pid = self.nodes[dify_id], self.kind(dify_id), self.pids[dify_id]
        data = raw["data"]
        title = str(data.get("title") or kind)[:200]
        self.b.status(dify_id, "mapped")
        try:
            if kind not in MAPPERS:
                raise NoMapping(f"πlot has no {kind} step")
            mapped = MAPPERS[kind](self, dify_id, data)
        except (NoMapping, AttributeError, TypeError, KeyError, ValueError, IndexError) as exc:
            reason = str(exc) if isinstance(exc, NoMapping) else f"its data has an unexpected shape ({type(exc).__name__}: {exc})"
            self.failed.add(dify_id)
            self.b.items = [i for i in self.b.items if i.source != dify_id or i.kind != "expression"]
            return [self.b.placeholder(pid, dify_id, kind, title, {"data": self.remap(data)}, reason)]
        self.b.origin(pid, dify_id, kind, title, {"data": self.remap(data)})
        nodes = mapped if isinstance(mapped, list) else [mapped]
        for node in nodes:
            node.setdefault("id", pid)
            node.setdefault("title", title)
            if data.get("desc"):
                node.setdefault("description", str(data["desc"])[:2000])
        return nodes

    def _edges(self) -> dict[str | None, list[dict[str, Any]]]:
        levels: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
        seen: set[tuple[str, str, str | None]] = set()
        for edge in self.raw_edges:
            source, target = str(edge.get("source", "")), str(edge.get("target", ""))
            if self.kind(source) in ENTRY_TYPES or source not in self.pids or target not in self.pids:
                continue  # an iteration's entry, or a note
            handle = str(edge.get("sourceHandle") or "source")
            from_id = self.route.get(source, self.pids[source])
            mapped = None
            if source in self.handles and source not in self.failed:
                mapped = self.handles[source].get(handle)
                if mapped is None:
                    self.b.item("structure", f"branch {handle!r} of {source} does not exist; its edge was left out", source=source)
                    continue
            if self.parent(source) != self.parent(target):
                self.b.item("structure", f"the edge {source} → {target} crosses an iteration boundary and was left out", source=source)
                continue
            key = (from_id, self.pids[target], mapped)
            if key in seen:
                continue
            seen.add(key)
            out = {"id": f"e{len(seen)}", "source": from_id, "target": self.pids[target]}
            if mapped is not None:
                out["source_handle"] = mapped
            levels[self.parent(target)].append(out)
        return levels

    def _outputs(self, top: list[dict[str, Any]], edges: list[dict[str, Any]]) -> None:
        """A Dify app without an end or answer node still returns what its last steps produce."""
        if any(n["type"] == "output" for n in top):
            return
        with_out = {e["source"] for e in edges}
        for sink in [n for n in top if n["id"] not in with_out]:
            out_id = self.b.new_id(f"{sink['id']}_result", "output")
            top.append({"id": out_id, "type": "output", "title": f"Result: {sink.get('title') or sink['id']}"[:200],
                        "config": {"outputs": {"result": "{{ nodes." + sink["id"] + ".output }}"} if sink["type"] != "input" else {}}})
            edges.append({"id": f"e_out_{out_id}", "source": sink["id"], "target": out_id})


def import_dify(doc: dict[str, Any]) -> tuple[str, str, dict[str, Any], Builder]:
    """Import a Dify DSL document: ``(name, description, raw graph, builder with the report)``."""
    builder = Builder("dify")
    name, description, graph = DifyImport(doc, builder).build()
    return name, description, graph, builder
