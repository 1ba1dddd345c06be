"""n8n expressions (``={{ $json.name }}``, ``{{ $('Node').item.json.x }}``) → πlot jinja2.

An n8n parameter whose string starts with ``=`` is a template whose ``{{ … }}`` blocks are
JavaScript. The subset with a faithful jinja2 meaning is translated: item references
(``$json``, ``$input.item.json``, ``$('Node').item|first()|last().json``, ``$node["Node"].json``),
literals, arithmetic, comparisons, ``&& || ! ?: ??``, template literals and the common string /
list methods (``toUpperCase``, ``trim``, ``length``, ``includes``, ``split``, ``join``, ``slice``,
``replace`` of a string, ``JSON.stringify``, ``String``/``Number``/``parseInt``). Where an item
reference points is decided by the importer (:class:`Refs`): a webhook's ``body`` is
``inputs``, an HTTP Request's ``$json`` is ``nodes.<id>.output.body``, … Everything else
(``$now``, ``$vars``, arrow functions, regular expressions, Luxon dates) raises
:class:`~pilot.interop.textparts.Untranslatable`.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from pilot.interop.n8n_tokens import tokens
from pilot.interop.textparts import Expr, Part, Untranslatable, literal, marker, path_expr

_BINARY = [("??",), ("||",), ("&&",), ("==", "===", "!=", "!=="), ("<", ">", "<=", ">="), ("+", "-"), ("*", "/", "%")]
_JINJA_OP = {"||": "or", "&&": "and", "===": "==", "==": "==", "!==": "!=", "!=": "!="}
_FILTER_METHODS = {"toUpperCase": "upper", "toLowerCase": "lower", "trim": "trim", "toString": "string"}


class Refs(Protocol):
    """Where item references point, for the node whose parameters are being translated."""

    def json(self, path: list[str | int]) -> str: ...  # ``$json.<path>`` of the current item

    def node(self, name: str, path: list[str | int]) -> str: ...  # ``$('name').item.json.<path>``


class _Parser:
    """Recursive descent over the JS subset, producing jinja2 expression text."""

    def __init__(self, src: str, refs: Refs) -> None:
        self.toks, self.i, self.refs = tokens(src), 0, refs

    def peek(self, value: str | None = None) -> bool:
        kind, tok = self.toks[self.i]
        return kind == "op" and tok == value if value is not None else kind != "end"

    def take(self, value: str) -> None:
        if not self.peek(value):
            raise Untranslatable(f"expected {value!r}")
        self.i += 1

    def parse(self) -> str:
        out = self.ternary()
        if self.toks[self.i][0] != "end":
            raise Untranslatable(f"unsupported syntax near {self.toks[self.i][1]!r}")
        return out

    def ternary(self) -> str:
        cond = self.binary(0)
        if self.peek("?"):
            self.i += 1
            yes = self.ternary()
            self.take(":")
            no = self.ternary()
            return f"(({yes}) if ({cond}) else ({no}))"
        return cond

    def binary(self, level: int) -> tuple | str:
        if level == len(_BINARY):
            return self.unary()
        left, left_is_text = self._operand(level)
        while self.toks[self.i][0] == "op" and self.toks[self.i][1] in _BINARY[level]:
            op = self.toks[self.i][1]
            self.i += 1
            right, right_is_text = self._operand(level)
            if op == "??":
                left = f"(({left}) if ({left}) is defined and ({left}) is not none else ({right}))"
            elif op == "+" and (left_is_text or right_is_text):
                left, left_is_text = f"({left}) ~ ({right})", True  # JS + with a string concatenates
            else:
                left = f"({left}) {_JINJA_OP.get(op, op)} ({right})"
        return left

    def _operand(self, level: int) -> tuple[str, bool]:
        start = self.i
        text = self.binary(level + 1)
        return text, self.i == start + 1 and self.toks[start][0] in ("str", "tmpl")

    def unary(self) -> str:
        if self.peek("!"):
            self.i += 1
            return f"not ({self.unary()})"
        if self.peek("-"):
            self.i += 1
            return f"-({self.unary()})"
        return self.postfix()

    def args(self) -> list[str]:
        self.take("(")
        out: list[str] = []
        while not self.peek(")"):
            out.append(self.ternary())
            if not self.peek(")"):
                self.take(",")
        self.take(")")
        return out

    def primary(self) -> tuple[str, Any]:
        kind, tok = self.toks[self.i]
        self.i += 1
        if kind == "num":
            return "value", str(tok)
        if kind == "str":
            return "value", literal(tok)
        if kind == "tmpl":
            pieces = [literal(p) if isinstance(p, str) else f"({_Parser(p[1], self.refs).parse()})" for p in tok if p != ""]
            return "value", "(" + " ~ ".join(pieces or ['""']) + ")"
        if tok == "(":
            inner = self.ternary()
            self.take(")")
            return "value", f"({inner})"
        if tok == "[":
            items: list[str] = []
            while not self.peek("]"):
                items.append(self.ternary())
                if not self.peek("]"):
                    self.take(",")
            self.take("]")
            return "value", "[" + ", ".join(items) + "]"
        if kind == "ident":
            if tok in ("true", "false"):
                return "value", tok
            if tok in ("null", "undefined"):
                return "value", "none"
            return "ident", tok
        raise Untranslatable(f"unsupported syntax near {tok!r}")

    def _static_key(self, *, length: bool = True) -> str | int | None:
        """The key of ``.name`` / ``["name"]`` / ``[0]`` at the cursor (consumed), else None.
        ``.length`` is a key only with ``length`` (a path stops before it: it is a filter)."""
        kind, tok = self.toks[self.i]
        if tok in (".", "?.") and self.toks[self.i + 1][0] == "ident":
            after = self.toks[self.i + 2][1]
            if after == "(" or (not length and self.toks[self.i + 1][1] == "length"):
                return None  # a method call, or .length
            self.i += 2
            return self.toks[self.i - 1][1]
        if tok == "[" and self.toks[self.i + 1][0] in ("str", "num") and self.toks[self.i + 2][1] == "]":
            self.i += 3
            return self.toks[self.i - 2][1]
        return None

    def _path(self) -> list[str | int]:
        path: list[str | int] = []
        while (key := self._static_key(length=False)) is not None:
            path.append(key)
        return path

    def _item_json(self, what: str) -> None:
        """``.item.json`` / ``.first().json`` / ``.last().json`` after ``$('X')`` or ``$input``."""
        self.take(".")
        accessor = self.toks[self.i][1]
        self.i += 1
        if accessor in ("first", "last"):
            if self.args():
                raise Untranslatable(f"{what}.{accessor}() with arguments")
        elif accessor != "item":
            raise Untranslatable(f"{what}.{accessor}")
        if self._static_key() != "json":
            raise Untranslatable(f"{what} without .json")

    def postfix(self) -> str:
        kind, value = self.primary()
        if kind == "ident":
            value = self._root(value)
        while True:
            if self.peek(".") or self.peek("?.") or self.peek("["):
                key = self._static_key()
                if key == "length":
                    value = f"({value}) | length"
                elif key is not None:
                    value = path_expr(f"({value})", [key])
                if key is not None:
                    continue
                if self.peek("["):
                    self.i += 1
                    index = self.ternary()
                    self.take("]")
                    value = f"({value})[{index}]"
                    continue
                self.i += 1
                method = self.toks[self.i][1]
                self.i += 1
                value = self._method(value, method, self.args())
                continue
            return value

    def _root(self, name: str) -> str:
        if name == "$json":
            return self.refs.json(self._path())
        if name == "$input":
            self._item_json("$input")
            return self.refs.json(self._path())
        if name == "$" and self.peek("("):
            args = self.toks[self.i + 1]
            if args[0] != "str" or self.toks[self.i + 2][1] != ")":
                raise Untranslatable("$() with a computed node name")
            self.i += 3
            self._item_json(f"$({args[1]!r})")
            return self.refs.node(args[1], self._path())
        if name == "$node":
            key = self._static_key()
            if not isinstance(key, str) or self._static_key() != "json":
                raise Untranslatable("$node without [\"Name\"].json")
            return self.refs.node(key, self._path())
        if name in ("JSON", "String", "Number", "parseInt", "parseFloat"):
            return self._function(name)
        raise Untranslatable(f"{name} has no πlot equivalent")

    def _function(self, name: str) -> str:
        if name == "JSON":
            self.take(".")
            method = self.toks[self.i][1]
            self.i += 1
            args = self.args()
            if method != "stringify" or len(args) != 1:
                raise Untranslatable(f"JSON.{method}")
            return f"({args[0]}) | tojson"
        args = self.args()
        if len(args) != 1:
            raise Untranslatable(f"{name}() with {len(args)} arguments")
        return f"({args[0]}) | " + {"String": "string", "Number": "float", "parseFloat": "float", "parseInt": "int"}[name]

    @staticmethod
    def _method(value: str, method: str, args: list[str]) -> str:
        if method in _FILTER_METHODS and not args:
            return f"({value}) | {_FILTER_METHODS[method]}"
        if method == "join" and len(args) <= 1:
            return f"({value}) | join({args[0] if args else literal(',')})"
        if method == "includes" and len(args) == 1:
            return f"(({args[0]}) in ({value}))"
        if method in ("startsWith", "endsWith") and len(args) == 1:
            return f"({value}).{'startswith' if method == 'startsWith' else 'endswith'}({args[0]})"
        if method == "split" and len(args) == 1:
            return f"({value}).split({args[0]})"
        if method in ("replace", "replaceAll") and len(args) == 2 and args[0].startswith('"'):
            return f"({value}).replace({args[0]}, {args[1]}{', 1' if method == 'replace' else ''})"
        if method in ("slice", "substring") and 1 <= len(args) <= 2 and all(re.fullmatch(r"\d+", a) for a in args):
            return f"({value})[{args[0]}:{args[1] if len(args) == 2 else ''}]"
        if method == "toFixed" and len(args) == 1 and re.fullmatch(r"\d+", args[0]):
            return f'("%.{args[0]}f" | format({value}))'
        raise Untranslatable(f".{method}() has no πlot equivalent")


def translate_js(src: str, refs: Refs) -> str:
    """One ``{{ … }}`` block's JavaScript as a jinja2 expression (Untranslatable otherwise)."""
    if not src.strip():
        raise Untranslatable("empty expression")
    return _Parser(src, refs).parse()


