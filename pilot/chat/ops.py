"""Edit operations on a workflow graph: a msgspec tagged union on ``op`` (see :mod:`pilot.chat.edits`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from pilot.core.errors import UnprocessableError

Id = Annotated[str, Meta(min_length=1, max_length=64)]
# Top-level node fields an update may set (``id`` and ``type`` are immutable: remove + add instead).
NODE_FIELDS = frozenset({"title", "description", "retry", "timeout_s", "on_error", "default_output"})


class EditError(UnprocessableError):
    """An edit cannot be applied; ``detail`` says why in plain words, ``extra`` names the op."""

    default_detail = "the edit cannot be applied"


class _Op(Struct, frozen=True, forbid_unknown_fields=True, tag_field="op", kw_only=True):
    pass


class AddNode(_Op, tag="add_node"):
    """Add ``node`` (raw JSON: id, type, title, config…).

    - ``after`` and ``before``: splice the node in: every ``a → b`` edge between them is replaced
      by ``a → new → b`` (the edge's source handle is kept on ``a → new``); missing pairs are
      simply connected.
    - only ``before``: insert in front of those nodes: all their incoming edges now end at the
      new node, which feeds them.
    - only ``after``: a new branch ``a → new`` (``source_handle`` when ``a`` is a condition).
    """

    node: dict[str, Any]
    after: list[Id] = []
    before: list[Id] = []
    source_handle: str | None = None


class RemoveNode(_Op, tag="remove_node"):
    """Remove a node. With ``reconnect`` its predecessors are wired to its successors and
    references to its output are pointed at its single predecessor (when there is one)."""

    node_id: Id
    reconnect: bool = True


class UpdateNode(_Op, tag="update_node"):
    """Merge-patch the node's ``config`` (RFC 7386: ``null`` deletes a key, lists are replaced)
    and set top-level ``fields`` (title, description, retry, timeout_s, on_error, default_output)."""

    node_id: Id
    config: dict[str, Any] = {}
    fields: dict[str, Any] = {}


class AddEdge(_Op, tag="add_edge"):
    source: Id
    target: Id
    source_handle: str | None = None
    id: str | None = None


class RemoveEdge(_Op, tag="remove_edge"):
    """Remove by ``edge_id``, or every edge ``source → target`` (optionally only ``source_handle``)."""

    edge_id: str | None = None
    source: str | None = None
    target: str | None = None
    source_handle: str | None = None


class SetSetting(_Op, tag="set_setting"):
    """Set a run-wide setting: ``schedule`` (cron or null), ``deadline_s``, ``max_concurrency``."""

    key: Literal["schedule", "deadline_s", "max_concurrency"]
    value: Any = None


class WrapInLoop(_Op, tag="wrap_in_loop"):
    """Move ``node_ids`` into the body of a new loop node that runs them once per item.

    Edges entering/leaving the set now enter/leave the loop; inside the body ``inputs.<per_item_input>``
    becomes the item variable; outside references to a wrapped node's output become the loop's
    output (the list of per-item results)."""

    node_ids: list[Id]
    loop_id: Id
    items: Annotated[str, Meta(min_length=1)]
    title: str = ""
    item_var: str = "item"
    per_item_input: str | None = None
    max_concurrency: Annotated[int, Meta(ge=1, le=64)] = 4
    max_items: Annotated[int, Meta(ge=1, le=10_000)] = 1000


EditOp = AddNode | RemoveNode | UpdateNode | AddEdge | RemoveEdge | SetSetting | WrapInLoop
OP_NAMES: tuple[str, ...] = tuple(cls.__struct_config__.tag for cls in EditOp.__args__)  # type: ignore[attr-defined]


def decode_ops(data: Any) -> list[EditOp]:
    """Decode raw JSON ops strictly; a bad op raises EditError naming its index and field."""
    if not isinstance(data, list):
        raise EditError("edit operations must be a list")
    ops: list[EditOp] = []
    for i, raw in enumerate(data):
        try:
            ops.append(msgspec.convert(raw, EditOp))
        except msgspec.ValidationError as exc:
            raise EditError(f"edit operation #{i + 1} is invalid: {exc}", extra={"op_index": i}) from exc
    return ops
