"""Row values and filters of data tables: type checks that name the column, and the filter language.

Types: ``string`` (str), ``number`` (int or float), ``integer`` (int; 3.0 is 3), ``boolean``,
``datetime`` (ISO 8601; stored as UTC ``YYYY-MM-DDTHH:MM:SS.mmmZ`` so text order is time order;
a value without an offset is UTC), ``json`` (any JSON value). ``null`` is allowed in a column that
is not ``required``. Unknown columns are refused.

Filters (one language, two spellings):

- query string (``GET /api/tables/{id}/rows``): repeated ``where=<column>:<op>:<value>``, e.g.
  ``where=age:gte:18&where=status:in:new,open&where=email:is_null``;
- JSON (the ``table`` tool): ``{"status": "new"}`` (equality; ``null`` tests for null) or
  ``{"age": {"gte": 18, "lt": 65}}``.

Ops: ``eq ne gt gte lt lte`` (numbers, integers, strings, datetimes), ``in`` (a list / comma-separated
values), ``contains`` (case-insensitive substring of a string), ``is_null`` / ``not_null``. Every
condition must hold (AND). ``json`` columns take only ``is_null`` / ``not_null``.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from pilot.core.errors import PayloadTooLargeError, UnprocessableError
from pilot.tables.schemas import Column

OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "contains", "is_null", "not_null")
_ORDERED = {"string", "number", "integer", "datetime"}
_TYPE_NAMES = {str: "string", bool: "boolean", int: "integer", float: "number", list: "array", dict: "object",
               type(None): "null"}


def _problem(where: str, message: str) -> UnprocessableError:
    return UnprocessableError(f"{where}: {message}", extra=[{"key": where, "message": message}])


def _shown(value: Any) -> str:
    text = msgspec.json.encode(value).decode() if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def format_datetime(value: datetime) -> str:
    """The stored form: UTC, millisecond precision, ``Z``."""
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def check_value(column: Column, value: Any, where: str) -> Any:
    """``value`` as stored in ``column`` (datetimes normalised); 422 naming ``where`` otherwise."""
    if value is None:
        if column.required:
            raise _problem(where, f"column '{column.name}' is required and may not be null")
        return None
    kind = column.type
    got = _TYPE_NAMES.get(type(value), type(value).__name__)
    if kind == "json":
        return value
    if kind == "string" and isinstance(value, str):
        return value
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind in ("number", "integer") and isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise _problem(where, f"column '{column.name}' ({kind}) takes finite numbers, got {value}")
        if kind == "integer":
            if isinstance(value, float) and not value.is_integer():
                raise _problem(where, f"column '{column.name}' (integer) takes whole numbers, got {value}")
            value = int(value)
            if abs(value) > 2**53:
                raise _problem(where, f"column '{column.name}' (integer) takes values up to ±2^53, got {value}")
        return value
    if kind == "datetime" and isinstance(value, str):
        try:
            return format_datetime(datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00")))
        except (ValueError, OverflowError):
            raise _problem(where, f"column '{column.name}' (datetime) takes ISO 8601 text, got {_shown(value)}") from None
    raise _problem(where, f"column '{column.name}' expects {kind}, got {got} {_shown(value)}")


def check_row(columns: dict[str, Column], row: Any, where: str, *, partial: bool = False, max_bytes: int = 0) -> dict[str, Any]:
    """A validated copy of ``row``; ``partial`` (updates) skips the required-column check."""
    if not isinstance(row, dict):
        raise _problem(where, f"a row is an object of column values, got {_TYPE_NAMES.get(type(row), 'value')}")
    out: dict[str, Any] = {}
    for name, value in row.items():
        column = columns.get(name)
        if column is None:
            raise _problem(f"{where}.{name}", f"unknown column '{name}'; the table's columns: {', '.join(columns)}")
        out[name] = check_value(column, value, f"{where}.{name}")
    if not partial:
        for column in columns.values():
            if column.required and out.get(column.name) is None:
                raise _problem(f"{where}.{column.name}", f"column '{column.name}' is required")
    encoded = msgspec.json.encode(out)
    if b"\\u0000" in encoded:  # PostgreSQL's JSONB cannot store NUL; refuse it on every database
        raise _problem(where, "values must not contain NUL (\\u0000) characters")
    if max_bytes:
        size = len(encoded)
        if size > max_bytes:
            message = f"the row is {size} bytes, over the {max_bytes}-byte limit (PILOT_TABLE_MAX_ROW_BYTES)"
            raise PayloadTooLargeError(f"{where}: {message}", extra=[{"key": where, "message": message}])
    return out


def key_hash(columns: dict[str, Column], key_columns: list[str], row: dict[str, Any], where: str) -> str | None:
    """sha256 of the key columns' values (None for a table without keys); every key value is needed."""
    if not key_columns:
        return None
    values = []
    for name in key_columns:
        value = row.get(name)
        if value is None:
            raise _problem(f"{where}.{name}", f"key column '{name}' is required")
        values.append(float(value) if columns[name].type == "number" else value)
    return hashlib.sha256(msgspec.json.encode(values)).hexdigest()


