"""A πlot workflow → Dify DSL (``app``, ``kind: app``, ``version``, ``workflow.graph.nodes/edges``).

A chat-triggered workflow becomes an ``advanced-chat`` app (``inputs.message`` is ``sys.query``
and outputs are ``answer`` nodes), any other a ``workflow`` app (outputs are an ``end`` node).
Each node's ``data`` follows the node type's shape in Dify's own exports
(:mod:`pilot.interop.dify_export_nodes`); a loop becomes an iteration whose children carry
``parentId`` and an ``iteration-start`` entry. Credentials become secret environment
variables. What has no Dify form is a code node that raises, and the notes list it.
"""

from __future__ import annotations

import json
from typing import Any

from pilot.interop.dify_export_steps import data_for
from pilot.interop.dify_refs import DifyRefs

DSL_VERSION = "0.3.0"
_FEATURES = {"file_upload": {"enabled": False}, "opening_statement": "", "retriever_resource": {"enabled": False},
             "sensitive_word_avoidance": {"enabled": False}, "speech_to_text": {"enabled": False}, "suggested_questions": [],
             "suggested_questions_after_answer": {"enabled": False}, "text_to_speech": {"enabled": False, "language": "", "voice": ""}}


class DifyExport:
    """One πlot graph being written as a Dify app (``ex`` of the node writers)."""

    def __init__(self, name: str, description: str, graph: dict[str, Any]) -> None:
        self.name, self.description, self.graph = name, description, graph
        self.by_id: dict[str, dict[str, Any]] = {}
        self.loop_of: dict[str, str] = {}
        self._index(graph.get("nodes", []), None)
        start = next((n for n in graph.get("nodes", []) if n["type"] == "input"), None)
        trigger = ((start or {}).get("config") or {}).get("trigger") or {}
        self.chat = trigger.get("kind") == "chat"
        self.refs = DifyRefs(self.by_id, self.loop_of, start["id"] if start else None, self.chat)
        self.notes: list[str] = []
        self.nodes: list[dict[str, Any]] = []
        self.edges: list[dict[str, Any]] = []
        self.skipped: set[str] = set()  # πlot nodes carried by their iteration (its value output)
        self.types: dict[str, str] = {}  # exported id → Dify node type
        if trigger.get("kind") not in (None, "manual", "chat"):
            self.notes.append(f"the workflow started by a {trigger['kind']} trigger; the Dify app starts by hand or by API")

    def _index(self, nodes: list[dict[str, Any]], loop: str | None) -> None:
        for node in nodes:
            self.by_id[node["id"]] = node
            if loop is not None:
                self.loop_of[node["id"]] = loop
            if node["type"] == "loop":
                self._index(node["config"]["body"].get("nodes", []), node["id"])

    def note(self, node: dict[str, Any], message: str) -> None:
        self.notes.append(f"{node.get('title') or node['id']} ({node['id']}): {message}")

    def kind_of(self, pilot_id: str) -> str:
        return self.types.get(pilot_id, "code")

    def add(self, node: dict[str, Any], data: dict[str, Any], *, node_type: str = "custom", width: int = 244, height: int = 90) -> None:
        pos = node.get("position") or {}
        x, y = float(pos.get("x", 0)), float(pos.get("y", 0))
        absolute = self._absolute(node["id"], x, y)
        data = {"title": (node.get("title") or node["id"])[:200], "desc": (node.get("description") or "")[:2000], "selected": False, **data}
        out: dict[str, Any] = {"id": node["id"], "type": node_type, "data": data, "position": {"x": x, "y": y},
                               "positionAbsolute": {"x": absolute[0], "y": absolute[1]}, "width": width, "height": height,
                               "selected": False, "sourcePosition": "right", "targetPosition": "left"}
        loop = self.loop_of.get(node["id"])
        if loop is not None:
            data.update(isInIteration=True, iteration_id=loop)
            out.update(parentId=loop, zIndex=1002, extent="parent")
        self.nodes.append(out)
        self.types[node["id"]] = data["type"]

    def _absolute(self, pilot_id: str, x: float, y: float) -> tuple[float, float]:
        loop = self.loop_of.get(pilot_id)
        if loop is None:
            return x, y
        pos = self.by_id[loop].get("position") or {}
        return self._absolute(loop, float(pos.get("x", 0)) + 24 + x, float(pos.get("y", 0)) + 68 + y)

    def edge(self, source: str, target: str, handle: str = "source", *, source_type: str | None = None) -> None:
        loop = self.loop_of.get(target)
        data: dict[str, Any] = {"sourceType": source_type or self.kind_of(source), "targetType": self.kind_of(target),
                                "isInIteration": loop is not None}
        if loop is not None:
            data["iteration_id"] = loop
        self.edges.append({"id": f"{source}-{handle}-{target}-target", "source": source, "sourceHandle": handle, "target": target,
                           "targetHandle": "target", "type": "custom", "zIndex": 1002 if loop else 0, "data": data})

    def run(self) -> dict[str, Any]:
        self._level(self.graph.get("nodes", []), self.graph.get("edges", []))
        if self.notes:
            self.nodes.append(_note_node(self.notes))
        env = [{"id": f"env_{name}", "name": name, "value": "", "value_type": "secret", "description": "πlot credential"}
               for name in sorted(self.refs.env)]
        return {"app": {"description": self.description, "icon": "🤖", "icon_background": "#FFEAD5",
                        "mode": "advanced-chat" if self.chat else "workflow", "name": self.name, "use_icon_as_answer_icon": False},
                "dependencies": [], "kind": "app", "version": DSL_VERSION,
                "workflow": {"conversation_variables": [], "environment_variables": env, "features": _FEATURES,
                             "graph": {"edges": self.edges, "nodes": self.nodes, "viewport": {"x": 0, "y": 0, "zoom": 1}}}}

    def _level(self, nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> None:
        for node in nodes:
            if node["id"] in self.skipped:
                continue
            self.refs.viewer = node["id"]
            data_for(self, node)
            if node["type"] == "loop":
                body = node["config"]["body"]
                self._level(body.get("nodes", []), body.get("edges", []))
                entry = f"{node['id']}start"
                targets = {e["target"] for e in body.get("edges", [])}
                for child in body.get("nodes", []):
                    if child["id"] not in targets and child["id"] not in self.skipped:
                        self.edge(entry, child["id"], source_type="iteration-start")
        for edge in edges:
            if edge["source"] in self.skipped or edge["target"] in self.skipped:
                continue
            source = self.by_id[edge["source"]]
            handle = edge.get("source_handle")
            if source["type"] == "condition" and handle not in [c["id"] for c in source["config"]["cases"]]:
                handle = "false"  # Dify's else branch
            self.edge(edge["source"], edge["target"], handle or "source")


def _note_node(notes: list[str]) -> dict[str, Any]:
    paragraphs = [{"children": [{"detail": 0, "format": 0, "mode": "normal", "style": "", "text": line, "type": "text", "version": 1}],
                   "direction": "ltr", "format": "", "indent": 0, "type": "paragraph", "version": 1, "textFormat": 0}
                  for line in ["Exported from πlot: check these", *notes][:200]]
    text = json.dumps({"root": {"children": paragraphs, "direction": "ltr", "format": "", "indent": 0, "type": "root", "version": 1}},
                      ensure_ascii=False)
    return {"id": "pilot_export_notes", "type": "custom-note", "data": {"author": "πlot", "desc": "", "height": 300, "width": 480,
                                                                         "selected": False, "showAuthor": True, "text": text,
                                                                         "theme": "yellow", "title": "", "type": ""},
            "position": {"x": 0, "y": -400}, "positionAbsolute": {"x": 0, "y": -400}, "width": 480, "height": 300,
            "selected": False, "sourcePosition": "right", "targetPosition": "left"}


def export_dify(name: str, description: str, graph: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``(Dify DSL document, notes)`` of a πlot graph (builtins, as stored)."""
    exporter = DifyExport(name, description, graph)
    return exporter.run(), exporter.notes
