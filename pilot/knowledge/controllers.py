"""HTTP API of knowledge bases: ``/api/knowledge-bases`` (workspace-scoped)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from pilot.dependencies import CurrentWorkspace, DbSession
from pilot.knowledge import store
from pilot.knowledge.schemas import (
    Document,
    DocumentCreate,
    DocumentList,
    KnowledgeBase,
    KnowledgeBaseCreate,
    KnowledgeBaseList,
    SearchRequest,
    SearchResult,
)

INT_MAX = 2**31 - 1  # pilot.app rejects any larger integer parameter the same way
Limit = Annotated[int, Parameter(ge=1, le=200)]
Offset = Annotated[int, Parameter(ge=0, le=INT_MAX)]


class KnowledgeController(Controller):
    """Create knowledge bases, upload documents (chunked and indexed on upload), search them."""

    path = "/api/knowledge-bases"
    tags = ("knowledge",)

    @post("/")
    async def create_base(self, data: JSONBody[KnowledgeBaseCreate], db: DbSession, workspace: CurrentWorkspace) -> KnowledgeBase:
        """Create a knowledge base (name unique per workspace: 409 otherwise)."""
        return await store.create_knowledge_base(db, workspace.id, data)

    @get("/")
    async def list_bases(
        self, db: DbSession, workspace: CurrentWorkspace, limit: FromQuery[Limit] = 50, offset: FromQuery[Offset] = 0
    ) -> KnowledgeBaseList:
        items, total = await store.list_knowledge_bases(db, workspace.id, limit=limit, offset=offset)
        return KnowledgeBaseList(items=items, total=total)

    @get("/{kb_id:str}")
    async def get_base(self, kb_id: FromPath[str], db: DbSession, workspace: CurrentWorkspace) -> KnowledgeBase:
        """One knowledge base by id (or by name)."""
        return await store.get_knowledge_base(db, workspace.id, kb_id)

    @delete("/{kb_id:str}")
    async def delete_base(self, kb_id: FromPath[str], db: DbSession, workspace: CurrentWorkspace) -> None:
        """Delete the knowledge base with its documents and chunks."""
        await store.delete_knowledge_base(db, workspace.id, kb_id)

    @post("/{kb_id:str}/documents")
    async def add_document(
        self, kb_id: FromPath[str], data: JSONBody[DocumentCreate], db: DbSession, workspace: CurrentWorkspace
    ) -> Document:
        """Upload a document as JSON ``{title, content, metadata?}``; it is chunked and indexed now."""
        return await store.add_document(db, workspace.id, kb_id, data)

    @get("/{kb_id:str}/documents")
    async def list_documents(
        self, kb_id: FromPath[str], db: DbSession, workspace: CurrentWorkspace, limit: FromQuery[Limit] = 50, offset: FromQuery[Offset] = 0
    ) -> DocumentList:
        items, total = await store.list_documents(db, workspace.id, kb_id, limit=limit, offset=offset)
        return DocumentList(items=items, total=total)

    @post("/{kb_id:str}/search", status_code=200)
    async def search(self, kb_id: FromPath[str], data: JSONBody[SearchRequest], db: DbSession, workspace: CurrentWorkspace) -> SearchResult:
        """Ranked passages for a query (the same retrieval the knowledge node uses)."""
        kb, passages = await store.search(db, workspace.id, kb_id, data.query, data.top_k)
        return SearchResult(knowledge_base_id=kb, query=data.query, passages=passages)