@dataclass(frozen=True, slots=True)
class Condition:
    column: Column
    op: str
    value: Any = None


def _condition(column: Column, op: str, value: Any, where: str) -> Condition:
    if op not in OPS:
        raise _problem(where, f"unknown operator '{op}'; use one of {', '.join(OPS)}")
    if op in ("is_null", "not_null"):
        return Condition(column, op)
    if column.type == "json":
        raise _problem(where, f"column '{column.name}' (json) can only be filtered with is_null / not_null")
    if op in ("gt", "gte", "lt", "lte") and column.type not in _ORDERED:
        raise _problem(where, f"'{op}' needs an ordered column; '{column.name}' is {column.type}")
    if op == "contains":
        if column.type != "string" or not isinstance(value, str):
            raise _problem(where, f"'contains' takes text on a string column ('{column.name}' is {column.type})")
        return Condition(column, op, value)
    loose = Column(name=column.name, type=column.type)  # a filter value is never "required"
    if op == "in":
        if not isinstance(value, list) or not value:
            raise _problem(where, "'in' takes a non-empty list of values")
        return Condition(column, op, [check_value(loose, v, where) for v in value])
    if value is None:
        return Condition(column, "is_null" if op == "eq" else "not_null" if op == "ne" else op)
    return Condition(column, op, check_value(loose, value, where))


def _column(columns: dict[str, Column], name: str, where: str) -> Column:
    column = columns.get(name)
    if column is None:
        raise _problem(where, f"unknown column '{name}'; the table's columns: {', '.join(columns)}")
    return column


def parse_filter(columns: dict[str, Column], spec: Any, where: str = "filter") -> list[Condition]:
    """The JSON spelling: ``{column: value}`` or ``{column: {op: value, ...}}``."""
    if spec is None:
        return []
    if not isinstance(spec, dict):
        raise _problem(where, "a filter is an object: {column: value} or {column: {op: value}}")
    out = []
    for name, test in spec.items():
        column = _column(columns, name, f"{where}.{name}")
        if isinstance(test, dict) and column.type != "json" and test:
            out.extend(_condition(column, op, value, f"{where}.{name}.{op}") for op, value in test.items())
        else:
            out.append(_condition(column, "eq", test, f"{where}.{name}"))
    return out


def _text_value(column: Column, text: str, where: str) -> Any:
    if column.type == "number":
        try:
            return float(text) if any(c in text for c in ".eE") else int(text)
        except ValueError:
            raise _problem(where, f"column '{column.name}' (number): {text!r} is not a number") from None
    if column.type == "integer":
        try:
            return int(text)
        except ValueError:
            raise _problem(where, f"column '{column.name}' (integer): {text!r} is not an integer") from None
    if column.type == "boolean":
        if text.lower() not in ("true", "false"):
            raise _problem(where, f"column '{column.name}' (boolean): use true or false, not {text!r}")
        return text.lower() == "true"
    return text


def parse_where(columns: dict[str, Column], clauses: list[str]) -> list[Condition]:
    """The query-string spelling: ``<column>:<op>[:<value>]`` per ``where`` parameter."""
    out = []
    for clause in clauses:
        name, _, rest = clause.partition(":")
        op, has_value, text = rest.partition(":")
        where = f"where '{clause}'" if len(clause) <= 80 else "where"
        column = _column(columns, name, where)
        if op not in OPS:
            raise _problem(where, f"expected <column>:<op>:<value> with op one of {', '.join(OPS)}")
        if op in ("is_null", "not_null"):
            out.append(_condition(column, op, None, where))
        elif not has_value:
            raise _problem(where, f"'{op}' needs a value: {name}:{op}:<value>")
        elif op == "in":
            out.append(_condition(column, op, [_text_value(column, t, where) for t in text.split(",")], where))
        else:
            out.append(_condition(column, op, _text_value(column, text, where), where))
    return out
