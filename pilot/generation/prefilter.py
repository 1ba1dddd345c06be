"""Skip the regular expressions that cannot match a text, for all of them at once.

The offline planner and analyzer run ~370 searches of their phrase patterns per request, and
~85 % find nothing; those failed searches were a third of a generation's CPU. Most patterns name
words: every match of ``\\b(?:send|post|notify)\\b|发送|推送`` contains one of ``send``, ``post``,
``notify``, ``发送``, ``推送``. :func:`required_literals` reads that set off the compiled pattern
(``re``'s own parser: each sequence contributes its most selective run of literal characters or
group, a branch the union of its alternatives, a repeat its body if it runs at least once;
anything case-insensitive, or a branch with an alternative that needs no literal, gives no
set, and then the pattern is used as it is).

:class:`Filtered` wraps such a pattern. One Aho-Corasick automaton (``pyahocorasick``) over the
literals of every filtered pattern finds, in one pass over a text, which literals occur in it
(overlapping ones too); a pattern none of whose literals occurs is not run and answers as a
search that found nothing (``None``, no matches, the text unchanged). The pass is remembered for
the last texts seen, since one clause is tested by dozens of patterns in a row. A skip is
therefore exact: the wrapped pattern is run whenever it could match, and every answer is the one
``re`` gives (``tests/unit/test_prefilter.py`` checks both over every eval prompt).
"""

from __future__ import annotations

import re
import re._constants as _sre  # the parser's opcodes (Python 3.11+; sre_constants before)
import re._parser as _parser
from collections.abc import Callable, Iterator
from typing import Any

import ahocorasick

_REPEATS = (_sre.MAX_REPEAT, _sre.MIN_REPEAT, getattr(_sre, "POSSESSIVE_REPEAT", _sre.MAX_REPEAT))
_ZERO_WIDTH = (_sre.AT, _sre.ASSERT, _sre.ASSERT_NOT)


def _most_selective(sets: list[frozenset[str]]) -> frozenset[str] | None:
    """The set whose shortest literal is longest (fewest literals on a tie)."""
    return max(sets, key=lambda s: (min(map(len, s)), -len(s)), default=None)


def _required(items: Any, flags: int) -> frozenset[str] | None:
    """Literals one of which every match of the parsed sequence ``items`` contains, or None."""
    found: list[frozenset[str]] = []
    run: list[str] = []

    def end_run() -> None:
        if run:
            found.append(frozenset(["".join(run)]))
            run.clear()

    for op, av in items:
        if op is _sre.LITERAL and not flags & re.IGNORECASE:
            run.append(chr(av))
            continue
        end_run()  # zero-width assertions end a run too (conservative: each part is still required)
        if op in _ZERO_WIDTH:
            continue
        sub: frozenset[str] | None = None
        if op is _sre.SUBPATTERN:
            _group, add, _remove, body = av
            if not (flags | add) & re.IGNORECASE:
                sub = _required(body.data, flags | add)
        elif op is _sre.BRANCH:
            alternatives = [_required(alt.data, flags) for alt in av[1]]
            if all(alternatives):
                sub = frozenset().union(*alternatives)  # type: ignore[arg-type]
        elif op in _REPEATS:
            low, _high, body = av
            if low >= 1:
                sub = _required(body.data, flags)
        elif op is getattr(_sre, "ATOMIC_GROUP", None):
            sub = _required(av.data, flags)
        if sub:
            found.append(sub)
    end_run()
    return _most_selective(found)


