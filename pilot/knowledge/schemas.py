"""API and domain Structs of the knowledge domain."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from msgspec import Meta, Struct

Name = Annotated[str, Meta(min_length=1, max_length=200, pattern=r"\S")]
MAX_DOCUMENT_CHARS = 500_000


class KnowledgeBaseCreate(Struct, forbid_unknown_fields=True):
    name: Name
    description: Annotated[str, Meta(max_length=5_000)] = ""


class KnowledgeBase(Struct, frozen=True):
    id: str
    name: str
    description: str
    document_count: int
    chunk_count: int
    created_at: datetime


class KnowledgeSummary(Struct, frozen=True):
    """What generation and readiness read of a base: who it is and whether it has documents."""

    id: str
    name: str
    description: str
    document_count: int


class KnowledgeBaseList(Struct, frozen=True):
    items: list[KnowledgeBase]
    total: int


class DocumentCreate(Struct, forbid_unknown_fields=True):
    title: Annotated[str, Meta(min_length=1, max_length=500, pattern=r"\S")]
    content: Annotated[str, Meta(min_length=1, max_length=MAX_DOCUMENT_CHARS, pattern=r"\S")]
    metadata: dict[str, Any] = {}


class Document(Struct, frozen=True):
    id: str
    knowledge_base_id: str
    title: str
    metadata: dict[str, Any]
    chunk_count: int
    characters: int
    created_at: datetime


class DocumentList(Struct, frozen=True):
    items: list[Document]
    total: int


class SearchRequest(Struct, forbid_unknown_fields=True):
    query: Annotated[str, Meta(min_length=1, max_length=2_000)]
    top_k: Annotated[int, Meta(ge=1, le=50)] = 4


class Passage(Struct, frozen=True):
    """One retrieved passage: the knowledge node's output is a list of these."""

    text: str
    score: float
    document_id: str
    title: str


class SearchResult(Struct, frozen=True):
    knowledge_base_id: str
    query: str
    passages: list[Passage]
