"""Generated knowledge steps use a knowledge base the workspace already has, when one fits.

The compiler names a knowledge step's base from the request ("support-docs"); if the workspace
has knowledge bases with documents, the step is pointed at the one whose name and description
share the most terms with the request (or at the only one there is), so the first run does not
fail at the knowledge node. When none fits, the name stays and readiness asks for that base.
Pure: the caller passes the workspace's bases.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from pilot.knowledge.text import tokenize
from pilot.workflows.model import WorkflowGraph
from pilot.workflows.validation import iter_all_nodes


def _terms(text: str) -> set[str]:
    return set(tokenize(text))


def best_base(request: str, node_text: str, bases: Sequence[Any]) -> str | None:
    """The name of the base that fits ``request`` best, or None (only bases with documents)."""
    candidates = [b for b in bases if getattr(b, "document_count", 0) > 0]
    if not candidates:
        return None
    wanted = _terms(request) | _terms(node_text)
    scored = sorted(((len(wanted & _terms(f"{b.name} {b.description}")), i, b) for i, b in enumerate(candidates)),
                    key=lambda x: (-x[0], x[1]))
    score, _, best = scored[0]
    if score > 0 and (len(scored) == 1 or scored[1][0] < score):
        return best.name
    return candidates[0].name if len(candidates) == 1 else None


def has_knowledge_steps(graph: WorkflowGraph) -> bool:
    """Whether ``graph`` has a knowledge step (loop bodies included): only then can
    :func:`fit_knowledge_bases` change it, so only then are the workspace's bases worth reading."""
    return any(node.__struct_config__.tag == "knowledge" for node in iter_all_nodes(graph))


def fit_knowledge_bases(graph: WorkflowGraph, request: str, bases: Sequence[Any]) -> WorkflowGraph:
    """``graph`` with each knowledge step that names a missing base pointed at a fitting one."""
    existing = {b.name for b in bases} | {b.id for b in bases}
    if not bases:
        return graph

    def fix(nodes: list[Any]) -> list[Any]:
        out = []
        for node in nodes:
            tag = node.__struct_config__.tag
            if tag == "knowledge" and node.config.knowledge_base not in existing and "{{" not in node.config.knowledge_base:
                chosen = best_base(request, f"{node.config.knowledge_base} {node.title} {node.config.query}", bases)
                if chosen is not None:
                    node = msgspec.structs.replace(node, config=msgspec.structs.replace(node.config, knowledge_base=chosen))
            elif tag == "loop":
                body = msgspec.structs.replace(node.config.body, nodes=fix(list(node.config.body.nodes)))
                node = msgspec.structs.replace(node, config=msgspec.structs.replace(node.config, body=body))
            out.append(node)
        return out

    return msgspec.structs.replace(graph, nodes=fix(list(graph.nodes)))
