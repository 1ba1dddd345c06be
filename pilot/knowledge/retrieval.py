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


class Bm25Index:
    """An inverted index over one knowledge base's chunks: scoring touches only matching chunks."""

    def __init__(self, chunks: Sequence[IndexedChunk]) -> None:
        self.chunks = list(chunks)
        self.postings: dict[str, list[tuple[int, int]]] = {}
        for i, chunk in enumerate(self.chunks):
            for term, freq in chunk.tf.items():
                self.postings.setdefault(term, []).append((i, freq))
        n = len(self.chunks)
        self.avg_len = (sum(c.length for c in self.chunks) / n) if n else 1.0

    def search(self, query: str, top_k: int) -> list[tuple[float, IndexedChunk]]:
        """The ``top_k`` chunks by BM25 score (ties keep upload order; zero scores left out)."""
        n = len(self.chunks)
        scores: dict[int, float] = {}
        for term in set(tokenize(query)):
            posting = self.postings.get(term)
            if not posting:
                continue
            # BM25+-style idf that stays positive for very common terms.
            idf = math.log(1 + (n - len(posting) + 0.5) / (len(posting) + 0.5))
            for i, freq in posting:
                norm = K1 * (1 - B + B * self.chunks[i].length / (self.avg_len or 1.0))
                scores[i] = scores.get(i, 0.0) + idf * freq * (K1 + 1) / (freq + norm)
        best = heapq.nlargest(top_k, ((score, -i) for i, score in scores.items() if score > 0))
        return [(round(score, 4), self.chunks[-neg]) for score, neg in best]


def bm25(query: str, chunks: Sequence[IndexedChunk], top_k: int) -> list[tuple[float, IndexedChunk]]:
    """One-shot BM25 by scanning ``chunks`` (no index to build: best for a single query).

    Same scores and order as :meth:`Bm25Index.search`.
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
