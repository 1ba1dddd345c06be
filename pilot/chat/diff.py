"""Old graph → new graph as the minimal list of chat ``workflow.*`` events.

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
