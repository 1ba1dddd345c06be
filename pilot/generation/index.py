"""The intent index: scores every template against a request, built once per catalog.

Two signals, summed per template:
1. cue matches from :data:`pilot.generation.lexicon.INTENT_CUES` (English stem phrases after
   typo correction, Chinese substrings), weighted;
2. TF-IDF cosine similarity between the request and the template's own text (examples, tags,
   name, description), over English stems + stem bigrams and Chinese character bigrams; the
   best-matching example and the whole template both count.
Templates not in the catalog are never proposed; a catalog template with no cues still
competes through (2).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from pilot.generation.prefilter import compile_filtered
from pilot.generation.lexicon import INTENT_CUES
from pilot.generation.text import Speller, cjk_bigrams, normalize, stem, words

_STOP = frozenset(
    ["a", "an", "the", "and", "or", "to", "of", "for", "in", "on", "at", "by", "with", "from", "into", "is", "are", "be", "it", "this", "that", "these", "those", "me", "my", "our", "we", "you", "your", "i", "please", "can", "could", "would", "will", "want", "need", "make", "build", "create", "set", "up", "help", "workflow", "automatically", "auto", "some", "any", "all", "so"]
)
SIM_WEIGHT = 5.0
_FILLERS = compile_filtered(r"(?<=[\u4e00-\u9fff])(?:一下|了一下|个)(?=[\u4e00-\u9fff])")


@dataclass
class Query:
    """A request prepared once for every matcher: normalised text, corrected words and stems."""

    text: str
    words: list[str]
    stems: list[str]
    stem_text: str  # " stem stem stem " for phrase lookups


def _features(stems: list[str], text: str) -> Counter[str]:
    content = [s for s in stems if s not in _STOP]
    feats: Counter[str] = Counter(content)
    feats.update(f"{a}_{b}" for a, b in pairwise(content))
    feats.update(cjk_bigrams(text))
    return feats


class IntentIndex:
    """Scores templates for a request. Build with :meth:`build` (cached by the analyzer)."""

    def __init__(self, template_ids: list[str], docs: dict[str, list[str]]) -> None:
        self.template_ids = template_ids
        vocab: Counter[str] = Counter()
        for cues in INTENT_CUES.values():
            for cue in cues:
                vocab.update(words(cue.lower()))
        for texts in docs.values():
            for t in texts:
                vocab.update(words(normalize(t)))
        self.speller = Speller(dict(vocab))
        # cue phrases → (intent, weight); English as stem tuples, Chinese as substrings
        en: dict[tuple[str, str], float] = {}
        zh: dict[tuple[str, str], float] = {}
        for intent, cues in INTENT_CUES.items():
            if intent not in template_ids:
                continue
            for cue, weight in cues.items():
                if re.search(r"[\u4e00-\u9fff]", cue):
                    key, table = (cue, intent), zh
                else:  # "summarize" and "summary" share a stem: count it once, at the higher weight
                    key, table = (" " + " ".join(stem(w) for w in words(cue)) + " ", intent), en
                table[key] = max(weight, table.get(key, 0.0))
        self.en_cues = [(c, i, w) for (c, i), w in en.items()]
        # each English cue under its first stem: a request is checked only against cues that
        # start with one of its own stems (in cue order, so scores add up as before)
        self._en_by_head: dict[str, list[int]] = {}
        for n, (cue, _intent, _weight) in enumerate(self.en_cues):
            self._en_by_head.setdefault(cue.split()[0], []).append(n)
        self.zh_cues = [(c, i, w) for (c, i), w in zh.items()]
        # TF-IDF over the templates' own text
        per_doc: dict[str, list[Counter[str]]] = {}
        df: Counter[str] = Counter()
        for tid in template_ids:
            vecs = []
            for t in docs.get(tid, []):
                q = self.prepare(t)
                vecs.append(_features(q.stems, q.text))
            per_doc[tid] = vecs
            df.update(set().union(*[set(v) for v in vecs]) if vecs else set())
        n = max(1, len(template_ids))
        self.idf = {f: math.log(1 + n / c) for f, c in df.items()}
        self.centroids: dict[str, dict[str, float]] = {}
        self.examples: dict[str, list[dict[str, float]]] = {}
        for tid, vecs in per_doc.items():
            total: Counter[str] = Counter()
            for v in vecs:
                total.update(v)
            self.centroids[tid] = self._weigh(total)
            self.examples[tid] = [self._weigh(v) for v in vecs]
        # Inverted index over every centroid and example vector: a query touches only the postings
        # of its own features instead of a dot product with each of the ~250 vectors.
        self._rows: list[tuple[str, bool]] = []  # (template id, is the centroid)
        self._postings: dict[str, list[tuple[int, float]]] = {}
        for tid in template_ids:
            for vec, central in ((self.centroids.get(tid, {}), True), *((ex, False) for ex in self.examples.get(tid, []))):
                row = len(self._rows)
                self._rows.append((tid, central))
                for f, w in vec.items():
                    self._postings.setdefault(f, []).append((row, w))

    @classmethod
    def build(cls, catalog: Any | None) -> IntentIndex:
        """From a TemplateCatalog (its examples, tags, names, descriptions) or, without one, cues only."""
        if catalog is None:
            return cls(list(INTENT_CUES), {})
        docs: dict[str, list[str]] = {}
        for t in catalog.all():
            texts = [*t.examples.en, *t.examples.zh, t.name.en, t.name.zh, t.description.en, t.description.zh]
            texts.append(" ".join(t.tags))
            docs[t.id] = texts
        return cls([t.id for t in catalog.all()], docs)

    def _weigh(self, counts: Counter[str]) -> dict[str, float]:
        vec = {f: (1 + math.log(c)) * self.idf.get(f, 0.0) for f, c in counts.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {f: v / norm for f, v in vec.items() if v}

    def prepare(self, raw: str) -> Query:
        text = normalize(raw)
        ws = [self.speller.correct(w) for w in words(text)]
        stems = [stem(w) for w in ws]
        return Query(text=text, words=ws, stems=stems, stem_text=" " + " ".join(stems) + " ")

    def score(self, q: Query) -> tuple[dict[str, float], dict[str, list[str]]]:
        """Per-template scores (higher is better) and the cue words that matched, per template."""
        scores = {tid: 0.0 for tid in self.template_ids}
        hits: dict[str, list[str]] = {tid: [] for tid in self.template_ids}
        heads = self._en_by_head
        for n in sorted({n for head in set(q.stems) for n in heads.get(head, ())}):
            cue, intent, weight = self.en_cues[n]
            at = q.stem_text.find(cue)
            if at >= 0:
                scores[intent] += weight
                first = q.stem_text.count(" ", 0, at)  # token index of the match: show the user's words
                hits[intent].append(" ".join(q.words[first : first + cue.count(" ") - 1]) or cue.strip())
        zh_text = q.text
        if "一下" in zh_text or "个" in zh_text:  # separable verbs: "分一下类" → "分类", "打个分" → "打分"
            zh_text = zh_text + " " + _FILLERS.sub("", zh_text)
        for cue, intent, weight in self.zh_cues:
            if cue in zh_text:
                scores[intent] += weight
                hits[intent].append(cue)
        qvec = self._weigh(_features(q.stems, q.text))
        if qvec:
            # only the rows a query feature touches: an untouched row scores 0, which neither a
            # centroid's default nor a template's best example (all scores are >= 0) changes
            acc: dict[int, float] = {}
            for f, v in qvec.items():
                for row, w in self._postings.get(f, ()):
                    acc[row] = acc.get(row, 0.0) + v * w
            cen: dict[str, float] = {}
            best: dict[str, float] = {}
            rows = self._rows
            for row, value in acc.items():
                tid, central = rows[row]
                if central:
                    cen[tid] = value
                elif value > best.get(tid, 0.0):
                    best[tid] = value
            for tid in self.template_ids:
                scores[tid] += SIM_WEIGHT * (0.4 * cen.get(tid, 0.0) + 0.6 * best.get(tid, 0.0))
        return scores, hits


def iter_texts(values: Iterable[str]) -> Iterable[str]:
    return (v for v in values if v)
