"""Helpers of the Dify export writers: text and selectors, jinja2 variables, conditions, model, placeholders."""

from __future__ import annotations

import json
import re
import uuid
from typing import TYPE_CHECKING, Any

from jinja2 import nodes as jn

from pilot.interop.builder import carry
from pilot.interop.dify_nodes import split_adapter
from pilot.interop.dify_refs import normalize
from pilot.interop.textparts import Untranslatable, jinja_expression, ref_path

if TYPE_CHECKING:
    from pilot.interop.dify_export import DifyExport

_REF = re.compile(r"\b(?:nodes\.[A-Za-z_]\w*\.output|inputs|item|credentials)(?:\.[A-Za-z_]\w*|\[\d+\]|\[\"[^\"]*\"\])*")
_SET = re.compile(r"^\{% set ([A-Za-z_]\w*) = (.+?) %\}")
_PROVIDERS = (("gpt", "langgenius/openai/openai"), ("o1", "langgenius/openai/openai"), ("o3", "langgenius/openai/openai"),
              ("claude", "langgenius/anthropic/anthropic"), ("deepseek", "langgenius/deepseek/deepseek"),
              ("gemini", "langgenius/gemini/google"), ("qwen", "langgenius/tongyi/tongyi"))
_OPS = {"eq": "=", "ne": "≠", "gt": ">", "lt": "<", "gteq": "≥", "lteq": "≤"}


def dify_outputs(code: str) -> dict[str, Any] | None:
    """The declared outputs of a code node imported from Dify (None for πlot's own code)."""
    return split_adapter(code)[1]


def text(ex: DifyExport, node: dict[str, Any], src: Any, where: str) -> str:
    """A πlot template as Dify text; kept as is (and noted) when it does not translate."""
    if not isinstance(src, str):
        return "" if src is None else str(src)
    try:
        return ex.refs.text(src)
    except Untranslatable as exc:
        ex.note(node, f"{where} not translated ({exc})")
        return src


def selector(ex: DifyExport, node: dict[str, Any], src: Any, where: str) -> list[str]:
    try:
        return ex.refs.expr_selector(str(src))
    except Untranslatable as exc:
        ex.note(node, f"{where} is not a plain reference ({exc}): `{str(src)[:200]}`")
        return []


def jinja_variables(ex: DifyExport, node: dict[str, Any], src: str, where: str) -> tuple[str, list[dict[str, Any]]]:
    """A jinja2 template with its references turned into named variables, for the Dify nodes that
    run jinja2 themselves (template transform, jinja2 prompts). Leading ``{% set x = <ref> %}``
    (how the import binds them) become the variables again."""
    src, variables = normalize(src), []
    while (m := _SET.match(src)) is not None:
        variables.append({"variable": m.group(1), "value_selector": selector(ex, node, m.group(2), where)})
        src = src[m.end():]
    names: dict[str, str] = {}

    def replace(m: re.Match[str]) -> str:
        if m.group() not in names:
            names[m.group()] = f"arg{len(variables) + len(names) + 1}"
        return names[m.group()]

    blocks = re.sub(r"(\{\{.*?\}\}|\{%.*?%\})", lambda b: _REF.sub(replace, b.group()), src, flags=re.S)
    variables += [{"variable": name, "value_selector": selector(ex, node, ref, where)} for ref, name in names.items()]
    return blocks, variables


def _model(model: str, config: dict[str, Any]) -> dict[str, Any]:
    provider = next((p for prefix, p in _PROVIDERS if model.lower().startswith(prefix)), "langgenius/openai_api_compatible/openai_api_compatible")
    params = {k: v for k, v in (("temperature", config.get("temperature")), ("max_tokens", config.get("max_tokens"))) if v is not None}
    return {"provider": provider, "name": model, "mode": "chat", "completion_params": params}


def _prompt(ex: DifyExport, node: dict[str, Any], role: str, src: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    try:
        return {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{node['id']}:{role}")), "role": role, "text": ex.refs.text(src)}, []
    except Untranslatable:
        jinja, variables = jinja_variables(ex, node, src, role)
        return {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{node['id']}:{role}")), "role": role, "text": jinja,
                "edition_type": "jinja2", "jinja2_text": jinja}, variables


def _conditions(ex: DifyExport, node: dict[str, Any], when: str) -> tuple[str, list[dict[str, Any]]]:
    """``(logical operator, Dify conditions)`` of a πlot condition, for the comparisons Dify has."""
    expr = jinja_expression(normalize(when))
    joiner = "or" if isinstance(expr, jn.Or) else "and"
    parts, stack = [], [expr]
    while stack:
        current = stack.pop()
        if isinstance(current, (jn.And, jn.Or)) and (joiner == "or") == isinstance(current, jn.Or):
            stack += [current.right, current.left]
        else:
            parts.append(current)
    return joiner, [_condition(ex, part) for part in parts]


def _condition(ex: DifyExport, expr: jn.Expr) -> dict[str, Any]:
    op, negate = None, False
    if isinstance(expr, jn.Not):
        expr, negate = expr.node, True
    if isinstance(expr, jn.Compare) and len(expr.ops) == 1:
        left, right, op = expr.expr, expr.ops[0].expr, expr.ops[0].op
        if isinstance(left, jn.Const) and op in ("in", "notin") and ref_path(right):
            return _make(ex, right, "not contains" if (op == "notin") != negate else "contains", left.value)
        if op in _OPS and isinstance(right, jn.Const) and ref_path(left) and not negate:
            number = isinstance(right.value, (int, float)) and not isinstance(right.value, bool)
            operator = _OPS[op] if number else {"eq": "is", "ne": "is not"}.get(op)
            if operator:
                return _make(ex, left, operator, right.value, number=number)
    if isinstance(expr, jn.Test) and expr.name == "none" and ref_path(expr.node):
        return _make(ex, expr.node, "not null" if negate else "null", None)
    if isinstance(expr, jn.Call) and isinstance(expr.node, jn.Getattr) and expr.node.attr in ("startswith", "endswith") \
            and len(expr.args) == 1 and isinstance(expr.args[0], jn.Const) and not negate:
        target = expr.node.node.node if isinstance(expr.node.node, jn.Filter) else expr.node.node
        if ref_path(target):
            return _make(ex, target, "start with" if expr.node.attr == "startswith" else "end with", expr.args[0].value)
    if ref_path(expr):
        return _make(ex, expr, "empty" if negate else "not empty", None)
    raise Untranslatable("a condition Dify's if/else cannot express")


def _make(ex: DifyExport, ref: jn.Expr, operator: str, value: Any, *, number: bool = False) -> dict[str, Any]:
    path = ref_path(ref)
    assert path is not None
    return {"id": str(uuid.uuid4()), "varType": "number" if number else "string", "variable_selector": ex.refs.selector(*path),
            "comparison_operator": operator, "value": "" if value is None else str(value)}


def placeholder(ex: DifyExport, node: dict[str, Any], reason: str) -> None:
    message = f"Not exported from πlot: {reason}. Replace this node."
    ex.add(node, {"type": "code", "title": f"⚠ {node.get('title') or node['id']}"[:200], "code_language": "python3",
                  "code": f"# {carry(node)}\ndef main() -> dict:\n    raise NotImplementedError({json.dumps(message, ensure_ascii=False)})\n",
                  "variables": [], "outputs": {}})
    ex.note(node, f"placeholder (a code node that raises): {reason}")

