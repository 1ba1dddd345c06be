"""Patterns around a name the request contains, compiled once instead of once per name.

The planner asks questions like "is Gmail preceded by *from our* here?" for whichever of ~1,000
service names, categories or labels a request contains. Written as ``re.compile(before +
re.escape(name) + after)`` every new name costs a compile (0.5-2 ms each on the slow patterns,
about a quarter of a new request's generation CPU, and a long-running process keeps compiling as
new names arrive). :class:`AroundName` answers the same question with ``before`` and ``after``
compiled once, whatever the name:

    ``before + escape(name) + after`` matches somewhere in ``text``
    ⇔ some occurrence ``i`` of ``name`` has ``before`` ending exactly at ``i`` and ``after``
    matching at ``i + len(name)``

because the three parts are concatenated with no back-references between them, and a
backtracking search finds a match whenever one exists. ``after`` is matched with
``Pattern.match(text, pos)``, which sees the whole text (a lookbehind or ``\\b`` at ``pos`` looks
at the name). ``before`` is searched as ``(?:before)\\Z`` with ``endpos=i``: the text is cut at
``i``, which changes nothing as long as ``before`` has no lookahead and does not end with a
zero-width assertion about what follows (``\\b``, ``$``) — the callers' ``before`` patterns end
with a consuming item (``\\s+``, ``从\\s*``, an optional group of words). Zero-width guards that look
back from the name (``(?<![a-z0-9])``) go in ``behind``: matched at ``i`` itself, exactly.

``tests/unit/test_around.py`` checks every caller's patterns against the compiled originals.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pilot.generation.text import cached_re

# Characters the ``before`` searches of one call may read before it compiles the whole pattern
# instead: every occurrence of the name searches ``before`` from the text's start, so a text with
# the name a thousand times would cost a quadratic scan (a real request reads a few hundred).
SCAN_BUDGET = 50_000


class AroundName:
    """``behind`` / ``before`` + a literal name + ``after``, for any name, compiled once."""

    __slots__ = ("_before", "_behind", "_after", "_whole", "_flags")

    def __init__(self, before: str = "", after: str = "", *, behind: str = "", flags: int = 0) -> None:
        self._whole = (f"(?:{before})" if before else "") + behind, after  # around the name, for long texts
        self._flags = flags
        self._before = re.compile(f"(?:{before})\\Z", flags) if before else None
        self._behind = re.compile(behind, flags) if behind else None
        self._after = re.compile(after, flags) if after else None

    def _fits(self, text: str, at: int, end: int) -> bool:
        return ((self._behind is None or self._behind.match(text, at) is not None)
                and (self._before is None or self._before.search(text, 0, at) is not None)
                and (self._after is None or self._after.match(text, end) is not None))

    def search(self, text: str, name: str) -> bool:
        """Whether ``before + re.escape(name) + after`` would find a match in ``text``."""
        if not name:
            raise ValueError("the name must not be empty")
        scanned = 0
        at = text.find(name)
        while at >= 0:
            scanned += at  # what searching ``before`` up to this occurrence reads
            if self._before is not None and scanned > SCAN_BUDGET:
                # Many occurrences in a long text (a hostile prompt): one linear search with the
                # name in the pattern (compiled per name, the old way) instead of a quadratic scan.
                head, tail = self._whole
                return cached_re(head + re.escape(name) + tail, self._flags).search(text) is not None
            if self._fits(text, at, at + len(name)):
                return True
            at = text.find(name, at + 1)
        return False

    def name_starts(self, text: str, name: str) -> Iterator[int]:
        """Where the name starts in each match ``finditer`` would give, for a pattern with no
        ``before`` (only zero-width ``behind``/``after`` guards): matches never overlap, so after
        one the search goes on from the end of the name, as ``finditer`` does."""
        if not name:
            raise ValueError("the name must not be empty")
        if self._before is not None:
            raise ValueError("name_starts needs a pattern whose match starts at the name")
        at = text.find(name)
        while at >= 0:
            if self._fits(text, at, at + len(name)):
                yield at
                at = text.find(name, at + len(name))
            else:
                at = text.find(name, at + 1)


def any_around(patterns: tuple[AroundName, ...], text: str, name: str) -> bool:
    """Whether an alternation of the patterns (``p1|p2|…``, each around the same name) matches."""
    return any(p.search(text, name) for p in patterns)
