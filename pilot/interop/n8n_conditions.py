"""n8n conditions (IF, Switch, Filter: v1 ``{string: [...], number: [...]}`` lists and the v2
``{conditions: [{leftValue, rightValue, operator}], combinator}`` filter) → one jinja2 boolean
expression. Operators without a faithful jinja2 form (regular expressions, dates) raise
:class:`~pilot.interop.textparts.Untranslatable`; the caller keeps a marker and reports it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pilot.interop.textparts import Untranslatable

# value → jinja2 expression of a parameter (the importer's translation, markers included)
Operand = Callable[[Any], str]

_COMPARE = {"equals": "==", "notEquals": "!=", "gt": ">", "lt": "<", "gte": ">=", "lte": "<=",
            "equal": "==", "notEqual": "!=", "larger": ">", "smaller": "<", "largerEqual": ">=", "smallerEqual": "<=",
            "lengthEquals": "==", "lengthNotEquals": "!=", "lengthGt": ">", "lengthLt": "<", "lengthGte": ">=", "lengthLte": "<="}


def _number(value: Any) -> Any:
    """A number literal typed as a string in the source ("5") is compared as the number."""
    if isinstance(value, str) and not value.startswith("="):
        try:
            return float(value) if "." in value else int(value)
        except ValueError:
            return value
    return value


def comparison(op: str, kind: str, left: str, right: str | None, *, case_sensitive: bool = True) -> str:
    """One condition as jinja2; ``left``/``right`` are jinja2 expressions."""
    if kind == "dateTime":
        raise Untranslatable(f"date comparison '{op}'")
    if op in ("regex", "notRegex"):
        raise Untranslatable("regular-expression conditions")
    if kind == "string" and not case_sensitive and right is not None:
        left, right = f"(({left}) | lower)", f"(({right}) | lower)"
    if op == "exists":
        return f"(({left}) is defined and ({left}) is not none)"
    if op == "notExists":
        return f"(({left}) is not defined or ({left}) is none)"
    if op in ("empty", "isEmpty"):
        return f"(not ({left}))"
    if op in ("notEmpty", "isNotEmpty"):
        return f"(({left}) and true)"
    if op == "true":
        return f"(({left}) == true)"
    if op == "false":
        return f"(({left}) == false)"
    if right is None:
        raise Untranslatable(f"operator '{op}' without a value")
    if op.startswith("length"):
        return f"((({left}) | length) {_COMPARE[op]} ({right}))"
    if op in _COMPARE:
        return f"(({left}) {_COMPARE[op]} ({right}))"
    if op in ("contains", "notContains"):
        return f"(({right}) {'not in' if op == 'notContains' else 'in'} ({left}))"
    if op in ("startsWith", "notStartsWith", "endsWith", "notEndsWith"):
        method = "startswith" if "tart" in op else "endswith"
        test = f"(({left}) | string).{method}({right})"
        return f"(not {test})" if op.startswith("not") else f"({test})"
    raise Untranslatable(f"operator '{op}'")


def filter_expression(conditions: Any, operand: Operand, *, ignore_case: bool = False) -> str:
    """A v2 filter (``{conditions, combinator, options}``) or a v1 typed list as one expression."""
    if not isinstance(conditions, dict):
        return "true"
    if isinstance(conditions.get("conditions"), list):
        options = conditions.get("options") or {}
        case_sensitive = bool(options.get("caseSensitive", True)) and not ignore_case
        joiner = " or " if conditions.get("combinator") == "or" else " and "
        tests = []
        for cond in conditions["conditions"]:
            operator = cond.get("operator") or {}
            kind, op = operator.get("type", "string"), operator.get("operation", "equals")
            right_value = cond.get("rightValue")
            if kind == "number":
                right_value = _number(right_value)
            right = None if operator.get("singleValue") else operand(right_value if right_value is not None else "")
            tests.append(comparison(op, kind, operand(cond.get("leftValue", "")), right, case_sensitive=case_sensitive))
        return joiner.join(tests) or "true"
    return v1_expression(conditions, operand, any_of=False)


def v1_expression(conditions: dict[str, Any], operand: Operand, *, any_of: bool) -> str:
    """IF v1: ``{string|number|boolean|dateTime: [{value1, operation, value2}]}``."""
    tests = []
    for kind in ("boolean", "number", "string", "dateTime"):
        default = "smaller" if kind == "number" else "equal"
        for cond in conditions.get(kind) or []:
            op = cond.get("operation", default)
            right = cond.get("value2", 0 if kind == "number" else False if kind == "boolean" else "")
            tests.append(comparison(op, kind, operand(cond.get("value1", "")), operand(_number(right) if kind == "number" else right)))
    return (" or " if any_of else " and ").join(tests) or "true"


def switch_v1_case(data_type: str, rule: dict[str, Any], value1: str, operand: Operand) -> str:
    """One rule of a Switch v1/v2 in rules mode (``value1 <operation> rule.value2``)."""
    default = "smaller" if data_type == "number" else "equal"
    right = rule.get("value2", 0 if data_type == "number" else "")
    return comparison(rule.get("operation", default), data_type, value1, operand(_number(right) if data_type == "number" else right))