def _blocks(text: str) -> list[tuple[bool, str]]:
    """Split an n8n template into ``(is_code, text)`` runs; ``}}`` inside JS strings is skipped."""
    out: list[tuple[bool, str]] = []
    pos = 0
    while (start := text.find("{{", pos)) != -1:
        i, quote = start + 2, None
        while i < len(text):
            ch = text[i]
            if quote:
                if ch == "\\":
                    i += 1
                elif ch == quote:
                    quote = None
            elif ch in "'\"`":
                quote = ch
            elif text.startswith("}}", i):
                break
            i += 1
        if i >= len(text):
            break  # unterminated: the rest is literal text
        out += [(False, text[pos:start]), (True, text[start + 2:i])]
        pos = i + 2
    out.append((False, text[pos:]))
    return [run for run in out if run[1]]


def parameter_parts(value: Any, refs: Refs, failures: list[str]) -> list[Part]:
    """An n8n parameter value as parts. A string starting with ``=`` is an expression template;
    each block that cannot be translated becomes a marker and its reason goes to ``failures``."""
    if not isinstance(value, str):
        return [Expr(literal(value))]
    if not value.startswith("="):
        return [value]
    parts: list[Part] = []
    for is_code, text in _blocks(value[1:]):
        if not is_code:
            parts.append(text)
            continue
        try:
            parts.append(Expr(translate_js(text.strip(), refs)))
        except Untranslatable as exc:
            failures.append(f"{{{{ {text.strip()} }}}}: {exc}")
            parts.append(marker("n8n", text.strip()))
    return parts
