"""What every importer shares: πlot node ids, the import report, placeholders, and the final
pass that makes the graph one πlot accepts (secrets out, the workflow validator satisfied).

A **placeholder** is a ``tool`` node calling ``unmapped:<tool>:<node type>``, a tool no server
has: readiness lists it (``tool_config``), publishing is refused until it is replaced, and a run
fails on it by name. Its arguments keep the original node (type, name, parameters — template
delimiters escaped), so exporting back to the same tool restores it.

The final pass (:meth:`Builder.finish`) runs the one workflow validator
(:func:`pilot.workflows.validation.validate_data`) and repairs what an import can cause: a node
the validator refuses becomes a placeholder saying why, an edge closing a cycle or dangling is
dropped, nodes no trigger reaches (they never run in the source either) are left out — each
listed in the report, never silently.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import msgspec

from pilot.core.pasted_secrets import pasted_secret_spans
from pilot.interop.schemas import (
    ExpressionCounts,
    Format,
    ImportReport,
    ItemKind,
    NodeCounts,
    NodeStatus,
    ReportItem,
)
from pilot.interop.textparts import escape_text
from pilot.workflows.validation import validate_data

PLACEHOLDER_PREFIX = "unmapped:"
_RANK = {"mapped": 0, "partial": 1, "placeholder": 2}
_PARTIAL_KINDS = frozenset({"expression", "parameter", "structure", "trigger"})
_RESERVED_IDS = frozenset({"items", "keys", "values", "get", "update", "pop", "copy", "inputs", "nodes", "item", "loop",
                           "credentials", "true", "false", "none", "and", "or", "not", "in", "is", "if", "else"})
_NODE_PROBLEMS = frozenset({"invalid_config", "missing_config", "template_syntax", "reference_not_upstream", "code_syntax",
                            "unsupported_language", "wait_in_loop", "input_in_loop", "duplicate_case", "unknown_node_type"})
_ESCAPED = re.compile(r'\{\{ "(\{[{%#])" \}\}')
MAX_REPAIR_ROUNDS = 8


def escape_value(value: Any) -> Any:
    """A JSON value with every string's template delimiters escaped (kept as literal text)."""
    if isinstance(value, str):
        return escape_text(value)
    if isinstance(value, dict):
        return {str(k): escape_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [escape_value(v) for v in value]
    return value


def unescape_value(value: Any) -> Any:
    """The inverse of :func:`escape_value` (exporters restore a placeholder's original)."""
    if isinstance(value, str):
        return _ESCAPED.sub(r"\1", value)
    if isinstance(value, dict):
        return {k: unescape_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unescape_value(v) for v in value]
    return value


def placeholder_origin(node: Any) -> dict[str, Any] | None:
    """``{source, type, name, original}`` of a placeholder node (a dict or a Node), else None."""
    data = node if isinstance(node, dict) else msgspec.to_builtins(node)
    config = data.get("config") or {}
    if data.get("type") != "tool" or not str(config.get("tool", "")).startswith(PLACEHOLDER_PREFIX):
        return None
    args = config.get("arguments") or {}
    return {"source": args.get("source"), "type": args.get("type"), "name": unescape_value(args.get("name")),
            "original": unescape_value(args.get("original"))}


PILOT_NODE_MARK = "pilot:node "  # a πlot step with no counterpart, carried through a foreign file


def carried_node(text: Any) -> dict[str, Any] | None:
    """The πlot node a foreign node carries (``pilot:node {json}`` in its notes or code), else None."""
    if not isinstance(text, str) or PILOT_NODE_MARK not in text:
        return None
    line = text[text.index(PILOT_NODE_MARK) + len(PILOT_NODE_MARK):].split("\n", 1)[0]
    try:
        node = msgspec.json.decode(line)
    except msgspec.DecodeError:
        return None
    from pilot.workflows.model import NODE_TYPES

    if isinstance(node, dict) and node.get("type") in NODE_TYPES and isinstance(node.get("config"), dict):
        return node
    return None


def carry(node: dict[str, Any]) -> str:
    """The ``pilot:node`` line that carries ``node`` through a foreign file."""
    return PILOT_NODE_MARK + msgspec.json.encode({k: v for k, v in node.items() if k != "position"}).decode()


def levels(graph: dict[str, Any]) -> list[dict[str, Any]]:
    """The top level and every loop body of a raw graph (each ``{nodes, edges}``)."""
    out, stack = [], [graph]
    while stack:
        level = stack.pop()
        out.append(level)
        stack.extend(n["config"]["body"] for n in level.get("nodes", []) if n.get("type") == "loop")
    return out


class Builder:
    """One import in progress: ids, report items and node statuses keyed by source node."""

    def __init__(self, source: Format) -> None:
        self.source = source
        self.ids: set[str] = set()
        self.items: list[ReportItem] = []
        self.statuses: dict[str, str] = {}  # source key → mapped | partial | folded | placeholder | disconnected
        self.origins: dict[str, tuple[str, str, str, Any]] = {}  # πlot id → (source key, type, name, original)
        self.annotations = 0
        self.expressions: dict[str, list[int]] = {}  # source key → [translated, kept]

    # ------------------------------------------------------------ ids and statuses

    def new_id(self, name: str, kind: str, *, prefer: str | None = None) -> str:
        """A unique πlot node id: ``prefer`` when it is a free node id (a file πlot exported keeps its
        ids), else from a source name (ASCII slug; ``kind`` when nothing is left)."""
        if prefer and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", prefer) and prefer not in self.ids and prefer not in _RESERVED_IDS:
            self.ids.add(prefer)
            return prefer
        ascii_name = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode()
        slug = re.sub(r"[^A-Za-z0-9]+", "_", ascii_name).strip("_").lower()[:40]
        if not slug or not re.match(r"[a-z_]", slug):
            slug = f"{kind}_{slug}" if slug else kind
        candidate, n = slug, 1
        while candidate in self.ids or candidate in _RESERVED_IDS:
            n += 1
            candidate = f"{slug}_{n}"
        self.ids.add(candidate)
        return candidate

    def status(self, key: str, status: NodeStatus | str) -> None:
        """Record how source node ``key`` landed (the worst of several calls wins)."""
        old = self.statuses.get(key)
        if old is None or _RANK.get(status, -1) > _RANK.get(old, -1):
            self.statuses[key] = status

    def item(self, kind: ItemKind, message: str, *, node_id: str | None = None, source: str | None = None,
             source_type: str | None = None, field: str | None = None) -> None:
        """Add a report item; expression / parameter / structure / trigger items make the node partial."""
        self.items.append(ReportItem(kind=kind, message=message, node_id=node_id, source=source,
                                     source_type=source_type, field=field))
        if source is not None and kind in _PARTIAL_KINDS and self.statuses.get(source) in (None, "mapped"):
            self.statuses[source] = "partial"

    def expression(self, key: str, *, translated: int = 0, kept: int = 0) -> None:
        """Count expressions of source node ``key`` (a placeholder's are not counted at the end)."""
        counts = self.expressions.setdefault(key, [0, 0])
        counts[0] += translated
        counts[1] += kept

    def origin(self, node_id: str, key: str, source_type: str, name: str, original: Any) -> None:
        """Remember where a πlot node came from, so a repair can turn it into a proper placeholder."""
        self.origins[node_id] = (key, source_type, name, original)

    # ------------------------------------------------------------ placeholders

    def placeholder(self, node_id: str, key: str, source_type: str, name: str, original: Any, reason: str) -> dict[str, Any]:
        """A placeholder node for source node ``key`` (and its report item)."""
        self.status(key, "placeholder")
        self.items.append(ReportItem(kind="placeholder", message=reason, node_id=node_id, source=key, source_type=source_type))
        self.origin(node_id, key, source_type, name, original)
        return {
            "id": node_id, "type": "tool", "title": f"⚠ {name} (not imported)",
            "description": f"Placeholder for the {self.source} node '{name}' ({source_type}): {reason} "
                           "Replace it with a πlot step; until then readiness lists it and publishing is refused.",
            "config": {"tool": f"{PLACEHOLDER_PREFIX}{self.source}:{source_type}",
                       "arguments": {"source": self.source, "type": source_type, "name": escape_text(name),
                                     "original": escape_value(original)}},
        }

    # ------------------------------------------------------------ the report

    def report(self, fmt: Format) -> ImportReport:
        counts: dict[str, int] = {}
        for status in self.statuses.values():
            counts[status] = counts.get(status, 0) + 1
        live = [c for key, c in self.expressions.items() if self.statuses.get(key) not in ("placeholder", "disconnected")]
        expressions = ExpressionCounts(translated=sum(c[0] for c in live), kept=sum(c[1] for c in live))
        return ImportReport(format=fmt, items=self.items, expressions=expressions, counts=NodeCounts(
            source_nodes=len(self.statuses), mapped=counts.get("mapped", 0), partial=counts.get("partial", 0),
            folded=counts.get("folded", 0), placeholder=counts.get("placeholder", 0),
            disconnected=counts.get("disconnected", 0), annotations=self.annotations))

    # ------------------------------------------------------------ the final pass

    def finish(self, graph: dict[str, Any]) -> dict[str, Any]:
        """Scrub secrets, then validate and repair until the workflow validator accepts the graph."""
        for level in levels(graph):
            for node in level["nodes"]:
                self._scrub(node)
            self._break_cycles(level)
        for _ in range(MAX_REPAIR_ROUNDS):
            _graph, report = validate_data(graph)
            if report.valid:
                break
            if not any([self._repair(graph, p) for p in report.problems]):
                break  # nothing left to repair: the caller's save reports the problems (422)
        return graph

    def _break_cycles(self, level: dict[str, Any]) -> None:
        """Drop each edge that closes a cycle (a back edge of a depth-first walk in file order):
        πlot graphs are acyclic, and the walk's order keeps the result the same on every run."""
        out: dict[str, list[dict[str, Any]]] = {}
        for edge in level["edges"]:
            out.setdefault(edge["source"], []).append(edge)
        state: dict[str, int] = {}  # 1 = on the current path, 2 = done
        back: list[dict[str, Any]] = []
        for root in [n["id"] for n in level["nodes"]]:
            if root in state:
                continue
            stack = [(root, iter(out.get(root, [])))]
            state[root] = 1
            while stack:
                node, edges = stack[-1]
                edge = next(edges, None)
                if edge is None:
                    state[node] = 2
                    stack.pop()
                elif state.get(edge["target"]) == 1:
                    back.append(edge)
                elif edge["target"] not in state:
                    state[edge["target"]] = 1
                    stack.append((edge["target"], iter(out.get(edge["target"], []))))
        for edge in back:
            level["edges"].remove(edge)
            self.item("structure", f"the connection {edge['source']} → {edge['target']} closed a cycle; πlot workflows are "
                      "acyclic (repeat work with a loop), so it was left out", node_id=edge["target"])

    def _scrub(self, node: dict[str, Any]) -> None:
        """A secret in a node (an API key in a header, a webhook URL with its token) is replaced by
        a credential reference, and the report says which credential to create."""
        def walk(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: (v if k == "body" and node.get("type") == "loop" else walk(v)) for k, v in value.items()}
            if isinstance(value, list):
                return [walk(v) for v in value]
            if not isinstance(value, str):
                return value
            for start, end, label, name, kind in reversed(pasted_secret_spans(value)):
                value = value[:start] + "{{ credentials." + name + " }}" + value[end:]
                self.item("credential", f"the source held {label} here; it was not imported: create the credential "
                          f"'{name}' (type {kind}) with POST /api/credentials", node_id=node["id"])
            return value

        node["config"] = walk(node.get("config", {}))

    def _repair(self, graph: dict[str, Any], problem: Any) -> bool:
        code, ids, edge_ids = problem.code, list(problem.node_ids), set(problem.edge_ids)
        for level in levels(graph):
            by_id = {n["id"]: n for n in level["nodes"]}
            if code in _NODE_PROBLEMS and ids and ids[0] in by_id:
                self._to_placeholder(level, by_id[ids[0]], problem.message)
                return True
            if code == "cycle" and len(ids) >= 1 and all(i in by_id for i in ids):
                closing = [e for e in level["edges"] if e["source"] == ids[-1] and e["target"] == ids[0]]
                if closing:
                    level["edges"].remove(closing[0])
                    self.item("structure", f"the edge {ids[-1]} → {ids[0]} closed a cycle ({problem.message}); πlot "
                              "workflows are acyclic (repeat work with a loop), so it was left out", node_id=ids[0])
                    return True
            if code in ("dangling_edge", "duplicate_edge", "duplicate_edge_id", "bad_source_handle") and edge_ids:
                kept = [e for e in level["edges"] if e["id"] not in edge_ids]
                if len(kept) != len(level["edges"]):
                    level["edges"] = kept
                    self.item("structure", f"edge left out: {problem.message}")
                    return True
            if code == "missing_output" and level is graph:
                start = next((n["id"] for n in level["nodes"] if n["type"] == "input"), None)
                out_id = self.new_id("result", "output")
                level["nodes"].append({"id": out_id, "type": "output", "title": "Result", "config": {"outputs": {}}})
                if start:
                    level["edges"].append({"id": f"e_{out_id}", "source": start, "target": out_id})
                self.item("structure", "no step produces a result any more: an empty output node was added")
                return True
            if code == "unreachable" and ids and any(i in by_id for i in ids):
                for nid in ids:
                    if nid in by_id:
                        self._drop(level, by_id[nid])
                return True
        return False

    def _to_placeholder(self, level: dict[str, Any], node: dict[str, Any], reason: str) -> None:
        if node["type"] == "input":  # the start stays: it falls back to a manual start without inputs
            config = node.setdefault("config", {})
            dropped = "its trigger" if config.pop("trigger", None) is not None else "its input fields"
            if dropped == "its input fields":
                config["fields"] = []
            self.item("trigger", f"the start node was refused ({reason}); {dropped} were dropped", node_id=node["id"])
            return
        key, source_type, name, original = self.origins.get(node["id"], (node["id"], node["type"], node.get("title") or node["id"], node))
        replacement = self.placeholder(node["id"], key, source_type, name, original, f"πlot refused the mapped node: {reason}")
        level["nodes"][level["nodes"].index(node)] = replacement
        seen: set[tuple[str, str]] = set()
        edges = []
        for edge in level["edges"]:
            if edge["source"] == node["id"]:
                edge = {**edge, "source_handle": None}
            pair = (edge["source"], edge["target"])
            if edge["source"] == node["id"] and pair in seen:
                continue
            seen.add(pair)
            edges.append(edge)
        level["edges"] = edges

    def _drop(self, level: dict[str, Any], node: dict[str, Any]) -> None:
        level["nodes"].remove(node)
        level["edges"] = [e for e in level["edges"] if node["id"] not in (e["source"], e["target"])]
        self.items = [i for i in self.items if i.node_id != node["id"]]
        if node["id"] not in self.origins:
            return  # a node the import added (an output after a sink): nothing of the source is lost
        key, source_type, name, _original = self.origins[node["id"]]
        self.statuses[key] = "disconnected"
        self.item("structure", f"'{name}' ({source_type}) is not connected to any trigger, so it never runs in the "
                  "source workflow either; it was left out", source_type=source_type)
