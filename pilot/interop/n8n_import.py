"""n8n workflow JSON → a πlot graph.

Structure: sticky notes are annotations; AI sub-nodes (chat models, tools, memory, output
parsers: nodes whose only connections are ``ai_*``) fold into the node they serve; the first
trigger becomes the input node (further triggers lead to it too); No-Op nodes, Merge nodes
(πlot joins wait for every live input) and disabled nodes are bypassed; a Split in Batches /
Loop Over Items node becomes a ``loop`` whose body is what its loop output reaches before coming
back (the back edge is the loop itself). Every other node goes through its mapper
(:mod:`pilot.interop.n8n_nodes`) or becomes a placeholder. Each sink at the top gets an output
node, since n8n's result is whatever its last nodes produced.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from pilot.interop import n8n_params
from pilot.interop.builder import PILOT_NODE_MARK, Builder, carried_node
from pilot.interop.n8n_expr import parameter_parts
from pilot.interop.n8n_nodes import MAPPERS, PASSTHROUGH, NoMapping, item_base
from pilot.interop.n8n_triggers import trigger_base, trigger_of
from pilot.interop.n8n_wiring import Wiring
from pilot.interop.textparts import Untranslatable, marker, path_expr, to_expression, to_template

PILOT_OUTPUT_NOTE = "pilot:output"  # an exported πlot output node (a Set node) comes back as one
ID_MARK = "pilot:id="
MAX_JOIN_CHARS = 4000  # a reference through joins of joins grows with every alternative input


@dataclass(eq=False)
class Src:
    """One n8n node as read from the file, with where it lands in πlot."""

    name: str
    type: str
    version: float
    params: dict[str, Any]
    raw: dict[str, Any]
    role: str = "node"  # annotation | sub | trigger | bypass | loop | node
    pid: str = ""
    handles: dict[int, str] = field(default_factory=dict)
    subs: dict[str, list[Src]] = field(default_factory=lambda: defaultdict(list))
    level: str | None = None  # the enclosing loop's name

    @property
    def raw_notes(self) -> str:
        notes = self.raw.get("notes")
        return notes if isinstance(notes, str) else ""

    @property
    def notes(self) -> str:
        """The node's notes without the markers a πlot export writes."""
        return "\n".join(line for line in self.raw_notes.splitlines()
                         if not line.startswith((ID_MARK, PILOT_NODE_MARK, PILOT_OUTPUT_NOTE))).strip()

    @property
    def exported_id(self) -> str | None:
        """The πlot id of a node πlot exported (``pilot:id=…`` in its notes)."""
        found = re.search(rf"^{re.escape(ID_MARK)}(\S+)$", self.raw_notes, re.M)
        return found.group(1) if found else None


