"""The implementation of each edit operation on a mutable builtins copy of a graph.

:func:`pilot.chat.edits.apply_edits` runs these, then validates the result; they only have to
keep the draft coherent (edges, references) and raise :class:`EditError` with a plain reason.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

import msgspec

from pilot.chat.ops import (
    NODE_FIELDS,
    AddEdge,
    AddNode,
    EditError,
    RemoveEdge,
    RemoveNode,
    SetSetting,
    UpdateNode,
    WrapInLoop,
)
from pilot.workflows.model import WorkflowGraph

# ---------------------------------------------------------------- helpers on the builtins graph


def _node_refs(node_id: str) -> re.Pattern[str]:
    return re.compile(rf"\bnodes\.{re.escape(node_id)}\b|\bnodes\[(['\"]){re.escape(node_id)}\1\]")


def map_strings(value: Any, fn) -> Any:
    """Apply ``fn`` to every string inside nested dicts/lists (dict keys are left alone)."""
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, list):
        return [map_strings(v, fn) for v in value]
    if isinstance(value, dict):
        return {k: map_strings(v, fn) for k, v in value.items()}
    return value


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch (returns a new value)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def references(value: Any, node_id: str) -> bool:
    """Whether any string in ``value`` references ``nodes.<node_id>``."""
    pattern = _node_refs(node_id)
    found = False

    def check(s: str) -> str:
        nonlocal found
        found = found or bool(pattern.search(s))
        return s

    map_strings(value, check)
    return found


def iter_node_dicts(nodes: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """(node, the list that holds it) for every node, loop bodies included."""
    for node in nodes:
        yield node, nodes
        if node.get("type") == "loop":
            body = node.get("config", {}).get("body", {})
            yield from iter_node_dicts(body.get("nodes", []))


def unique_id(base: str, taken: set[str]) -> str:
    """``base`` made a valid identifier and unique among ``taken``."""
    ident = re.sub(r"[^A-Za-z0-9_]", "_", base).strip("_") or "step"
    if not re.match(r"[A-Za-z_]", ident):
        ident = f"n_{ident}"
    ident = ident[:56]
    candidate, n = ident, 2
    while candidate in taken:
        candidate = f"{ident}_{n}"
        n += 1
    return candidate


class Draft:
    """A mutable builtins copy of a graph that the ops edit in place."""

    def __init__(self, graph: WorkflowGraph) -> None:
        data = msgspec.to_builtins(graph)
        self.nodes: list[dict[str, Any]] = data["nodes"]
        self.edges: list[dict[str, Any]] = data.get("edges", [])
        self.settings: dict[str, Any] = data.get("settings", {})

    def ids(self) -> set[str]:
        return {n["id"] for n, _ in iter_node_dicts(self.nodes)}

    def top(self, node_id: str) -> dict[str, Any]:
        for node in self.nodes:
            if node["id"] == node_id:
                return node
        if node_id in self.ids():
            raise EditError(f"step '{node_id}' is inside a loop; only its config can be changed")
        raise EditError(f"there is no step '{node_id}' in this workflow")

    def find(self, node_id: str) -> dict[str, Any]:
        for node, _ in iter_node_dicts(self.nodes):
            if node["id"] == node_id:
                return node
        raise EditError(f"there is no step '{node_id}' in this workflow")

    def preds(self, node_id: str) -> list[dict[str, Any]]:
        return [e for e in self.edges if e["target"] == node_id]

    def succs(self, node_id: str) -> list[dict[str, Any]]:
        return [e for e in self.edges if e["source"] == node_id]

    def connect(self, source: str, target: str, handle: str | None = None, edge_id: str | None = None) -> None:
        if any(e["source"] == source and e["target"] == target and e.get("source_handle") == handle for e in self.edges):
            return
        taken = {e["id"] for e in self.edges}
        eid = edge_id if edge_id and edge_id not in taken else unique_id(f"e_{source}_{target}", taken)
        edge: dict[str, Any] = {"id": eid, "source": source, "target": target}
        if handle is not None:
            edge["source_handle"] = handle
        self.edges.append(edge)

    def rewrite_all(self, fn) -> None:
        for node, _ in iter_node_dicts(self.nodes):
            for key in ("config", "default_output"):
                if key in node:
                    node[key] = map_strings(node[key], fn)


# ---------------------------------------------------------------- the ops


def _add_node(d: Draft, op: AddNode) -> None:
    node = copy.deepcopy(op.node)
    nid = node.get("id")
    if not isinstance(nid, str) or not nid:
        raise EditError("a new step needs an 'id'")
    if nid in d.ids():
        raise EditError(f"a step with id '{nid}' already exists")
    for ref in [*op.after, *op.before]:
        d.top(ref)
    # List order is cosmetic but readable: a spliced-in step sits just before its first successor.
    index = min((i for i, n in enumerate(d.nodes) if n["id"] in op.before), default=len(d.nodes))
    d.nodes.insert(index, node)
    if op.after and op.before:
        for a in op.after:
            for b in op.before:
                split = [e for e in d.edges if e["source"] == a and e["target"] == b]
                handles = [e.get("source_handle") for e in split] or [op.source_handle]
                d.edges[:] = [e for e in d.edges if e not in split]
                for handle in handles:
                    d.connect(a, nid, handle)
        for b in op.before:
            d.connect(nid, b)
    elif op.before:
        for b in op.before:
            incoming = d.preds(b)
            d.edges[:] = [e for e in d.edges if e not in incoming]
            for e in incoming:
                d.connect(e["source"], nid, e.get("source_handle"))
            d.connect(nid, b)
    else:
        for a in op.after:
            d.connect(a, nid, op.source_handle)


def _remove_node(d: Draft, op: RemoveNode) -> None:
    node = d.top(op.node_id)
    if node.get("type") in ("input", "output"):
        raise EditError(f"'{node.get('title') or op.node_id}' is the workflow's {node['type']} step and cannot be removed")
    incoming, outgoing = d.preds(op.node_id), d.succs(op.node_id)
    d.nodes[:] = [n for n in d.nodes if n["id"] != op.node_id]
    d.edges[:] = [e for e in d.edges if op.node_id not in (e["source"], e["target"])]
    if not op.reconnect:
        return
    for e_in in incoming:
        for e_out in outgoing:
            if e_in["source"] != e_out["target"]:
                d.connect(e_in["source"], e_out["target"], e_in.get("source_handle"))
    # Downstream steps that read the removed step's output now read what it was reading, when
    # that is a like-for-like substitute (e.g. removing a review: readers get the draft).
    sources = {e["source"] for e in incoming}
    pred = next(iter(sources)) if len(sources) == 1 else None
    if pred is not None and d.top(pred).get("type") not in ("input", "condition"):
        pattern = _node_refs(op.node_id)
        d.rewrite_all(lambda s: pattern.sub(f"nodes.{pred}", s))
        for other, _ in iter_node_dicts(d.nodes):
            if other.get("type") == "output":
                _drop_duplicate_outputs(other)
    else:
        main = _main_input(d)
        for other, _ in iter_node_dicts(d.nodes):
            _drop_optional_refs(other, op.node_id, main)
    users = sorted(n["id"] for n, _ in iter_node_dicts(d.nodes) if references(n.get("config"), op.node_id))
    if users:
        raise EditError(
            f"cannot remove '{node.get('title') or op.node_id}': step(s) {', '.join(users)} use its output",
            extra={"node_ids": users},
        )


def _drop_duplicate_outputs(node: dict[str, Any]) -> None:
    """After a rewrite two outputs may now say the same thing: keep the first."""
    seen: set[str] = set()
    outputs = {}
    for key, value in node["config"].get("outputs", {}).items():
        if value in seen and "{{" in value:
            continue
        seen.add(value)
        outputs[key] = value
    node["config"]["outputs"] = outputs


def _main_input(d: Draft) -> str | None:
    """The input field a workflow mainly processes (first required string field)."""
    for node in d.nodes:
        if node.get("type") == "input":
            fields = node.get("config", {}).get("fields", [])
            for f in fields:
                if f.get("required", True) and f.get("type", "string") == "string":
                    return f["name"]
            return fields[0]["name"] if fields else None
    return None


def _drop_optional_refs(node: dict[str, Any], removed: str, main_input: str | None) -> None:
    """Forget a removed step where that loses nothing essential: output values that only
    report it, LLM prompt lines about it when the prompt still reads other steps (or the line
    is an ``{% if nodes.<removed> %}`` guard), and a search query that was only the removed
    step's rewrite of the request (it searches the request itself again). Anything else
    stays, and the caller refuses the edit."""
    pattern = _node_refs(removed)
    config = node.get("config", {})
    only_ref = re.compile(rf"^\s*\{{\{{\s*nodes\.{re.escape(removed)}\.output\s*\}}\}}\s*$")
    if node.get("type") == "knowledge" and main_input and only_ref.match(config.get("query", "")):
        config["query"] = f"{{{{ inputs.{main_input} }}}}"
    elif node.get("type") == "output":
        kept = {k: v for k, v in config.get("outputs", {}).items() if not pattern.search(v)}
        if kept:
            config["outputs"] = kept
    elif node.get("type") == "llm":
        for key in ("prompt", "system"):
            text = config.get(key) or ""
            if not pattern.search(text):
                continue
            lines = text.split("\n")
            doomed = [ln for ln in lines if pattern.search(ln)]
            rest = "\n".join(ln for ln in lines if not pattern.search(ln))
            guarded = all(re.match(r"\s*\{%\s*if\b[^%]*\bnodes\.", ln) and "{% endif %}" in ln for ln in doomed)
            if guarded or re.search(r"\bnodes\.", rest):
                config[key] = rest


def _update_node(d: Draft, op: UpdateNode) -> None:
    node = d.find(op.node_id)
    bad = sorted(set(op.fields) - NODE_FIELDS)
    if bad:
        raise EditError(f"update of '{op.node_id}' sets unknown or immutable field(s): {', '.join(bad)}")
    if op.config:
        node["config"] = merge_patch(node.get("config", {}), op.config)
    for key, value in op.fields.items():
        if value is None:
            node.pop(key, None)
        else:
            node[key] = copy.deepcopy(value)


def _add_edge(d: Draft, op: AddEdge) -> None:
    d.top(op.source)
    d.top(op.target)
    d.connect(op.source, op.target, op.source_handle, op.id)


def _remove_edge(d: Draft, op: RemoveEdge) -> None:
    if op.edge_id:
        doomed = [e for e in d.edges if e["id"] == op.edge_id]
    elif op.source and op.target:
        doomed = [
            e
            for e in d.edges
            if e["source"] == op.source and e["target"] == op.target
            and (op.source_handle is None or e.get("source_handle") == op.source_handle)
        ]
    else:
        raise EditError("remove_edge needs 'edge_id' or both 'source' and 'target'")
    if not doomed:
        raise EditError(f"there is no such connection ({op.edge_id or f'{op.source} → {op.target}'})")
    d.edges[:] = [e for e in d.edges if e not in doomed]


def _set_setting(d: Draft, op: SetSetting) -> None:
    if op.value is None:
        d.settings.pop(op.key, None)
    else:
        d.settings[op.key] = op.value


def _wrap_in_loop(d: Draft, op: WrapInLoop) -> None:
    wrapped = set(op.node_ids)
    if not wrapped:
        raise EditError("nothing to put inside the loop")
    if op.loop_id in d.ids():
        raise EditError(f"a step with id '{op.loop_id}' already exists")
    members = [d.top(nid) for nid in op.node_ids]
    for node in members:
        if node.get("type") in ("input", "output"):
            raise EditError(f"the {node['type']} step cannot go inside a loop")
    index = min(i for i, n in enumerate(d.nodes) if n["id"] in wrapped)
    inner = [e for e in d.edges if e["source"] in wrapped and e["target"] in wrapped]
    entering = [e for e in d.edges if e["source"] not in wrapped and e["target"] in wrapped]
    leaving = [e for e in d.edges if e["source"] in wrapped and e["target"] not in wrapped]
    d.nodes[:] = [n for n in d.nodes if n["id"] not in wrapped]
    d.edges[:] = [e for e in d.edges if e["source"] not in wrapped and e["target"] not in wrapped]
    if op.per_item_input:
        per_item = re.compile(rf"\binputs\.{re.escape(op.per_item_input)}\b")
        members = [map_strings(n, lambda s: per_item.sub(op.item_var, s)) for n in members]
    for node in members:
        node.pop("position", None)
    d.nodes.insert(
        index,
        {
            "id": op.loop_id,
            "type": "loop",
            "title": op.title or "For each item",
            "config": {
                "items": op.items,
                "item_var": op.item_var,
                "max_concurrency": op.max_concurrency,
                "max_items": op.max_items,
                "body": {"nodes": members, "edges": inner},
            },
        }
    )
    for e in entering:
        d.connect(e["source"], op.loop_id, e.get("source_handle"))
    for e in leaving:
        d.connect(op.loop_id, e["target"])
    # Outside the loop a wrapped step's output is now one element of the loop's output list:
    # readers get the loop's output; output values about wrapped steps become that list.
    alternation = "|".join(re.escape(n) for n in sorted(wrapped, key=len, reverse=True))
    outer_ref = re.compile(rf"\bnodes\.(?:{alternation})\b(?:\.output)?(?:\.[A-Za-z_]\w*|\[[^\]]*\])*")
    loop_value = f"{{{{ nodes.{op.loop_id}.output }}}}"
    for node in d.nodes:
        if node["id"] == op.loop_id or "config" not in node:
            continue
        if node.get("type") == "output":
            outputs: dict[str, str] = {}
            for key, value in node["config"].get("outputs", {}).items():
                if outer_ref.search(value):
                    if loop_value in outputs.values():
                        continue
                    value = loop_value
                outputs[key] = value
            node["config"]["outputs"] = outputs
        else:
            node["config"] = map_strings(node["config"], lambda s: outer_ref.sub(f"nodes.{op.loop_id}.output", s))


HANDLERS = {
    AddNode: _add_node,
    RemoveNode: _remove_node,
    UpdateNode: _update_node,
    AddEdge: _add_edge,
    RemoveEdge: _remove_edge,
    SetSetting: _set_setting,
    WrapInLoop: _wrap_in_loop,
}
