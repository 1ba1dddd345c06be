"""A πlot workflow → n8n workflow JSON (``nodes`` with type / typeVersion / parameters /
position, ``connections`` keyed by node name).

Each πlot node becomes the n8n node that does the same (:mod:`pilot.interop.n8n_export_nodes`);
an ``llm`` or ``agent`` brings its chat model (and output parser) as connected sub-nodes, a
``loop`` becomes Loop Over Items whose loop output feeds the body and whose body comes back to it,
an ``output`` a Set node marked ``pilot:output`` (importing the file again gives the output back).
A placeholder imported from n8n is written back as the original node. What has no n8n form is a
Stop and Error node saying so, and everything that did not translate exactly is listed in a
sticky note.
"""

from __future__ import annotations

import uuid
from typing import Any

from pilot.interop.builder import placeholder_origin
from pilot.interop.n8n_export_nodes import node_for
from pilot.interop.n8n_js import _js_path
from pilot.interop.textparts import Untranslatable

_NAMESPACE = uuid.UUID("6f1c3a52-2f4e-4d8e-9a51-7c0d6a1e4b10")
ID_MARK = "pilot:id="  # in an exported node's notes: its πlot id, kept when the file is imported again


class N8nExport:
    """One πlot graph being written as n8n JSON (``ex`` of the node writers)."""

    def __init__(self, name: str, graph: dict[str, Any]) -> None:
        self.name, self.graph = name, graph
        self.notes: list[str] = []
        self.nodes: list[dict[str, Any]] = []
        self.connections: dict[str, dict[str, list[list[dict[str, Any]]]]] = {}
        self.by_id: dict[str, dict[str, Any]] = {}
        self.loop_of: dict[str, str] = {}  # πlot id → the loop whose body holds it
        self.names: dict[str, str] = {}
        self.current: dict[str, Any] = {}
        self._index(graph.get("nodes", []), None)
        start = next((n for n in graph.get("nodes", []) if n["type"] == "input"), None)
        self.trigger = ((start or {}).get("config") or {}).get("trigger") or {"kind": "manual"}
        self.start_id = start["id"] if start else None
        self.form_labels = {f["name"]: f.get("description") or f["name"] for f in ((start or {}).get("config") or {}).get("fields", [])}

    def _index(self, nodes: list[dict[str, Any]], loop: str | None) -> None:
        taken = set(self.names.values())
        for node in nodes:
            self.by_id[node["id"]] = node
            if loop is not None:
                self.loop_of[node["id"]] = loop
            origin = placeholder_origin(node)
            base = str((origin or {}).get("name") or node.get("title") or node["id"]).strip() or node["id"]
            name, n = base, 1
            while name in taken:
                n += 1
                name = f"{base} {n}"
            taken.add(name)
            self.names[node["id"]] = name
            if node["type"] == "loop":
                self._index(node["config"]["body"].get("nodes", []), node["id"])

    # ------------------------------------------------------------ references (n8n_js.Targets)

    def reference(self, root: str, path: list[str | int]) -> str:
        if root == "inputs" and self.start_id:
            trigger, name = self.trigger.get("kind"), self.names[self.start_id]
            if trigger == "webhook":
                return f"$('{name}').item.json.body" + _js_path(path)
            if trigger == "chat" and path[:1] == ["message"]:
                return f"$('{name}').item.json.chatInput" + _js_path(path[1:])
            if trigger == "form" and path and path[0] in self.form_labels:
                return f"$('{name}').item.json" + _js_path([self.form_labels[str(path[0])], *path[1:]])
            return f"$('{name}').item.json" + _js_path(path)
        if root == "item" and self.current.get("id") in self.loop_of:
            return f"$('{self.names[self.loop_of[self.current['id']]]}').item.json" + _js_path(path)
        if root == "item" and self.current.get("type") == "transform":
            return "$json" + _js_path(path)
        if root == "nodes" and len(path) >= 2 and path[1] == "output" and path[0] in self.by_id:
            return self._node_reference(self.by_id[str(path[0])], path[2:])
        raise Untranslatable(f"{root}{_js_path(path)} has no n8n equivalent")

    def _node_reference(self, node: dict[str, Any], path: list[str | int]) -> str:
        item = f"$('{self.names[node['id']]}').item.json"
        kind, config = node["type"], node.get("config") or {}
        if kind == "api" and path[:1] == ["body"]:
            return item + _js_path(path[1:])
        if kind == "llm":
            return item + (".output" + _js_path(path) if config.get("output_schema") else ".text" + _js_path(path))
        if kind == "agent":
            return item + ".output" + _js_path(path)
        if kind in ("transform", "output", "workflow") or (kind == "code" and path[:1] == ["result"]):
            return item + _js_path(path)
        raise Untranslatable(f"the output of the {kind} node '{node['id']}' has no n8n equivalent")

    # ------------------------------------------------------------ writing

    def note(self, node: dict[str, Any], message: str) -> None:
        self.notes.append(f"**{self.names.get(node['id'], node['id'])}**: {message}")

    def add(self, node: dict[str, Any], n8n_type: str, version: float, parameters: dict[str, Any], *, name: str | None = None,
            suffix: str = "", offset: tuple[int, int] = (0, 0), **extra: Any) -> str:
        position = self._position(node)
        if not suffix:  # the node itself (not a sub-node) keeps its πlot id for a later re-import
            notes = extra.pop("notes", "")
            extra["notes"] = f"{notes}\n{ID_MARK}{node['id']}".strip() if isinstance(notes, str) else notes
        out = {"parameters": parameters, "id": str(uuid.uuid5(_NAMESPACE, f"{self.name}:{node['id']}:{suffix}")),
               "name": name or self.names[node["id"]], "type": n8n_type, "typeVersion": version,
               "position": [position[0] + offset[0], position[1] + offset[1]], **extra}
        self.nodes.append(out)
        return out["name"]

    def connect(self, source: str, target: str, *, kind: str = "main", output: int = 0) -> None:
        outputs = self.connections.setdefault(source, {}).setdefault(kind, [])
        while len(outputs) <= output:
            outputs.append([])
        link = {"node": target, "type": kind, "index": 0}
        if link not in outputs[output]:
            outputs[output].append(link)

    def _position(self, node: dict[str, Any]) -> tuple[int, int]:
        pos = node.get("position") or {}
        x, y = int(pos.get("x", 0)), int(pos.get("y", 0))
        loop = self.loop_of.get(node["id"])
        if loop is not None:
            lx, ly = self._position(self.by_id[loop])
            return lx + 300 + x, ly + 300 + y
        return x, y

    def run(self) -> dict[str, Any]:
        self._level(self.graph.get("nodes", []), self.graph.get("edges", []))
        if self.notes:
            content = "## Exported from πlot: check these\n" + "\n".join(f"- {n}" for n in self.notes)
            self.nodes.append({"parameters": {"content": content[:20_000], "height": 80 + 24 * min(len(self.notes), 40), "width": 640},
                               "id": str(uuid.uuid5(_NAMESPACE, f"{self.name}:notes")), "name": "πlot export notes",
                               "type": "n8n-nodes-base.stickyNote", "typeVersion": 1, "position": [0, -400]})
        return {"name": self.name, "nodes": self.nodes, "connections": self.connections, "pinData": {}, "active": False,
                "settings": {"executionOrder": "v1", **({"timezone": self.trigger["timezone"]} if self.trigger.get("timezone") else {})},
                "meta": {"templateCredsSetupCompleted": False}, "tags": []}

    def _level(self, nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> None:
        for node in nodes:
            self.current = node
            node_for(self, node)
            if node["type"] == "loop":
                body = node["config"]["body"]
                self._level(body.get("nodes", []), body.get("edges", []))
                inner = {e["target"] for e in body.get("edges", [])}
                outer = {e["source"] for e in body.get("edges", [])}
                for child in body.get("nodes", []):
                    if child["id"] not in inner:
                        self.connect(self.names[node["id"]], self.names[child["id"]], output=1)
                    if child["id"] not in outer:
                        self.connect(self.names[child["id"]], self.names[node["id"]])
        for edge in edges:
            source = self.by_id[edge["source"]]
            self.connect(self.names[edge["source"]], self.names[edge["target"]], output=self._output_index(source, edge.get("source_handle")))

    @staticmethod
    def _output_index(source: dict[str, Any], handle: str | None) -> int:
        if source["type"] != "condition" or handle is None:
            return 0
        cases = [c["id"] for c in source["config"]["cases"]]
        return cases.index(handle) if handle in cases else len(cases)


def export_n8n(name: str, graph: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``(n8n workflow JSON, notes)`` of a πlot graph (builtins, as stored)."""
    exporter = N8nExport(name, graph)
    return exporter.run(), exporter.notes