def _version(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 1.0


class N8nImport:
    """One n8n document being imported (``cx`` of the mappers)."""

    def __init__(self, doc: dict[str, Any], builder: Builder) -> None:
        self.doc, self.b = doc, builder
        self.srcs: dict[str, Src] = {}
        self.failed: set[str] = set()  # names of nodes kept as placeholders
        self._memo: dict[tuple[str, str], str | Untranslatable] = {}
        settings = doc.get("settings") if isinstance(doc.get("settings"), dict) else {}
        self.timezone = str(settings.get("timezone") or "UTC")
        for raw in doc.get("nodes") or []:
            if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or raw["name"] in self.srcs:
                continue
            params = raw.get("parameters") if isinstance(raw.get("parameters"), dict) else {}
            self.srcs[raw["name"]] = Src(raw["name"], str(raw.get("type", "")), _version(raw.get("typeVersion", 1)), params, raw)
        self.wiring = Wiring(self)

    # ------------------------------------------------------------ translation helpers (cx API)

    def _parts(self, src: Src, value: Any, where: str) -> list:
        failures: list[str] = []
        parts = parameter_parts(value, _Refs(self, src), failures)
        if isinstance(value, str) and value.startswith("="):
            blocks = sum(1 for p in parts if not isinstance(p, str))
            self.b.expression(src.name, translated=blocks - len(failures), kept=len(failures))
        for failure in failures:
            self.b.item("expression", f"not translated, kept as a marker (the run fails here until it is rewritten): {failure}",
                        node_id=src.pid, source=src.name, source_type=src.type, field=where)
        return parts

    def tmpl(self, src: Src, value: Any, where: str) -> str:
        return to_template(self._parts(src, value, where))

    val = tmpl  # value fields read a lone {{ expr }} as its JSON value: the same text

    def expr(self, src: Src, value: Any, where: str) -> str:
        return to_expression(self._parts(src, value, where))

    def condition(self, src: Src, build) -> str:
        try:
            return build(lambda value: self.expr(src, value, "conditions"))
        except Untranslatable as exc:
            self.b.expression(src.name, kept=1)
            original = str(src.params.get("conditions", src.params.get("rules", "")))[:500]
            self.b.item("expression", f"condition not translated, kept as a marker: {exc}", node_id=src.pid,
                        source=src.name, source_type=src.type, field="conditions")
            return marker("n8n", original).jinja

    def lost(self, src: Src, where: str, message: str) -> None:
        self.b.item("parameter", message, node_id=src.pid, source=src.name, source_type=src.type, field=where)

    def credential_note(self, src: Src, message: str) -> None:
        self.b.item("credential", message, node_id=src.pid, source=src.name, source_type=src.type)

    def fold(self, sub: Src, into: Src, message: str) -> None:
        self.b.status(sub.name, "folded")
        self.b.item("folded", f"'{sub.name}' ({sub.type}) is part of '{into.name}': {message}", node_id=into.pid,
                    source=sub.name, source_type=sub.type)

    pairs, http_body, model = n8n_params.pairs, n8n_params.http_body, n8n_params.model
    agent_tools, output_schema, schema_from, addresses = (n8n_params.agent_tools, n8n_params.output_schema,
                                                          n8n_params.schema_from, n8n_params.addresses)

    # ------------------------------------------------------------ item references

    def item_ref(self, src: Src, path: list[Any], seen: frozenset[str] = frozenset()) -> str:
        """``$json.<path>`` as seen by ``src``: the item its input brings. Memoised per node and
        path: joins behind joins would otherwise be walked once per path through them."""
        key = (src.name, repr(path))
        if key not in self._memo:
            try:
                self._memo[key] = self._item_ref(src, path, seen)
            except Untranslatable as exc:
                self._memo[key] = exc
        found = self._memo[key]
        if isinstance(found, Untranslatable):
            raise found
        return found

    def _item_ref(self, src: Src, path: list[Any], seen: frozenset[str]) -> str:
        preds = self.wiring.inputs(src.name)
        if not preds:
            raise Untranslatable(f"'{src.name}' has no input item")
        refs = [(p, self.output_ref(p, path, src, seen | {src.name})) for p in preds]
        if len(refs) == 1:
            return refs[0][1]
        out = refs[-1][1]
        for pred, ref in reversed(refs[:-1]):  # a join: the first input that ran
            pid = self.srcs[pred].pid if self.srcs[pred].role != "trigger" else None
            out = f"({ref} if nodes.{pid}.output is not none else {out})" if pid else ref
        if len(out) > MAX_JOIN_CHARS:
            raise Untranslatable("the step joins too many inputs to name the item it reads")
        return out

    def output_ref(self, name: str, path: list[Any], viewer: Src, seen: frozenset[str] = frozenset()) -> str:
        """``$('name').item.json.<path>`` as seen by ``viewer``."""
        src = self.srcs.get(name)
        if src is None:
            raise Untranslatable(f"there is no node named {name!r}")
        if name in seen:
            raise Untranslatable("the reference goes round a cycle")
        if src.role == "trigger":
            return trigger_base(src.type, src.params)(path)
        if src.role == "loop":
            if self.wiring.inside(viewer, src):
                return path_expr("item", path)
            raise Untranslatable(f"after the loop '{name}' the items are a list in πlot")
        if src.role == "bypass":
            return self.item_ref(src, path, seen)
        if src.role != "node" or name in self.failed:
            raise Untranslatable(f"the output of '{name}' ({src.type}) has no πlot equivalent")
        base = item_base(src, src.pid)
        if base is None:
            raise Untranslatable(f"the output of '{name}' ({src.type.rsplit('.', 1)[-1]}) has no πlot equivalent")
        ref = PASSTHROUGH if base == PASSTHROUGH else base(path)  # type: ignore[operator]
        return self.item_ref(src, path, seen) if ref == PASSTHROUGH else ref

    # ------------------------------------------------------------ building

    def build(self) -> tuple[str, str, dict[str, Any]]:
        """``(name, description, raw graph)``; the builder holds the report."""
        self.wiring.classify()
        start = self._input_node()
        levels: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
        levels[None].append(start)
        for src in self.wiring.order():
            levels[src.level].append(self._node(src))
        edges = self.wiring.edges(start["id"])
        self.wiring.add_outputs(levels, edges)
        for src in self.srcs.values():
            if src.role == "loop" and src.name not in self.failed:
                body = {"nodes": levels.get(src.name, []), "edges": edges.get(src.name, [])}
                node = next(n for n in levels[src.level] if n["id"] == src.pid)
                node["config"]["body"] = body
        graph = {"nodes": levels[None], "edges": edges.get(None, []), "settings": {}}
        name = str(self.doc.get("name") or "Imported n8n workflow").strip()[:200] or "Imported n8n workflow"
        description = self.doc.get("description") if isinstance(self.doc.get("description"), str) else ""
        return name, description[:10_000], self.b.finish(graph)

    def _input_node(self) -> dict[str, Any]:
        triggers = [s for s in self.srcs.values() if s.role == "trigger"]
        primary = next((t for t in triggers if not t.type.endswith("errorTrigger")), triggers[0] if triggers else None)
        if primary is None:
            self.b.item("trigger", "the workflow has no trigger: it starts by hand (a manual input node was added)")
            return {"id": self.b.new_id("start", "start"), "type": "input", "title": "Start", "config": {"fields": []}}
        notes: list[str] = []
        try:
            trigger, fields = trigger_of(primary.type, primary.params, self.timezone, notes)
        except Untranslatable as exc:
            notes.append(f"{exc}: it starts by hand instead")
            trigger, fields = {"kind": "manual"}, []
        if trigger["kind"] == "schedule" and not (self.doc.get("settings") or {}).get("timezone"):
            notes.append("the source sets no timezone: the schedule runs in UTC")
        self.b.status(primary.name, "mapped")
        for note in notes:
            self.b.item("trigger", note, node_id=primary.pid, source=primary.name, source_type=primary.type)
        for other in triggers:
            if other is not primary:
                other.pid = primary.pid
                self.b.status(other.name, "folded")
                self.b.item("trigger", f"the workflow has several triggers; πlot starts from one ('{primary.name}'): "
                            f"what '{other.name}' ({other.type}) started now follows the start node", source=other.name,
                            source_type=other.type, node_id=primary.pid)
        config: dict[str, Any] = {"fields": fields}
        if trigger["kind"] != "manual":
            config["trigger"] = trigger
        return {"id": primary.pid, "type": "input", "title": primary.name, "description": primary.notes, "config": config}

    def _node(self, src: Src) -> dict[str, Any]:
        self.b.status(src.name, "mapped")
        envelope: dict[str, Any] = {"id": src.pid, "title": src.name[:200]}
        if src.notes:
            envelope["description"] = src.notes[:2000]
        envelope.update(self._policies(src))
        try:
            if src.role == "loop":
                mapped = self.wiring.loop_config(src)
            elif src.type == "n8n-nodes-base.set" and PILOT_OUTPUT_NOTE in src.raw_notes:
                assignments = (src.params.get("assignments") or {}).get("assignments") or []
                mapped = {"type": "output", "config": {"outputs": {str(a.get("name")): self.val(src, a.get("value", ""), f"outputs.{a.get('name')}")
                                                                   for a in assignments if a.get("name")}}}
            elif src.type in MAPPERS:
                mapped = MAPPERS[src.type](self, src)
            else:
                raise NoMapping(f"πlot has no {src.type.rsplit('.', 1)[-1]} step")
        except (NoMapping, AttributeError, TypeError, KeyError, ValueError, IndexError) as exc:
            reason = str(exc) if isinstance(exc, NoMapping) else f"its parameters have an unexpected shape ({type(exc).__name__}: {exc})"
            carried = carried_node(src.raw_notes)
            if carried is not None:  # a πlot step exported without an n8n counterpart comes back as it was
                self.b.items = [i for i in self.b.items if i.source != src.name or i.kind != "expression"]
                self.b.origin(src.pid, src.name, src.type, src.name, _original(src))
                return {**carried, "id": src.pid, "title": carried.get("title") or src.name[:200]}
            self.failed.add(src.name)
            self.b.items = [i for i in self.b.items if i.source != src.name or i.kind != "expression"]
            return self.b.placeholder(src.pid, src.name, src.type, src.name, _original(src), reason)
        self.b.origin(src.pid, src.name, src.type, src.name, _original(src))
        if mapped["type"] == "condition" and not src.handles:
            src.handles = {i: case["id"] for i, case in enumerate(mapped["config"]["cases"])}
            src.handles[len(mapped["config"]["cases"])] = mapped["config"].get("else", "else")
        return {**envelope, **mapped}

    def _policies(self, src: Src) -> dict[str, Any]:
        raw, out = src.raw, {}
        if raw.get("retryOnFail"):
            tries = raw.get("maxTries", 3)
            wait = raw.get("waitBetweenTries", 1000)
            if isinstance(tries, int) and isinstance(wait, (int, float)):
                out["retry"] = {"max_attempts": max(1, min(tries, 20)), "initial_delay_s": min(max(wait, 0) / 1000, 600), "backoff": 1.0}
        on_error = raw.get("onError")
        if raw.get("continueOnFail") or on_error == "continueRegularOutput":
            out["on_error"] = "continue"
        elif on_error == "continueErrorOutput":
            self.lost(src, "onError", "its error output is not carried over: in πlot a failure stops the run")
        return out


def _original(src: Src) -> dict[str, Any]:
    return {k: v for k, v in src.raw.items() if k in ("type", "typeVersion", "parameters", "credentials", "notes", "webhookId")}


class _Refs:
    """Item references of one node's parameters (:class:`pilot.interop.n8n_expr.Refs`)."""

    def __init__(self, importer: N8nImport, src: Src) -> None:
        self.importer, self.src = importer, src

    def json(self, path: list[Any]) -> str:
        return self.importer.item_ref(self.src, path)

    def node(self, name: str, path: list[Any]) -> str:
        return self.importer.output_ref(name, path, self.src)


def import_n8n(doc: dict[str, Any]) -> tuple[str, str, dict[str, Any], Builder]:
    """Import an n8n workflow document: ``(name, description, raw graph, builder with the report)``."""
    builder = Builder("n8n")
    importer = N8nImport(doc, builder)
    name, description, graph = importer.build()
    return name, description, graph, builder

