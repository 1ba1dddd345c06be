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
from collections.abc import Sequence
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
    """BM25 by scanning ``chunks``: ~1 ms per query per 1,000 chunks, nothing to build.

    (An inverted index was measured too: ~100 ms to build per 1,000 chunks, so it only pays off
    after ~100 queries of an unchanged base; the retriever caches the decoded chunks instead.)
    """
    terms = set(tokenize(query))
    n = len(chunks)
    if not terms or not n:
        return []
    avg_len = (sum(c.length for c in chunks) / n) or 1.0
    df = dict.fromkeys(terms, 0)
    for chunk in chunks:
        for t in terms:
            if t in chunk.tf:
                df[t] += 1
    idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items() if d}
    scores: list[tuple[float, int]] = []
    for i, chunk in enumerate(chunks):
        norm = K1 * (1 - B + B * chunk.length / avg_len)
        score = 0.0
        for t, w in idf.items():
            f = chunk.tf.get(t)
            if f:
                score += w * f * (K1 + 1) / (f + norm)
        if score > 0:
            scores.append((score, -i))
    return [(round(score, 4), chunks[-neg]) for score, neg in heapq.nlargest(top_k, scores)]
