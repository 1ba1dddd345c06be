"""Edit operations on a workflow graph and the pure, all-or-nothing ``apply_edits``.

An edit is a list of small operations (a msgspec tagged union on ``op``)::

    {"op": "add_node", "node": {...}, "after": ["review"], "before": ["result"]}
    {"op": "remove_node", "node_id": "review"}                 # predecessors reconnected to successors
    {"op": "update_node", "node_id": "translate", "config": {"model": "gpt-4o"}}   # JSON merge patch
    {"op": "add_edge", "source": "a", "target": "b"}
    {"op": "remove_edge", "source": "a", "target": "b"}
    {"op": "set_setting", "key": "schedule", "value": "0 9 * * 1"}
    {"op": "wrap_in_loop", "node_ids": ["translate"], "loop_id": "each_row", "items": "inputs.rows"}

``apply_edits`` works on a builtins copy of the graph, then decodes and validates the result
(:func:`pilot.workflows.validation.ensure_valid`) and lays it out. Any failure raises
:class:`EditError` and the caller's graph is untouched (graphs are immutable Structs anyway).
"""

from __future__ import annotations

import msgspec

from pilot.chat.graph_ops import (
    HANDLERS,
    Draft,
    iter_node_dicts,
    map_strings,
    merge_patch,
    references,
    unique_id,
)
from pilot.chat.ops import (
    NODE_FIELDS,
    OP_NAMES,
    AddEdge,
    AddNode,
    EditError,
    EditOp,
    RemoveEdge,
    RemoveNode,
    SetSetting,
    UpdateNode,
    WrapInLoop,
    decode_ops,
)
from pilot.core.errors import GraphValidationError
from pilot.workflows.layout import apply_layout
from pilot.workflows.model import WorkflowGraph
from pilot.workflows.validation import ensure_valid

__all__ = [
    "NODE_FIELDS", "OP_NAMES", "AddEdge", "AddNode", "EditError", "EditOp", "RemoveEdge", "RemoveNode", "SetSetting",
    "UpdateNode", "WrapInLoop", "apply_edits", "decode_ops", "iter_node_dicts", "map_strings", "merge_patch",
    "references", "unique_id",
]


def apply_edits(graph: WorkflowGraph, ops: list[EditOp]) -> WorkflowGraph:
    """Apply ``ops`` in order and return the new, validated, laid-out graph.

    All or nothing: raises :class:`EditError` (422) naming the failing op, or naming the
    validation problems of the result; ``graph`` itself is never modified."""
    if not ops:
        raise EditError("there is nothing to change")
    draft = Draft(graph)
    for index, op in enumerate(ops):
        try:
            HANDLERS[type(op)](draft, op)
        except EditError as exc:
            extra = {"op_index": index, "op": op.__struct_config__.tag}
            if isinstance(exc.extra, dict):
                extra.update(exc.extra)
            raise EditError(exc.detail, extra=extra) from None
    data = {"nodes": draft.nodes, "edges": draft.edges, "settings": draft.settings}
    try:
        new_graph = ensure_valid(data)
    except GraphValidationError as exc:
        problems = [getattr(p, "message", str(p)) for p in exc.problems]
        raise EditError(
            "the change would make the workflow invalid: " + "; ".join(problems[:3]),
            extra={"problems": msgspec.to_builtins(exc.problems)},
        ) from None
    return apply_layout(new_graph)
