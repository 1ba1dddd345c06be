"""πlot jinja2 → n8n expressions (the export direction of :mod:`pilot.interop.n8n_expr`).

A template becomes an n8n value (``"=Hi {{ $('Start').item.json.name }}"``); references are
resolved by the exporter (:class:`Targets`: which n8n node and item path a πlot reference reads);
operators, literals and the filters with a JavaScript equivalent are written out. A marker of an
untranslated n8n expression is written back as the original. Anything else raises
:class:`~pilot.interop.textparts.Untranslatable` (the exporter keeps the text and notes it).
"""

from __future__ import annotations

import json
from typing import Protocol

from jinja2 import nodes as jn

from pilot.interop.textparts import Untranslatable, jinja_expression, jinja_parts, marker_original, ref_path

_BINARY = {jn.Add: "+", jn.Sub: "-", jn.Mul: "*", jn.Div: "/", jn.Mod: "%"}
_COMPARE = {"eq": "===", "ne": "!==", "lt": "<", "gt": ">", "lteq": "<=", "gteq": ">="}


class Targets(Protocol):
    """Where πlot references point in the exported n8n workflow."""

    def reference(self, root: str, path: list[str | int]) -> str: ...  # JS reading ``root.<path>``


def _js_path(path: list[str | int]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" if p.isidentifier() else f"[{json.dumps(p)}]" for p in path)


def to_js(expr: jn.Expr, targets: Targets) -> str:
    """One jinja2 expression AST as JavaScript."""
    original = marker_original(expr, "n8n")
    if original is not None:
        return original
    ref = ref_path(expr)
    if ref is not None:
        return targets.reference(ref[0], ref[1])
    if isinstance(expr, jn.Const):
        return "null" if expr.value is None else json.dumps(expr.value, ensure_ascii=False)
    if isinstance(expr, (jn.List, jn.Tuple)):
        return "[" + ", ".join(to_js(item, targets) for item in expr.items) + "]"
    if isinstance(expr, jn.Dict):
        return "{" + ", ".join(f"{to_js(p.key, targets)}: {to_js(p.value, targets)}" for p in expr.items) + "}"
    if isinstance(expr, jn.And):
        return f"({to_js(expr.left, targets)} && {to_js(expr.right, targets)})"
    if isinstance(expr, jn.Or):
        return f"({to_js(expr.left, targets)} || {to_js(expr.right, targets)})"
    if isinstance(expr, jn.Not):
        return f"!({to_js(expr.node, targets)})"
    if isinstance(expr, jn.Neg):
        return f"-({to_js(expr.node, targets)})"
    if type(expr) in _BINARY:
        return f"({to_js(expr.left, targets)} {_BINARY[type(expr)]} {to_js(expr.right, targets)})"  # type: ignore[attr-defined]
    if isinstance(expr, jn.Concat):
        return "(" + " + ".join(f"String({to_js(n, targets)})" for n in expr.nodes) + ")"
    if isinstance(expr, jn.CondExpr) and expr.expr2 is not None:
        return f"({to_js(expr.test, targets)} ? {to_js(expr.expr1, targets)} : {to_js(expr.expr2, targets)})"
    if isinstance(expr, jn.Compare) and len(expr.ops) == 1:
        left, op = to_js(expr.expr, targets), expr.ops[0]
        right = to_js(op.expr, targets)
        if op.op in _COMPARE:
            return f"({left} {_COMPARE[op.op]} {right})"
        if op.op in ("in", "notin"):
            return f"{'!' if op.op == 'notin' else ''}({right}).includes({left})"
    if isinstance(expr, jn.Test) and expr.name in ("none", "defined") and not expr.args:
        inner = to_js(expr.node, targets)
        return f"({inner} == null)" if expr.name == "none" else f"({inner} !== undefined)"
    if isinstance(expr, jn.Filter) and expr.node is not None:
        return _filter(expr, targets)
    if isinstance(expr, jn.Call) and isinstance(expr.node, jn.Getattr) and not expr.kwargs:
        target, args = to_js(expr.node.node, targets), [to_js(a, targets) for a in expr.args]
        method = {"startswith": "startsWith", "endswith": "endsWith", "split": "split", "upper": "toUpperCase",
                  "lower": "toLowerCase", "strip": "trim"}.get(expr.node.attr)
        if method:
            return f"String({target}).{method}({', '.join(args)})"
        if expr.node.attr == "replace" and len(args) in (2, 3):
            return f"String({target}).{'replace' if len(args) == 3 else 'replaceAll'}({args[0]}, {args[1]})"
    raise Untranslatable(f"the jinja2 expression {type(expr).__name__} has no n8n form")


def _filter(expr: jn.Filter, targets: Targets) -> str:
    value = to_js(expr.node, targets)  # type: ignore[arg-type]
    args = [to_js(a, targets) for a in expr.args]
    simple = {"upper": f"String({value}).toUpperCase()", "lower": f"String({value}).toLowerCase()", "trim": f"String({value}).trim()",
              "length": f"{value}.length", "count": f"{value}.length", "string": f"String({value})", "tojson": f"JSON.stringify({value})",
              "int": f"parseInt({value})", "float": f"parseFloat({value})", "list": value, "first": f"{value}[0]",
              "last": f"{value}[{value}.length - 1]"}
    if expr.name in simple and not args:
        return simple[expr.name]
    if expr.name == "join":
        return f"{value}.join({args[0] if args else json.dumps('')})"
    if expr.name == "default" and args:
        return f"({value} ?? {args[0]})"
    if expr.name == "map" and not args and len(expr.kwargs) == 1 and expr.kwargs[0].key == "attribute":
        return f"{value}.map(x => x[{to_js(expr.kwargs[0].value, targets)}])"
    raise Untranslatable(f"the filter '{expr.name}' has no n8n form")


def template_value(src: str, targets: Targets) -> str:
    """A πlot template (or value field) as an n8n parameter value (``=…{{ js }}…`` when it has expressions)."""
    parts = jinja_parts(src)
    if all(isinstance(p, str) for p in parts):
        return "".join(parts)  # type: ignore[arg-type]
    return "=" + "".join(p if isinstance(p, str) else "{{ " + to_js(p, targets) + " }}" for p in parts)


def expression_value(src: str, targets: Targets) -> str:
    """A bare πlot expression as an n8n value ``={{ js }}``."""
    return "={{ " + to_js(jinja_expression(src), targets) + " }}"
