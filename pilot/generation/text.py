"""Text normalisation for the offline analyzer: cleaning, language detection, tokens, stems, typos.

English is split into word tokens, lower-cased and lightly stemmed (plural / -ing / -ed /
-ly / -ize suffixes) so "summarizing", "summarise" and "summaries" meet; unknown words are
corrected against the analyzer's vocabulary when one edit away (SymSpell-style delete index,
so a lookup costs a few dict probes). Chinese has no spaces: it is matched by substring cues
and compared by character bigrams.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from pilot.generation.prefilter import Regex, compile_filtered

MAX_ANALYZED_CHARS = 4000  # analysis looks at the head of very long prompts (latency bound)

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[a-z][a-z0-9+#']*|\d+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd\u200b-\u200f\u202a-\u202e\u2060-\u206f]")
_SPACES = re.compile(r"[ \t\r\f\v]+")


# An ASCII word boundary: Python's Unicode \b treats CJK characters as word characters, so
# "把github的issue" would have no boundary around "github". The scoped ASCII flag makes it one
# opcode (an earlier lookaround spelling cost each pattern 3-5x more per search, and it runs
# hundreds of times per request). ASCII \w includes "_": "customer_email" is one identifier,
# not the word "email".
AB = r"(?a:\b)"


def ascii_re(pattern: str, flags: int = 0) -> Regex:
    """Compile ``pattern`` with every ``\b`` meaning an ASCII word boundary (behind its
    literal filter, :mod:`pilot.generation.prefilter`)."""
    return compile_filtered(pattern.replace(r"\b", AB), flags)


@lru_cache(maxsize=4096)
def cached_re(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """``re.compile`` behind a cache big enough for the patterns the planner builds at run time
    (one per service alias, category or label it looks for: ~1,000 distinct over the dev set).
    ``re``'s own cache holds 512, so calling ``re.search`` with them recompiled most of them on
    every request — about a third of a generation's CPU."""
    return re.compile(pattern, flags)


def cased(text: str) -> bool:
    """Whether any character of ``text`` has another case: ``re.IGNORECASE`` compares a pattern
    without one (Chinese) character by character, exactly as ``==`` does."""
    return any(c.lower() != c or c.upper() != c for c in text)


def clean(text: str) -> str:
    """NFKC (full-width → ASCII, compatibility forms), drop control/invisible chars, squeeze spaces."""
    text = unicodedata.normalize("NFKC", text)
    text = _CONTROL.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def readable_chars(text: str) -> int:
    """How many letters, digits or CJK characters the text has (0 → nothing to analyse)."""
    return sum(1 for ch in text if ch.isalnum())


def normalize(text: str) -> str:
    """Cleaned, lower-cased and bounded: the form every matcher works on."""
    return clean(text[: MAX_ANALYZED_CHARS * 2])[:MAX_ANALYZED_CHARS].lower()


def detect_language(text: str) -> str:
    """``zh`` when Chinese characters carry the request (mixed "把 GitHub issues 发到飞书" is zh)."""
    cjk = len(_CJK.findall(text))
    if not cjk:
        return "en"
    latin_words = len(re.findall(r"[A-Za-z]{2,}", text))
    return "zh" if cjk >= 2 * latin_words or cjk >= 6 else "en"


def cjk_runs(text: str) -> list[str]:
    return _CJK_RUN.findall(text)


def cjk_bigrams(text: str) -> list[str]:
    grams: list[str] = []
    for run in _CJK_RUN.findall(text):
        if len(run) == 1:
            grams.append(run)
        grams.extend(run[i : i + 2] for i in range(len(run) - 1))
    return grams


def words(text: str) -> list[str]:
    """Latin word tokens of an already normalised text (apostrophes dropped)."""
    return [w.replace("'", "") for w in _WORD.findall(text)]


