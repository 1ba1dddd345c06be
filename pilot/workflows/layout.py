"""Left-to-right layout so a React Flow panel can render a workflow without its own layout.

Column = topological generation (longest path from a source), row = order within the column,
centred vertically; condition branches keep their case order. Loop bodies get their own layout
(positions relative to the loop node's body frame).
"""

from __future__ import annotations

import msgspec

from pilot.workflows.order import LevelOrder
from pilot.workflows.model import LoopNode, Position, SubGraph, WorkflowGraph

COLUMN_WIDTH = 300.0
ROW_HEIGHT = 150.0


def _positions(nodes: list, edges: list) -> dict[str, Position]:
    generations = LevelOrder((n.id for n in nodes), ((e.source, e.target) for e in edges)).generations()
    if generations is None:  # invalid graphs still get a readable fallback layout
        generations = [[n.id] for n in nodes]
    order = {n.id: i for i, n in enumerate(nodes)}
    handle_rank = {e.target: i for i, e in enumerate(edges)}
    tallest = max((len(level) for level in generations), default=1)
    positions: dict[str, Position] = {}
    for column, level in enumerate(generations):
        ranked = sorted(level, key=lambda nid: (handle_rank.get(nid, -1), order.get(nid, 0)))
        offset = (tallest - len(ranked)) * ROW_HEIGHT / 2
        for row, nid in enumerate(ranked):
            positions[nid] = Position(x=column * COLUMN_WIDTH, y=offset + row * ROW_HEIGHT)
    return positions


def _layout_nodes(nodes: list, edges: list) -> list:
    positions = _positions(nodes, edges)
    laid_out = []
    for node in nodes:
        if isinstance(node, LoopNode):
            body = node.config.body
            new_body = SubGraph(nodes=_layout_nodes(body.nodes, body.edges), edges=body.edges)
            node = msgspec.structs.replace(node, config=msgspec.structs.replace(node.config, body=new_body))
        laid_out.append(msgspec.structs.replace(node, position=positions.get(node.id, Position())))
    return laid_out


def apply_layout(graph: WorkflowGraph) -> WorkflowGraph:
    """Return a copy of ``graph`` with every node (and loop-body node) positioned."""
    return msgspec.structs.replace(graph, nodes=_layout_nodes(graph.nodes, graph.edges))
