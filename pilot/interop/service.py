"""Import and export, independent of HTTP (the API and the CLI both call these).

Import: read the document (a JSON object, or YAML / JSON text; YAML aliases are refused so a
small file cannot expand into a huge one), detect its format, map it (:mod:`pilot.interop.
n8n_import`, :mod:`pilot.interop.dify_import`; a πlot export is taken as is) and save it through
:class:`~pilot.workflows.service.WorkflowService` — the one validator and the layout generated
workflows get. Export: the stored graph written as a πlot, Dify or n8n file.
"""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec
import yaml
from msgspec import Struct
from sqlalchemy.ext.asyncio import AsyncSession

from pilot.core.errors import BadRequestError
from pilot.interop.builder import Builder
from pilot.interop.schemas import Format, ImportReport, ImportRequest, ImportResult, NodeCounts
from pilot.workflows.model import NODE_TYPES
from pilot.workflows.service import WorkflowService

PILOT_FORMAT_VERSION = 1
_READ_ERRORS = (AttributeError, TypeError, KeyError, ValueError, IndexError, RecursionError)


class Exported(Struct, frozen=True):
    """An exported file: its bytes, media type and a file name."""

    content: bytes
    media_type: str
    filename: str
    notes: list[str] = []


def _bad(message: str) -> BadRequestError:
    return BadRequestError(f"body field 'document': {message}", extra=[{"key": "document", "message": message, "source": "body"}])


class _NoAliasLoader(yaml.SafeLoader):
    """Safe YAML without aliases (``*ref``): a few bytes of aliases can stand for gigabytes."""

    def compose_node(self, parent: Any, index: Any) -> Any:  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("YAML aliases (*name) are not accepted")
        return super().compose_node(parent, index)


def read_document(document: dict[str, Any] | str) -> dict[str, Any]:
    """The document as a dict; 400 naming ``document`` when it is not one."""
    if isinstance(document, dict):
        return document
    try:
        data = json.loads(document) if document.lstrip().startswith("{") else yaml.load(document, Loader=_NoAliasLoader)  # noqa: S506
    except (ValueError, yaml.YAMLError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise _bad(f"not valid YAML or JSON: {first}") from None
    except RecursionError:
        raise _bad("nested too deeply") from None
    if not isinstance(data, dict):
        raise _bad("must be a workflow file (a mapping at the top), not a " + type(data).__name__)
    return data


def detect_format(doc: dict[str, Any]) -> Format:
    """Dify (``kind: app`` / ``workflow.graph``), n8n (``nodes`` + ``connections``) or πlot."""
    if doc.get("kind") == "app" or (isinstance(doc.get("workflow"), dict) and isinstance(doc["workflow"].get("graph"), dict)):
        return "dify"
    if isinstance(doc.get("nodes"), list) and isinstance(doc.get("connections"), dict):
        return "n8n"
    nodes = doc.get("nodes")
    if doc.get("format") == "pilot" or (isinstance(nodes, list) and nodes and all(isinstance(n, dict) and n.get("type") in NODE_TYPES for n in nodes)):
        return "pilot"
    raise _bad("not a πlot, Dify or n8n workflow (expected a Dify DSL with app and workflow.graph, an n8n workflow with nodes "
               "and connections, or a πlot export with nodes and edges)")


def _pilot(doc: dict[str, Any]) -> tuple[str, str, dict[str, Any], ImportReport]:
    nodes = doc.get("nodes")
    if not isinstance(nodes, list):
        raise _bad("a πlot workflow needs a 'nodes' list")
    graph = {"nodes": nodes, "edges": doc.get("edges", []), "settings": doc.get("settings") or {}}
    report = ImportReport(format="pilot", counts=NodeCounts(source_nodes=len(nodes), mapped=len(nodes)))
    return str(doc.get("name") or "Imported workflow"), str(doc.get("description") or ""), graph, report


def convert(doc: dict[str, Any], fmt: Format) -> tuple[str, str, dict[str, Any], ImportReport]:
    """``(name, description, raw graph, report)`` of a document in ``fmt`` (nothing is saved)."""
    if fmt == "pilot":
        return _pilot(doc)
    if fmt == "dify" and not (isinstance(doc.get("workflow"), dict) and isinstance(doc["workflow"].get("graph"), dict)):
        raise _bad("a Dify DSL needs workflow.graph (chat-only or completion apps have no workflow to import)")
    if fmt == "n8n" and not isinstance(doc.get("nodes"), list):
        raise _bad("an n8n workflow needs a 'nodes' list")
    from pilot.interop.dify_import import import_dify
    from pilot.interop.n8n_import import import_n8n

    try:
        name, description, graph, builder = (import_dify if fmt == "dify" else import_n8n)(doc)
    except _READ_ERRORS as exc:
        raise _bad(f"cannot be read as a {fmt} workflow ({type(exc).__name__}: {exc})") from None
    assert isinstance(builder, Builder)
    return name, description, graph, builder.report(fmt)


async def import_workflow(session: AsyncSession, workspace_id: str, request: ImportRequest) -> ImportResult:
    """Import ``request.document`` as a new draft workflow of the workspace."""
    doc = read_document(request.document)
    fmt = request.format or detect_format(doc)
    name, description, graph, report = convert(doc, fmt)
    name = request.name or (name.strip()[:200] if name.strip() else "Imported workflow")
    workflow = await WorkflowService(session, workspace_id).create(name=name, description=description[:10_000], graph=graph)
    return ImportResult(workflow_id=workflow.id, workflow=workflow, report=report)


def _filename(name: str, ext: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")[:80] or "workflow"
    return f"{slug}.{ext}"


async def export_workflow(session: AsyncSession, workspace_id: str, workflow_id: str, fmt: Format, version: int | None = None) -> Exported:
    """The workflow (its head, or ``version``) as a file in ``fmt``; 404 outside the workspace."""
    service = WorkflowService(session, workspace_id)
    stored = await service.get_version(workflow_id, version) if version is not None else await service.get(workflow_id)
    graph = msgspec.to_builtins({"nodes": stored.nodes, "edges": stored.edges, "settings": stored.settings})
    return export_graph(stored.name, stored.description, graph, fmt)


def export_graph(name: str, description: str, graph: dict[str, Any], fmt: Format) -> Exported:
    """A graph (builtins) as a file in ``fmt``."""
    if fmt == "pilot":
        doc = {"format": "pilot", "version": PILOT_FORMAT_VERSION, "name": name, "description": description, **graph}
        return Exported(json.dumps(doc, ensure_ascii=False, indent=2).encode(), "application/json", _filename(name, "pilot.json"))
    if fmt == "n8n":
        from pilot.interop.n8n_export import export_n8n

        doc, notes = export_n8n(name, graph)
        return Exported(json.dumps(doc, ensure_ascii=False, indent=2).encode(), "application/json", _filename(name, "n8n.json"), notes)
    from pilot.interop.dify_export import export_dify

    doc, notes = export_dify(name, description, graph)
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=1_000_000)
    return Exported(text.encode(), "application/x-yaml", _filename(name, "yml"), notes)