_IRREGULAR = {
    "analyses": "analys", "analysis": "analys", "analyse": "analys", "analyze": "analys",
    "analyzing": "analys", "analysing": "analys", "analyzed": "analys", "analysed": "analys",
    "analyzer": "analys", "analytics": "analys", "analytic": "analys",
    "summary": "summar", "summaries": "summar", "summarize": "summar", "summarise": "summar",
    "summarizing": "summar", "summarising": "summar", "summarized": "summar", "summarised": "summar",
    "summarization": "summar", "summarisation": "summar", "summarizer": "summar",
    "categories": "categor", "category": "categor", "categorize": "categor", "categorise": "categor",
    "categorizing": "categor", "categorization": "categor",
    "replies": "reply", "replied": "reply", "queries": "query", "companies": "company",
    "emails": "email", "e-mail": "email", "mails": "mail", "news": "news", "business": "business",
}


def stem(word: str) -> str:
    """A deliberately light English stemmer: enough to merge inflections, never aggressive."""
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix, repl in (
        ("ization", "ize"), ("isation", "ize"), ("ational", "ate"), ("fulness", "ful"),
        ("ies", "y"), ("ied", "y"), ("ing", ""), ("edly", ""), ("ed", ""), ("ly", ""),
        ("ers", "er"), ("es", ""), ("s", ""),
    ):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            if suffix == "es" and not word.endswith(("ches", "shes", "sses", "xes", "zes")):
                return word[:-1] if word.endswith("es") else word
            base = word[: -len(suffix)] + repl
            if suffix in ("ing", "ed") and len(base) >= 4 and base[-1] == base[-2] and base[-1] not in "lsz":
                base = base[:-1]  # "scrapping" → "scrap", "mapped" → "map"
            return base.replace("ise", "ize") if base.endswith("ise") and len(base) > 5 else base
    return word.replace("ise", "ize") if word.endswith("ise") and len(word) > 5 else word


def _deletes(word: str) -> Iterable[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


class Speller:
    """Corrects a word to the closest vocabulary word at Damerau-Levenshtein distance 1.

    Built once from the analyzer's vocabulary. Short words (< 4 chars) are never corrected:
    "to"/"do"/"go" would collide. Ties are broken by a frequency prior (more cues win), then
    alphabetically, so the result is deterministic.
    """

    def __init__(self, vocabulary: dict[str, int]) -> None:
        self.vocab = vocabulary
        # A word whose stem is known is a real word in another form ("feel" next to "feeling"),
        # not a typo of a neighbour ("feed").
        self.stems = {stem(w) for w in vocabulary}
        self._index: dict[str, list[str]] = {}
        for word in vocabulary:
            if len(word) < 4:
                continue
            for key in (word, *_deletes(word)):
                self._index.setdefault(key, []).append(word)
        self._cache: dict[str, str] = {}

    def correct(self, word: str) -> str:
        if word in self.vocab or len(word) < 4 or not word.isalpha() or stem(word) in self.stems:
            return word
        hit = self._cache.get(word)
        if hit is not None:
            return hit
        candidates: set[str] = set(self._index.get(word, ()))  # an insertion typo
        for d in _deletes(word):
            candidates.update(self._index.get(d, ()))  # substitution / transposition / omission
            if d in self.vocab and len(d) >= 4:
                candidates.add(d)
        candidates = {c for c in candidates if _within_one(word, c)}
        best = min(candidates, key=lambda c: (-self.vocab[c], c)) if candidates else word
        if len(self._cache) < 50_000:
            self._cache[word] = best
        return best


def _within_one(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance ≤ 1 (one insert, delete, substitute or adjacent swap)."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    i = 0
    while i < min(la, lb) and a[i] == b[i]:
        i += 1
    if la == lb:
        if a[i + 1 :] == b[i + 1 :]:
            return True
        return i + 1 < la and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]
    return a[i + 1 :] == b[i:] if la > lb else a[i:] == b[i + 1 :]
