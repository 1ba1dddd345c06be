"""The tokens of the JavaScript in n8n expressions (``{{ … }}`` blocks): numbers, strings,
template literals (their ``${…}`` parts kept as source), identifiers and operators. Anything else
(regular expressions, arrow functions) raises :class:`~pilot.interop.textparts.Untranslatable`."""

from __future__ import annotations

import json
import re
from typing import Any

from pilot.interop.textparts import Untranslatable

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<comment>/\*.*?\*/)
  | (?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<ident>[A-Za-z_$][\w$]*)
  | (?P<op>===|!==|==|!=|<=|>=|&&|\|\||\?\?|\?\.|=>|[-+*/%<>!?:.,()\[\]{}])
""", re.VERBOSE | re.DOTALL)

def _unquote(token: str) -> str:
    if token.startswith("'"):
        token = '"' + token[1:-1].replace('\\\'', "'").replace('"', '\\"') + '"'
    try:
        return json.loads(token)
    except ValueError as exc:
        raise Untranslatable(f"string literal {token}") from exc


def tokens(src: str) -> list[tuple[str, Any]]:
    """``(kind, value)`` pairs ending with ``("end", None)``; kinds: num, str, tmpl, ident, op."""
    out: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(src):
        if src[pos] == "`":
            end, parts = _template_literal(src, pos)
            out.append(("tmpl", parts))
            pos = end
            continue
        m = _TOKEN.match(src, pos)
        if m is None:
            raise Untranslatable(f"unsupported syntax at {src[pos:pos + 12]!r}")
        kind = m.lastgroup
        if kind == "num":
            out.append(("num", float(m.group()) if any(c in m.group() for c in ".eE") else int(m.group())))
        elif kind == "str":
            out.append(("str", _unquote(m.group())))
        elif kind in ("ident", "op"):
            if m.group() == "=>":
                raise Untranslatable("arrow functions")
            out.append((kind, m.group()))
        pos = m.end()
    out.append(("end", None))
    return out


def _template_literal(src: str, start: int) -> tuple[int, list[Any]]:
    """A backtick string: ``(end, [text | inner source, …])``."""
    parts: list[Any] = []
    text, i = "", start + 1
    while i < len(src):
        ch = src[i]
        if ch == "\\" and i + 1 < len(src):
            text += {"n": "\n", "t": "\t"}.get(src[i + 1], src[i + 1])
            i += 2
        elif ch == "`":
            parts.append(text)
            return i + 1, parts
        elif src.startswith("${", i):
            depth, j = 1, i + 2
            while j < len(src) and depth:
                depth += {"{": 1, "}": -1}.get(src[j], 0)
                j += 1
            parts += [text, ("src", src[i + 2:j - 1])]
            text, i = "", j
        else:
            text += ch
            i += 1
    raise Untranslatable("unterminated template literal")
