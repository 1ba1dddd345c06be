"""Text processing for knowledge bases: chunking and the term lists BM25 ranks on.

Chunking keeps paragraphs together when they fit and otherwise packs whole sentences (split on
``. ! ? ;`` followed by space and on the Chinese ``。！？；`` which need no space), so a passage
never ends mid-sentence unless one sentence alone is longer than a chunk.

Terms work for both languages without a segmenter:
- runs of CJK characters become overlapping character **bigrams** (a lone character becomes a
  unigram): "退款政策" → 退款, 款政, 政策. Bigrams are the classic dictionary-free baseline for
  Chinese retrieval and match most two-character words;
- Latin text becomes lower-cased word tokens with light suffix stemming (refunds/refunded/refunding
  → refund) and a short stop-word list removed; digits are kept (order numbers, versions).
"""

from __future__ import annotations

import re
from collections import Counter

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
_TOKEN = re.compile(rf"[{_CJK}]+|[a-z0-9]+(?:'[a-z]+)?", re.IGNORECASE)
_CJK_RUN = re.compile(rf"^[{_CJK}]+$")
_SENTENCE_END = re.compile(r"(?<=[。！？；!?])|(?<=[.;])(?=\s)")
_PARAGRAPH = re.compile(r"\n\s*\n")

STOP_WORDS = frozenset(
    ["a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "has", "have", "how", "i", "if", "in", "into", "is", "it", "its", "of", "on", "or", "our", "so", "that", "the", "their", "then", "there", "these", "this", "to", "was", "we", "were", "what", "when", "where", "which", "who", "will", "with", "you", "your", "do", "does", "did", "can", "could", "should", "would", "may", "might", "not", "no", "yes"]
)

DEFAULT_CHUNK_CHARS = 800


def _stem(word: str) -> str:
    """A deliberately light English stemmer: plurals, -ing, -ed (refunds/refunded → refund)."""
    word = word.removesuffix("'s")
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("sses"):
        return word[:-2]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            # stopping → stopp → stop; but keep -ll/-ss/-zz (calling → call).
            if word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]
            return word
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """The terms of ``text`` in order (CJK bigrams, stemmed lower-case words)."""
    out: list[str] = []
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        if _CJK_RUN.match(token):
            if len(token) == 1:
                out.append(token)
            else:
                out.extend(token[i : i + 2] for i in range(len(token) - 1))
        else:
            word = token.lower()
            if word in STOP_WORDS:
                continue
            out.append(_stem(word) if word.isalpha() or "'" in word else word)
    return out


def term_frequencies(text: str) -> dict[str, int]:
    return dict(Counter(tokenize(text)))


def split_sentences(paragraph: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(paragraph) if s and s.strip()]


def _hard_split(sentence: str, size: int) -> list[str]:
    return [sentence[i : i + size] for i in range(0, len(sentence), size)]


def chunk_text(text: str, max_chars: int = DEFAULT_CHUNK_CHARS) -> list[str]:
    """Split ``text`` into passages of at most ``max_chars`` on paragraph/sentence boundaries."""
    chunks: list[str] = []
    current = ""
    for paragraph in _PARAGRAPH.split(text.replace("\r\n", "\n")):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        # A paragraph that fits joins the current chunk (or starts a new one): keeps context.
        pieces = [paragraph] if len(paragraph) <= max_chars else split_sentences(paragraph)
        for piece in pieces:
            for part in _hard_split(piece, max_chars) if len(piece) > max_chars else [piece]:
                sep = "\n\n" if piece is paragraph else ("" if _is_cjk_boundary(current, part) else " ")
                if current and len(current) + len(sep) + len(part) <= max_chars:
                    current += sep + part
                else:
                    if current:
                        chunks.append(current)
                    current = part
    if current:
        chunks.append(current)
    return chunks


def _is_cjk_boundary(left: str, right: str) -> bool:
    """Chinese sentences are joined without a space."""
    return bool(left) and bool(right) and bool(re.match(rf"[{_CJK}。！？；]", left[-1])) and bool(
        re.match(rf"[{_CJK}]", right[0])
    )