def required_literals(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """Literals one of which every match of ``pattern`` contains; None when there is no such set
    (case-insensitive patterns, an alternative that needs no literal, bytes patterns)."""
    if not isinstance(pattern.pattern, str) or pattern.flags & re.IGNORECASE:
        return None
    try:
        tree = _parser.parse(pattern.pattern, pattern.flags & ~re.UNICODE)
    except Exception:  # noqa: BLE001 - a parser detail we do not know: no filter, never a wrong skip
        return None
    if tree.state.flags & re.IGNORECASE:
        return None
    found = _required(tree.data, tree.state.flags)
    return found or None


class _Literals:
    """Every filtered pattern's literals, numbered, and which of them occur in a text."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self._automaton: Any = None
        self._seen: dict[str, frozenset[int]] = {}

    def register(self, literals: frozenset[str]) -> frozenset[int]:
        for literal in sorted(literals):
            if literal not in self.ids:
                self.ids[literal] = len(self.ids)
                self._automaton = None  # rebuilt on next use (patterns register at import)
        return frozenset(self.ids[literal] for literal in literals)

    def present(self, text: str) -> frozenset[int]:
        found = self._seen.get(text)
        if found is not None:
            return found
        automaton = self._automaton
        if automaton is None:
            automaton = ahocorasick.Automaton()
            for literal, number in self.ids.items():
                automaton.add_word(literal, number)
            automaton.make_automaton()
            self._automaton, self._seen = automaton, {}
        found = frozenset({number for _end, number in automaton.iter(text)}) if text else frozenset()
        if len(self._seen) >= 512:  # a request tests a few dozen texts; older ones are not asked again
            self._seen = {}
        self._seen[text] = found
        return found


_LITERALS = _Literals()


class Filtered:
    """A compiled pattern that is run only when one of its required literals occurs in the text.

    It answers like the pattern (``search``, ``match``, ``fullmatch``, ``finditer``, ``findall``,
    ``sub``, ``subn``, ``split``; ``pattern``, ``flags``, ``groups``, ``groupindex``), and
    ``compiled`` is the pattern itself (what a match's ``.re`` is)."""

    __slots__ = ("compiled", "pattern", "flags", "groups", "groupindex", "_ids")

    def __init__(self, compiled: re.Pattern[str], literals: frozenset[str]) -> None:
        self.compiled = compiled
        self.pattern, self.flags = compiled.pattern, compiled.flags
        self.groups, self.groupindex = compiled.groups, compiled.groupindex
        self._ids = _LITERALS.register(literals)

    def __repr__(self) -> str:
        return f"Filtered({self.compiled!r})"

    def _may_match(self, text: str) -> bool:
        found = _LITERALS._seen.get(text)  # the common case inline: this text was scanned for an earlier pattern
        return not self._ids.isdisjoint(found if found is not None else _LITERALS.present(text))

    def search(self, string: str, *args: int) -> re.Match[str] | None:
        return self.compiled.search(string, *args) if self._may_match(string) else None

    def match(self, string: str, *args: int) -> re.Match[str] | None:
        return self.compiled.match(string, *args) if self._may_match(string) else None

    def fullmatch(self, string: str, *args: int) -> re.Match[str] | None:
        return self.compiled.fullmatch(string, *args) if self._may_match(string) else None

    def finditer(self, string: str, *args: int) -> Iterator[re.Match[str]]:
        return self.compiled.finditer(string, *args) if self._may_match(string) else iter(())

    def findall(self, string: str, *args: int) -> list[Any]:
        return self.compiled.findall(string, *args) if self._may_match(string) else []

    def sub(self, repl: str | Callable[[re.Match[str]], str], string: str, count: int = 0) -> str:
        return self.compiled.sub(repl, string, count) if self._may_match(string) else string

    def subn(self, repl: str | Callable[[re.Match[str]], str], string: str, count: int = 0) -> tuple[str, int]:
        return self.compiled.subn(repl, string, count) if self._may_match(string) else (string, 0)

    def split(self, string: str, maxsplit: int = 0) -> list[str]:
        return self.compiled.split(string, maxsplit) if self._may_match(string) else [string]


Regex = re.Pattern[str] | Filtered


def filtered(compiled: re.Pattern[str]) -> Regex:
    """``compiled`` behind its literal filter, or as it is when it has no required literals."""
    literals = required_literals(compiled)
    return Filtered(compiled, literals) if literals else compiled


def compile_filtered(pattern: str, flags: int = 0) -> Regex:
    """``re.compile`` for the generation modules' phrase patterns (see :func:`filtered`)."""
    return filtered(re.compile(pattern, flags))
