"""BM25 ranking over precomputed chunk terms (pure: no I/O).

Each chunk stores ``terms = {"tf": {term: count}, "len": n}`` computed once at upload from the
document title plus the chunk text (see :mod:`pilot.knowledge.text`). A query is scored against
every chunk of one knowledge base in Python, which is fast enough for the sizes a workflow's
knowledge base has (tens of thousands of chunks score in tens of milliseconds); the store caps a
base at ``MAX_CHUNKS_PER_KB``.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Sequence
from typing import Any

from msgspec import Struct

from pilot.knowledge.text import term_frequencies, tokenize

K1 = 1.2
B = 0.75


class IndexedChunk(Struct, frozen=True):
    """A chunk as the ranker sees it."""

    chunk_id: int
    document_id: str
    title: str
    text: str
    tf: dict[str, int]
    length: int


def chunk_terms(title: str, text: str) -> dict[str, Any]:
    """The value stored in ``knowledge_chunks.terms`` for a chunk."""
    tf = term_frequencies(f"{title}\n{text}")
    return {"tf": tf, "len": sum(tf.values())}


def bm25(query: str, chunks: Sequence[IndexedChunk], top_k: int) -> list[tuple[float, IndexedChunk]]:
    """The ``top_k`` chunks by BM25 score for ``query`` (chunks scoring 0 are left out)."""
    terms = set(tokenize(query))
    if not terms or not chunks:
        return []
    n = len(chunks)
    avg_len = sum(c.length for c in chunks) / n or 1.0
    df = {t: 0 for t in terms}
    for chunk in chunks:
        for t in terms:
            if t in chunk.tf:
                df[t] += 1
    # BM25+-style idf that stays positive for very common terms.
    idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items() if d}
    if not idf:
        return []

    def score(chunk: IndexedChunk) -> float:
        total = 0.0
        norm = K1 * (1 - B + B * chunk.length / avg_len)
        for t, w in idf.items():
            f = chunk.tf.get(t)
            if f:
                total += w * f * (K1 + 1) / (f + norm)
        return total

    scored: Iterable[tuple[float, int, IndexedChunk]] = (
        (s, -i, c) for i, c in enumerate(chunks) if (s := score(c)) > 0
    )
    return [(round(s, 4), c) for s, _, c in heapq.nlargest(top_k, scored)]
