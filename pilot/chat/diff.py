"""Old graph → new graph as the minimal list of chat ``workflow.*`` events; a build (edit ops
from an empty graph) as the events that show it op by op (:func:`build_events`).

Nodes are matched by id, edges by ``(source, target, source_handle)`` (an edge whose id
changed but that connects the same handles is not a change). Positions are ignored: a re-layout
is not an edit; the laid-out workflow travels in ``workflow.ready``.

Order: removed edges, removed nodes, updated nodes, then added nodes in topological order of
the new graph, each followed by the added edges whose two ends now exist (so a client that
draws events as they arrive never sees a dangling edge), then a settings change.
"""

from __future__ import annotations

from typing import Any

import msgspec
import networkx as nx

from pilot.chat.events import (
    ChatEvent,
    EdgeAdded,
    EdgeRemoved,
    NodeAdded,
    NodeRemoved,
    NodeUpdated,
    SettingsUpdated,
)
from pilot.chat.ops import AddEdge, AddNode, EditOp, SetSetting
from pilot.workflows.model import WorkflowGraph

EMPTY = WorkflowGraph(nodes=[], edges=[])


def _edge_key(edge: dict[str, Any]) -> tuple[str, str, str | None]:
    return edge["source"], edge["target"], edge.get("source_handle")


def _changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Dotted names of what changed: top-level fields and first-level config keys."""
    changed: list[str] = []
    for key in sorted(set(old) | set(new)):
        if key in ("position", "config") or old.get(key) == new.get(key):
            continue
        changed.append(key)
    old_cfg, new_cfg = old.get("config", {}), new.get("config", {})
    for key in sorted(set(old_cfg) | set(new_cfg)):
        if old_cfg.get(key) != new_cfg.get(key):
            changed.append(f"config.{key}")
    return changed


def _topological(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> list[str]:
    g = nx.DiGraph()
    order = {n["id"]: i for i, n in enumerate(nodes)}
    g.add_nodes_from(order)
    g.add_edges_from((e["source"], e["target"]) for e in edges if e["source"] in g and e["target"] in g)
    try:
        return list(nx.lexicographical_topological_sort(g, key=lambda nid: order[nid]))
    except nx.NetworkXUnfeasible:
        return list(order)


def diff_graphs(old: WorkflowGraph | None, new: WorkflowGraph) -> list[ChatEvent]:
    """The events that turn ``old`` (None: empty) into ``new``."""
    old_data = msgspec.to_builtins(old or EMPTY)
    new_data = msgspec.to_builtins(new)
    old_nodes = {n["id"]: n for n in old_data["nodes"]}
    new_nodes = {n["id"]: n for n in new_data["nodes"]}
    old_edges = {_edge_key(e): e for e in old_data.get("edges", [])}
    new_edges = {_edge_key(e): e for e in new_data.get("edges", [])}
    events: list[ChatEvent] = []
    for key, edge in old_edges.items():
        if key not in new_edges:
            events.append(EdgeRemoved(edge_id=edge["id"], source=edge["source"], target=edge["target"], source_handle=edge.get("source_handle")))
    for nid in old_nodes:
        if nid not in new_nodes:
            events.append(NodeRemoved(node_id=nid))
    for nid, node in new_nodes.items():
        before = old_nodes.get(nid)
        if before is None:
            continue
        if before.get("type") != node.get("type"):
            events.append(NodeRemoved(node_id=nid))
            del old_nodes[nid]  # re-added below as a new node
            continue
        changes = _changes(before, node)
        if changes:
            events.append(NodeUpdated(node_id=nid, node=node, changes=changes))
    present = set(old_nodes) & set(new_nodes)
    pending = [e for key, e in new_edges.items() if key not in old_edges]
    for nid in _topological(new_data["nodes"], new_data.get("edges", [])):
        if nid not in present:
            events.append(NodeAdded(node=new_nodes[nid]))
            present.add(nid)
        ready = [e for e in pending if e["source"] in present and e["target"] in present]
        for edge in ready:
            events.append(EdgeAdded(edge=edge))
        pending = [e for e in pending if e not in ready]
    events.extend(EdgeAdded(edge=e) for e in pending)
    old_settings, new_settings = old_data.get("settings", {}), new_data.get("settings", {})
    if old is not None and old_settings != new_settings:
        changes = sorted(k for k in set(old_settings) | set(new_settings) if old_settings.get(k) != new_settings.get(k))
        events.append(SettingsUpdated(settings=new_settings, changes=changes))
    return events


def build_events(ops: list[EditOp], new: WorkflowGraph) -> list[ChatEvent]:
    """The events that show ``new`` being built by ``ops`` from an empty graph, op by op.

    ``workflow.node_added`` per ``add_node`` and ``workflow.edge_added`` per ``add_edge`` in the
    order of the ops (the compiler's order), ``workflow.settings_updated`` per ``set_setting``.
    Nodes and edges are taken from ``new`` (validated, laid out: positions included); an edge is
    held back until both its ends were announced. Whatever ``new`` has that the ops did not
    announce (edges an ``add_node`` made by splicing) follows, so the events always add up to
    ``new``."""
    data = msgspec.to_builtins(new)
    nodes = {n["id"]: n for n in data["nodes"]}
    edges = data.get("edges", [])
    by_id = {e["id"]: e for e in edges}
    by_key = {_edge_key(e): e for e in edges}
    events: list[ChatEvent] = []
    present: set[str] = set()
    sent: set[str] = set()
    waiting: list[dict[str, Any]] = []

    def flush() -> None:
        ready = [e for e in waiting if e["source"] in present and e["target"] in present]
        for edge in ready:
            waiting.remove(edge)
            if edge["id"] not in sent:
                sent.add(edge["id"])
                events.append(EdgeAdded(edge=edge))

    for op in ops:
        if isinstance(op, AddNode) and op.node.get("id") in nodes and op.node["id"] not in present:
            present.add(op.node["id"])
            events.append(NodeAdded(node=nodes[op.node["id"]]))
        elif isinstance(op, AddEdge):
            edge = by_id.get(op.id or "") or by_key.get((op.source, op.target, op.source_handle))
            if edge is not None:
                waiting.append(edge)
        elif isinstance(op, SetSetting):
            events.append(SettingsUpdated(settings=data.get("settings", {}), changes=[op.key]))
        flush()
    waiting.extend(e for e in edges if e["id"] not in sent and e not in waiting)
    flush()
    for nid in _topological(data["nodes"], edges):
        if nid not in present:
            present.add(nid)
            events.append(NodeAdded(node=nodes[nid]))
            flush()
    return events


def clear_events(old: WorkflowGraph) -> list[ChatEvent]:
    """The events that empty the panel of ``old`` (before a replacement is built): every edge,
    then every node, removed."""
    data = msgspec.to_builtins(old)
    events: list[ChatEvent] = [EdgeRemoved(edge_id=e["id"], source=e["source"], target=e["target"],
                                           source_handle=e.get("source_handle")) for e in data.get("edges", [])]
    events.extend(NodeRemoved(node_id=n["id"]) for n in data["nodes"])
    return events
