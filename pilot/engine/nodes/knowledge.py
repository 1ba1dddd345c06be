"""The ``knowledge`` node: top passages from a knowledge base of the run's workspace.

``knowledge_base`` is an id or a name (may be templated); ``query`` is a template. Output: a list
of ``{text, score, document_id, title}`` ranked by BM25 (see :mod:`pilot.knowledge.retrieval`).
An unknown knowledge base fails the node (not retryable) naming it; database errors are
retryable.
"""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy.exc import SQLAlchemyError

from pilot.engine.errors import NodeError
from pilot.engine.nodes.rendering import render_field
from pilot.knowledge.store import KnowledgeBaseNotFound
from pilot.workflows.model import KnowledgeConfig


class KnowledgeRunner:
    """Runs ``knowledge`` nodes with ``ctx.services.knowledge`` (a :class:`KnowledgeRetriever`)."""

    node_type = "knowledge"

    async def run(self, ctx) -> list[dict[str, Any]]:
        config: KnowledgeConfig = ctx.node.config
        kb = (await render_field(config.knowledge_base, ctx.scope, "knowledge_base")).strip()
        query = (await render_field(config.query, ctx.scope, "query")).strip()
        if not kb:
            raise NodeError("knowledge_base rendered empty")
        if not query:
            return []
        try:
            passages = await ctx.services.knowledge.search(ctx.workspace_id, kb, query, config.top_k)
        except KnowledgeBaseNotFound as exc:
            raise NodeError(f"knowledge base {kb!r} not found in this workspace") from exc
        except SQLAlchemyError as exc:
            raise NodeError(f"knowledge lookup failed: {type(exc).__name__}", retryable=True) from exc
        return msgspec.to_builtins(passages)
