"""Request, response and report Structs of import / export (``/api/workflows/import``, ``…/export``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import Meta, Struct

from pilot.workflows.model import Workflow
from pilot.workflows.schemas import Name

Format = Literal["pilot", "dify", "n8n"]
ItemKind = Literal["placeholder", "expression", "credential", "trigger", "parameter", "structure", "annotation", "folded"]
NodeStatus = Literal["mapped", "partial", "folded", "placeholder", "disconnected"]


class ImportRequest(Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /api/workflows/import``: ``document`` is the file itself, as a JSON object or as its
    text (YAML or JSON); ``format`` is detected from it when left out; ``name`` overrides the
    document's own name."""

    document: dict[str, Any] | Annotated[str, Meta(min_length=1, description="the file's text (YAML or JSON)")]
    format: Format | None = None
    name: Name | None = None


class ReportItem(Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One thing the import could not carry over exactly. ``node_id`` is the πlot node it concerns,
    ``source`` the node's name (n8n) or id (Dify) in the imported file."""

    kind: ItemKind
    message: str
    node_id: str | None = None
    source: str | None = None
    source_type: str | None = None
    field: str | None = None


class NodeCounts(Struct, frozen=True, kw_only=True):
    """How each node of the source file landed: ``mapped`` (a faithful πlot node), ``partial``
    (a πlot node with report items: an expression kept as a marker, a setting not carried over),
    ``folded`` (merged into another node: a model or tool sub-node, a no-op), ``placeholder``
    (a marked node that blocks publishing until replaced), ``disconnected`` (no trigger reaches it:
    it never runs in the source either, and is left out). Annotations (sticky notes) are not nodes
    and are counted apart."""

    source_nodes: int = 0
    mapped: int = 0
    partial: int = 0
    folded: int = 0
    placeholder: int = 0
    disconnected: int = 0
    annotations: int = 0


class ExpressionCounts(Struct, frozen=True, kw_only=True):
    """References and expressions of the imported steps: ``translated`` into πlot references,
    ``kept`` as markers (each listed as an ``expression`` item; a run fails on it until rewritten)."""

    translated: int = 0
    kept: int = 0


class ImportReport(Struct, frozen=True, kw_only=True):
    """What an import did: the detected format, node and expression counts, and every item that
    needs a look."""

    format: Format
    counts: NodeCounts
    expressions: ExpressionCounts = ExpressionCounts()
    items: list[ReportItem] = []


class ImportResult(Struct, frozen=True, kw_only=True):
    """``POST /api/workflows/import`` → 201: the new workflow (a draft) and the import report."""

    workflow_id: str
    workflow: Workflow
    report: ImportReport


class ImportedGraph(Struct, frozen=True, kw_only=True):
    """An importer's result before saving: name, description, raw graph and report."""

    name: str
    description: str
    graph: dict[str, Any]
    report: ImportReport
