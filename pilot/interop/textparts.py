"""Text with embedded expressions: what every importer produces and every exporter reads.

A field of a foreign workflow (an n8n parameter, a Dify prompt) is read into *parts*: literal
text and :class:`Expr` (a jinja2 expression in πlot's reference syntax). Parts become a πlot
template (``"Hi {{ inputs.name }}"``), a value field (one ``{{ expr }}`` keeps its JSON type) or a
bare expression (a condition's ``when``). Literal text never turns into jinja2 by accident: a
``{{`` in it is written as ``{{ "{{" }}``.

An expression with no faithful translation is kept as a call of a function that does not exist,
``n8n_expression_not_translated("$now.toISO()")``: the field still validates, the original is
preserved for export back to its tool, and a run fails on that field naming the function
instead of sending a guess.

The other way round, :func:`jinja_parts` splits a πlot template into literal text and jinja2
expression ASTs for the exporters.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import jinja2
from jinja2 import nodes as jn

MARKERS = {"n8n": "n8n_expression_not_translated", "dify": "dify_reference_not_translated"}
_DELIMITER = re.compile(r"\{[{%#]")
_parser = jinja2.Environment()  # parsing only (nothing is rendered with it)


@dataclass(frozen=True, slots=True)
class Expr:
    """A jinja2 expression (no ``{{ }}``)."""

    jinja: str


Part = str | Expr


class Untranslatable(Exception):
    """An expression or field has no faithful translation; the message says why."""


def literal(value: object) -> str:
    """A jinja2 literal for a JSON value (strings keep non-ASCII characters)."""
    if value is None:
        return "none"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(str(k))}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def marker(source: str, original: str) -> Expr:
    """The placeholder expression for an untranslated ``original`` of tool ``source``."""
    return Expr(f"{MARKERS[source]}({literal(original)})")


def escape_text(text: str) -> str:
    """Literal text as a jinja2 template: delimiters in it are emitted, not interpreted."""
    return _DELIMITER.sub(lambda m: "{{ " + literal(m.group()) + " }}", text)


def merge(parts: list[Part]) -> list[Part]:
    """Adjacent literal strings joined, empty ones dropped."""
    out: list[Part] = []
    for part in parts:
        if isinstance(part, str):
            if not part:
                continue
            if out and isinstance(out[-1], str):
                out[-1] += part
                continue
        out.append(part)
    return out


def to_template(parts: list[Part]) -> str:
    """Parts as a template (also a value field: one lone expression keeps its JSON type)."""
    return "".join(escape_text(p) if isinstance(p, str) else "{{ " + p.jinja + " }}" for p in merge(parts))


def to_expression(parts: list[Part]) -> str:
    """Parts as one bare expression: a lone expression as is, mixed text joined with ``~``."""
    parts = merge(parts)
    if len(parts) == 1 and isinstance(parts[0], Expr):
        return parts[0].jinja
    if not parts:
        return '""'
    return " ~ ".join(literal(p) if isinstance(p, str) else f"({p.jinja})" for p in parts)


def has_marker(text: str) -> bool:
    return any(name + "(" in text for name in MARKERS.values())


# ---------------------------------------------------------------- export: πlot templates → parts


def jinja_parts(src: str) -> list[str | jn.Expr]:
    """A πlot template as literal text and expression ASTs; Untranslatable when it uses
    statements (``{% if %}``, ``{% for %}``, ``{% set %}``) that other tools cannot express."""
    try:
        tree = _parser.parse(src)
    except jinja2.TemplateSyntaxError as exc:
        raise Untranslatable(f"not a valid template: {exc.message}") from None
    parts: list[str | jn.Expr] = []
    for stmt in tree.body:
        if not isinstance(stmt, jn.Output):
            raise Untranslatable(f"uses a jinja2 {type(stmt).__name__.lower()} statement")
        for child in stmt.nodes:
            if isinstance(child, jn.TemplateData):
                parts.append(child.data)
            elif isinstance(child, jn.Const) and isinstance(child.value, str):
                parts.append(child.value)  # an escaped delimiter, {{ "{{" }}
            else:
                parts.append(child)
    return parts


def jinja_expression(src: str) -> jn.Expr:
    """The AST of a bare expression (or of one ``{{ … }}`` block)."""
    text = src.strip()
    candidates = [text[2:-2], text] if text.startswith("{{") and text.endswith("}}") else [text]
    for candidate in candidates:
        try:
            body = _parser.parse("{{ " + candidate + " }}").body
        except jinja2.TemplateSyntaxError:
            continue
        if len(body) == 1 and isinstance(body[0], jn.Output) and len(body[0].nodes) == 1:
            return body[0].nodes[0]
    raise Untranslatable(f"not a valid expression: {text!r}")


def marker_original(expr: jn.Expr, source: str) -> str | None:
    """The original text when ``expr`` is the untranslated-marker call of ``source``."""
    if (isinstance(expr, jn.Call) and isinstance(expr.node, jn.Name) and expr.node.name == MARKERS[source]
            and len(expr.args) == 1 and isinstance(expr.args[0], jn.Const) and isinstance(expr.args[0].value, str)):
        return expr.args[0].value
    return None


def ref_path(expr: jn.Expr) -> tuple[str, list[str | int]] | None:
    """``nodes.a.output["k"][0]`` → ``("nodes", ["a", "output", "k", 0])``; None for anything else."""
    path: list[str | int] = []
    while True:
        if isinstance(expr, jn.Getattr):
            path.append(expr.attr)
            expr = expr.node
        elif isinstance(expr, jn.Getitem) and isinstance(expr.arg, jn.Const) and isinstance(expr.arg.value, (str, int)):
            path.append(expr.arg.value)
            expr = expr.node
        elif isinstance(expr, jn.Name):
            return expr.name, path[::-1]
        else:
            return None


def path_expr(root: str, path: list[str | int] | tuple[str | int, ...]) -> str:
    """``("nodes.a.output", ["k", 0, "two words"])`` → ``nodes.a.output.k[0]["two words"]``."""
    out = root
    for key in path:
        if isinstance(key, int):
            out += f"[{key}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) and key not in _RESERVED:
            out += "." + key
        else:
            out += f"[{literal(key)}]"
    return out


# Names jinja2 reads as keywords or that shadow dict methods: always subscripted.
_RESERVED = frozenset({"and", "or", "not", "in", "is", "if", "else", "true", "false", "none", "True", "False", "None",
                       "items", "keys", "values", "get", "update", "pop", "copy"})
